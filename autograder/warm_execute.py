"""A warm stand-in for nbgrader's ``Execute`` preprocessor.

Stock nbgrader starts a Jupyter kernel per notebook and the notebook then imports
numpy and torch again: seconds of overhead before any student code runs. Here the
grading worker imports the heavy modules and builds an IPython shell once
(``warm_up``); each notebook then runs in a ``fork`` of that worker, so it starts in
milliseconds with a fresh namespace, and no student's state can reach another's.

The child confines itself (``sandbox``) and serves the grader over a pipe pair
(``wire``): the grader sends the code cells one at a time, the child runs each in
the IPython shell (inline matplotlib, stdout/stderr, displays, results and errors
recorded as nbformat outputs) and answers with its outputs; after a test cell the
grader judges the cell's checks through the same pipe (``verdicts``). A cell gets
``timeout`` seconds (SIGALRM, then a kill), the notebook ``notebook_timeout``; a child
that dies or is killed leaves every cell it did not finish with an error output
naming the reason, so a test cell that never ran can never score.
"""

import io
import itertools
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from autograder.sandbox import Limits, become_subreaper, confine

_SHELL = None
HEAVY_MODULES = ("numpy", "torch", "torch.nn.functional", "matplotlib.pyplot", "torchvision",
                 "sklearn.metrics", "tqdm.auto", "nbformat", "autograder.components",
                 "autograder.plots", "autograder.data")


class CellTimeout(BaseException):
    """Raised inside a cell that ran past its time limit; a BaseException, so that an
    ``except Exception`` in the cell does not swallow it (and it is raised again every
    second until the cell gives up)."""


def warm_up():
    """Import the heavy modules and build the shell, once per worker process."""
    global _SHELL
    if _SHELL is not None:
        return _SHELL
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import importlib

    for module in HEAVY_MODULES:
        try:
            importlib.import_module(module)
        except Exception:  # a missing optional module only costs warmth
            pass
    _SHELL = make_shell()
    return _SHELL


def make_shell():
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class RecordingDisplayHook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            RECORDER.add(new_output("execute_result", data=format_dict, metadata=md_dict or {},
                                    execution_count=self.shell.execution_count))

        def finish_displayhook(self):
            pass

    class RecordingDisplayPublisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
            RECORDER.add(new_output("display_data", data=data, metadata=metadata or {}))

        def clear_output(self, wait=False):
            pass

    class RecordingShell(InteractiveShell):
        def showtraceback(self, exc_tuple=None, filename=None, tb_offset=None,
                          exception_only=False, running_compiled_code=False):
            try:
                etype, value, tb = self._get_exc_info(exc_tuple)
            except ValueError:
                return
            if issubclass(etype, SyntaxError) or exception_only:
                return super().showtraceback(exc_tuple, filename, tb_offset, exception_only,
                                             running_compiled_code)
            try:
                stb = self.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
            except Exception:  # e.g. no thread or memory left to format it: say what it was
                stb = [f"{etype.__name__}: {value}"]
            self._showtraceback(etype, value, stb)

        def _showtraceback(self, etype, evalue, stb):
            RECORDER.add(new_output("error", ename=getattr(etype, "__name__", str(etype)),
                                    evalue=str(evalue), traceback=list(stb)))

    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False  # no history thread: a lock it held would be
    config.HistoryManager.hist_file = ":memory:"  # copied locked into every fork
    shell = RecordingShell.instance(config=config, displayhook_class=RecordingDisplayHook,
                                    display_pub_class=RecordingDisplayPublisher,
                                    colors="nocolor", history_length=0)
    try:
        shell.enable_matplotlib("inline")
    except Exception:
        pass
    return shell


class Recorder:
    """The outputs of the cell being run, in order; consecutive stream text merged."""

    def __init__(self):
        self.outputs = []

    def add(self, output):
        self.outputs.append(output)

    def stream(self, name, text):
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.outputs.append(new_output("stream", name=name, text=text))


RECORDER = Recorder()


class OutputCap:
    """At most ``limit`` characters of stdout/stderr per notebook are recorded."""

    def __init__(self, limit):
        self.left, self.limit, self.truncated = limit, limit, False

    def take(self, text):
        if self.left <= 0:
            if not self.truncated:
                self.truncated = True
                return f"\n[output truncated by the grader: more than {self.limit} characters]\n"
            return ""
        text, self.left = text[:self.left], self.left - len(text)
        return text


class RecordingStream(io.TextIOBase):
    """stdout or stderr of the notebook, into the recorder, up to a shared cap."""

    def __init__(self, name, cap):
        self.name, self.cap = name, cap

    def write(self, text):
        text = self.cap.take(str(text))
        if text:
            RECORDER.stream(self.name, text)
        return len(text)

    def writable(self):
        return True


class StudentGuard:
    """Runs the grader's calls of student code: numpy's FP errors raised, and one time
    budget of ``timeout`` seconds per check (``reset``), so that a function that loops
    forever costs one timeout, not one per call."""

    def __init__(self, timeout):
        self.timeout, self.left = timeout, timeout

    def reset(self):
        self.left = self.timeout

    def __call__(self, function, *args, **kwargs):
        import numpy as np
        if self.left <= 0:
            raise CellTimeout(f"the check's {self.timeout} s budget is spent (an earlier call "
                              "ran too long)")
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, self.left, 1.0)
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                return function(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.left -= time.monotonic() - started


def run_one(shell, source, timeout):
    """In the child: run one cell; returns its outputs and execution count."""
    RECORDER.outputs = []
    signal.setitimer(signal.ITIMER_REAL, timeout, 1.0)
    result = None
    try:
        result = shell.run_cell(source, store_history=True)
    except CellTimeout as error:  # raised outside the cell's own try/except
        RECORDER.add(new_output("error", ename="CellTimeout", evalue=str(error), traceback=[]))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    error = result and (result.error_in_exec or result.error_before_exec)
    if error and not any(o.output_type == "error" for o in RECORDER.outputs):
        # the traceback could not be shown (no thread, memory or time left): say what it was
        RECORDER.add(new_output("error", ename=type(error).__name__, evalue=str(error),
                                traceback=[]))
    reap_children()
    outputs = json.loads(json.dumps(RECORDER.outputs, default=str))
    if len(json.dumps(outputs)) > MAX_CELL_OUTPUT:
        outputs = [new_output("stream", name="stdout",
                              text=f"[outputs of this cell dropped by the grader: over "
                                   f"{MAX_CELL_OUTPUT} bytes]\n")]
    return {"outputs": outputs, "count": shell.execution_count - 1}


MAX_CELL_OUTPUT = 8 << 20


def reap_children(patience=1.0):
    """Collect the processes the cell forked that have ended (a fork bomb's copies;
    the child is their subreaper, so orphans come back to it): left as zombies they
    would count against the process limit for the rest of the run. Waits up to
    ``patience`` seconds for copies still on their way out."""
    deadline = time.monotonic() + patience
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


def child_main(shell, to_parent, from_parent, timeout, scratch, limits, readable, group):
    """The forked child: confine itself, then serve the grader until it hangs up."""
    from autograder.wire import Server

    def on_alarm(signum, frame):
        raise CellTimeout(f"this cell ran longer than the {timeout} s limit")

    os.setsid()
    os.chdir(scratch)
    if "torch" in sys.modules:  # GNU OpenMP is not fork-safe: a thread team the parent
        sys.modules["torch"].set_num_threads(1)  # used would deadlock the child's first matmul
    for name in list(os.environ):
        if name.startswith("FIRSTMLP_GRADING"):
            del os.environ[name]
    from autograder.speech_corpus import default_root
    os.environ["SPEECH_ROOT"] = str(default_root())  # the grader's corpus, before HOME moves
    os.environ.update(TMPDIR=str(scratch), MPLCONFIGDIR=str(scratch), HOME=str(scratch))
    tempfile.tempdir = None  # gettempdir() looks at TMPDIR again
    if limits:
        confine(limits, scratch, readable, group)
    become_subreaper()  # a fork bomb's orphans come back here, to be reaped
    signal.signal(signal.SIGALRM, on_alarm)
    cap = OutputCap(limits.output_bytes if limits else 1 << 20)
    sys.stdout, sys.stderr = RecordingStream("stdout", cap), RecordingStream("stderr", cap)
    sys.stdin = open(os.devnull)
    Server(from_parent, to_parent, shell.user_ns, lambda source: run_one(shell, source, timeout),
           StudentGuard(timeout), PROBE_MODULES).serve()


PROBE_MODULES = ("autograder.probes",)


class Notebook:
    """The grader's handle on one forked, confined notebook process."""

    def __init__(self, timeout=600, limits=None, readable=()):
        from autograder.sandbox import ProcessGroup, missing_protections
        shell = warm_up()
        self.scratch = tempfile.mkdtemp(prefix="firstmlp-notebook-")
        parent_in, child_out = os.pipe()
        child_in, parent_out = os.pipe()
        self.group = ProcessGroup(f"firstmlp-{os.getpid()}-{next(_counter)}",
                                  limits.processes) if limits else None
        self.missing = missing_protections(self.group) if limits else []
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            status = 1
            try:
                os.close(parent_in)
                os.close(parent_out)
                child_main(shell, child_out, child_in, timeout, self.scratch, limits, readable,
                           self.group)
                status = 0
            finally:
                os._exit(status)
        os.close(child_out)
        os.close(child_in)
        from autograder.wire import Link
        self.link = Link(parent_out, parent_in)

    def close(self, limit=5):
        """Hang up, reap the child (killed after ``limit`` s), kill what it left."""
        for fd in (self.link.to_child, self.link.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        reason = wait_for(self.pid, limit)
        if self.group is not None:
            self.group.kill_all()
        shutil.rmtree(self.scratch, ignore_errors=True)
        return reason


_counter = itertools.count()


def execute_in_fork(notebook, timeout=600, notebook_timeout=1800, limits=None, readable=(),
                    judge=None, flag=None):
    """Execute the notebook's code cells in a confined fork of this (warm) process, in
    a scratch folder; fills in outputs and execution counts in place and returns the
    notebook. ``judge(cell, link)``, when given, is called after each graded test cell
    and may replace its outputs (the grader's verdict); ``flag(message)`` hears what
    the sandbox could not apply on this machine."""
    from autograder.wire import RemoteGone
    child = Notebook(timeout, limits, readable)
    for message in child.missing:
        if flag:
            flag(f"sandbox incomplete: {message}")
    deadline = time.monotonic() + notebook_timeout
    stopped = None
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            if stopped is None:
                child.link.deadline = min(deadline, time.monotonic() + timeout + 10)
                try:
                    result = child.link.request("run", kernel_source(cell))
                    cell.outputs = [new_output(**o) for o in result["outputs"]]
                    cell.execution_count = result["count"]
                except RemoteGone as error:
                    stopped = str(error)
            if stopped is not None:
                cell.execution_count = None
                cell.outputs = [new_output("error", ename="NotebookStopped", evalue=stopped,
                                           traceback=[])]
            if judge is not None and is_test_cell(cell):
                child.link.deadline = min(deadline, time.monotonic() + 4 * timeout)
                judge(cell, child.link)
                try:
                    child.link.request("reset")
                except RemoteGone as error:
                    stopped = stopped or str(error)
    finally:
        reason = child.close()
    if stopped is not None:
        why = stopped if stopped == "timeout" else reason or stopped
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("ename") == "NotebookStopped":
                    output["evalue"] = explain_stop(why)
    return notebook


def explain_stop(reason):
    if reason in ("ended", None):
        return "the notebook's process ended before this cell ran (os._exit or a crash?)"
    if reason == "timeout":
        return ("the notebook was stopped: a cell ran past its time limit without giving "
                "control back (a loop inside C code?) and was killed")
    return f"the notebook stopped before this cell ran: {reason}"


HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                    re.M | re.S)


def is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def kernel_source(cell):
    """What runs in the student's process: test cells without their hidden part (the
    grader judges hidden inputs itself, out of the student's reach)."""
    return HIDDEN.sub("", cell.source) if is_test_cell(cell) else cell.source


def wait_for(pid, limit):
    """Wait for the child; kill its process group past ``limit`` seconds. Returns
    None for a clean exit, else the reason the notebook stopped."""
    deadline = time.monotonic() + limit
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            kill_group(pid)
            os.waitpid(pid, 0)
            return f"the notebook ran longer than {limit} s and was stopped"
        time.sleep(0.02)
    kill_group(pid)  # stray grandchildren (e.g. DataLoader workers)
    if os.WIFSIGNALED(status):
        return f"the notebook was killed by signal {os.WTERMSIG(status)}"
    if os.WEXITSTATUS(status) != 0:
        return f"the notebook's process exited with status {os.WEXITSTATUS(status)}"
    return None


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class WarmExecute(NbGraderPreprocessor):
    """nbgrader preprocessor: run the notebook with ``execute_in_fork``.

    With ``course_root`` set (the grader sets it), the notebook is the one
    ``trusted_notebook`` made of the submission, each test cell's points follow the
    grader's verdict (``verdicts.judge_cell``), and what happened is written to
    ``<course_root>/firstmlp/verdicts/<student>/<assignment>.json`` for the report."""

    timeout = Integer(600, help="seconds per cell").tag(config=True)
    notebook_timeout = Integer(1800, help="seconds per notebook").tag(config=True)
    course_root = Unicode("", help="the nbgrader course folder (trusted notebooks)").tag(config=True)
    isolate = Bool(True, help="confine the notebook's process (sandbox)").tag(config=True)
    memory_mb = Integer(6144, help="address space on top of the warm worker's").tag(config=True)
    cpu_seconds = Integer(1800, help="CPU seconds per notebook").tag(config=True)
    processes = Integer(64, help="processes and threads per notebook").tag(config=True)
    output_kb = Integer(1024, help="recorded stdout/stderr per notebook").tag(config=True)

    def limits(self):
        if not self.isolate:
            return None
        return Limits(cpu_seconds=self.cpu_seconds, memory_bytes=self.memory_mb << 20,
                      processes=self.processes, output_bytes=self.output_kb << 10)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        assignment, student = info.get("assignment"), info.get("student")
        release = Path(self.course_root) / "release" / str(assignment) / f"{assignment}.ipynb"
        if not self.course_root or not release.exists():
            return execute_in_fork(nb, self.timeout, self.notebook_timeout,
                                   limits=self.limits(), readable=self.readable()), resources
        from autograder.grading_record import GradingRecord
        record = GradingRecord.load(self.course_root, student, assignment)
        seed = grading_seed(student, assignment)
        execute_in_fork(nb, self.timeout, self.notebook_timeout, limits=self.limits(),
                        readable=self.readable(),
                        judge=lambda cell, link: judge(cell, link, seed, record), flag=record.flag)
        record.save()
        return nb, resources

    def readable(self):
        from autograder.sandbox import student_readable
        from autograder.speech_corpus import default_root
        return student_readable([os.environ.get("MNIST_ROOT"), data_root(), str(default_root())])


def data_root():
    from autograder.data import DEFAULT_ROOT
    return str(DEFAULT_ROOT)


def grading_seed(student, assignment):
    """Per grading run: from FIRSTMLP_GRADING_SECRET (the grader draws it for each run
    and keeps it in memory and the environment only), per student and assignment."""
    import hashlib
    secret = os.environ.get("FIRSTMLP_GRADING_SECRET", "")
    if not secret:
        return 7103
    digest = hashlib.sha256(f"{secret}/{student}/{assignment}".encode()).digest()
    return int.from_bytes(digest[:4], "little") % (2 ** 31 - 1) + 1


def trusted_notebook(course_root, assignment, submitted, record):
    """What nbgrader grades: the release's notebook (``release/<assignment>``: locked
    cells, visible tests, metadata) with the student's answer cells put in by
    grade_id and the cells a student added kept as plain code. Test cells the student
    edited, deleted or forged come from the release; a notebook of another assignment
    is graded as a blank one. Flags go to ``record``."""
    course_root = Path(course_root)
    release = course_root / "release" / assignment / f"{assignment}.ipynb"
    trusted = nbformat.read(str(release), as_version=4)
    claimed = submitted.metadata.get("firstmlp", {}).get("assignment")
    if claimed and claimed != assignment:
        record.flag(f"this is the notebook of {claimed}, submitted as {assignment}: graded "
                    "as a blank notebook")
        return trusted
    merged, answers = merge(submitted, trusted, record)
    source = course_root / "source" / assignment / f"{assignment}.ipynb"
    if source.exists():
        record.numpy_only_torch(answers, nbformat.read(str(source), as_version=4))
    return merged


def merge(submitted, trusted, record):
    """The trusted notebook with the student's answers (by grade_id) and added cells,
    and the answers themselves ({grade_id: source})."""
    meta = lambda cell: cell.metadata.get("nbgrader", {})  # noqa: E731
    known = {meta(c).get("grade_id"): c for c in trusted.cells if meta(c).get("grade_id")}
    answers, added, anchor = {}, {}, None
    for cell in submitted.cells:
        grade_id = meta(cell).get("grade_id")
        if grade_id in known:
            original = known[grade_id]
            if meta(original).get("solution") and cell.cell_type == original.cell_type:
                answers.setdefault(grade_id, cell.source)
            elif cell.source != original.source or any(
                    meta(cell).get(k) != meta(original).get(k) for k in ("points", "grade", "locked")):
                record.flag(f"cell {grade_id} was edited (source or nbgrader metadata): "
                            "the release's cell was graded")
            anchor = grade_id
        elif cell.cell_type == "code" and cell.source.strip():
            if grade_id or meta(cell).get("grade"):
                record.flag(f"a cell claims nbgrader metadata it was not given ({grade_id}): "
                            "run as a plain cell, not graded")
            plain = nbformat.v4.new_code_cell(cell.source)
            added.setdefault(anchor, []).append(plain)
    present = {meta(c).get("grade_id") for c in submitted.cells}
    for grade_id, cell in known.items():
        if is_test_cell(cell) and grade_id not in present:
            record.flag(f"test cell {grade_id} was deleted: the release's cell was graded")
    cells = list(added.get(None, []))
    for cell in trusted.cells:
        grade_id = meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        cells.append(cell)
        cells.extend(added.get(grade_id, []))
    return nbformat.v4.new_notebook(cells=cells, metadata=submitted.metadata), answers


def judge(cell, link, seed, record):
    """Decide a test cell's outputs (hence its points) by the grader's verdict."""
    from autograder.verdicts import judge_cell
    grade_id = cell.metadata.nbgrader.get("grade_id")
    kernel_errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    in_kernel = "failed" if kernel_errors else "passed"
    verdict = judge_cell(kernel_source(cell), link, seed)
    if verdict is None:
        record.cell(grade_id, in_kernel, None, "no out-of-kernel check: scored in the kernel")
        return
    note = ""
    if kernel_errors and verdict.passed:
        first = kernel_errors[0]
        note = (f"\n(in your notebook this cell failed — {first.get('ename')}: "
                f"{str(first.get('evalue'))[:300]} — but the grader's own check passed)")
    if verdict.passed:
        cell.outputs = [new_output("stream", name="stdout",
                                   text=f"graded out of your notebook's reach: {verdict}{note}\n")]
    else:
        cell.outputs = [new_output("error", ename="GradingCheckFailed", evalue=str(verdict),
                                   traceback=[f"GradingCheckFailed: {verdict}"])]
    record.cell(grade_id, in_kernel, verdict.passed, str(verdict))
