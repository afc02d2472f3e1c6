"""autograder.student.earlier: a later notebook imports the student's own earlier work."""

import ast
import os
from pathlib import Path

import nbformat
import pytest

from autograder.course.build import build_notebook
from autograder.student import earlier
from autograder.student.earlier import (
    EarlierWorkError,
    exported_statements,
    notebook,
    notebook_cells,
    provide,
)
from autograder.student.oracle import describe_exception, not_attempted


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


def defined(cells):
    """The names that ``notebook()`` defines from these cells (a notebook on disk)."""
    write(Path.cwd().parent, "nb", cells)
    module = notebook("nb")
    return {k for k in vars(module) if not k.startswith("__")}, module.__skipped__


def test_exports_definitions_never_tests_plots_prints_or_training():
    names, skipped = defined([
        cell("code", "import numpy as np\ndata = load_data()\nplot(data)\nLIMIT = 3", **GIVEN),
        cell("code", "def helper(d=data):\n    return d", **GIVEN),  # a given demo
        cell("markdown", "text"),
        cell("code", "eps = np.finfo(float).eps\nscale = 2\nsample = scale * data\n\n"
                     "class ReLU:\n    def forward(self, x):\n"
                     "        return np.maximum(x, 0) * scale", **ANSWER),
        cell("code", "raise AssertionError('a test ran')", **TEST),
        cell("code", "offset = 1\nmodel = ReLU()\nprint('training'); import math\n"
                     "def tool():\n    return 1\nclip = lambda x: np.maximum(x, 0)\n"
                     "%matplotlib inline\ntry:\n    import scipy\nexcept ImportError:\n"
                     "    scipy = None\nif True:\n    def inside():\n        return 2\n"
                     "X = train(model)"),
    ])
    assert names == {"np", "eps", "scale", "ReLU", "offset", "math", "tool", "clip", "scipy",
                     "inside"}
    assert skipped == ["cell answer, line 3: NameError: name 'data' is not defined"]


def test_an_unfinished_name_says_what_importing_skipped(tmp_path):
    write(tmp_path, "nb", [cell("code", "W = data.X[0]\ndef f():\n    return 1", **ANSWER)])
    with pytest.raises(AttributeError, match=r"defines no 'W'; importing it skipped: cell "
                                             r"answer, line 1: NameError"):
        _ = notebook("nb").W


def test_statements_are_cut_by_the_parser_not_by_lines():
    tree = ast.parse("import math; plot(1)\nBATCH = 64; loader = make_loader(BATCH)")
    kept = exported_statements(tree, "added")
    assert [ast.unparse(n) for n in kept] == ["import math", "BATCH = 64"]


def test_given_definitions_are_exported_whole_and_the_build_marks_them(tmp_path):
    source = tmp_path / "nb.py"
    source.write_text("# %%\nimport math\n# @include solutions.activations:_SQRT_2_OVER_PI\n\n"
                      "# %%\nx = math.pi\n")
    built = build_notebook(source, "test")
    assert built.cells[0].metadata["firstmlp"] == {"exports": True}
    assert "firstmlp" not in built.cells[1].metadata
    for c in built.cells:
        c.metadata["nbgrader"] = dict(GIVEN)
    assert [role for role, _, _ in notebook_cells(built.cells)] == ["definitions", "given"]
    assert defined(built.cells)[0] == {"math", "_SQRT_2_OVER_PI"}


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
    saved_later(path)
    assert notebook("02_acts").relu(-3.0) == 7


def saved_later(path):
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))


def test_chains_through_notebooks_and_reloads_when_any_of_them_is_saved(tmp_path):
    a = write(tmp_path, "a", [cell("code", "def f():\n    return 2", **ANSWER)])
    write(tmp_path, "b", [
        cell("code", "from autograder.student.earlier import notebook\nf = notebook('a').f", **GIVEN),
        cell("code", "def g():\n    return f() * 3", **ANSWER)])
    assert notebook("b").g() == 6
    write(tmp_path, "a", [cell("code", "def f():\n    return 5", **ANSWER)])
    saved_later(a)
    assert notebook("b").g() == 15


@pytest.mark.parametrize("cells, message", [
    (None, "not found"),
    ([cell("code", "def f(:\n    pass", **ANSWER)], "line 1.*fix it in notebook a and save"),
    ([cell("code", "import no_such_module_here", **ANSWER)], "line 1 raised ModuleNotFoundError"),
    ([cell("code", "from autograder.student.earlier import notebook\nme = notebook('a')", **GIVEN)],
     "imports itself"),
])
def test_a_notebook_that_cannot_be_imported_says_why(tmp_path, cells, message):
    if cells is not None:
        write(tmp_path, "a", cells)
    with pytest.raises(EarlierWorkError, match=message):
        notebook("a")


COURSE = ["a", "b", "c", "d"]


@pytest.mark.parametrize("name, message", [
    ("b", "notebook b was not handed in"),
    ("c", "notebook c can import only the notebooks before it, not c"),
    ("d", "can import only the notebooks before it, not d"),
    ("e", "there is no notebook 'e' in this course"),
    ("x", "notebook x as handed in cannot be imported: it could not be read"),
])
def test_when_the_grader_provides_the_cells_no_file_is_read(tmp_path, name, message):
    for n in "abcde":
        write(tmp_path, n, [cell("code", "def f():\n    return 'from disk'", **ANSWER)])
    provide(["x"] + COURSE, "c", {"a": {"cells": [["answer", "cell f", "def f():\n    "
                                                                        "return 'handed in'"]]},
                                  "x": {"error": "it could not be read"}})
    assert notebook("a").f() == "handed in"
    with pytest.raises(EarlierWorkError, match=message):
        notebook(name)


def test_a_failure_while_graded_says_to_fix_the_notebook_handed_in():
    provide(["a", "b"], "b", {"a": {"cells": [["answer", "cell f", "import no_such_module_here"]]}})
    with pytest.raises(EarlierWorkError, match="fix it in the notebook a you hand in"):
        notebook("a")


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


def test_the_grader_never_parses_student_code():
    """notebook_cells (the grader's side) only sorts cells by their metadata: a cell
    that would exhaust the parser costs the grader nothing; in the student's own
    process it is skipped (a cell they added) or named (an answer cell)."""
    deep = "x = " + "1+" * 200_000 + "1"
    cells = [cell("code", deep), cell("code", "def f():\n    return 1", **ANSWER)]
    assert [(role, label) for role, label, _ in notebook_cells(cells)] == [
        ("added", "added cell 1"), ("answer", "cell answer")]
    names, skipped = defined(cells)
    assert names == {"f"} and skipped and skipped[0].startswith("added cell 1")


def test_a_lone_surrogate_is_refused_at_intake(tmp_path):
    from autograder.grading.grader import unreadable_reason
    notebook_json = nbformat.writes(nbformat.v4.new_notebook(cells=[cell("code", "s = 'PLACE'")]))
    path = tmp_path / "n.ipynb"
    path.write_text(notebook_json.replace("PLACE", "\\ud800"))
    assert "not valid UTF-8" in unreadable_reason(path)


def test_every_name_a_course_notebook_imports_from_an_earlier_one_is_defined_there(tmp_path,
                                                                                  monkeypatch):
    """The course's own imports, on the reference build: a given cell written in a form
    ``notebook()`` does not export (``m = notebook(x)`` then ``A = m.A``) breaks every later
    notebook that imports from this one."""
    from autograder.course.build import build_course
    built = {p.stem: p for p in build_course(tmp_path / "course")}
    imported = set()
    for path in built.values():
        cells = nbformat.read(str(path), as_version=4).cells
        for node in (n for c in cells if c.cell_type == "code"
                     for n in ast.walk(ast.parse(earlier._python(c.source)))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call) \
                    and getattr(node.value.func, "id", None) == "notebook":
                imported.add((node.value.args[0].value, node.attr))
    assert {name for name, _ in imported} >= {"02_activations", "04_backprop", "05_mnist_mlp"}
    for name, attribute in sorted(imported):
        monkeypatch.chdir(built[name].parent)
        assert hasattr(notebook(name), attribute), f"notebook({name!r}).{attribute}"
