"""The grader's side of one notebook's run: its executor and its time limits.

Stock nbgrader starts a Jupyter kernel per notebook and the notebook then imports
numpy and torch again: seconds of overhead before any student code runs. Here each
grading worker keeps a zygote inside a bubblewrap sandbox (``sandbox.boundary``,
``sandbox.zygote``) that imported the heavy modules once; each notebook runs in a fresh
fork of it, in namespaces of its own, so it starts in milliseconds from the same clean
image and no student's state can reach another's, nor the grader's.

The executor sends the code cells one at a time over the wire (``sandbox.wire``); the
notebook's process runs each in its recording shell (``sandbox.notebook_process``) and
answers with its outputs, which are sanitised (``sanitize``) before they enter the
notebook; after a test cell the judge decides the cell through the same wire
(``judge``). A cell gets ``timeout`` seconds, the notebook ``notebook_timeout``, both
kept by this process, outside the sandbox; a notebook that dies, stops or wedges leaves
every cell it did not finish with an error output naming the reason, so a test cell
that never ran can never score.

Whose failure: a notebook that dies, stops or wedges is the student's (its cells say
why, its points are what it earned). A sandbox that cannot start a notebook, or whose
zygote is gone when the grader hangs up on a notebook that stopped (not killed for the
memory that notebook took: nothing else in a notebook can reach its zygote), is the
grader's: ``SandboxLost``, and the notebook is left ungraded, never scored.
"""

import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nbformat.v4 import new_output

from autograder.grading.stages import CELLS, CHECKS, EARLIER, FORK, SANITISE, stage
from autograder.grading.trusted import is_test_cell, kernel_source
from autograder.sandbox.limits import CELL_SECONDS, NOTEBOOK_SECONDS, Limits

if TYPE_CHECKING:
    import socket

    from nbformat import NotebookNode

    from autograder.sandbox.boundary import Sandbox
    from autograder.sandbox.wire import Link

PREFLIGHT_SECONDS = 60  # a trivial cell, a look-up and a close, on a loaded machine


class SandboxLost(Exception):
    """The sandbox failed under a notebook for a reason outside it (it could not start
    one, or its zygote ended while one ran): the grader's failure, never a score."""


class SandboxedNotebook:
    """The grader's handle on one notebook process, forked by this worker's zygote."""

    def __init__(self, timeout: float = CELL_SECONDS, limits: Limits | None = None,
                 readable: Sequence[str] = (), sandbox: "Sandbox | None" = None) -> None:
        from autograder.sandbox.boundary import worker_sandbox
        from autograder.sandbox.wire import Link
        self.sandbox = sandbox or worker_sandbox()
        self.lost = False
        self.id, from_child, to_child, self.missing = self.sandbox.open_notebook(
            timeout, limits, readable)
        self.link = Link(to_child, from_child)

    def close(self, limit: int = 5) -> str | None:
        """Hang up; the zygote waits ``limit`` s, then kills what is left. Returns None
        for a clean exit, else why the notebook stopped. ``lost`` then says whether the
        zygote had ended before the hang-up (``zygote_ended``)."""
        for fd in (self.link.to_child, self.link.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.lost = self.zygote_ended()  # before close_notebook starts it again
        return self.sandbox.close_notebook(self.id, limit)

    def zygote_ended(self) -> bool:
        """True when this worker's zygote is gone and no process of its sandbox was
        killed for memory since this notebook began (the one way a notebook's doing can
        end it: the sandbox's memory cap is shared). A notebook cannot signal, trace or
        talk to its zygote (its own PID and user namespaces; the control socket is
        closed before student code), so anything else that ended it is the grader's."""
        process = self.sandbox.process
        if process is not None and process.poll() is None and not hung_up(self.sandbox.control):
            return False
        return not self.sandbox.oom_kills() > self.sandbox.oom_seen


def hung_up(control: "socket.socket | None") -> bool:
    """True when the zygote's end of the control socket is closed: it died (before the
    sandbox's init and the notebook did, so before the grader saw the notebook stop,
    even where bubblewrap's own exit is not yet seen)."""
    import select
    import socket
    try:
        readable, _, _ = select.select([control], [], [], 0)  # type: ignore[type-var]  # None: TypeError
        return bool(readable) and control.recv(  # type: ignore[union-attr]  # None: caught below
            1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (OSError, ValueError, TypeError):  # closed here already, or no socket at all
        return True


def execute_in_sandbox(notebook: "NotebookNode", timeout: int = CELL_SECONDS,
                       notebook_timeout: int = NOTEBOOK_SECONDS, limits: Limits | None = None,
                       readable: Sequence[str] = (),
                       judge: "Callable[[NotebookNode, Link], None] | None" = None,
                       flag: Callable[[str], None] | None = None,
                       start: Callable[[int, Limits | None, Sequence[str]], SandboxedNotebook] | None = None,
                       earlier: tuple[list[str], str, dict[str, Any]] | None = None) -> "NotebookNode":
    """Execute the notebook's code cells in a fresh notebook process (``start``,
    default: a fork of this worker's sandboxed zygote); fills in outputs and
    execution counts in place and returns the notebook. ``earlier`` (course, this
    notebook, {notebook: its cells as handed in}: data only) is all that
    ``autograder.student.earlier.notebook`` can import.
    ``judge(cell, link)``, when given, is called after each graded test cell and may
    replace its outputs (the grader's verdict); ``flag(message)`` hears what the
    sandbox could not apply on this machine."""
    from autograder.sandbox.boundary import SandboxGone
    from autograder.sandbox.wire import RemoteGone
    try:
        with stage(FORK):
            child = (start or SandboxedNotebook)(timeout, limits, readable)
    except SandboxGone as error:  # before any of the notebook's code ran
        raise SandboxLost(f"the sandbox could not start the notebook: {error}") from error
    for message in child.missing:
        if flag:
            flag(f"sandbox incomplete: {message}")
    deadline = time.monotonic() + notebook_timeout
    stopped: str | None = None
    try:
        if earlier is not None:
            child.link.deadline = min(deadline, time.monotonic() + timeout)
            try:
                with stage(EARLIER):
                    child.link.request("probe", "autograder.student.earlier:provide", *earlier)
            except RemoteGone as error:
                stopped = str(error)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            if stopped is None:
                child.link.deadline = min(deadline, time.monotonic() + timeout + 10)
                try:
                    with stage(CELLS):
                        result = child.link.request("run", kernel_source(cell))
                    with stage(SANITISE):
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
                with stage(CHECKS):
                    judge(cell, child.link)
                try:
                    with stage(CHECKS):
                        child.link.request("reset")
                except RemoteGone as error:
                    stopped = stopped or str(error)
    finally:
        with stage(FORK):  # a notebook that let a cell's deadline pass will not end by itself
            reason = child.close(0 if stopped == "timeout" else 5)
    if stopped is not None and getattr(child, "lost", False):
        raise SandboxLost(f"the sandbox ended under the notebook for a reason outside it "
                          f"({reason or stopped})")
    if stopped is not None:
        why = stopped if stopped == "timeout" else reason or stopped
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("ename") == "NotebookStopped":
                    output["evalue"] = explain_stop(why)
    return notebook


def outputs_from(result: object) -> "list[NotebookNode]":
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


def explain_stop(reason: str | None) -> str:
    if reason in ("ended", None):
        return "the notebook's process ended before this cell ran (os._exit or a crash?)"
    if reason == "timeout":
        return ("the notebook was stopped: a cell ran past its time limit without giving "
                "control back (a loop inside C code?) and was killed")
    return f"the notebook stopped before this cell ran: {reason}"


# the pre-flight's look for torch inside the sandbox, without importing it (1.5 s): its
# package, with its compiled core beside it, where the notebooks' imports will look
TORCH_HERE = """import importlib.util as _util, glob as _glob, os as _os
_spec = _util.find_spec("torch")
torch_here = bool(_spec and _spec.origin and _os.path.isfile(_spec.origin)
                  and _glob.glob(_os.path.join(_os.path.dirname(_spec.origin), "_C.*")))"""


def sandbox_problem(limits: Limits | None = None, readable: Sequence[str] = (), device: str | None = None,
                    threads: int | None = None, memory_mb: int | None = None) -> str | None:
    """Before grading: None when a sandbox started as a grading worker starts its own
    (bubblewrap or the fallback, its policy, drop, cgroups and per-notebook layers; the
    zygote started ``--cold``: numpy and the wire only, none of the imports a
    worker's zygote does for warmth) runs a
    trivial notebook through the wire — a cell run, a name looked up, torch's package found
    where the notebooks will import it (``TORCH_HERE``; a warm zygote's failed import only
    costs warmth, and every check's call then fails), a clean close —
    else why not, in one line (the zygote's last stderr line when it did not start).
    The grader then refuses to grade: its failure must never be the students' zeros."""
    from autograder.sandbox.boundary import Sandbox, SandboxGone
    from autograder.sandbox.wire import RemoteError, RemoteGone
    from autograder.student.errors import first_line
    sandbox = Sandbox(device, threads, memory_mb=memory_mb, warm=False)  # the other imports
    try:  # only cost time (a module that fails to import costs warmth, not the notebook)
        child = SandboxedNotebook(PREFLIGHT_SECONDS, limits, readable, sandbox=sandbox)
        try:
            child.link.deadline = time.monotonic() + PREFLIGHT_SECONDS
            ran = child.link.request("run", "answer = 6 * 7")
            answer = child.link.request("lookup", "answer")
            child.link.request("run", TORCH_HERE)
            torch_here = child.link.request("lookup", "torch_here")
        finally:
            stopped = child.close()
        errors = [o for o in outputs_from(ran) if o.get("output_type") == "error"]
        if errors:
            return f"a trivial cell failed in it ({errors[0].get('ename')}: {errors[0].get('evalue')})"
        if answer != 42:
            return f"a trivial notebook's 6 * 7 came back as {answer!r}"
        if torch_here is not True:
            return ("torch is not there inside it (the sandbox binds the Python environment's "
                    "own folders: a torch in the user site or on PYTHONPATH is left out)")
        return f"a trivial notebook did not end cleanly ({stopped})" if stopped else None
    except (SandboxGone, RemoteGone, RemoteError, OSError) as error:
        return first_line(error, 300) or type(error).__name__
    finally:
        sandbox.kill()
