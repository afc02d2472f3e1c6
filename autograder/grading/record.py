"""What happened while grading one notebook: per test cell the student-kernel result
and the grader's verdict, and flags for a person to review. Written atomically to
``<course>/firstmlp/verdicts/<student>/<assignment>.json`` by the grader (never by
the student's process, which cannot reach that folder)."""

import io
import json
import os
import tempfile
import tokenize
import unicodedata
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from autograder.course.course_dir import Folder

BANNED_IN_NUMPY = ("torch", "tensorflow", "jax", "autograder")  # the grader's torch helpers too


def record_path(course_root: Folder, student: str, assignment: str) -> Path:
    from autograder.course.course_dir import CourseDir
    return CourseDir(course_root).verdicts(student, assignment)


def write_atomically(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:  # a full disk, an interrupt: the old file stays, no scratch is left
        Path(temporary).unlink(missing_ok=True)
        raise


def plain_line(text: object, limit: int = 500) -> str:
    """``text`` as one line a terminal or a Markdown file shows as written: parts of a
    flag come from a student's notebook (a cell's grade_id, an error's text), so control
    and format characters (escape sequences, carriage returns, bidirectional overrides)
    become "?" and line breaks a space; at most ``limit`` characters."""
    text = "".join(" " if c in "\n\t" else "?" if unicodedata.category(c)[0] == "C" else c
                   for c in str(text))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def framework_names(source: str) -> set[str]:
    """Names of deep-learning frameworks the code uses (imports, names, strings)."""
    found: set[str] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME and token.string in BANNED_IN_NUMPY:
                found.add(token.string)
            elif token.type == tokenize.STRING:  # __import__("torch"), import_module("torch.nn")
                text = token.string.strip("\"'rbuf")
                found |= {n for n in BANNED_IN_NUMPY if text == n or text.startswith(n + ".")}
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


class GradingRecord:
    def __init__(self, course_root: Folder, student: str, assignment: str) -> None:
        self.path = record_path(course_root, student, assignment)
        self.data: dict[str, Any] = {"student": student, "assignment": assignment, "cells": {}, "flags": []}

    @classmethod
    def load(cls, course_root: Folder, student: str, assignment: str) -> "GradingRecord":
        """The record begun when the submission was placed, or a new one."""
        record = cls(course_root, student, assignment)
        record.data.update(load_record(course_root, student, assignment) or {})
        record.data["cells"] = {}
        return record

    def flag(self, message: str) -> None:
        if message not in self.data["flags"]:
            self.data["flags"].append(message)

    def cell(self, grade_id: str, in_kernel: str | None, verdict_passed: bool | None, message: str) -> None:
        self.data["cells"][grade_id] = {"in_kernel": in_kernel, "verdict": verdict_passed,
                                        "message": message}
        if verdict_passed is not None and in_kernel in ("passed", "failed") \
                and (in_kernel == "passed") != verdict_passed:
            self.flag(f"{grade_id}: your notebook's own test {in_kernel}, the grader's check "
                      f"{'passed' if verdict_passed else 'failed'} — review")

    def numpy_only_torch(self, answers: dict[str, str], reference: NotebookNode) -> None:
        """Policy: a framework in a numpy exercise (one whose reference answer uses
        none) is flagged for review; the points stand."""
        stubs = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in reference.cells}
        for grade_id, source in answers.items():
            if not framework_names(stubs.get(grade_id, "")):
                for name in sorted(framework_names(source)):
                    self.flag(f"{grade_id}: uses {name} in a numpy exercise — review")

    def save(self) -> None:
        write_atomically(self.path, json.dumps(self.data, indent=1, sort_keys=True))


def load_record(course_root: Folder, student: str, assignment: str) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = json.loads(record_path(course_root, student, assignment).read_text())
        return record
    except (OSError, ValueError):
        return None


def note_status(course_root: Folder, student: str, assignment: str, status: str, reason: str) -> None:
    """The record of work with no graded notebook: ``status`` "missing" (none handed
    in) or "zero" (refused or unreadable), with its reason (grades.csv's ``note``)."""
    write_atomically(record_path(course_root, student, assignment), json.dumps(
        {"student": student, "assignment": assignment, "cells": {}, "flags": [],
         "status": status, "reason": reason}, indent=1, sort_keys=True))
