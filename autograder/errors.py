"""The grader side's errors, under one base: ``FirstmlpError``.

Each domain error (a broken course source, a refused release or intake, nbgrader
failing, a grader that cannot work here, a run stopped after grading began, a bad
setting) says in one line what went wrong and what to do. ``cli.main`` catches the base
once and prints that line on stderr, exiting with the error's ``exit_status``: never a
traceback. The student side's errors (``student/errors.py``) ship to students alone
and do not derive from this (it does not ship)."""


class FirstmlpError(Exception):
    """A failure the course's tools explain in one line (its message's first line)."""

    exit_status: int = 2  # refused, nothing done; GradingIncomplete: 3
