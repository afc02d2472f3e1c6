"""The notebook's process: a recording IPython shell that runs one student's cells and
serves the grader over the wire (the sandbox side of the boundary; see ``boundary``).

``warm_up`` imports the heavy modules and builds the shell once, in the zygote
(``zygote``), before any student code exists; every notebook then runs in a fork of
that clean image (``child_main``): it confines itself, records each cell's stdout,
stderr, displays, results and errors as nbformat outputs, and answers the grader's
requests (``wire.Server``) until the grader hangs up. Nothing here knows a secret, a
seed, a gradebook or another student: the process only ever receives cell sources
and the grader's inputs.
"""

import functools
import io
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any

from nbformat.v4 import new_output

from autograder.sandbox.limits import CELL_SECONDS, Limits, ProcessGroup, become_subreaper, confine

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell
    from nbformat import NotebookNode
    from torch.overrides import TorchFunctionMode

_SHELL: "InteractiveShell | None" = None
# imported by a worker's zygote only where the run grades a notebook whose code names
# one of the words (``needed_modules``): 3.4 CPU-s of each zygote's start that notebooks
# 01-04 never use (torchvision imports torch._dynamo); unknown runs import all of them
OPTIONAL_MODULES = {"torchvision": ("torchvision", "load_mnist"), "sklearn.metrics": ("sklearn",)}
HEAVY_MODULES = ("numpy", "torch", "torch.nn.functional", "matplotlib.pyplot", *OPTIONAL_MODULES,
                 "tqdm.auto", "nbformat", "autograder.student.components",
                 "autograder.student.plots", "autograder.student.data",
                 # what every notebook's process imported for itself before issue 24: its
                 # wire, its earlier work, the corpus root, and IPython's per-cell modules
                 "autograder.sandbox.wire", "autograder.student.earlier",
                 "autograder.student.speech.corpus", "IPython.core.logger", "bdb",
                 # and what they imported at their first use (issue 24): autograd's first
                 # backward imports torch's symbolic shapes, sympy with it (0.3-0.5 s of each
                 # notebook that checks a gradient); notebook 4's experiments module
                 "torch.fx.experimental.symbolic_shapes", "autograder.student.experiments")


class CellTimeout(BaseException):
    """Raised inside a cell that ran past its time limit; a BaseException, so that an
    ``except Exception`` in the cell does not swallow it (and it is raised again every
    second until the cell gives up)."""


def warm_up(modules: Collection[str] = HEAVY_MODULES) -> "InteractiveShell":
    """Import the heavy modules (``modules``: none for the grader's pre-flight, which
    only proves that a sandbox starts and runs a cell) and build the shell, once per
    process."""
    global _SHELL
    if _SHELL is not None:
        return _SHELL
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # a missing optional module only costs warmth
            pass
    _SHELL = make_shell()
    return _SHELL


# the pre-flight's cold zygote: what a notebook's process needs for a cell and a
# look-up, imported before its rlimits; no torch (1.5 s of the pre-flight): the wire
# tells a tensor only where torch is already imported, and nothing else of a cell's
# run or a look-up imports it
PREFLIGHT_MODULES = ("numpy", "autograder.sandbox.wire", "autograder.student.earlier",
                     "autograder.student.speech.corpus")


def needed_modules(sources: Iterable[str]) -> list[str]:
    """The ``OPTIONAL_MODULES`` that code in ``sources`` (the course's own notebooks,
    not a student's) names."""
    text = "\n".join(sources)
    return [module for module, words in OPTIONAL_MODULES.items()
            if any(word in text for word in words)]


def warm_modules(optional: Collection[str] | None) -> tuple[str, ...]:
    """The zygote's imports: ``HEAVY_MODULES``, of the optional ones only ``optional``
    (None: all)."""
    if optional is None:
        return HEAVY_MODULES
    return tuple(m for m in HEAVY_MODULES if m not in OPTIONAL_MODULES or m in optional)


def rehearse(shell: "InteractiveShell") -> None:
    """Once, in the zygote, before any fork: what every notebook does first, done on
    throw-away objects — an output recorded (nbformat compiles its JSON-schema
    validator on first use: 45 ms of every notebook's first cell before this), a figure
    with mathtext rendered to PNG through the shell's display formatter (fonts, Agg, the
    mathtext parser), a small torch forward, a numpy product — so that each
    notebook starts with those caches filled instead of filling them itself. It leaves
    nothing a notebook can see: no pyplot figure (the figure is never registered with
    pyplot), nothing in the shell's namespace or history, the random states of
    ``random``, numpy and torch as they were, torch's thread count too. Whatever fails
    here only costs warmth."""
    import random
    state = random.getstate()
    try:
        new_output("stream", name="stdout", text="")  # validated: the validator compiled
        from matplotlib.figure import Figure
        figure = Figure(figsize=(2, 2))
        axes = figure.subplots()
        axes.plot([0, 1], [0, 1], label="$x_1$")
        axes.scatter([0.5], [0.5], c=[1.0], cmap="coolwarm")
        axes.set(title=r"$\partial L/\partial x$", xlabel="$x$", ylabel="loss")
        axes.legend()
        if shell.display_formatter is not None:
            shell.display_formatter.format(figure)  # the inline backend's PNG, as shown
        rehearse_numpy_and_torch()
        rehearse_traceback(shell)
    except Exception:
        pass
    finally:
        random.setstate(state)


def rehearse_traceback(shell: "InteractiveShell") -> None:
    """A traceback formatted as a cell's error is shown, and thrown away: its first one
    imports IPython's stack inspection (stack_data, executing, asttokens) and looks up
    pygments' formatters and styles, 0.1 s of every notebook with an error before."""
    try:
        raise NotImplementedError("rehearsal")
    except NotImplementedError as error:
        shell.InteractiveTB.structured_traceback(type(error), error, error.__traceback__)
    shell.InteractiveTB.tb = None  # it keeps the last one it formatted: not this one


def rehearse_numpy_and_torch() -> None:
    """A numpy product and a small torch forward on one thread (no OpenMP team in the
    zygote: it is not fork-safe), their random states put back."""
    import numpy
    import torch
    numpy_state, torch_state = numpy.random.get_state(), torch.random.get_rng_state()
    threads = torch.get_num_threads()
    try:
        a = numpy.linspace(-1.0, 1.0, 64).reshape(8, 8)
        (a @ a.T).sum()
        torch.set_num_threads(1)
        layer = torch.nn.Linear(4, 3)
        x = torch.linspace(-1.0, 1.0, 8).reshape(2, 4)
        # forward only: a backward would start autograd's engine, whose device-thread
        # set-up asks CUDA for its devices (--device cuda), which no fork may inherit
        torch.nn.functional.cross_entropy(torch.relu(layer(x)), torch.tensor([0, 2]))
    finally:
        numpy.random.set_state(numpy_state)
        torch.random.set_rng_state(torch_state)
        torch.set_num_threads(threads)


def make_shell() -> "InteractiveShell":
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class RecordingDisplayHook(DisplayHook):
        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict: dict[str, Any],
                              md_dict: dict[str, Any] | None = None) -> None:
            RECORDER.add(new_output("execute_result", data=format_dict, metadata=md_dict or {},
                                    execution_count=self.shell.execution_count))  # type: ignore[union-attr]  # a hook always has its shell

        def finish_displayhook(self) -> None:
            pass

    class RecordingDisplayPublisher(DisplayPublisher):
        def publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None, source: object = None,
                    *, transient: object = None, update: bool = False, **kw: object) -> None:
            RECORDER.add(new_output("display_data", data=data, metadata=metadata or {}))

        def clear_output(self, wait: bool=False) -> None:
            pass

    class RecordingShell(InteractiveShell):
        def showtraceback(self, exc_tuple: Any = None, filename: str | None = None,
                          tb_offset: int | None = None,
                          exception_only: bool = False, running_compiled_code: bool = False) -> None:
            try:
                etype, value, tb = self._get_exc_info(exc_tuple)  # type: ignore[no-untyped-call]  # IPython's, untyped
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

        def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
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
        shell.enable_matplotlib("inline")  # type: ignore[no-untyped-call]  # IPython's, untyped
    except Exception:
        pass
    return shell


class Recorder:
    """The outputs of the cell being run, in order; consecutive stream text merged."""

    def __init__(self) -> None:
        self.outputs: list[NotebookNode] = []

    def add(self, output: "NotebookNode") -> None:
        self.outputs.append(output)

    def stream(self, name: str, text: str) -> None:
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.outputs.append(new_output("stream", name=name, text=text))


RECORDER = Recorder()


class OutputCap:
    """At most ``limit`` characters of stdout/stderr per notebook are recorded."""

    def __init__(self, limit: int) -> None:
        self.left, self.limit, self.truncated = limit, limit, False

    def take(self, text: str) -> str:
        if self.left <= 0:
            if not self.truncated:
                self.truncated = True
                return f"\n[output truncated by the grader: more than {self.limit} characters]\n"
            return ""
        text, self.left = text[:self.left], self.left - len(text)
        return text


class RecordingStream(io.TextIOBase):
    """stdout or stderr of the notebook, into the recorder, up to a shared cap."""

    def __init__(self, name: str, cap: OutputCap) -> None:
        self.name, self.cap = name, cap

    def write(self, text: object) -> int:
        text = self.cap.take(str(text))
        if text:
            RECORDER.stream(self.name, text)
        return len(text)

    def writable(self) -> bool:
        return True


class StudentGuard:
    """Runs the grader's calls of student code: numpy's floating-point warnings
    recorded for the grader (a check judges numbers: ``take_warnings``), and one time
    budget of ``timeout`` seconds per check (``reset``), so that a function that loops
    forever costs one timeout, not one per call."""

    def __init__(self, timeout: float) -> None:
        self.timeout, self.left = timeout, timeout
        self.warnings: list[dict[str, str]] = []
        self.torch_calls: set[str] = set()

    def reset(self) -> None:
        self.left = self.timeout

    def take_warnings(self) -> list[dict[str, str]]:
        taken, self.warnings = self.warnings[:20], []
        return taken

    def take_torch_calls(self) -> list[str]:
        """The torch functions student code called during the grader's calls (seen by a
        TorchFunctionMode: a numpy exercise solved by torch under another name is
        flagged; calls from other threads are not seen)."""
        taken, self.torch_calls = sorted(self.torch_calls)[:20], set()
        return taken

    def __call__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import linecache
        import warnings

        from autograder.student.errors import student_errstate
        if self.left <= 0:
            raise CellTimeout(f"the check's {self.timeout} s budget is spent (an earlier call "
                              "ran too long)")
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, self.left, 1.0)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with student_errstate(), \
                            TorchCalls(self.torch_calls):
                        return function(*args, **kwargs)
                finally:
                    self.warnings += [
                        {"message": str(w.message)[:300],
                         "line": linecache.getline(w.filename, w.lineno).strip()[:300]}
                        for w in caught if issubclass(w.category, RuntimeWarning)]
        except CellTimeout as error:  # the budget is the check's, not the cell's
            raise CellTimeout(f"your code ran past the check's {self.timeout} s time budget "
                              "(all its calls together)").with_traceback(error.__traceback__) \
                from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.left -= time.monotonic() - started


def TorchCalls(seen: set[str]) -> "TorchFunctionMode":
    """A torch function mode that records the name of every torch function called into
    ``seen``. Its class is made once per process (``torch_recorder``): a class made for
    every call of student code is garbage the collector must find, and torch's mode
    classes cost more to make the more of them live (600 us a call with 2 000 alive)."""
    mode: TorchFunctionMode = torch_recorder()(seen)
    return mode


@functools.cache
def torch_recorder() -> type:
    """The class of ``TorchCalls``'s modes, made at its first use in this process."""
    from torch.overrides import TorchFunctionMode

    class Recorder(TorchFunctionMode):
        def __init__(self, seen: set[str]) -> None:
            super().__init__()
            self.seen = seen

        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            self.seen.add(str(getattr(func, "__name__", func))[:60])
            return func(*args, **(kwargs or {}))
    return Recorder


def run_one(shell: "InteractiveShell", source: str, timeout: float) -> dict[str, Any]:
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
    raised = result and (result.error_in_exec or result.error_before_exec)
    if raised and not any(o.output_type == "error" for o in RECORDER.outputs):
        # the traceback could not be shown (no thread, memory or time left): say what it was
        RECORDER.add(new_output("error", ename=type(raised).__name__, evalue=str(raised),
                                traceback=[]))
    reap_children()
    outputs = json.loads(json.dumps(RECORDER.outputs, default=str))
    if len(json.dumps(outputs)) > MAX_CELL_OUTPUT:
        outputs = [new_output("stream", name="stdout",
                              text=f"[outputs of this cell dropped by the grader: over "
                                   f"{MAX_CELL_OUTPUT} bytes]\n")]
    return {"outputs": outputs, "count": shell.execution_count - 1}


MAX_CELL_OUTPUT = 8 << 20


def reap_children(patience: float = 1.0, quiet: float = 0.05) -> None:
    """Collect the processes the cell forked that have ended (a fork bomb's copies;
    the child is their subreaper, so orphans come back to it): left as zombies they
    would count against the process limit for the rest of the run. Waits for copies
    still on their way out while they keep ending — until ``quiet`` seconds pass with
    none ending, at most ``patience`` seconds — not for copies that live on (a fork
    bomb's sleepers cost every later cell the whole ``patience`` before)."""
    last_ended = time.monotonic()
    deadline = last_ended + patience
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        now = time.monotonic()
        if pid:
            last_ended = now
        elif now > deadline or now - last_ended > quiet:
            return
        else:
            time.sleep(0.005)


def child_main(shell: "InteractiveShell", to_parent: int, from_parent: int, timeout: float, scratch: str,
               limits: Limits | None, readable: Collection[str], group: ProcessGroup | None = None) -> None:
    """The forked child: confine itself, then serve the grader until it hangs up."""
    from autograder.sandbox.wire import Server

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise CellTimeout(f"this cell ran longer than the {timeout} s limit")

    try:
        os.setsid()
    except OSError:  # already a session leader
        pass
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # C-level writes reach nobody's terminal
        os.dup2(null, fd)
    os.close(null)
    os.chdir(scratch)
    if "torch" in sys.modules:  # GNU OpenMP is not fork-safe: a thread team the parent
        sys.modules["torch"].set_num_threads(1)  # used would deadlock the child's first matmul
    for name in list(os.environ):
        if name.startswith("FIRSTMLP_GRADING"):  # never set in a sandbox; belt and braces
            del os.environ[name]
    if "SPEECH_ROOT" not in os.environ:  # the grader's corpus, before HOME moves
        from autograder.student.speech.corpus import default_root
        os.environ["SPEECH_ROOT"] = str(default_root())
    os.environ.update(TMPDIR=str(scratch), MPLCONFIGDIR=str(scratch), HOME=str(scratch))
    tempfile.tempdir = None  # gettempdir() looks at TMPDIR again
    if limits:
        confine(limits, scratch, readable, group)
    become_subreaper()  # a fork bomb's orphans come back here, to be reaped
    signal.signal(signal.SIGALRM, on_alarm)
    cap = OutputCap((limits or Limits()).output_bytes)
    sys.stdout, sys.stderr = RecordingStream("stdout", cap), RecordingStream("stderr", cap)
    sys.stdin = open(os.devnull)
    Server(from_parent, to_parent, shell.user_ns, lambda source: run_one(shell, source, timeout),
           StudentGuard(timeout), PROBE_MODULES).serve()


PROBE_MODULES = ("autograder.student.probes", "autograder.student.earlier")


class ForkedNotebook:
    """A notebook process forked from *this* process, unconfined unless ``limits`` —
    for tests of the wire, which put their own objects in the shell first. Grading
    never uses it: its notebooks are forks of the sandboxed zygote."""

    def __init__(self, timeout: float = CELL_SECONDS, limits: Limits | None = None,
                 readable: Collection[str] = ()) -> None:
        from autograder.sandbox.wire import Link
        shell = warm_up()
        self.scratch = tempfile.mkdtemp(prefix="firstmlp-notebook-")
        parent_in, child_out = os.pipe()
        child_in, parent_out = os.pipe()
        self.missing: list[str] = []
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(parent_in)
                os.close(parent_out)
                child_main(shell, child_out, child_in, timeout, self.scratch, limits, readable)
            finally:
                os._exit(0)
        os.close(child_out)
        os.close(child_in)
        self.link = Link(parent_out, parent_in)

    def close(self, limit: int=5) -> None:
        import shutil
        for fd in (self.link.to_child, self.link.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        deadline = time.monotonic() + limit
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.01)
        shutil.rmtree(self.scratch, ignore_errors=True)
