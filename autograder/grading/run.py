"""A grading run and what it hands around: ``GradingRun`` (the course folder, the run's
secret, device, threads, limits, manifest and scheduler: one object, given explicitly
to what needs it), ``Task`` (one notebook for a worker), ``Outcome`` (a row of the
table), and the two ways a run ends early."""

from dataclasses import dataclass, field, replace
from typing import Any

from autograder.course.course_dir import CourseDir
from autograder.errors import FirstmlpError
from autograder.sandbox.limits import CELL_SECONDS, MEMORY_MB, NOTEBOOK_SECONDS


@dataclass
class Outcome:
    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    flags: list[str] = field(default_factory=list)
    by_hand: float = 0.0  # points of written answers waiting for an instructor (formgrader)
    ungraded: str = ""  # why the grader could not grade it (its own failure): then no score
    stages: dict[str, float] = field(default_factory=dict, compare=False, repr=False)  # seconds
    # per grading stage when the run was recorded (``stages``); not part of the table


@dataclass(frozen=True)
class GradingRun:
    """One grading run, handed explicitly to what needs it: the course folder, the run's
    secret (drawn per run, kept in memory: never in a file or the environment), the
    torch side's device, threads per worker, the sandbox's limits, the course manifest
    and where to grade (``scheduler``: a Dask address or ``Client``; None: a local pool).
    Plain fields, so it pickles to a Dask worker (``for_workers`` leaves the scheduler)."""
    course: CourseDir
    secret: str = ""
    device: str | None = None  # None: torch's default (CUDA when torch sees a GPU)
    workers: int | None = None
    threads: int | None = None
    memory_mb: int = MEMORY_MB  # the defaults: ``settings.Grading``'s (``sandbox.limits``)
    isolate: bool = True
    timeout: int = CELL_SECONDS
    notebook_timeout: int = NOTEBOOK_SECONDS
    manifest: dict[str, Any] = field(default_factory=dict, compare=False)
    scheduler: object = field(default=None, compare=False)
    timings: bool = False  # workers record each task's stages (``stages``) and return them

    def for_workers(self) -> "GradingRun":
        return replace(self, scheduler=None)


@dataclass(frozen=True)
class Task:
    """One notebook for a worker to grade: which, and the digest of the file placed."""
    student: str
    assignment: str
    digest: str


class GraderEnvironmentError(FirstmlpError):
    """The grader cannot do the work here: nothing is graded, no score is recorded."""


class GradingIncomplete(FirstmlpError):
    """The run's own steps failed after grading began (the disk, the gradebook, nbgrader
    in the grader's process): the scores recorded stay, grades.csv is as it was."""

    exit_status = 3  # as a notebook left ungraded: ``firstmlp grade``'s UNGRADED_EXIT
