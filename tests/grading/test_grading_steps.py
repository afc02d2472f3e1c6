"""Fast unit tests of the grading steps, in nbgrader's style: small fixture notebooks
(edited, deleted, forged, added cells), the trusted merge, hidden-test and seed hiding,
and the grading record's flags. The end-to-end runs are in test_grader.py (slow)."""

import json

import nbformat
import pytest

from autograder.grading.feedback import HideTestSources
from autograder.grading.record import GradingRecord, load_record
from autograder.student.oracle import Verdict
from autograder.grading.judge import without_seed
from autograder.grading.trusted import kernel_source, merge, trusted_notebook


def code(source, grade_id=None, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "task": False,
                                     **nbgrader}
    return cell


def release_notebook():
    return nbformat.v4.new_notebook(cells=[
        code("import numpy as np", "imports", grade=False, solution=False, locked=True),
        code("def relu(x):\n    raise NotImplementedError()", "relu", grade=False,
             solution=True, locked=False),
        code("check_relu(relu).assert_passed()\n### BEGIN HIDDEN TESTS\n"
             "check_relu(relu, seed=7103).assert_passed()\n### END HIDDEN TESTS",
             "test_relu", grade=True, solution=False, locked=True, points=2),
    ], metadata={"firstmlp": {"assignment": "02_activations"}})


class Flags:
    def __init__(self):
        self.flags = []

    def flag(self, message):
        self.flags.append(message)


def submitted(edit):
    notebook = release_notebook()
    edit(notebook)
    return notebook


ANSWER = "def relu(x):\n    return np.maximum(x, 0)"


@pytest.mark.parametrize("name, edit, flagged", [
    ("answered", lambda nb: setattr(nb.cells[1], "source", ANSWER), []),
    ("test edited", lambda nb: setattr(nb.cells[2], "source", "pass"),
     ["cell test_relu was edited (source or nbgrader metadata): the release's cell was graded"]),
    ("points forged", lambda nb: nb.cells[2].metadata.nbgrader.update(points=99),
     ["cell test_relu was edited (source or nbgrader metadata): the release's cell was graded"]),
    ("test deleted", lambda nb: nb.cells.pop(2),
     ["test cell test_relu was deleted: the release's cell was graded"]),
    ("cell forged", lambda nb: nb.cells.append(code("print('all good')", "test_bonus",
                                                    grade=True, points=50)),
     ["a cell claims nbgrader metadata it was not given (test_bonus): run as a plain cell, "
      "not graded"]),
    ("cell added", lambda nb: nb.cells.insert(2, code("helper = 1")), []),
])
def test_the_trusted_merge_keeps_the_release_cells_and_the_answers(name, edit, flagged):
    record = Flags()
    merged, answers = merge(submitted(edit), release_notebook(), record)
    assert record.flags == flagged
    release = release_notebook()
    graded = [c for c in merged.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert [(c.source, c.metadata.nbgrader.points) for c in graded] == [
        (release.cells[2].source, 2)]  # the release's test, whatever was handed in
    plain = [c for c in merged.cells if "nbgrader" not in c.metadata]
    assert all(not c.metadata.get("nbgrader") for c in plain)
    if name == "answered":
        assert answers == {"relu": ANSWER} and merged.cells[1].source == ANSWER
    if name == "cell added":  # kept where the student put it: after the answer
        assert [c.source for c in merged.cells][2] == "helper = 1"


def test_a_notebook_of_another_assignment_is_graded_blank(tmp_path):
    release = tmp_path / "release" / "04_backprop" / "04_backprop.ipynb"
    release.parent.mkdir(parents=True)
    nbformat.write(release_notebook(), str(release))
    other = submitted(lambda nb: setattr(nb.cells[1], "source", ANSWER))  # claims 02
    record = Flags()
    merged = trusted_notebook(tmp_path, "04_backprop", other, record)
    assert "raise NotImplementedError" in merged.cells[1].source
    assert record.flags == ["this is the notebook of 02_activations, submitted as 04_backprop: "
                            "graded as a blank notebook"]


def test_the_students_process_never_sees_hidden_tests():
    test_cell = release_notebook().cells[2]
    assert kernel_source(test_cell) == "check_relu(relu).assert_passed()\n"
    answer = code("x = 1\n### BEGIN HIDDEN TESTS\n", "relu", grade=False, solution=True)
    assert kernel_source(answer) == answer.source  # only test cells are cut


def test_verdicts_and_feedback_never_show_the_runs_seed():
    verdict = Verdict("ReLU", ["ReLU on seed 123456: worst at (0, 1)"], 3,
                      ["a warning at seed 123456"], "torch")
    hidden = without_seed(verdict, 123456)
    assert "123456" not in str(hidden) and "the grading run's hidden seed" in str(hidden)
    cell = release_notebook().cells[2]
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed",
                                           evalue="failed with seed=7103", traceback=["..."])]
    shown, _ = HideTestSources().preprocess_cell(cell, {}, 2)
    assert "7103" not in shown.source + json.dumps(shown.outputs)
    assert "hidden tests: run when graded, not shown" in shown.source


def test_the_record_flags_a_disagreement_and_torch_in_a_numpy_exercise(tmp_path):
    record = GradingRecord(tmp_path, "kim", "02_activations")
    record.cell("test_relu", "passed", False, "ReLU: 1 of 9 comparisons with torch failed")
    record.cell("test_tanh", "passed", True, "ok")
    reference = release_notebook()
    record.numpy_only_torch({"relu": "import torch\ndef relu(x):\n    return torch.relu(x)"},
                            reference)
    record.flag("cell test_relu was edited")
    record.flag("cell test_relu was edited")  # said once
    record.save()
    saved = load_record(tmp_path, "kim", "02_activations")
    assert saved["flags"] == [
        "test_relu: your notebook's own test passed, the grader's check failed — review",
        "relu: uses torch in a numpy exercise — review",
        "cell test_relu was edited"]
    assert saved["cells"]["test_relu"]["verdict"] is False
