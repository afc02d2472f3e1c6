"""The notebooks' figures, read back from their artists: what is drawn where."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from autograder.student.plots import plot_computation_graph  # noqa: E402

ON_EDGE = 0.04  # data units, a box being 0.5–0.9 high: how far an arrow's end may lie from an
# edge (a head's outline is stroked, so its path stops about a line width short of its tip)
BESIDE = 0.2  # how far a gradient's label may lie from its node's box


def rectangle(box):
    return box.get_x(), box.get_y(), box.get_x() + box.get_width(), box.get_y() + box.get_height()


def distance_to_edge(point, rect):
    """Distance from a point to the outline of rect = (x0, y0, x1, y1), inside or out."""
    (x, y), (x0, y0, x1, y1) = point, rect
    if x0 <= x <= x1 and y0 <= y <= y1:
        return min(x - x0, x1 - x, y - y0, y1 - y)
    return float(np.hypot(max(x0 - x, 0, x - x1), max(y0 - y, 0, y - y1)))


def gap(a, b):
    """Distance between two rectangles (0 when they overlap)."""
    return float(np.hypot(max(b[0] - a[2], 0, a[0] - b[2]), max(b[1] - a[3], 0, a[1] - b[3])))


def drawn_ends(annotation, ax):
    """(tail, tip) of an arrow as drawn, in data coordinates: the extreme points of its
    path (shaft and head) along the direction it points."""
    path = annotation.arrow_patch.get_path()
    points = ax.transData.inverted().transform(path.vertices[path.codes != path.CLOSEPOLY])
    direction = np.subtract(annotation.xy, annotation.xyann)
    along = points @ direction
    return points[np.argmin(along)], points[np.argmax(along)]


@pytest.fixture(scope="module")
def graph():
    ax = plot_computation_graph()
    ax.figure.canvas.draw()
    boxes = {p.get_gid()[5:]: rectangle(p) for p in ax.patches
             if isinstance(p, FancyBboxPatch) and str(p.get_gid()).startswith("node:")}
    arrows = [(a, *drawn_ends(a, ax)) for a in ax.texts if isinstance(a, Annotation)
              and a.arrow_patch is not None]
    to_data = ax.transData.inverted()
    texts = {t.get_gid(): (t, rectangle_of(t.get_window_extent(), to_data))
             for t in ax.texts if not isinstance(t, Annotation) and t.get_gid()}
    yield boxes, arrows, texts
    plt.close(ax.figure)


def rectangle_of(extent, to_data):
    (x0, y0), (x1, y1) = to_data.transform([[extent.x0, extent.y0], [extent.x1, extent.y1]])
    return x0, y0, x1, y1


def touched(point, boxes):
    """The boxes whose outline ``point`` lies on."""
    return [name for name, rect in boxes.items() if distance_to_edge(point, rect) <= ON_EDGE]


def test_every_arrow_starts_and_ends_on_a_box_edge(graph):
    boxes, arrows, _ = graph
    assert len(boxes) >= 9 and len(arrows) >= 12
    for annotation, tail, tip in arrows:
        starts, ends = touched(tail, boxes), touched(tip, boxes)
        assert starts and ends, f"{annotation.get_gid()}: {tail} → {tip} floats free of the boxes"
        assert set(starts).isdisjoint(ends), annotation.get_gid()


def test_every_box_is_connected_and_each_parameter_gets_its_gradient(graph):
    boxes, arrows, _ = graph
    red = matplotlib.colors.to_rgba("tab:red")
    connected = {name for _, tail, tip in arrows for name in touched(tail, boxes) + touched(tip, boxes)}
    assert connected == set(boxes)
    for parameter in ("W1", "b1", "W2", "b2"):
        into = [a for a, _, tip in arrows if parameter in touched(tip, boxes)]
        assert any(np.allclose(a.arrow_patch.get_edgecolor(), red) for a in into), parameter


def test_each_gradient_is_written_beside_its_node_and_the_loss_starts_with_one(graph):
    boxes, _, texts = graph
    gradients = {gid[5:]: item for gid, item in texts.items() if gid.startswith("grad:")}
    assert {"x", "linear1", "relu", "linear2", "loss", "W1", "b1", "W2", "b2"} <= set(gradients)
    for node, (text, extent) in gradients.items():
        assert node in boxes, node
        assert gap(extent, boxes[node]) <= BESIDE, f"{text.get_text()} is not beside {node}"
        assert all(gap(extent, rect) > 0 for rect in boxes.values()), f"{text.get_text()} covers a box"
    for parameter, name in (("W1", "W_1"), ("b1", "b_1"), ("W2", "W_2"), ("b2", "b_2")):
        assert f"\\partial L/\\partial {name}" in gradients[parameter][0].get_text()
    said = gradients["loss"][0].get_text().replace("\\partial ", "∂").strip("$")
    assert said == "∂L/∂L = 1"
