"""autograder/grading/earlier_work.py on its own: what a later notebook may import from a
student's earlier ones is data — the code cells of each trusted notebook, no test cell,
under a size limit — or the one-line reason it cannot be imported; a run keeps only
this run's work, and stock nbgrader (no run) reads ``submitted/``."""

import json
from types import SimpleNamespace

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course.course_dir import CourseDir
from autograder.grading import earlier_work as module
from autograder.grading.earlier_work import earlier_cells, earlier_work, keep_earlier_work

NAMES = ["01_perceptron", "02_activations", "04_backprop"]


def nb_cell(source, **nbgrader):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = nbgrader
    return cell


def trusted():
    return new_notebook(cells=[
        new_markdown_cell("# words"),
        nb_cell("import numpy as np", grade_id="imports", locked=True),
        nb_cell("class ReLU: pass", grade_id="relu", solution=True),
        nb_cell("assert False  # a test", grade_id="test_relu", grade=True, solution=False),
        new_code_cell("helper = 1")])


def test_the_code_cells_with_their_roles_and_no_test():
    assert earlier_cells(trusted()) == {"cells": [
        ["given", "cell imports", "import numpy as np"], ["answer", "cell relu", "class ReLU: pass"],
        ["added", "added cell 1", "helper = 1"]]}


def test_a_notebook_that_cannot_be_imported_says_why_in_one_line(monkeypatch):
    assert earlier_cells(None, "not a readable notebook (empty)") == {
        "error": "not a readable notebook (empty)"}
    assert earlier_cells(ValueError("the release is missing")) == {
        "error": "it could not be read (ValueError)"}
    monkeypatch.setattr(module, "EARLIER_WORK_LIMIT", 10)
    assert "over the" in earlier_cells(trusted())["error"]


def test_a_run_keeps_each_students_work_of_this_run_only(tmp_path):
    tree = CourseDir(tmp_path)
    stale = tree.earlier("ada", "04_backprop")
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"cells": []}))
    ada = SimpleNamespace(student="ada", assignment="02_activations")
    keep_earlier_work(tree, [ada], broken={}, trusted={("ada", "02_activations"): (trusted(), None)})
    assert not stale.exists()
    assert earlier_work(tree, "ada", "04_backprop", NAMES) == {"02_activations": earlier_cells(trusted())}
    assert earlier_work(tree, "ada", "02_activations", NAMES) == {}  # only what came before


def test_refused_work_is_kept_as_its_reason(tmp_path):
    tree = CourseDir(tmp_path)
    ada = SimpleNamespace(student="ada", assignment="01_perceptron")
    keep_earlier_work(tree, [ada], broken={("ada", "01_perceptron"): "refused x: a link"}, trusted={})
    assert earlier_work(tree, "ada", "02_activations", NAMES) == {
        "01_perceptron": {"error": "refused x: a link"}}


def test_without_a_run_the_submitted_notebooks_are_read_and_made_trusted(tmp_path):
    tree = CourseDir(tmp_path)
    release = trusted()
    for path, notebook in ((tree.release("02_activations"), release),
                           (tree.submitted("ada", "02_activations"), trusted())):
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, str(path))
    handed_in = nbformat.read(str(tree.submitted("ada", "02_activations")), as_version=4)
    handed_in.cells[1].source = "import os; os.system('rm -rf /')"  # a given cell edited
    handed_in.cells[2].source = "class ReLU: ok = 1"
    nbformat.write(handed_in, str(tree.submitted("ada", "02_activations")))
    broken = tree.submitted("ada", "01_perceptron")
    broken.parent.mkdir(parents=True)
    broken.write_text("{not a notebook")
    work = earlier_work(tree, "ada", "04_backprop", NAMES)
    assert work["02_activations"]["cells"][1] == ["answer", "cell relu", "class ReLU: ok = 1"]
    assert work["02_activations"]["cells"][0] == ["given", "cell imports", "import numpy as np"]
    assert "rm -rf" not in json.dumps(work)  # the release's given cell, not the edit
    assert work["01_perceptron"]["error"].startswith("not a readable notebook")
