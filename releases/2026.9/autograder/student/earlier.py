"""Your earlier notebooks, imported: each component is written once, graded once.

Notebook 4 uses the ``ReLU`` you wrote in notebook 2; notebook 5 trains the MLP of
notebook 4; notebook 6 reuses notebook 5's training loop::

    from autograder.student.earlier import notebook
    ReLU = notebook("02_activations").ReLU

``notebook(name)`` reads ``<name>.ipynb`` beside this notebook (the release's layout),
else ``../<name>/<name>.ipynb`` (nbgrader's), as last saved, and runs in a fresh module
what that notebook *defines*:

- from your answer cells and the cells you added: imports, functions, classes, and
  assignments whose right-hand side calls nothing but numpy, math, torch or functools
  (``eps = np.finfo(float).eps``, ``relu = lambda x: np.maximum(x, 0)``; not
  ``model = MLP(...)``), also inside ``if`` / ``try`` blocks made of these;
- from the given cells: the course's given definitions (cells marked
  ``"firstmlp": {"exports": true}``) whole; from the others, their imports and
  ``X = notebook(...).X`` imports;
- never a test cell, a plot, a print or a training run. An assignment that fails (it
  needs data the notebook loaded) is skipped and listed in ``__skipped__``; a function,
  class or import that fails stops the import with the cell and line.

When the grader runs a notebook, it provides these cells itself (``provide``), taken
from the notebooks *you handed in*: no file is read, so fix an earlier notebook in the
copy you hand in, not only on your disk.
"""

import ast
import json
import linecache
import types
from pathlib import Path
from typing import Any

CALLABLE_MODULES = {"np", "numpy", "math", "torch", "functools", "notebook"}
_provided = None  # while the grader runs a notebook: {"course", "current", "handed_in"}
_loaded: dict[str, tuple[dict[str, object], types.ModuleType]] = {}  # notebook -> ({notebook: stamp}
# of it and what it imported, module)
_loading: list[str] = []  # the notebooks being loaded, outermost first
_used: list[set[str]] = []  # per notebook being loaded: the notebooks it imported


class EarlierWorkError(ImportError):
    """An earlier notebook that cannot be imported: missing, or failing as it loads."""


def notebook(name):
    """Your notebook ``name`` (e.g. ``"02_activations"``) as a module of its definitions;
    loaded again when it, or a notebook it imports, was saved since."""
    name = str(name).removesuffix(".ipynb")
    if name in _loading:
        raise EarlierWorkError(f"notebook {name} imports itself (through "
                               f"{' → '.join(_loading)}): import each notebook only from later ones")
    if _used:
        _used[-1].add(name)
    cached = _loaded.get(name)
    if cached and all(_locate(n)[1] == stamp for n, stamp in cached[0].items()):
        if _used:
            _used[-1].update(cached[0])
        return cached[1]
    path, stamp = _locate(name)
    cells = _provided_cells(name) if path is None else _read(name, path)
    module = types.ModuleType(f"notebook_{name}", f"Your definitions from notebook {name}.")
    module.__skipped__ = []
    module.__getattr__ = _missing_name(name, module.__skipped__)
    _loading.append(name)
    _used.append(set())
    try:
        for role, label, source in cells:
            _run_cell(module, name, role, label, source)
    finally:
        _loading.pop()
        used = _used.pop()
    stamps = {name: stamp, **{n: _loaded[n][0].get(n) for n in used if n in _loaded}}
    _loaded[name] = (stamps, module)
    if _used:
        _used[-1].update(stamps)
    return module


def provide(course, current, handed_in):
    """The grader's: ``course`` (the notebooks in order), the one being graded, and
    {notebook: {"cells": [[role, label, source], ...]} or {"error": why}} for the
    notebooks this student handed in."""
    global _provided
    _provided = {"course": [str(n) for n in course], "current": str(current),
                 "handed_in": dict(handed_in)}
    _loaded.clear()


def notebook_cells(cells: list[Any]) -> list[list[str]]:
    """[[role, label, source]] of a notebook's code cells (dicts as in an .ipynb), tests
    left out; the role (answer, added, given, definitions) comes from the metadata.
    Nothing is parsed here: the grader calls this outside the sandbox."""
    kept, added = [], 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if meta.get("solution"):
            role, label = "answer", f"cell {meta.get('grade_id')}"
        elif cell.get("metadata", {}).get("firstmlp", {}).get("exports"):
            role, label = "definitions", f"cell {meta.get('grade_id')}"
        elif meta.get("locked") or meta.get("grade_id"):
            role, label = "given", f"cell {meta.get('grade_id')}"
        else:
            added += 1
            role, label = "added", f"added cell {added}"
        if source.strip():
            kept.append([role, label, source])
    return kept


def exported_statements(tree, role):
    """The top-level statements of a cell that ``notebook()`` runs (module docstring)."""
    if role == "definitions":
        return list(tree.body)
    return [node for node in tree.body if _exported(node, role)]


def _exported(node, role):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if role == "given":
        return isinstance(node, ast.Assign) and _imports_a_notebook(node.value)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value is not None and _calls_only_libraries(node.value)
    if isinstance(node, (ast.If, ast.Try)):
        blocks = [node.body, node.orelse] + [h.body for h in getattr(node, "handlers", [])]
        return all(_exported(n, role) or isinstance(n, ast.Pass) for b in blocks for n in b)
    return False


def _imports_a_notebook(value):
    calls = list(_calls(value))
    return bool(calls) and all(isinstance(c.func, ast.Name) and c.func.id == "notebook"
                               for c in calls)


def _calls_only_libraries(value):
    """No call outside numpy, math, torch, functools (or notebook()); a lambda's body
    does not run when it is defined, so its calls do not count."""
    for call in _calls(value):
        root = call.func
        while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if not (isinstance(root, ast.Name) and root.id in CALLABLE_MODULES):
            return False
    return True


def _calls(node):
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, ast.Call):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _calls(child)


def _locate(name):
    """(path, stamp) of the notebook on disk; (None, "provided") when the grader
    provided the notebooks."""
    if _provided is not None:
        return None, "provided"
    here = Path.cwd()
    candidates = [here / f"{name}.ipynb", here.parent / name / f"{name}.ipynb"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise EarlierWorkError(
            f"notebook {name} not found (looked for {', '.join(str(p) for p in candidates)}): "
            "keep the course's notebooks together, as the release has them")
    return path, (str(path), path.stat().st_mtime_ns)


def _provided_cells(name):
    course, current = _provided["course"], _provided["current"]
    if name not in course:
        raise EarlierWorkError(f"there is no notebook {name!r} in this course (its notebooks: "
                               f"{', '.join(course)})")
    if current in course and course.index(name) >= course.index(current):
        raise EarlierWorkError(f"notebook {current} can import only the notebooks before it, "
                               f"not {name}")
    work = _provided["handed_in"].get(name)
    if work is None:
        raise EarlierWorkError(f"notebook {name} was not handed in, so nothing from it can be "
                               "imported here: hand it in with this one")
    if "error" in work:
        raise EarlierWorkError(f"notebook {name} as handed in cannot be imported: {work['error']}")
    return work["cells"]


def _read(name, path):
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        return notebook_cells(cells)
    except (OSError, ValueError, AttributeError) as error:
        raise EarlierWorkError(f"notebook {name} could not be read ({path}): {error}") from None


def _fix_advice(name):
    if _provided is not None:
        return f"fix it in the notebook {name} you hand in"
    return f"fix it in notebook {name} and save it"


def _python(source):
    """Cell source as Python: IPython's %magics and !commands turned into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot read is parsed as it is
        return source


def _run_cell(module, name, role, label, source):
    filename = f"<your notebook {name}, {label}>"
    source = _python(source)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        tree = ast.parse(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        where = f", line {error.lineno}" if getattr(error, "lineno", None) else ""
        problem = f"{name}, {label}{where}: {getattr(error, 'msg', None) or type(error).__name__}"
        if role == "added":  # a scratch cell of yours that does not run anyway
            module.__skipped__.append(f"{label}: not Python ({problem})")
            return
        raise EarlierWorkError(f"notebook {problem} — {_fix_advice(name)}") from None
    for node in exported_statements(tree, role):
        code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
        try:
            exec(code, module.__dict__)  # noqa: S102 - the student's own code, in the student's process
        except EarlierWorkError:
            raise
        except Exception as error:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and role != "definitions":
                module.__skipped__.append(f"{label}, line {node.lineno}: "
                                          f"{type(error).__name__}: {error}")
                continue
            raise EarlierWorkError(f"notebook {name}, {label}, line {node.lineno} raised "
                                   f"{type(error).__name__}: {error} — {_fix_advice(name)}") from error


def _missing_name(name, skipped):
    def __getattr__(attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        why = (f"; importing it skipped: {'; '.join(skipped[:3])}" if skipped else
               " (importing runs only its imports, functions, classes and simple "
               "assignments: see autograder/student/earlier.py)")
        raise AttributeError(f"notebook {name} defines no {attribute!r}{why}")
    return __getattr__
