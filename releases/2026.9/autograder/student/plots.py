"""Plots for the notebooks (student-safe: matplotlib, numpy and the data only).

``attempt`` runs a step that uses student code and turns "not implemented yet" into
one printed line, so an unfinished notebook still runs to the end, and a plot of
unfinished work draws nothing rather than empty axes; graded test cells do not use it,
they fail with the oracle's message.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch


def attempt(step, what):
    """Run ``step()``; if it raises, print one line that says what to do and return None."""
    try:
        return step()
    except NotImplementedError as error:
        print(f"{what}: not implemented yet{still_raising(error)} — fill it in and run this cell again.")
    except Exception as error:
        print(f"{what} failed: {type(error).__name__}: {error}")
    return None


def still_raising(error):
    """" (Linear.forward still raises NotImplementedError)": the function whose stub
    raised, from the traceback's last frame ("" when there is none)."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is None:
        return ""
    code = trace.tb_frame.f_code  # its qualified name: the class that defines the stub
    return f" ({getattr(code, 'co_qualname', code.co_name)} still raises NotImplementedError)"


def plot_decision_boundaries(X, y, history, title, ax=None):
    """Points coloured by label and the line w·x + b = 0 after each epoch (lighter =
    earlier), for a perceptron with two inputs."""
    ax = ax or plt.subplots(figsize=(4, 4))[1]
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=80, edgecolors="k", zorder=3)
    xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 50)
    for i, (w, b) in enumerate(history):
        if abs(w[1]) > 1e-12:
            ax.plot(xs, -(w[0] * xs + b) / w[1], color="tab:green",
                    alpha=0.2 + 0.8 * (i + 1) / len(history))
        elif abs(w[0]) > 1e-12:
            ax.axvline(-b / w[0], color="tab:green", alpha=0.2 + 0.8 * (i + 1) / len(history))
    ax.set(xlim=(xs[0], xs[-1]), ylim=(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5), title=title,
           xlabel="$x_1$", ylabel="$x_2$")
    return ax


def plot_decision_region(predict, X, y, title, ax=None, steps=200):
    """The plane coloured by ``predict(points)`` (a score; the boundary is 0.5), with
    the points ``X`` coloured by label ``y``."""
    ax = ax or plt.subplots(figsize=(4, 4))[1]
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    scores = np.asarray(predict(np.column_stack([g1.ravel(), g2.ravel()]))).reshape(g1.shape)
    ax.contourf(g1, g2, scores, levels=[-np.inf, 0.5, np.inf], colors=["#c6dbef", "#fcbba1"])
    ax.contour(g1, g2, scores, levels=[0.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=80, edgecolors="k", zorder=3)
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    return ax


GRAPH_NODES = [  # (id, label, centre x, centre y, width, height)
    ("x", "$x$", 0.0, 0.0, 0.7, 0.9),
    ("linear1", "Linear\n$z_1 = xW_1^\\top + b_1$", 2.6, 0.0, 1.9, 0.9),
    ("relu", "ReLU\n$h = \\max(0, z_1)$", 5.3, 0.0, 1.8, 0.9),
    ("linear2", "Linear\n$z_2 = hW_2^\\top + b_2$", 8.0, 0.0, 1.9, 0.9),
    ("loss", "loss\n$L(z_2, y)$", 10.6, 0.0, 1.4, 0.9),
    ("W1", "$W_1$", 2.05, 1.9, 0.6, 0.5), ("b1", "$b_1$", 3.15, 1.9, 0.6, 0.5),
    ("W2", "$W_2$", 7.45, 1.9, 0.6, 0.5), ("b2", "$b_2$", 8.55, 1.9, 0.6, 0.5),
    ("y", "$y$", 10.6, 1.9, 0.6, 0.5),
]
GRAPH_CHAIN = [("x", "linear1", "x"), ("linear1", "relu", "z_1"), ("relu", "linear2", "h"),
               ("linear2", "loss", "z_2")]  # (from, to, the value on the edge)
GRAPH_PARAMETERS = [("W1", "linear1", "W_1", "left"), ("b1", "linear1", "b_1", "right"),
                    ("W2", "linear2", "W_2", "left"), ("b2", "linear2", "b_2", "right")]
FORWARD, BACKWARD = "k", "tab:red"


def graph_box(ax, node, label, x, y, width, height):
    """A rounded box whose outline is exactly the rectangle (x ± width/2, y ± height/2)."""
    box = FancyBboxPatch((x - width / 2, y - height / 2), width, height, gid=f"node:{node}",
                         boxstyle="round,pad=0,rounding_size=0.1", fc="#f0f0f0", ec="k")
    ax.add_patch(box)
    ax.text(x, y, label, ha="center", va="center", fontsize=10)
    return box


def graph_arrow(ax, start, end, color, gid):
    """An arrow from ``start`` to ``end`` (points on box edges), drawn to them exactly."""
    return ax.annotate("", end, start, gid=gid, arrowprops=dict(
        arrowstyle="-|>", color=color, lw=1.3, shrinkA=0, shrinkB=0, mutation_scale=12))


def plot_computation_graph(ax=None):
    """A two-layer MLP with its loss as a computation graph: values flow forward
    (black, left to right and down from the parameters), gradients flow backward (red),
    from ∂L/∂L = 1 at the loss; each node turns the gradient of its output into the
    gradients of its inputs, and a Linear node hands ∂L/∂W, ∂L/∂b to its parameters."""
    ax = ax or plt.subplots(figsize=(11, 3.6))[1]
    box = {node: (x, y, w, h) for node, _, x, y, w, h in GRAPH_NODES}
    for node, label, x, y, w, h in GRAPH_NODES:
        graph_box(ax, node, label, x, y, w, h)
    right = lambda n: box[n][0] + box[n][2] / 2  # noqa: E731 — edges of a box
    left = lambda n: box[n][0] - box[n][2] / 2  # noqa: E731
    top = lambda n: box[n][1] + box[n][3] / 2  # noqa: E731
    bottom = lambda n: box[n][1] - box[n][3] / 2  # noqa: E731
    for a, b, value in GRAPH_CHAIN:
        graph_arrow(ax, (right(a), 0.17), (left(b), 0.17), FORWARD, f"forward:{a}")
        ax.text((right(a) + left(b)) / 2, 0.27, f"${value}$", ha="center", va="bottom", fontsize=10)
        graph_arrow(ax, (left(b), -0.17), (right(a), -0.17), BACKWARD, f"backward:{a}")
        ax.text(right(a) + 0.06, -0.3, f"$\\partial L/\\partial {value}$", ha="left", va="top",
                color=BACKWARD, fontsize=10, gid=f"grad:{a}")
    for node, layer, name, side in GRAPH_PARAMETERS:
        x = box[node][0]
        graph_arrow(ax, (x - 0.1, bottom(node)), (x - 0.1, top(layer)), FORWARD, f"forward:{node}")
        graph_arrow(ax, (x + 0.1, top(layer)), (x + 0.1, bottom(node)), BACKWARD, f"backward:{node}")
        edge = left(node) - 0.06 if side == "left" else right(node) + 0.06
        ax.text(edge, box[node][1], f"$\\partial L/\\partial {name}$", color=BACKWARD, fontsize=10,
                ha="right" if side == "left" else "left", va="center", gid=f"grad:{node}")
    x = box["y"][0]
    graph_arrow(ax, (x, bottom("y")), (x, top("loss")), FORWARD, "forward:y")
    ax.text(box["loss"][0], bottom("loss") - 0.08, "$\\partial L/\\partial L = 1$", ha="center",
            va="top", color=BACKWARD, fontsize=11, gid="grad:loss")
    ax.text(box["loss"][0], bottom("loss") - 0.45, "starts the backward pass", ha="center",
            va="top", color=BACKWARD, fontsize=9)
    ax.set(xlim=(-0.5, 11.5), ylim=(-1.2, 2.35), aspect="equal")
    ax.axis("off")
    ax.set_title("Forward: values (black). Backward: gradients (red), one sweep right to left")
    return ax


def activation_curve(layer, x):
    """(f(x), f'(x)) of a layer, f' from ``backward`` with upstream gradient 1."""
    return layer.forward(x.copy()), layer.backward(np.ones_like(x))


def draw_activation(x, y, dy, name, ax=None):
    ax = ax or plt.subplots(figsize=(4, 3))[1]
    ax.plot(x, y, label=f"{name}(x)")
    ax.plot(x, dy, "--", label=f"{name}'(x)")
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set_title(name)
    ax.legend()
    return ax


def plot_activations(layers, columns=4):
    """f and f' of each of ``layers`` ({name: (make the layer, x)}) in a grid: the
    finished ones only; those not implemented yet named in one printed line (no
    figure at all when none is finished)."""
    curves, unfinished = {}, []
    for name, (make, x) in layers.items():
        try:
            curves[name] = (x, *activation_curve(make(), x))
        except NotImplementedError:
            unfinished.append(name)
        except Exception as error:
            print(f"plot of {name} failed: {type(error).__name__}: {error}")
    if unfinished:
        print(f"plot of {', '.join(unfinished)}: not implemented yet — fill in the cells above "
              f"and run this cell again.")
    if not curves:
        return None
    rows = -(-len(curves) // columns)
    fig, axes = plt.subplots(rows, min(columns, len(curves)), figsize=(3.5 * min(columns, len(curves)),
                                                                         3 * rows), squeeze=False)
    for ax in axes.flat[len(curves):]:
        ax.remove()
    for ax, (name, (x, y, dy)) in zip(axes.flat, curves.items(), strict=False):
        draw_activation(x.ravel(), np.ravel(y), np.ravel(dy), name, ax)
    fig.tight_layout()
    return fig


def plot_loss_curves(curves, title="Loss during gradient descent", log=True):
    """``curves``: {label: list of losses}, one line each, steps on the x axis."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, losses in curves.items():
        ax.plot(np.arange(len(losses)), losses, label=label)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.legend()
    return ax


def plot_confusion_matrix(matrix, labels=None, title="Confusion matrix"):
    """Counts (rows: true class, columns: predicted class), annotated."""
    matrix = np.asarray(matrix)
    labels = labels if labels is not None else list(range(len(matrix)))
    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels,
           yticklabels=labels, xlabel="predicted", ylabel="true", title=title)
    if len(labels) <= 12:
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, int(count), ha="center", va="center", fontsize=7,
                    color="white" if count > matrix.max() / 2 else "black")
    return ax


def plot_predictions(images, labels, predictions, rows=3, cols=6):
    """A grid of digits titled 'pred (true)', mistakes in red."""
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows))
    for ax, image, label, prediction in zip(axes.flat, images, labels, predictions, strict=False):
        ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray")
        ax.set_title(f"{prediction} ({label})", color="black" if prediction == label else "red")
        ax.axis("off")
    fig.tight_layout()
    return axes


def plot_utterance(wave, rate, features, labels, names, title=""):
    """Three rows on one time axis: the waveform, the MFCC image (coefficients ×
    frames, each coefficient standardised over the utterance) and the frame labels,
    each run of equal labels named once."""
    frames = np.arange(len(features)) / 100
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(11, 6), sharex=True,
                                              gridspec_kw={"height_ratios": [2, 3, 1]})
    top.plot(np.arange(len(wave)) / rate, wave, lw=0.4, color="tab:blue")
    top.set(ylabel="amplitude", title=title)
    features = np.asarray(features, dtype=float)  # each coefficient standardised: c0
    shown = (features - features.mean(0)) / (features.std(0) + 1e-8)  # would drown the rest
    middle.imshow(shown.T, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-3, vmax=3,
                  extent=(0, len(features) / 100, 0, features.shape[1]))
    middle.set(ylabel="MFCC (standardised)")
    labels = np.asarray(labels)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    for start, end in zip(starts, np.r_[starts[1:], len(labels)], strict=False):
        bottom.axvspan(frames[start], end / 100, color=plt.cm.tab20(labels[start] % 20), alpha=0.6)
        bottom.text((frames[start] + end / 100) / 2, 0.5, names[labels[start]], ha="center",
                    va="center", fontsize=7, rotation=90 if end - start < 6 else 0)
    bottom.set(yticks=[], xlabel="seconds", ylabel="label")
    fig.tight_layout()
    return fig


def plot_phone_confusion(matrix, names, title="Confusion of phones (rows sum to 1)"):
    """Row-normalised confusion matrix: entry (i, j) is the share of frames of
    phone i predicted as phone j."""
    matrix = np.asarray(matrix, dtype=float)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(9, 8))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set(xticks=range(len(names)), yticks=range(len(names)), xlabel="predicted",
           ylabel="true", title=title)
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_yticklabels(names, fontsize=7)
    return ax


INIT_COLOURS = {"N(0, 0.01²)": "tab:blue", "N(0, 1)": "tab:red", "Xavier uniform": "tab:green",
                "Kaiming normal": "tab:purple"}


def plot_activation_statistics(results):
    """Per-layer std of the activations (top) and of the gradient reaching each layer
    (bottom), log scale, one column per activation: ``results`` as returned by
    ``experiments.initialisation_experiment``."""
    fig, axes = plt.subplots(2, len(results), figsize=(5.5 * len(results), 7), sharex=True,
                             squeeze=False)
    for column, (activation, runs) in enumerate(results.items()):
        top, bottom = axes[0, column], axes[1, column]
        for label, statistics in runs.items():
            layers = np.arange(1, len(statistics["activation_std"]) + 1)
            style = dict(marker="o", ms=3, label=label, color=INIT_COLOURS.get(label))
            top.semilogy(layers, statistics["activation_std"], **style)
            bottom.semilogy(layers, statistics["gradient_std"], **style)
        name = {"relu": "ReLU"}.get(activation, activation)
        top.set(title=f"{name} net: activations", ylabel="std of layer $l$'s output $h_l$")
        bottom.set(title=f"{name} net: gradients", xlabel="layer $l$",
                   ylabel="std of $\\partial L/\\partial h_{l-1}$")
        bottom.xaxis.get_major_locator().set_params(integer=True)
        top.legend(fontsize=8)
    fig.tight_layout()
    return axes
