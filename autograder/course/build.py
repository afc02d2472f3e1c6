"""Build nbgrader source notebooks from ``course/`` and ``solutions/``.

A course source is a notebook in jupytext's percent format (``jupytext --to ipynb``
opens it in JupyterLab with its metadata; ``tests/course/test_build.py`` round-trips
every source). A cell's role is its tag:

    # %% [markdown]                                   Markdown
    # %%                                              given code (locked)
    # %% id="relu" tags=["solution"]                  the student's cell
    # %% id="test_relu" points=2 tags=["tests"]       a graded test cell (locked);
    # %% hidden_seed=true id="test_relu" points=2 tags=["tests"]
                                                      the same, and its hidden tests are
                                                      its check_… lines again with the
                                                      course's ``hidden_seed`` (course.toml)
    # %% [markdown] id="q" points=1 tags=["written"]  a written answer, graded by hand in
    # @answer solutions.written:XOR                   formgrader; the model answer (a
                                                      string in solutions/) goes between
                                                      the solution markers

Options stand in alphabetical order, as JupyterLab saves them, so a round trip
through an ``.ipynb`` changes no byte.

Inside code cells, two directives pull code from the reference, so that solution
code lives only in ``solutions/``:

    # @include solutions.linear:torch_default_uniform   the definition, verbatim
    # @solution solutions.activations:ReLU              the definition, with every
        function body (after its signature and docstring; ``__init__`` excepted)
        between nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers

A given cell that holds an ``@include`` is marked ``"firstmlp": {"exports": true}``:
a later notebook that imports this one (``autograder.student.earlier``) runs it whole.

The build reads a source (jupytext), checks each cell's options, makes its notebook cell
with nbgrader's metadata and a stable id, and runs ``STEPS`` on it in order, as
nbgrader's preprocessors run on a notebook: expand directives → add the hidden tests →
write the model answer → mark exports. Output is deterministic (no timestamps), so the
same input gives identical bytes.
"""

import ast
import hashlib
import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from autograder.course.markers import HIDDEN_TESTS, SOLUTION
from autograder.errors import FirstmlpError

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "course"
DIRECTIVE = re.compile(r"^(\s*)# @(include|solution) ([\w.]+):(\w+)\s*$")


class CourseError(FirstmlpError):
    """A course source that cannot be built; the message names file and line."""


ROLES = ("solution", "tests", "written")
OPTIONS = ("id", "tags", "points", "hidden_seed")  # what a course cell's metadata may hold
# what the grader may have to make or load before grading an assignment (course.toml's
# ``data``, which the checks' own declarations match: ``components.data_needed``)
DATA = ("mnist", "corpus")


@dataclass
class Cell:
    kind: str  # markdown, code, or a role
    source: str
    line: int
    options: dict = field(default_factory=dict)


def parse_course_source(path):
    """The cells of a course source (jupytext percent format), each with its role,
    options and the line of its ``# %%`` header (for messages)."""
    import jupytext

    text = Path(path).read_text()
    headers = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("# %%")]
    first = next((n for n, line in enumerate(text.splitlines(), 1) if line.strip()), None)
    if first is not None and first not in headers:
        raise CourseError(f"{path}:{first}: text before the first '# %%' cell header")
    notebook = jupytext.reads(text, fmt="py:percent")
    if len(notebook.cells) != len(headers):
        raise CourseError(f"{path}: jupytext reads {len(notebook.cells)} cells from "
                          f"{len(headers)} '# %%' headers")
    return [course_cell(cell, line, path) for cell, line in zip(notebook.cells, headers)]


def course_cell(cell, line, path):
    options = dict(cell.metadata)
    unknown = sorted(set(options) - set(OPTIONS))
    roles = [tag for tag in options.pop("tags", []) if tag in ROLES]
    if unknown:
        raise CourseError(f"{path}:{line}: unknown cell option {unknown[0]!r} "
                          f"(a course cell takes {', '.join(OPTIONS)})")
    if len(roles) > 1:
        raise CourseError(f"{path}:{line}: one role per cell, got tags {roles}")
    kind = roles[0] if roles else cell.cell_type
    wanted = {"written": "markdown", "solution": "code", "tests": "code"}.get(kind, cell.cell_type)
    if cell.cell_type != wanted:
        raise CourseError(f"{path}:{line}: a {kind} cell is a {wanted} cell"
                          + (" ('# %% [markdown]')" if wanted == "markdown" else " ('# %%')"))
    return Cell(kind, cell.source, line, options)


def definition_node(tree, name):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return node
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node
    return None


def reference_definition(module_name, name, as_solution):
    """The source of ``name`` in ``module_name``; with ``as_solution``, function
    bodies wrapped in solution markers (signatures and docstrings stay visible). The
    module's file is found, not run (``solutions.torch_mnist`` would import torch)."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise ImportError(f"No module named {module_name!r}")
    source = Path(spec.origin).read_text()
    node = definition_node(ast.parse(source), name)
    if node is None:
        raise CourseError(f"{module_name} has no top-level definition named {name}")
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    lines = source.splitlines()[first - 1:node.end_lineno]
    if not as_solution:
        return "\n".join(lines)
    functions = [node] if isinstance(node, ast.FunctionDef) else [
        f for f in getattr(node, "body", []) if isinstance(f, ast.FunctionDef) and f.name != "__init__"]
    if not functions:
        raise CourseError(f"{module_name}:{name} has no function body to turn into a solution")
    for function in sorted(functions, key=lambda f: f.lineno, reverse=True):
        body = function.body
        if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            body = body[1:]
        if not body:
            continue
        start, end = body[0].lineno - first, function.end_lineno - first
        indent = re.match(r"\s*", lines[start]).group(0)
        lines[end + 1:end + 1] = [indent + SOLUTION[1]]
        lines[start:start] = [indent + SOLUTION[0]]
    return "\n".join(lines)


def expand_directives(source, where):
    """Replace each ``# @include`` / ``# @solution`` line by the reference code."""
    out = []
    for line in source.splitlines():
        match = DIRECTIVE.match(line)
        if not match:
            out.append(line)
            continue
        indent, verb, module, name = match.groups()
        try:
            code = reference_definition(module, name, as_solution=verb == "solution")
        except (ImportError, CourseError) as error:
            raise CourseError(f"{where}: {error}") from None
        out.extend(indent + c if c else c for c in code.splitlines())
    return "\n".join(out)


ANSWER = re.compile(r"^@answer ([\w.]+):(\w+)$")


def model_answer(source, where):
    """A written cell's source, ``@answer module:NAME``, as the text of that string
    between the solution markers (nbgrader shows the student "YOUR ANSWER HERE")."""
    match = ANSWER.match(source.strip())
    if not match:
        raise CourseError(f"{where}: a written cell holds one line, @answer module:NAME")
    try:
        text = getattr(importlib.import_module(match[1]), match[2])
    except (ImportError, AttributeError):
        raise CourseError(f"{where}: {match[1]} has no answer named {match[2]}") from None
    return f"{SOLUTION[0]}\n{text.strip()}\n{SOLUTION[1]}"


def nbgrader_metadata(cell, grade_id):
    """tests: graded by code; solution: the student's code; written: a markdown answer
    the student writes and an instructor grades by hand in formgrader."""
    answer = cell.kind in ("solution", "written")
    meta = {"grade": cell.kind in ("tests", "written"), "grade_id": grade_id,
            "locked": not answer, "schema_version": 3, "solution": answer, "task": False}
    if meta["grade"]:
        meta["points"] = int(cell.options["points"])
    return meta


def cell_id(cell, seen):
    """The declared id, else one derived from the content: stable across builds."""
    base = cell.options.get("id") or f"{cell.kind}-{hashlib.sha1(cell.source.encode()).hexdigest()[:10]}"
    number, candidate = 1, base
    while candidate in seen:
        number += 1
        candidate = f"{base}-{number}"
    seen.add(candidate)
    return candidate


def with_hidden_tests(source, seed, where):
    """A tests cell with its hidden tests: each ``check_…(…).assert_passed()`` line
    again with ``seed=<the course's hidden seed>``, between the hidden-test markers (the
    grader swaps in its own seed per run)."""
    checks = [line for line in source.splitlines() if CHECK.match(line)]
    if not checks:
        raise CourseError(f"{where}: hidden_seed=true, but no check_…(…).assert_passed() line")
    if seed is None:
        raise CourseError(f"{where}: hidden_seed=true, but course.toml sets no hidden_seed")
    hidden = [CHECK.sub(lambda m: f"{m[1]}{m[2]}{', ' if m[2] else ''}seed={seed}).assert_passed()",
                        line) for line in checks]
    return "\n".join([source, HIDDEN_TESTS[0], *hidden, HIDDEN_TESTS[1]])


CHECK = re.compile(r"^(check_\w+\()(.*?)\)\.assert_passed\(\)$")


def check_options(cell, where):
    """A role's options are there and make sense, else a CourseError naming the line."""
    if cell.kind in ROLES and "id" not in cell.options:
        raise CourseError(f'{where}: a {cell.kind} cell needs id="..."')
    if cell.kind in ("tests", "written") and not str(cell.options.get("points", "")).isdigit():
        raise CourseError(f"{where}: a {cell.kind} cell needs points=N")
    if cell.options.get("hidden_seed") and cell.kind != "tests":
        raise CourseError(f"{where}: hidden_seed=true belongs on a tests cell")


def nbgrader_cell(cell, identifier):
    """The notebook cell of a course cell, source as written, with nbgrader's metadata;
    given and test cells locked, test cells tagged so "Run all" shows every verdict."""
    text = cell.kind in ("markdown", "written")
    new = (nbformat.v4.new_markdown_cell if text else nbformat.v4.new_code_cell)(cell.source, id=identifier)
    new.metadata["nbgrader"] = nbgrader_metadata(cell, identifier)
    if not text:
        new.metadata["editable"] = cell.kind == "solution"
        new.metadata["deletable"] = False
    if cell.kind == "tests":
        new.metadata["tags"] = ["raises-exception"]
    return new


# The build's steps, each (course cell, notebook cell, "file:line", build options),
# applied in this order to every cell, as nbgrader's preprocessors are to a notebook.

def expand_code(cell, new, where, options):
    if new.cell_type == "code":
        new.source = expand_directives(new.source, where)


def add_hidden_tests(cell, new, where, options):
    if cell.options.get("hidden_seed"):
        if options.get("hidden_seed") is None:  # read course.toml once per notebook
            options["hidden_seed"] = load_manifest().get("hidden_seed")
        new.source = with_hidden_tests(new.source, options["hidden_seed"], where)


def write_model_answer(cell, new, where, options):
    if cell.kind == "written":
        new.source = model_answer(cell.source, where)


def mark_exports(cell, new, where, options):
    """Given definitions (``@include``) run whole when a later notebook imports this
    one (``autograder.student.earlier``)."""
    if cell.kind == "code" and any(map(DIRECTIVE.match, cell.source.splitlines())):
        new.metadata["firstmlp"] = {"exports": True}


STEPS = (expand_code, add_hidden_tests, write_model_answer, mark_exports)


def build_notebook(path, course_version, hidden_seed=None):
    """One course source → an nbgrader source notebook (nbformat 4.5); ``hidden_seed``
    defaults to the course's (course.toml)."""
    path, seen, cells, options = Path(path), set(), [], {"hidden_seed": hidden_seed}
    for cell in parse_course_source(path):
        where = f"{path}:{cell.line}"
        check_options(cell, where)
        new = nbgrader_cell(cell, cell_id(cell, seen))
        for step in STEPS:
            step(cell, new, where, options)
        cells.append(new)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "firstmlp": {"assignment": path.stem, "course_version": course_version},
    }
    nbformat.validate(notebook)
    return notebook


def load_manifest(course: str | Path = COURSE) -> dict[str, Any]:
    from autograder.course.schedule import check_schedule
    try:
        manifest = tomllib.loads((Path(course) / "course.toml").read_text())
    except tomllib.TOMLDecodeError as error:
        raise CourseError(f"{Path(course) / 'course.toml'}: cannot be read as TOML ({error})") \
            from None
    for a in manifest["assignments"]:
        a.setdefault("source", f"{a['name']}/{a['name']}.py")
        data = a.setdefault("data", [])
        if not isinstance(data, list) or not all(isinstance(d, str) and d in DATA for d in data):
            raise CourseError(f"{Path(course) / 'course.toml'}: {a['name']}'s data = {data!r}: "
                              f"a list of {', '.join(map(repr, DATA))}")
    check_schedule(manifest, Path(course) / "course.toml")  # due dates and late policy
    from autograder.settings import check_course_toml
    check_course_toml(manifest, Path(course) / "course.toml")  # the settings: the schema's
    return manifest


def points_of(notebook):
    return sum(c.metadata["nbgrader"].get("points", 0) for c in notebook.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


def build_course(out, course=COURSE, version=None):
    """Write ``out/source/<assignment>/<assignment>.ipynb`` for every assignment in
    the manifest; checks each notebook's points against the manifest. Notebooks
    carry ``version`` (default: the manifest's). Returns the written paths."""
    manifest, written = load_manifest(course), []
    for assignment in manifest["assignments"]:
        notebook = build_notebook(Path(course) / assignment["source"], version or manifest["version"],
                                  manifest.get("hidden_seed"))
        if points_of(notebook) != assignment["points"]:
            raise CourseError(f"{assignment['name']}: test cells give {points_of(notebook)} points, "
                              f"course.toml says {assignment['points']}")
        target = Path(out) / "source" / assignment["name"] / f"{assignment['name']}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(nbformat.writes(notebook) + "\n")
        written.append(target)
    return written
