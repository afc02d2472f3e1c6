"""A submission read once: its bytes digested and parsed (``read_submission``), its
trusted notebook made once (``make_trusted``), placed where nbgrader grades it
(``place_submission``)."""

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import nbformat
from nbformat import NotebookNode

from autograder.grading.stages import TRUSTED, stage
from autograder.student.errors import first_line

if TYPE_CHECKING:
    from autograder.course.course_dir import CourseDir
    from autograder.grading.intake import Submission
    from autograder.grading.record import GradingRecord


class Handed(Protocol):
    """What ``make_trusted`` reads of a submission (an ``intake.Submission`` or a stand-in)."""
    @property
    def student(self) -> str: ...
    @property
    def assignment(self) -> str | None: ...


Trusted = tuple["NotebookNode | Exception", "GradingRecord"]  # make_trusted's answer


@dataclass(frozen=True)
class Reading:
    """A submission read once: its digest, the notebook (None when it cannot be read)
    and, then, why not."""
    digest: str = ""
    notebook: NotebookNode | None = None
    reason: str | None = None


def read_submission(path: str | Path) -> Reading:
    """The file at ``path`` read once (``Reading``): digested and parsed from the same
    bytes; a notebook nbformat cannot read, or that holds no valid text, has a reason."""
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
        notebook = nbformat.reads(text, as_version=4)
    except RecursionError:
        return Reading(digest, reason="not a readable notebook (its JSON is nested too deeply)")
    except Exception as error:
        detail = first_line(error, 120)
        if not data:
            detail = "the file is empty"
        return Reading(digest, reason=f"not a readable notebook ({type(error).__name__}: {detail})")
    try:  # "\ud800" is valid JSON but no text: writing the notebook would fail later
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        return Reading(digest, reason="not a readable notebook (it holds text that is not valid "
                                      "UTF-8, e.g. a lone surrogate)")
    return Reading(digest, notebook)


def unreadable_reason(path: str | Path) -> str | None:
    """None for a notebook nbformat can read, else what is wrong with the file."""
    return read_submission(path).reason


@stage(TRUSTED)
def make_trusted(tree: "CourseDir", submission: Handed, reading: Reading) -> Trusted:
    """(the trusted notebook, its grading record) of a readable submission, made once
    (``trusted_notebook``: the release's cells with the student's answers; what was
    edited, forged or added is flagged in the record, saved only when it is placed);
    a failure to make it: the exception instead of the notebook."""
    from autograder.grading.record import GradingRecord
    from autograder.grading.trusted import trusted_notebook
    assert submission.assignment is not None and reading.notebook is not None, \
        "made only for a readable notebook of an assignment (a refused one is broken)"

    record = GradingRecord(tree, submission.student, submission.assignment)
    try:
        return trusted_notebook(tree, submission.assignment, reading.notebook, record), record
    except Exception as error:  # noqa: BLE001 - said in its earlier work; placing raises it
        return error, record


def place_submission(tree: "CourseDir", submission: "Submission", trusted: Trusted) -> None:
    """Write into submitted/<student>/<assignment>/ the notebook nbgrader will grade:
    the trusted notebook (``make_trusted``), and save its grading record."""
    notebook, record = trusted
    assert submission.assignment is not None, "a refused folder is never placed"
    if isinstance(notebook, Exception):
        raise notebook
    target = tree.submitted(submission.student, submission.assignment)
    if target.parent.exists():
        shutil.rmtree(target.parent)
    target.parent.mkdir(parents=True)
    nbformat.write(notebook, str(target))
    if submission.timestamp:  # nbgrader's Autograde records it; lateness from the due date
        (target.parent / "timestamp.txt").write_text(submission.timestamp + "\n")
    record.data["lms_late"] = submission.late  # the LMS's LATE mark, for grades.csv
    record.save()


class Unrecorded:
    """A grading record that keeps nothing: for a notebook read only for its exports."""

    def flag(self, message: str) -> None:
        pass

    def numpy_only_torch(self, answers: dict[str, str], source: NotebookNode) -> None:
        pass
