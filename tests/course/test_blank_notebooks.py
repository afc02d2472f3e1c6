"""An unstarted notebook is quiet: run top to bottom as released, each cell says "not
implemented" at most once, and no figure is drawn with empty axes (a plot skips what is
not implemented yet). Notebooks 1–5 (6 makes its corpus first, and is run by test_course)."""

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from autograder.course.build import COURSE, build_notebook, load_manifest
from autograder.course.markers import CODE_STUB
from autograder.student.execute import execute_notebook

pytestmark = pytest.mark.slow
QUIET = ["01_perceptron", "02_activations", "03_loss_and_gradient_descent", "04_backprop",
         "05_mnist_mlp"]
EMPTY = "EMPTY AXES:"

# Run first in the kernel: every figure rendered (plt.show, or the inline backend at the
# end of a cell) is looked at first, and each visible axes that holds nothing is said.
WATCH_FIGURES = f'''
import matplotlib.backend_bases as _backend
_print_figure = _backend.FigureCanvasBase.print_figure
def _said_empty(self, *args, **kwargs):
    for ax in self.figure.axes:
        if ax.get_visible() and ax.axison and not (ax.lines or ax.collections or ax.images
                                                   or ax.patches or ax.texts or ax.tables):
            print({EMPTY!r}, ax.get_title() or "untitled")
    return _print_figure(self, *args, **kwargs)
_backend.FigureCanvasBase.print_figure = _said_empty
'''


def blank_notebook(name):
    """The notebook as released: solutions cleared to their stubs, hidden tests removed."""
    assignment = next(a for a in load_manifest()["assignments"] if a["name"] == name)
    notebook = build_notebook(COURSE / assignment["source"], "blank")
    ClearSolutions(code_stub={"python": CODE_STUB}).preprocess(notebook, {})
    ClearHiddenTests().preprocess(notebook, {})
    return notebook


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """Notebooks 1–5 unstarted, each in its own folder as a release lays them out (notebook
    4 imports notebook 2's ReLU from ../02_activations/, 5 imports 2–4)."""
    root = tmp_path_factory.mktemp("release")
    for name in QUIET:
        (root / name).mkdir()
        nbformat.write(blank_notebook(name), str(root / name / f"{name}.ipynb"))
    return root


def said(cell):
    """The text a cell printed (streams and plain-text results)."""
    return "".join(o.get("text", "") if o.get("output_type") == "stream"
                   else o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


@pytest.mark.parametrize("name", QUIET)
def test_an_unstarted_notebook_says_not_implemented_once_a_cell_and_draws_no_empty_axes(release, name):
    path = release / name / f"{name}.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(WATCH_FIGURES))
    nbformat.write(notebook, str(path))
    executed = execute_notebook(path, cwd=path.parent)
    cells = [c for c in executed.cells[1:] if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in cells), "the kernel stopped before the end"
    for cell in cells:
        text = said(cell)
        noisy = [line for line in text.splitlines() if "not implemented" in line]
        assert len(noisy) <= 1, f"{name}, cell {cell.id} says it {len(noisy)} times:\n{text}"
        assert EMPTY not in text, f"{name}, cell {cell.id} draws empty axes:\n{text}"
