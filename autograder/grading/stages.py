"""Where a grading run's seconds go: ``stage(name)`` adds the time spent in its block to
the recording open in this thread (``recording()``), and does nothing when none is open.

A stage's time is its own: a stage entered inside another is taken out of the outer one,
so a task's stages add up to the time recorded (``nbgrader bookkeeping`` is nbgrader's
``autograde`` less the stages of ours inside it). A grading worker records a task when
its ``GradingRun`` asks (``timings``) and returns the seconds with the task's result;
the grader's own steps are recorded in the grader's process. Nothing travels through
the environment or a file; with no recording open, a stage costs about a microsecond.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter

Stages = dict[str, float]  # stage name -> seconds

INTAKE = "intake"
TRUSTED = "trusted notebook"
NBGRADER = "nbgrader bookkeeping"
EARLIER = "earlier work"
FORK = "sandbox fork"
CELLS = "student's cells"
SANITISE = "outputs sanitised"
CHECKS = "checks"
FEEDBACK = "feedback HTML"
RECORDS = "records"
ORDER = (INTAKE, TRUSTED, NBGRADER, EARLIER, FORK, CELLS, SANITISE, CHECKS, FEEDBACK, RECORDS)
# once per run, in the grader's process (wall seconds)
PREFLIGHT = "sandbox pre-flight"
COURSE = "course folder"
DATA = "data checked"
WORKERS = "grading workers"
RESULTS = "scores & grades.csv"
ONCE = (PREFLIGHT, COURSE, DATA, WORKERS, RESULTS)


@dataclass
class _Open:
    """A stage open now: when it began, and the seconds of the stages inside it so far."""
    start: float
    inner: float = 0.0


@dataclass
class _Recording:
    seconds: Stages = field(default_factory=dict)
    open: list[_Open] = field(default_factory=list)


_CURRENT: ContextVar[_Recording | None] = ContextVar("firstmlp_stages", default=None)


def recording_now() -> bool:
    """Whether a recording is open in this thread (the grader asks it of a run)."""
    return _CURRENT.get() is not None


@contextmanager
def recording() -> Iterator[Stages]:
    """Record the stages of the block; yields {stage: seconds}, filled as they end. A
    recording inside another is its own (the outer one does not see its stages)."""
    current = _Recording()
    token = _CURRENT.set(current)
    try:
        yield current.seconds
    finally:
        _CURRENT.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the block's own time (less its inner stages') to ``name``, also when it raises."""
    current = _CURRENT.get()
    if current is None:
        yield
        return
    entry = _Open(perf_counter())
    current.open.append(entry)
    try:
        yield
    finally:
        elapsed = perf_counter() - entry.start
        current.open.pop()
        current.seconds[name] = current.seconds.get(name, 0.0) + elapsed - entry.inner
        if current.open:
            current.open[-1].inner += elapsed
