"""The trusted notebook: what the grader runs of a submission.

Only the student's answer cells (by grade_id) come from the submission; every other
cell (instructions, given code, test cells) comes from the release, so an edited,
deleted or forged test cell changes nothing but a flag. The hidden tests never enter
the student's process (``kernel_source``): the judge runs them itself.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat import NotebookNode

from autograder.course.course_dir import CourseDir, Folder

if TYPE_CHECKING:
    from autograder.grading.record import GradingRecord
    from autograder.grading.submission import Unrecorded
from autograder.course.markers import HIDDEN_REGION


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def kernel_source(cell: NotebookNode) -> str:
    """What runs in the student's process: test cells without their hidden part (the
    grader judges hidden inputs itself, out of the student's reach)."""
    source: str = cell.source
    return HIDDEN_REGION.sub("", source) if is_test_cell(cell) else source


def trusted_notebook(course_root: Folder, assignment: str, submitted: NotebookNode,
                     record: "GradingRecord | Unrecorded") -> NotebookNode:
    """What nbgrader grades: the release's notebook (``release/<assignment>``: locked
    cells, visible tests, metadata) with the student's answer cells put in by
    grade_id and the cells a student added kept as plain code. Test cells the student
    edited, deleted or forged come from the release; a notebook of another assignment
    is graded as a blank one. Flags go to ``record``."""
    tree = CourseDir(course_root)
    trusted: NotebookNode = nbformat.read(str(tree.release(assignment)), as_version=4)
    claimed = submitted.metadata.get("firstmlp", {}).get("assignment")
    if claimed and claimed != assignment:
        record.flag(f"this is the notebook of {claimed}, submitted as {assignment}: graded "
                    "as a blank notebook")
        return trusted
    merged, answers = merge(submitted, trusted, record)
    source = tree.source(assignment)
    if source.exists():
        record.numpy_only_torch(answers, nbformat.read(str(source), as_version=4))
    return merged


def merge(submitted: NotebookNode, trusted: NotebookNode,
          record: "GradingRecord | Unrecorded") -> tuple[NotebookNode, dict[str, str]]:
    """The trusted notebook with the student's answers (by grade_id) and added cells,
    and the answers themselves ({grade_id: source})."""
    meta: Callable[[NotebookNode], Any] = lambda cell: cell.metadata.get("nbgrader", {})  # noqa: E731
    known = {meta(c).get("grade_id"): c for c in trusted.cells if meta(c).get("grade_id")}
    answers: dict[str, str] = {}
    added: dict[str | None, list[NotebookNode]] = {}  # after which known cell (None: first)
    anchor = None
    for cell in submitted.cells:
        grade_id = meta(cell).get("grade_id")
        if grade_id in known:
            original = known[grade_id]
            if meta(original).get("solution") and cell.cell_type == original.cell_type:
                answers.setdefault(grade_id, cell.source)
            elif cell.source != original.source or any(
                    meta(cell).get(k) != meta(original).get(k) for k in ("points", "grade", "locked")):
                record.flag(f"cell {grade_id} was edited (source or nbgrader metadata): "
                            "the release's cell was graded")
            anchor = grade_id
        elif cell.cell_type == "code" and cell.source.strip():
            if grade_id or meta(cell).get("grade"):
                record.flag(f"a cell claims nbgrader metadata it was not given ({grade_id}): "
                            "run as a plain cell, not graded")
            plain = nbformat.v4.new_code_cell(cell.source)
            added.setdefault(anchor, []).append(plain)
    present = {meta(c).get("grade_id") for c in submitted.cells}
    for grade_id, cell in known.items():
        if is_test_cell(cell) and grade_id not in present:
            record.flag(f"test cell {grade_id} was deleted: the release's cell was graded")
    cells = list(added.get(None, []))
    for cell in trusted.cells:
        grade_id = meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        cells.append(cell)
        if grade_id:  # the cells added before any known one are already first
            cells.extend(added.get(grade_id, []))
    # the release's metadata, not the student's (what it claims is checked above): a value
    # nbformat's schema refuses, a list as language_info's pygments_lexer, stopped the run
    return nbformat.v4.new_notebook(cells=cells, metadata=trusted.metadata), answers
