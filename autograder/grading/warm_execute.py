"""A warm, sandboxed stand-in for nbgrader's ``Execute`` preprocessor.

Stock nbgrader starts a Jupyter kernel per notebook and the notebook then imports
numpy and torch again: seconds of overhead before any student code runs. Here each
grading worker keeps a zygote inside a bubblewrap sandbox (``boundary``, ``zygote``)
that imported the heavy modules once; each notebook runs in a fresh fork of it, in
namespaces of its own, so it starts in milliseconds from the same clean image and no
student's state can reach another's, nor the grader's.

The grader sends the code cells one at a time over the wire (``wire``); the notebook's
process runs each in its recording shell (``notebook_process``) and answers with its
outputs, which are sanitised (``sanitize``) before they enter the notebook; after a
test cell the grader judges the cell's checks through the same wire (``judge``).
A cell gets ``timeout`` seconds, the notebook ``notebook_timeout``, both kept by this
process, outside the sandbox; a notebook that dies, stops or wedges leaves every
cell it did not finish with an error output naming the reason, so a test cell that
never ran can never score.
"""

import os
import re
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from autograder.course.markers import HIDDEN_REGION
from autograder.sandbox.limits import Limits


class SandboxedNotebook:
    """The grader's handle on one notebook process, forked by this worker's zygote."""

    def __init__(self, timeout=600, limits=None, readable=(), sandbox=None):
        from autograder.sandbox.boundary import worker_sandbox
        from autograder.sandbox.wire import Link
        self.sandbox = sandbox or worker_sandbox()
        self.id, from_child, to_child, self.missing = self.sandbox.open_notebook(
            timeout, limits, readable)
        self.link = Link(to_child, from_child)

    def close(self, limit=5):
        """Hang up; the zygote waits ``limit`` s, then kills what is left. Returns None
        for a clean exit, else why the notebook stopped."""
        for fd in (self.link.to_child, self.link.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        return self.sandbox.close_notebook(self.id, limit)


def execute_in_sandbox(notebook, timeout=600, notebook_timeout=1800, limits=None, readable=(),
                       judge=None, flag=None, start=None, earlier=None):
    """Execute the notebook's code cells in a fresh notebook process (``start``,
    default: a fork of this worker's sandboxed zygote); fills in outputs and
    execution counts in place and returns the notebook. ``earlier`` (course, this
    notebook, {notebook: its cells as handed in}: data only) is all that
    ``autograder.student.earlier.notebook`` can import.
    ``judge(cell, link)``, when given, is called after each graded test cell and may
    replace its outputs (the grader's verdict); ``flag(message)`` hears what the
    sandbox could not apply on this machine."""
    from autograder.sandbox.wire import RemoteGone
    child = (start or SandboxedNotebook)(timeout, limits, readable)
    for message in child.missing:
        if flag:
            flag(f"sandbox incomplete: {message}")
    deadline = time.monotonic() + notebook_timeout
    stopped = None
    try:
        if earlier is not None:
            child.link.deadline = min(deadline, time.monotonic() + timeout)
            try:
                child.link.request("probe", "autograder.student.earlier:provide", *earlier)
            except RemoteGone as error:
                stopped = str(error)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            if stopped is None:
                child.link.deadline = min(deadline, time.monotonic() + timeout + 10)
                try:
                    result = child.link.request("run", kernel_source(cell))
                    cell.outputs = outputs_from(result)
                    count = result.get("count") if isinstance(result, dict) else None
                    cell.execution_count = count if type(count) is int and count >= 0 else None
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


def outputs_from(result):
    """The cell's outputs as sent by the notebook's process, sanitised: nothing the
    student controls reaches a notebook or a page unchecked."""
    from autograder.grading.sanitize import clean_outputs
    outputs = result.get("outputs") if isinstance(result, dict) else None
    if not isinstance(outputs, list):
        return [new_output("stream", name="stderr", text="[the grader received no outputs]\n")]
    kept = []
    for output in clean_outputs(outputs):
        try:
            kept.append(new_output(**output))
        except Exception:
            kept.append(new_output("stream", name="stderr",
                                   text="[an output the grader could not read was dropped]\n"))
    return kept


def explain_stop(reason):
    if reason in ("ended", None):
        return "the notebook's process ended before this cell ran (os._exit or a crash?)"
    if reason == "timeout":
        return ("the notebook was stopped: a cell ran past its time limit without giving "
                "control back (a loop inside C code?) and was killed")
    return f"the notebook stopped before this cell ran: {reason}"


def is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def kernel_source(cell):
    """What runs in the student's process: test cells without their hidden part (the
    grader judges hidden inputs itself, out of the student's reach)."""
    return HIDDEN_REGION.sub("", cell.source) if is_test_cell(cell) else cell.source


class WarmExecute(NbGraderPreprocessor):
    """nbgrader preprocessor: run the notebook with ``execute_in_sandbox``.

    With ``course_root`` set (the grader sets it), the notebook is the one
    ``trusted_notebook`` made of the submission, each test cell's points follow the
    grader's verdict (``judge.judge_cell``), and what happened is written to
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
            return execute_in_sandbox(nb, self.timeout, self.notebook_timeout,
                                   limits=self.limits(), readable=self.readable()), resources
        from autograder.course.build import load_manifest
        from autograder.grading.grader import earlier_work
        from autograder.grading.record import GradingRecord
        record = GradingRecord.load(self.course_root, student, assignment)
        seed = grading_seed(student, assignment)
        execute_in_sandbox(nb, self.timeout, self.notebook_timeout, limits=self.limits(),
                        readable=self.readable(),
                        judge=lambda cell, link: judge(cell, link, seed, record), flag=record.flag,
                        earlier=([a["name"] for a in load_manifest()["assignments"]], assignment,
                                 earlier_work(self.course_root, student, assignment)))
        record.save()
        return nb, resources

    def readable(self):
        from autograder.sandbox.limits import student_readable
        from autograder.student.speech.corpus import default_root
        return student_readable([os.environ.get("MNIST_ROOT"), data_root(), str(default_root())])


def data_root():
    from autograder.student.data import DEFAULT_ROOT
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


def without_seed(verdict, seed):
    """The verdict with this run's hidden seed replaced by words."""
    from autograder.student.oracle import Verdict
    def hide(text):
        return re.sub(rf"\bseed {seed}\b", "the grading run's hidden seed", text)
    return Verdict(verdict.name, [hide(f) for f in verdict.failures], verdict.comparisons,
                   [hide(a) for a in verdict.advice], verdict.against)


def judge(cell, link, seed, record):
    """Decide a test cell's outputs (hence its points) by the grader's verdict."""
    from autograder.grading.judge import judge_cell, numpy_checks_in
    grade_id = cell.metadata.nbgrader.get("grade_id")
    kernel_errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    in_kernel = "failed" if kernel_errors else "passed"
    link.torch_calls = set()
    verdict = judge_cell(kernel_source(cell), link, seed)
    if link.torch_calls and numpy_checks_in(kernel_source(cell)):
        record.flag(f"{grade_id}: your code called torch ({', '.join(sorted(link.torch_calls))}) "
                    "while the grader checked a numpy exercise — review")
    if verdict is not None:  # this run's seed stays in the grader: never in a notebook
        verdict = without_seed(verdict, seed)
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
