"""autograder.earlier: a later notebook imports the student's own earlier work."""

import os

import nbformat
import pytest

from autograder import earlier
from autograder.build import build_notebook
from autograder.earlier import EarlierWorkError, exported_cells, notebook, provide
from autograder.oracle import describe_exception, not_attempted


def cell(kind, source, **nbgrader):
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    new = make(source)
    if nbgrader:
        new.metadata["nbgrader"] = nbgrader
    return new


GIVEN = {"grade_id": "given", "locked": True, "grade": False, "solution": False}
ANSWER = {"grade_id": "answer", "locked": False, "grade": False, "solution": True}
TEST = {"grade_id": "test", "locked": True, "grade": True, "solution": False, "points": 1}


def write(folder, name, cells):
    path = folder / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


@pytest.fixture(autouse=True)
def fresh_state(tmp_path, monkeypatch):
    monkeypatch.setattr(earlier, "_provided", None)
    monkeypatch.setattr(earlier, "_loaded", {})
    here = tmp_path / "later"
    here.mkdir()
    monkeypatch.chdir(here)


def names(cells):
    namespace = {}
    for _, source in cells:
        exec(compile(source, "<test>", "exec"), namespace)
    return {k for k in namespace if not k.startswith("__")}


def test_exports_definitions_never_tests_plots_or_training():
    cells = [
        cell("code", "import numpy as np\ndata = load_data()\nplot(data)\nLIMIT = 3", **GIVEN),
        cell("code", "def helper():\n    return data", **GIVEN),  # a given demo: needs data
        cell("markdown", "text"),
        cell("code", "EPS = 1e-12\nscale = 2\n\nclass ReLU:\n    def forward(self, x):\n"
                     "        return np.maximum(x, 0) * scale", **ANSWER),
        cell("code", "raise AssertionError('a test ran')", **TEST),
        cell("code", "offset = 1\nmodel = ReLU()\nprint('training')\ndef tool():\n    return 1"),
    ]
    exported = exported_cells(cells)
    assert names(exported) == {"np", "LIMIT", "EPS", "scale", "ReLU", "offset", "tool"}
    assert all("AssertionError" not in source for _, source in exported)
    answer = dict(exported)["answer"]
    assert answer.splitlines()[3] == "class ReLU:"  # line numbers are the cell's


def test_given_definitions_are_exported_whole_and_the_build_marks_them(tmp_path):
    source = tmp_path / "nb.py"
    source.write_text("# %% [code]\nimport math\n# @include solutions.activations:_SQRT_2_OVER_PI\n"
                      "# %% [code]\nx = math.pi\n")
    built = build_notebook(source, "test")
    assert built.cells[0].metadata["firstmlp"] == {"exports": True}
    assert "firstmlp" not in built.cells[1].metadata
    for c in built.cells:
        c.metadata["nbgrader"] = dict(GIVEN)
    assert names(exported_cells(built.cells)) == {"math", "_SQRT_2_OVER_PI"}


def test_imports_an_earlier_notebook_from_disk_and_reloads_after_a_save(tmp_path):
    path = write(tmp_path, "02_acts", [
        cell("code", "import numpy as np", **GIVEN),
        cell("code", "def relu(x):\n    return np.maximum(x, 0)", **ANSWER),
        cell("code", "raise AssertionError('a test ran')", **TEST)])
    assert notebook("02_acts").relu(-3.0) == 0
    assert notebook("02_acts") is notebook("02_acts")  # loaded once while unchanged
    nb = nbformat.read(str(path), 4)
    nb.cells[1].source = "def relu(x):\n    return 7"
    nbformat.write(nb, str(path))
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    assert notebook("02_acts").relu(-3.0) == 7


def test_chains_through_notebooks(tmp_path):
    write(tmp_path, "a", [cell("code", "def f():\n    return 2", **ANSWER)])
    write(tmp_path, "b", [
        cell("code", "from autograder.earlier import notebook\nf = notebook('a').f", **GIVEN),
        cell("code", "def g():\n    return f() * 3", **ANSWER)])
    assert notebook("b").g() == 6


@pytest.mark.parametrize("cells, message", [
    (None, "not found"),
    ([cell("code", "def f(:\n    pass", **ANSWER)], "line 1"),
    ([cell("code", "x = 1 / 0", **ANSWER)], "ZeroDivisionError"),
    ([cell("code", "from autograder.earlier import notebook\nme = notebook('a')", **GIVEN)],
     "imports itself"),
])
def test_a_notebook_that_cannot_be_imported_says_why(tmp_path, cells, message):
    if cells is not None:
        write(tmp_path, "a", cells)
    with pytest.raises(EarlierWorkError, match=message):
        notebook("a")


def test_when_the_grader_provides_the_cells_no_file_is_read(tmp_path):
    write(tmp_path, "a", [cell("code", "def f():\n    return 'from disk'", **ANSWER)])
    write(tmp_path, "b", [cell("code", "def f():\n    return 'from disk'", **ANSWER)])
    provide({"a": [("answer", "def f():\n    return 'handed in'")]})
    assert notebook("a").f() == "handed in"
    with pytest.raises(EarlierWorkError, match="was not handed in"):
        notebook("b")


def test_unfinished_earlier_work_is_named_in_the_check_message(tmp_path):
    write(tmp_path, "02_acts", [cell("code", "def relu(x):\n    # YOUR CODE HERE\n"
                                             "    raise NotImplementedError()", **ANSWER)])
    relu = notebook("02_acts").relu
    try:
        relu(1.0)
    except NotImplementedError as error:
        text = describe_exception("MLP.forward", error)
    assert "your notebook 02_acts" in text
    assert "finish notebook 02_acts" in not_attempted([text])
