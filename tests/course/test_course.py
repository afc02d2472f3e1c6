"""The six notebooks end to end with stock nbgrader and its stock settings (the
notebooks' own tests in the kernel, as a student's Jupyter runs them; the grader's
path is tests/grading's and `make run`'s): the completed reference scores
full marks with every cell running cleanly and every plot drawn; the released stub
runs to the end with every graded cell failing with a message, and scores zero. The
stub is quiet too: each cell says "not implemented" at most once, and no figure is drawn
with empty axes (a plot skips what is not implemented yet)."""

import nbformat
import pytest

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir
from autograder.student.execute import image_outputs
from tests.helpers import BLANK_STUDENT, REFERENCE_STUDENT, autograde_in_turn, cell_scores, hand_in

pytestmark = pytest.mark.slow
ASSIGNMENTS = load_manifest()["assignments"]
IDS = [a["name"] for a in ASSIGNMENTS]
STUDENTS = [REFERENCE_STUDENT, BLANK_STUDENT]
EMPTY = "EMPTY AXES:"

# The blank student's first cell: every figure rendered (plt.show, or the inline backend
# at the end of a cell) is looked at first, and each visible axes that holds nothing is said.
WATCH_FIGURES = f'''
import matplotlib.backend_bases as _backend
_print_figure = _backend.FigureCanvasBase.print_figure
def _said_empty(self, *args, **kwargs):
    for ax in self.figure.axes:
        if ax.get_visible() and ax.axison and not (ax.lines or ax.collections or ax.images
                                                   or ax.patches or ax.texts or ax.tables):
            print({EMPTY!r}, ax.get_title() or "untitled")
    return _print_figure(self, *args, **kwargs)
_backend.FigureCanvasBase.print_figure = _said_empty
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory, mnist, prepared_course):
    """(course folder, {assignment: {student: (score, max_score)}}). The session's
    prepared course (its release generated from these very sources, which
    ``prepare_course`` has just rebuilt and compared; generate_assignment does not read
    the grading settings, so it is not run again) switched to stock settings, with two
    students: the completed reference and the untouched release, autograded assignment
    after assignment, both students in one `nbgrader autograde` process each."""
    course_dir = tmp_path_factory.mktemp("nbgrader") / "course"
    prepared_course(course_dir)
    assignments = hand_in(course_dir, STUDENTS, generate=False)
    for assignment in assignments:  # a code cell a student added: nbgrader runs it, ungraded
        path = CourseDir(course_dir).submitted(BLANK_STUDENT, assignment)
        notebook = nbformat.read(str(path), as_version=4)
        notebook.cells.insert(0, nbformat.v4.new_code_cell(WATCH_FIGURES))
        nbformat.write(notebook, str(path))
    return course_dir, autograde_in_turn(course_dir, assignments)


def autograded(graded, student, assignment):
    course_dir = graded[0]
    path = course_dir / "autograded" / student / assignment / f"{assignment}.ipynb"
    return nbformat.read(str(path), as_version=4)


def graded_cells(notebook):
    """The cells graded by code (written answers are graded by hand)."""
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")
            and c.cell_type == "code"]


def written_points(course_dir, assignment):
    """{grade_id: points} of the written answers, graded by hand in formgrader."""
    source = nbformat.read(str(course_dir / "source" / assignment / f"{assignment}.ipynb"), 4)
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in source.cells if c.cell_type == "markdown"
            and c.metadata.get("nbgrader", {}).get("grade")}


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_reference_gets_full_marks_per_cell(graded, assignment):
    """Every cell graded by code gets its points; a written answer waits for a grader
    (nbgrader leaves it for manual grading, at no score yet)."""
    name = assignment["name"]
    course_dir, results = graded[0], graded[1][name]
    by_hand = written_points(course_dir, name)
    assert results[REFERENCE_STUDENT] == (assignment["points"] - sum(by_hand.values()),
                                          assignment["points"])
    for grade_id, (score, max_score) in cell_scores(course_dir, name, REFERENCE_STUDENT).items():
        if grade_id in by_hand:
            assert not score and max_score == by_hand[grade_id], grade_id
        else:
            assert score == max_score > 0, grade_id


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_reference_runs_cleanly_and_draws_its_plots(graded, assignment):
    notebook = autograded(graded, REFERENCE_STUDENT, assignment["name"])
    assert not [c.id for c in notebook.cells if errors(c)]
    assert image_outputs(notebook) >= 1


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_blank_scores_zero(graded, assignment):
    assert graded[1][assignment["name"]][BLANK_STUDENT] == (0, assignment["points"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_stub_runs_to_the_end_and_every_graded_cell_fails_with_a_message(graded, assignment):
    notebook = autograded(graded, BLANK_STUDENT, assignment["name"])
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "the kernel stopped before the end"
    for cell in graded_cells(notebook):
        [error] = errors(cell)
        assert error["ename"] in ("CheckFailed", "AssertionError") and len(error["evalue"]) > 20, cell.id
    crashed = [c.id for c in code if errors(c) and c not in graded_cells(notebook)]
    assert not crashed, f"ungraded cells raised on the stub: {crashed}"


def said(cell):
    """The text a cell printed (streams and plain-text results)."""
    return "".join(o.get("text", "") if o.get("output_type") == "stream"
                   else o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_the_stub_says_not_implemented_once_a_cell_and_draws_no_empty_axes(graded, assignment):
    name = assignment["name"]
    notebook = autograded(graded, BLANK_STUDENT, name)
    assert notebook.cells[0].source == WATCH_FIGURES
    for cell in [c for c in notebook.cells[1:] if c.cell_type == "code"]:
        text = said(cell)
        noisy = [line for line in text.splitlines() if "not implemented" in line]
        assert len(noisy) <= 1, f"{name}, cell {cell.id} says it {len(noisy)} times:\n{text}"
        assert EMPTY not in text, f"{name}, cell {cell.id} draws empty axes:\n{text}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_release_has_stubs_and_no_hidden_tests(graded, assignment):
    name = assignment["name"]
    release = (graded[0] / "release" / name / f"{name}.ipynb").read_text()
    assert "raise NotImplementedError()" in release
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                   f"seed={load_manifest()['hidden_seed']}"):
        assert marker not in release
