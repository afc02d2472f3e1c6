"""What student code did wrong, said the same way on both sides of the sandbox: the
first line of an error, where in the student's code it was raised, numpy's error state
while student code runs, and a process that is gone; and a command line whose errors
are one line (``OneLineParser``, for ``firstmlp`` and the student-side commands)."""

import argparse
import os
import re
import traceback
from collections.abc import Sequence
from typing import NoReturn

import numpy as np

# Overflow, invalid and divide-by-zero warn (the check turns them into advice);
# underflow to 0 is what float arithmetic does, not a mistake.
STUDENT_ERRSTATE = dict(over="warn", invalid="warn", divide="warn", under="ignore")
EARLIER = re.compile(r"^<your notebook (\w+), cell [^>]*>$")  # autograder.student.earlier's cells
HELPERS = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # autograder/


class ProcessGone(Exception):
    """The process running student code died, hung past its deadline, or broke the
    protocol (raised by the grader's wire: ``sandbox.wire.RemoteGone``)."""


class StudentFPWarning(RuntimeWarning):
    """A numpy floating-point warning raised by student code in another process,
    re-emitted on the grader's side by the wire: ``line`` is the student's source line."""

    def __init__(self, message: str, line: str = "") -> None:
        super().__init__(message)
        self.line = line


def student_errstate() -> np.errstate:
    """``with student_errstate():`` around student code."""
    return np.errstate(**STUDENT_ERRSTATE)  # type: ignore[arg-type]  # numpy's stub types each keyword apart


def first_line(error: object, limit: int | None = None) -> str:
    """The first non-blank line of an error's message (or of any text), else ""."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else ""
    return line[:limit] if limit else line


def student_frames(frames: Sequence[traceback.FrameSummary]) -> list[traceback.FrameSummary]:
    """The frames of a traceback that are the student's: not numpy's or another
    installed package's (an error raised inside np.vectorize points at the line that
    called it), nor the checker's own (``autograder/``)."""
    import site
    installed = tuple(site.getsitepackages()) + (os.path.dirname(os.__file__), HELPERS)
    return [f for f in frames if not f.filename.startswith(installed)]


def frame_location(frame: traceback.FrameSummary) -> str:
    """ " (line 12 in forward)", or for code imported from an earlier notebook
    " (line 12 in forward, your notebook 02_activations)"."""
    earlier = EARLIER.match(frame.filename or "")
    where = f", your notebook {earlier[1]}" if earlier else ""
    return f" (line {frame.lineno} in {frame.name}{where})"


class OneLineParser(argparse.ArgumentParser):
    """argparse, whose errors are one line (``firstmlp grade: --workers: …``) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")
