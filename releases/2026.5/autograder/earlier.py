"""Your earlier notebooks, imported: each component is written once, graded once.

Notebook 4 uses the ``ReLU`` you wrote in notebook 2; notebook 5 trains the layers of
notebook 4; notebook 6 reuses notebook 5's training loop::

    from autograder.earlier import notebook
    ReLU = notebook("02_activations").ReLU

``notebook(name)`` reads ``<name>.ipynb`` beside this notebook (the release's layout),
else ``../<name>/<name>.ipynb`` (nbgrader's), as last saved, and runs in a fresh module what that notebook *defines*:

- from your answer cells and the cells you added: imports, functions, classes and
  assignments — in cells you added, only assignments that call nothing (``eps = 1e-12``,
  not ``model = MLP(...)``);
- from the given cells: the helpers the course gives as definitions (cells marked
  ``"firstmlp": {"exports": true}``) whole; from the others, imports, constants
  (UPPER_CASE names) and ``X = notebook(...).X`` imports;
- never a test cell: importing a notebook never trains a model, loads data or draws
  a plot.

When the grader runs a notebook, it provides these cells itself (``provide``), taken
from the notebooks *you handed in* (the release's given cells, your answers): no file
is read, and a notebook you did not hand in cannot be imported.
"""

import ast
import json
import linecache
import types
from pathlib import Path

_provided = None  # {notebook: [(cell label, source), ...]} while the grader runs a notebook
_loaded = {}  # notebook -> (stamp, module)
_loading = []


class EarlierWorkError(ImportError):
    """An earlier notebook that cannot be imported: missing, or failing as it loads."""


def notebook(name):
    """Your notebook ``name`` (e.g. ``"02_activations"``) as a module of its definitions;
    loaded again only when the file was saved since."""
    name = str(name).removesuffix(".ipynb")
    if name in _loading:
        raise EarlierWorkError(f"notebook {name} imports itself (through "
                               f"{' → '.join(_loading)}): import each notebook only from later ones")
    path, stamp = _locate(name)
    cached = _loaded.get(name)
    if cached and cached[0] == stamp:
        return cached[1]
    cells = _provided[name] if path is None else _read(name, path)
    module = types.ModuleType(f"notebook_{name}", f"Your definitions from notebook {name}.")
    _loading.append(name)
    try:
        for label, source in cells:
            _run_cell(module, name, label, source)
    finally:
        _loading.pop()
    _loaded[name] = (stamp, module)
    return module


def provide(cells_by_notebook):
    """The grader's: the exported cells of each notebook handed in (and only those)."""
    global _provided
    _provided = {str(k): [(str(label), str(source)) for label, source in v]
                 for k, v in dict(cells_by_notebook).items()}
    _loaded.clear()


def exported_cells(cells):
    """[(label, source)] of a notebook's cells (dicts as in an .ipynb), reduced to
    what ``notebook()`` runs (see the module's docstring)."""
    exported = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if meta.get("solution"):
            role = "answer"
        elif cell.get("metadata", {}).get("firstmlp", {}).get("exports"):
            role = "definitions"
        elif meta.get("locked") or meta.get("grade_id"):
            role = "given"
        else:
            role = "added"
        kept = _definitions(source, role)
        if kept.strip():
            exported.append((meta.get("grade_id") or f"cell {index + 1}", kept))
    return exported


def _definitions(source, role):
    """The source with only the statements that ``role``'s cells export; other lines
    blanked, so that line numbers stay those of the cell."""
    if role == "definitions":
        return source
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source if role == "answer" else ""  # an answer's error should show
    lines = source.splitlines()
    keep = [False] * len(lines)
    for node in tree.body:
        if _exported(node, role):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            for i in range(first - 1, node.end_lineno):
                keep[i] = True
    return "\n".join(line if k else "" for line, k in zip(lines, keep))


def _exported(node, role):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return role != "given"  # a given plot or demo function may need the notebook's data
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    calls = [c for c in ast.walk(node.value) if isinstance(c, ast.Call)]
    if names and all(n.isupper() for n in names):
        return True  # a constant
    if calls and all(isinstance(c.func, ast.Name) and c.func.id == "notebook" for c in calls):
        return True  # X = notebook("...").X
    return role == "answer" or (role == "added" and not calls)


def _locate(name):
    """(path, modification stamp) of the notebook on disk; (None, "provided") when
    the grader provided it."""
    if _provided is not None:
        if name not in _provided:
            raise EarlierWorkError(
                f"notebook {name} was not handed in (or could not be read), so nothing from "
                "it can be imported here: hand it in with this one")
        return None, "provided"
    here = Path.cwd()
    candidates = [here / f"{name}.ipynb", here.parent / name / f"{name}.ipynb"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise EarlierWorkError(
            f"notebook {name} not found (looked for {', '.join(str(p) for p in candidates)}): "
            "keep the course's notebooks together, as the release has them")
    return path, (str(path), path.stat().st_mtime_ns)


def _read(name, path):
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        return exported_cells(cells)
    except (OSError, ValueError, AttributeError) as error:
        raise EarlierWorkError(f"notebook {name} could not be read ({path}): {error}") from None


def _run_cell(module, name, label, source):
    filename = f"<your notebook {name}, cell {label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as error:
        raise EarlierWorkError(f"notebook {name}, cell {label}, line {error.lineno}: "
                               f"{error.msg} — fix it there and save") from None
    try:
        exec(code, module.__dict__)
    except EarlierWorkError:
        raise
    except Exception as error:
        raise EarlierWorkError(f"notebook {name}, cell {label} raised "
                               f"{type(error).__name__}: {error} — fix it there and save") from error
