"""Earlier work: what a later notebook may import from a student's earlier ones
(``autograder.student.earlier``), kept as data in the course folder — the code cells of
each trusted notebook, never parsed or run in the grader."""

import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nbformat import NotebookNode

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir, Folder
from autograder.grading.intake import Submission
from autograder.grading.record import write_atomically
from autograder.grading.submission import Trusted, make_trusted, read_submission

Key = tuple[str, str]  # (student, assignment)
Work = dict[str, Any]  # {"cells": […]} or {"error": why}: JSON


EARLIER_WORK_LIMIT = 4 << 20  # characters of code a later notebook may import from one


def keep_earlier_work(tree: CourseDir, found: Iterable[Submission], broken: Mapping[Key, str],
                      trusted: Mapping[Key, Trusted]) -> None:
    """Step 2: what later notebooks import, stored for every notebook handed in (also
    those this run does not grade), from its trusted notebook (``make_trusted``); each
    student's folder holds this run's work only."""
    for name in {s.student for s in found}:
        shutil.rmtree(tree.earlier(name), ignore_errors=True)
    for submission in found:
        if submission.assignment is None:  # a whole folder refused (read_in's over_scope names
            continue  # each; a guard for other callers): its path would be the student's folder
        key = (submission.student, submission.assignment)
        store_earlier_work(tree, submission, earlier_cells(trusted[key][0] if key in trusted else None,
                                                           broken.get(key)))


def store_earlier_work(tree: CourseDir, submission: Submission, work: Work) -> None:
    """Keep what a later notebook may import from this one (``earlier_cells``)."""
    assert submission.assignment is not None, "a refused folder has no earlier work"
    write_atomically(tree.earlier(submission.student, submission.assignment), json.dumps(work))


def earlier_cells(notebook: NotebookNode | Exception | None, refused: str | None = None) -> Work:
    """What a later notebook may import from this one (``autograder.student.earlier``): the
    code cells of its trusted notebook (the release's with this student's answers), with
    their roles, as JSON data — nothing is parsed or run here; the notebook that imports
    them does that in its sandbox. A notebook that cannot be imported: the reason
    (``notebook`` the exception that kept it from being made)."""
    from autograder.student.earlier import notebook_cells

    if refused:
        return {"error": refused}
    try:
        if isinstance(notebook, Exception):
            raise notebook
        cells = notebook_cells(notebook.cells)  # type: ignore[union-attr]  # None: the AttributeError said below
    except Exception as error:  # noqa: BLE001 - its own grading says why, in full
        return {"error": f"it could not be read ({type(error).__name__})"}
    size = sum(len(source) for _, _, source in cells)
    return {"cells": cells} if size <= EARLIER_WORK_LIMIT else {
        "error": f"its code is {size >> 20} MB, over the {EARLIER_WORK_LIMIT >> 20} MB "
                 "a later notebook imports"}


def earlier_work(course_dir: Folder, student: str, assignment: str,
                 names: Sequence[str] | None = None) -> dict[str, Work]:
    """{notebook: {"cells": …} or {"error": …}} for the notebooks before ``assignment``
    that this student handed in to this run; when no ``firstmlp grade`` run took this
    student's work in (stock ``nbgrader autograde`` on the course folder), the notebooks
    in ``submitted/<student>/``, read each time (storing them would make the next
    notebook's grading take the stored few for a run's). ``names``: the course's
    assignments in order (default: course.toml's)."""
    from types import SimpleNamespace
    names = names or [a["name"] for a in load_manifest()["assignments"]]
    before = names[:names.index(assignment)] if assignment in names else []
    tree = course_dir if isinstance(course_dir, CourseDir) else CourseDir(course_dir)
    from_submitted = not tree.earlier(student).is_dir()
    work: dict[str, Work] = {}
    for name in before:
        if from_submitted:
            path = tree.submitted(student, name)
            if path.is_file() and not path.is_symlink():
                reading = read_submission(path)
                notebook = None if reading.reason else make_trusted(tree, SimpleNamespace(
                    student=student, assignment=name), reading)[0]
                work[name] = earlier_cells(notebook, reading.reason)
            continue
        try:
            work[name] = json.loads(tree.earlier(student, name).read_text())
        except (OSError, ValueError):
            continue
    return work
