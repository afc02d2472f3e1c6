"""autograder/grading/trusted.py on its own: the trusted notebook is the release's, with
only the student's answer cells taken from the submission (tests/grading/
test_grading_steps.py holds the flag wording for edited, deleted, forged and added
cells; here: what the student cannot change by any edit)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course.course_dir import CourseDir
from autograder.grading.record import GradingRecord
from autograder.grading.trusted import is_test_cell, kernel_source, merge, trusted_notebook

HIDDEN = "### BEGIN HIDDEN TESTS\ncheck_relu(relu, seed=7103).assert_passed()\n### END HIDDEN TESTS\n"
ANSWER = "def relu(x):\n    return np.maximum(x, 0)"


def cell(source, grade_id, **nbgrader):
    made = new_code_cell(source)
    made.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **nbgrader}
    return made


def release():
    return new_notebook(cells=[
        new_markdown_cell("Write relu."),
        cell("def relu(x):\n    raise NotImplementedError()", "relu", grade=False, solution=True),
        cell("check_relu(relu).assert_passed()\n" + HIDDEN, "test_relu", grade=True,
             solution=False, locked=True, points=2),
    ])


class Flags(list):
    flag = list.append


def graded(notebook):
    return [(c.source, dict(c.metadata["nbgrader"])) for c in notebook.cells if is_test_cell(c)]


def test_a_test_cell_whose_hidden_part_or_metadata_was_edited_is_the_releases():
    handed_in = release()
    handed_in.cells[2].source = "check_relu(relu).assert_passed()\n"  # hidden tests cut out
    handed_in.cells[2].metadata["nbgrader"].update(points=50, locked=False)
    flags = Flags()
    merged, _ = merge(handed_in, release(), flags)
    assert graded(merged) == graded(release())
    assert HIDDEN in merged.cells[2].source and flags


def test_an_answer_cell_keeps_the_students_source_and_the_releases_metadata():
    handed_in = release()
    handed_in.cells[1].source = ANSWER
    handed_in.cells[1].metadata["nbgrader"].update(grade=True, points=99)  # made a test of it
    merged, answers = merge(handed_in, release(), Flags())
    assert answers == {"relu": ANSWER}
    assert merged.cells[1].source == ANSWER
    assert merged.cells[1].metadata["nbgrader"] == release().cells[1].metadata["nbgrader"]
    assert graded(merged) == graded(release())  # no second graded cell


def test_the_given_and_markdown_cells_are_the_releases():
    handed_in = release()
    handed_in.cells[0].source = "<script>alert(1)</script>"
    merged, _ = merge(handed_in, release(), Flags())
    assert merged.cells[0].source == "Write relu."


def test_an_answer_pasted_twice_counts_once_the_first():
    handed_in = release()
    handed_in.cells[1].source = ANSWER
    twin = cell("def relu(x):\n    return x", "relu", grade=False, solution=True)
    handed_in.cells.insert(2, twin)
    merged, answers = merge(handed_in, release(), Flags())
    assert answers == {"relu": ANSWER}
    assert [c.source for c in merged.cells].count(ANSWER) == 1
    assert "def relu(x):\n    return x" not in [c.source for c in merged.cells]


def test_cells_added_before_the_first_known_cell_come_first_and_blank_ones_are_dropped():
    handed_in = release()
    handed_in.cells[:0] = [new_code_cell("import numpy as np"), new_code_cell("   ")]
    merged, _ = merge(handed_in, release(), Flags())
    assert merged.cells[0].source == "import numpy as np" and "nbgrader" not in merged.cells[0].metadata
    assert len(merged.cells) == len(release().cells) + 1


def test_the_student_process_runs_a_test_cell_without_its_hidden_part():
    test_cell = release().cells[2]
    assert "7103" not in kernel_source(test_cell)
    assert kernel_source(test_cell) == "check_relu(relu).assert_passed()\n"
    assert kernel_source(release().cells[1]) == release().cells[1].source


def test_trusted_notebook_reads_the_release_from_the_course_folder_and_flags_torch(tmp_path):
    tree = CourseDir(tmp_path)
    for path, notebook in ((tree.release("02_activations"), release()),
                           (tree.source("02_activations"), release())):
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, str(path))
    handed_in = release()
    handed_in.cells[1].source = "import torch\ndef relu(x):\n    return torch.relu(x)"
    handed_in.cells[2].source = "pass"
    record = GradingRecord(tmp_path, "ada", "02_activations")
    merged = trusted_notebook(tmp_path, "02_activations", handed_in, record)
    assert graded(merged) == graded(release())
    assert merged.cells[1].source == handed_in.cells[1].source
    assert any("uses torch in a numpy exercise" in f for f in record.data["flags"])
    assert any("test_relu was edited" in f for f in record.data["flags"])
