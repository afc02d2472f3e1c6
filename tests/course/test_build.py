"""The course builder: directives expand from solutions/, metadata is nbgrader's,
output is deterministic, and bad sources get a message naming file and line."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from autograder.course.build import (COURSE, CourseError, build_course, build_notebook, load_manifest,
                                     parse_course_source, reference_definition)
from autograder.course.markers import HIDDEN_TESTS, SOLUTION

BEGIN, END = SOLUTION

SOURCES = sorted(COURSE.glob("*/*.py"))


def write(tmp_path, text, name="01_demo.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_solution_wraps_method_bodies_and_keeps_signatures_docstrings_and_init():
    code = reference_definition("solutions.linear", "Linear", as_solution=True)
    assert "    def __init__(self, in_features, out_features" in code
    assert "self.W = torch_default_uniform" in code  # __init__ stays given
    forward = code[code.index("def forward"):code.index("def backward")]
    assert forward.splitlines()[1].strip() == BEGIN and forward.strip().endswith(END)
    assert code.count(BEGIN) == code.count(END) == 2


def test_solution_of_a_function_keeps_its_docstring_outside_the_markers():
    code = reference_definition("solutions.perceptron", "weighted_sum", as_solution=True)
    lines = code.splitlines()
    assert lines[0] == "def weighted_sum(X, w, b):" and lines[1].strip().startswith('"""')
    assert lines[2].strip() == BEGIN and lines[-1].strip() == END


def test_include_is_verbatim_and_finds_module_level_assignments():
    assert reference_definition("solutions.activations", "_erf", False) in Path(
        "solutions/activations.py").read_text()
    assert reference_definition("solutions.module", "Module", False) in Path(
        "solutions/module.py").read_text()


def test_unknown_definition_is_a_course_error(tmp_path):
    path = write(tmp_path, '# %% id="x" tags=["solution"]\n# @solution solutions.linear:Nope\n')
    with pytest.raises(CourseError, match=r"01_demo.py:1: solutions.linear has no top-level"):
        build_notebook(path, "v")


@pytest.mark.parametrize("text, message", [
    ('# %% tags=["tests"] points=2\npass\n', "a tests cell needs id="),
    ('# %% id="t" tags=["tests"]\npass\n', "a tests cell needs points=N"),
    ('# %% tags=["solution"]\npass\n', "a solution cell needs id="),
    ("print(1)\n# %%\n", "text before the first"),
    ('# %% [markdown] id="q" tags=["written"] points=1\n# my model answer\n',
     "a written cell holds one line, @answer"),
    ('# %% [markdown] id="q" tags=["written"]\n# @answer solutions.written:XOR\n',
     "a written cell needs points=N"),
    ('# %% [markdown] id="q" tags=["written"] points=1\n# @answer solutions.written:NOPE\n',
     "has no answer named NOPE"),
    ('# %% id="q" tags=["written"] points=1\n# @answer solutions.written:XOR\n',
     r"a written cell is a markdown cell \('# %% \[markdown\]'\)"),
    ('# %% [markdown] id="s" tags=["solution"]\nx = 1\n', "a solution cell is a code cell"),
    ('# %% id="s" tags=["solution", "tests"]\nx = 1\n', "one role per cell"),
    ('# %% id="s" tags=["solution"] point=2\nx = 1\n', "unknown cell option 'point'"),
    ('# %% id="s" tags=["solution"] hidden_seed=true\nx = 1\n', "hidden_seed=true belongs on a tests cell"),
    ('# %% id="t" tags=["tests"] points=1 hidden_seed=true\nassert True\n', "no check_"),
])
def test_malformed_sources_are_named(tmp_path, text, message):
    with pytest.raises(CourseError, match=message):
        build_notebook(write(tmp_path, text), "v")


def test_points_must_match_the_manifest(tmp_path):
    course = tmp_path / "course"
    (course / "01_demo").mkdir(parents=True)
    (course / "01_demo" / "01_demo.py").write_text('# %% id="t" tags=["tests"] points=2\npass\n')
    (course / "course.toml").write_text('version = "v"\n[[assignments]]\nname = "01_demo"\npoints = 3\n')
    with pytest.raises(CourseError, match="test cells give 2 points, course.toml says 3"):
        build_course(tmp_path / "out", course=course)


@pytest.mark.parametrize("data", ['"mnist"', '["mnist", "imagenet"]', '[["mnist"]]', '[{a = 1}]'])
def test_an_assignments_data_must_be_a_list_of_what_the_grader_can_make(tmp_path, data):
    (tmp_path / "course.toml").write_text(
        f'version = "v"\n[[assignments]]\nname = "01_demo"\npoints = 3\ndata = {data}\n')
    with pytest.raises(CourseError, match="01_demo's data = .*: a list of 'mnist', 'corpus'"):
        load_manifest(tmp_path)


def test_cells_get_nbgrader_metadata_and_stable_ids(tmp_path):
    path = write(tmp_path, '# %% [markdown]\n# Hi\n\n# %% id="s" tags=["solution"]\nx = 1\n\n'
                           '# %% id="t" tags=["tests"] points=2\nassert x == 1\n\n# %% [markdown]\n# Hi\n')
    notebook = build_notebook(path, "2026.1")
    meta = [c.metadata["nbgrader"] for c in notebook.cells]
    assert [m["solution"] for m in meta] == [False, True, False, False]
    assert [m["locked"] for m in meta] == [True, False, True, True]
    assert meta[2]["grade"] and meta[2]["points"] == 2
    assert notebook.cells[2].metadata["tags"] == ["raises-exception"]
    ids = [c.id for c in notebook.cells]
    assert ids[1:3] == ["s", "t"] and ids[0] != ids[3] and ids[3].startswith(ids[0])
    assert notebook.metadata["firstmlp"] == {"assignment": "01_demo", "course_version": "2026.1"}
    assert ids == [c.id for c in build_notebook(path, "2026.1").cells]


def test_a_written_answer_is_a_markdown_cell_graded_by_hand(tmp_path):
    """nbgrader's manually graded answer: solution and grade, unlocked, markdown; its
    model answer from solutions/ between the markers, which the release clears."""
    from solutions.written import XOR
    notebook = build_notebook(write(tmp_path, '# %% [markdown] id="q" tags=["written"] points=2\n'
                                              "# @answer solutions.written:XOR\n"), "v")
    cell, = notebook.cells
    assert cell.cell_type == "markdown" and cell.source == f"{BEGIN}\n{XOR.strip()}\n{END}"
    assert cell.metadata["nbgrader"] == {"grade": True, "solution": True, "locked": False,
                                         "points": 2, "grade_id": "q", "schema_version": 3,
                                         "task": False}


def test_building_twice_gives_identical_bytes(tmp_path):
    first = [p.read_bytes() for p in build_course(tmp_path / "a")]
    second = [p.read_bytes() for p in build_course(tmp_path / "b")]
    assert first == second


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_course_sources_hold_no_solution_code(path):
    """Solution code lives in solutions/: sources refer to it by directive only."""
    text = path.read_text()
    assert BEGIN not in text and END not in text
    for cell in parse_course_source(path):
        if cell.kind == "solution":
            lines = [line for line in cell.source.splitlines() if line.strip()]
            assert lines and all(re.match(r"\s*# @solution ", line) for line in lines), cell.line


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_notebook_teaches_and_grades(path):
    notebook = build_notebook(path, "v")
    kinds = [c.cell_type for c in notebook.cells]
    graded = [c for c in notebook.cells if c.metadata["nbgrader"]["grade"]
              and c.cell_type == "code"]  # written answers are graded by hand
    assert kinds[0] == "markdown" and "Summary" in notebook.cells[-1].source
    assert graded and all("assert" in c.source for c in graded)
    assert "$" in "".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_manifest_lists_every_course_folder_in_order():
    names = [a["name"] for a in load_manifest()["assignments"]]
    assert names == sorted(p.parent.name for p in SOURCES)
    nbformat.validate(build_notebook(SOURCES[0], "v"))


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_a_course_source_round_trips_through_jupytext_and_an_ipynb(path, tmp_path):
    """An author opens the source as a notebook in JupyterLab (``jupytext --to ipynb``),
    edits and saves it, and converts it back: same text, metadata intact."""
    ipynb = tmp_path / f"{path.stem}.ipynb"
    jupytext.write(jupytext.read(path), ipynb)
    opened = nbformat.read(str(ipynb), as_version=4)
    roles = [c.metadata.get("tags") for c in opened.cells if c.metadata.get("tags")]
    assert roles and all(len(r) == 1 and r[0] in ("solution", "tests", "written") for r in roles)
    assert all("id" in c.metadata for c in opened.cells if c.metadata.get("tags"))
    assert jupytext.writes(jupytext.read(ipynb), fmt="py:percent") == path.read_text()


def test_hidden_tests_are_the_checks_again_with_the_courses_seed(tmp_path):
    path = write(tmp_path, '# %% id="t" tags=["tests"] points=2 hidden_seed=true\n'
                           "x = 1\ncheck_relu(ReLU).assert_passed()\n"
                           "check_mse(MSELoss, sizes=[3]).assert_passed()\n")
    source = build_notebook(path, "v", hidden_seed=41).cells[0].source
    visible, hidden = source.split(HIDDEN_TESTS[0] + "\n")
    assert visible.startswith("x = 1\n") and hidden.splitlines() == [
        "check_relu(ReLU, seed=41).assert_passed()",
        "check_mse(MSELoss, sizes=[3], seed=41).assert_passed()", HIDDEN_TESTS[1]]
    assert "seed=42" in build_notebook(path, "v", hidden_seed=42).cells[0].source


def test_the_course_states_its_hidden_seed_once():
    seed = load_manifest()["hidden_seed"]
    assert not any(f"seed={seed}" in p.read_text() for p in SOURCES)
    built = [c.source for p in SOURCES for c in build_notebook(p, "v").cells
             if c.metadata["nbgrader"]["grade"] and HIDDEN_TESTS[0] in c.source]
    assert len(built) >= 20 and all(f"seed={seed}" in s for s in built if "check_perceptron_xor" not in s)
