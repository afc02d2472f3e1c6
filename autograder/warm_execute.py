"""A warm stand-in for nbgrader's ``Execute`` preprocessor.

Stock nbgrader starts a Jupyter kernel per notebook and the notebook then imports
numpy and torch again: seconds of overhead before any student code runs. Here the
grading worker imports the heavy modules and builds an IPython shell once
(``warm_up``); each notebook then runs in a ``fork`` of that worker, so it starts in
milliseconds with a fresh namespace, and no student's state can reach another's.

The child runs the code cells in order in the IPython shell (inline matplotlib,
stdout/stderr, displays, results and errors recorded as nbformat outputs) and
streams each finished cell back through a file. A cell gets ``timeout`` seconds
(SIGALRM), the notebook ``notebook_timeout``; a child that dies or is killed leaves
every cell it did not finish with an error output naming the reason, so a test cell
that never ran can never score.
"""

import io
import json
import os
import signal
import sys
import tempfile
import time

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

_SHELL = None
HEAVY_MODULES = ("numpy", "torch", "torch.nn.functional", "matplotlib.pyplot", "torchvision",
                 "sklearn.metrics", "tqdm.auto", "nbformat", "autograder.components",
                 "autograder.plots", "autograder.data")


class CellTimeout(Exception):
    """Raised inside a cell that ran past its time limit."""


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
        def _showtraceback(self, etype, evalue, stb):
            RECORDER.add(new_output("error", ename=getattr(etype, "__name__", str(etype)),
                                    evalue=str(evalue), traceback=list(stb)))

    shell = RecordingShell.instance(displayhook_class=RecordingDisplayHook,
                                    display_pub_class=RecordingDisplayPublisher,
                                    colors="NoColor", history_length=0)
    shell.history_manager.enabled = False
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


class RecordingStream(io.TextIOBase):
    def __init__(self, name):
        self.name = name

    def write(self, text):
        RECORDER.stream(self.name, text)
        return len(text)

    def writable(self):
        return True


def run_cells(shell, sources, timeout, report):
    """In the child: run each source, calling ``report(index, outputs, count)``."""
    def on_alarm(signum, frame):
        raise CellTimeout(f"this cell ran longer than the {timeout} s limit")

    signal.signal(signal.SIGALRM, on_alarm)
    sys.stdout, sys.stderr = RecordingStream("stdout"), RecordingStream("stderr")
    sys.stdin = open(os.devnull)
    for index, source in sources:
        RECORDER.outputs = []
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            shell.run_cell(source, store_history=True)
        except CellTimeout as error:  # raised outside the cell's own try/except
            RECORDER.add(new_output("error", ename="CellTimeout", evalue=str(error), traceback=[]))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        report(index, RECORDER.outputs, shell.execution_count - 1)


def execute_in_fork(notebook, cwd, timeout=600, notebook_timeout=1800, env=None):
    """Execute the notebook's code cells in a fork of this (warm) process; fills in
    outputs and execution counts in place and returns the notebook."""
    shell = warm_up()
    code = [(i, c.source) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    with tempfile.NamedTemporaryFile("w+", suffix=".jsonl", delete=False) as channel:
        path = channel.name
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 1
        try:
            os.setsid()
            os.chdir(cwd)
            os.environ.update(env or {})
            with open(path, "a") as out:
                def report(index, outputs, count):
                    out.write(json.dumps({"index": index, "count": count, "outputs": outputs}) + "\n")
                    out.flush()
                run_cells(shell, code, timeout, report)
            status = 0
        finally:
            os._exit(status)
    reason = wait_for(pid, notebook_timeout)
    finished = read_results(path)
    os.unlink(path)
    for index, _ in code:
        cell = notebook.cells[index]
        if index in finished:
            cell.outputs = [new_output(**o) if isinstance(o, dict) else o
                            for o in finished[index]["outputs"]]
            cell.execution_count = finished[index]["count"]
        else:
            cell.execution_count = None
            cell.outputs = [new_output("error", ename="NotebookStopped", evalue=reason or
                                       "the notebook stopped before this cell ran", traceback=[])]
    return notebook


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


def read_results(path):
    finished = {}
    with open(path) as results:
        for line in results:
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a kill
                continue
            finished[record["index"]] = record
    return finished


class WarmExecute(NbGraderPreprocessor):
    """nbgrader preprocessor: run the notebook with ``execute_in_fork``."""

    timeout = Integer(600, help="seconds per cell").tag(config=True)
    notebook_timeout = Integer(1800, help="seconds per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        cwd = resources.get("metadata", {}).get("path") or os.getcwd()
        return execute_in_fork(nb, cwd, self.timeout, self.notebook_timeout), resources
