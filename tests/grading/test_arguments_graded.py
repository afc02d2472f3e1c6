"""The vandal of ``tests/vandal.py`` handed in as a notebook: every answer cell of the
reference ends by turning each class and function it defined into its vandal. Graded
before an honest student in the same worker — by `firstmlp grade` through the sandbox,
and by stock `nbgrader autograde` on a course folder (one process for the class) — it
leaves the honest student every point."""

import inspect
import os

import pytest

import tests.vandal
from autograder.course.course_dir import CourseDir
from autograder.course.nbgrader_course import make_course_dir, run_nbgrader, submit
from autograder.grading.grader import grade
from tests.grading.test_grader import expected_cells, notebook_for
from tests.helpers import cell_scores

pytestmark = pytest.mark.slow
ASSIGNMENTS = ["01_perceptron", "02_activations", "03_loss_and_gradient_descent"]
VANDAL, HONEST = "a_vandal", "b_honest"  # graded in this order

BECOME_VANDALS = '''
for _name, _value in list(globals().items()):
    if (inspect.isclass(_value) or inspect.isfunction(_value)) and not _name.startswith("_") \\
            and getattr(_value, "__module__", "") == __name__ and not getattr(_value, "vandal", False) \\
            and _name not in ("trash", "after_trashing", "vandalised"):
        globals()[_name] = vandalised(_value)
        globals()[_name].vandal = True
'''


def vandal_notebook(course_dir, assignment):
    """The reference notebook, each answer cell ending in BECOME_VANDALS (the vandal's
    code itself in the first)."""
    notebook = notebook_for(course_dir, assignment)
    answers = [c for c in notebook.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    answers[0].source = inspect.getsource(tests.vandal) + "\n" + answers[0].source
    for cell in answers:
        cell.source += "\n" + BECOME_VANDALS
    return notebook


def test_a_vandal_leaves_every_point_to_the_next_student_in_the_same_worker(tmp_path, prepared_course):
    course_dir = tmp_path / "course"
    prepared_course(course_dir)
    for assignment in ASSIGNMENTS:
        submit(tmp_path, VANDAL, assignment, vandal_notebook(course_dir, assignment))
        submit(tmp_path, HONEST, assignment, notebook_for(course_dir, assignment))
    grade(tmp_path / "submitted", course_dir, workers=1, progress=False)
    tree = CourseDir(course_dir)
    for assignment in ASSIGNMENTS:
        began = [os.stat(tree.attempts(s, assignment)).st_mtime_ns for s in (VANDAL, HONEST)]
        assert began[0] <= began[1], "the vandal was not graded first"
        assert cell_scores(course_dir, assignment, HONEST) == expected_cells(course_dir, assignment, set())


def test_a_vandal_leaves_every_point_to_the_next_student_under_stock_nbgrader(tmp_path, generated):
    folder = tmp_path / "course"
    make_course_dir(folder)
    generated(folder, ASSIGNMENTS[:1])  # generate_assignment's output for these sources
    assignment = ASSIGNMENTS[0]
    submit(folder, VANDAL, assignment, vandal_notebook(folder, assignment))
    submit(folder, HONEST, assignment, notebook_for(folder, assignment))
    run_nbgrader(folder, "autograde", assignment, "--force")  # one process, the class in turn
    assert cell_scores(folder, assignment, HONEST) == expected_cells(folder, assignment, set())
