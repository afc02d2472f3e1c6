"""What ships to students imports only what ships with it (fast, by reading imports)."""

import ast
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course.build import load_manifest
from autograder import PACKAGE as HELPERS, shipped_files
from autograder.course.release import INSTRUCTOR_ONLY_DEPENDENCIES, RELEASES

RELEASE = RELEASES / load_manifest()["version"]
DISTRIBUTION = {"IPython": "jupyterlab", "sklearn": "scikit-learn", "PIL": "matplotlib"}


def imported(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def student_environment():
    lines = (RELEASE / "environment.yml").read_text().splitlines()
    return {line.strip().lstrip("- ").split("=")[0].split(">")[0].split("<")[0]
            for line in lines if line.strip().startswith("- ")}


def problem(name, environment):
    top = name.split(".")[0]
    if top == "autograder":
        shipped = name == "autograder" or name.startswith("autograder.student")
        return None if shipped else f"{name} does not ship to students"
    if top == "solutions":
        return "imports the hidden solutions"
    if top in sys.stdlib_module_names:
        return None
    if DISTRIBUTION.get(top, top) not in environment:
        return f"{top} is not in the student environment"
    return None


@pytest.mark.parametrize("module", shipped_files())
def test_a_shipped_helper_imports_only_what_ships(module):
    problems = {name: why for name in imported((HELPERS / module).read_text())
                if (why := problem(name, student_environment()))}
    assert not problems, f"autograder/{module}: {problems}"


@pytest.mark.parametrize("notebook", sorted(p.name for p in RELEASE.glob("*.ipynb")))
def test_a_release_notebook_imports_only_what_ships(notebook):
    cells = nbformat.read(str(RELEASE / notebook), as_version=4).cells
    names = {n for c in cells if c.cell_type == "code" for n in imported(c.source)}
    problems = {n: why for n in names
                if (why := problem(n, student_environment()))}
    assert not problems, f"{notebook}: {problems}"


def test_the_student_environment_has_no_instructor_tools():
    assert not student_environment() & set(INSTRUCTOR_ONLY_DEPENDENCIES)
