"""Plots for the notebooks (student-safe: matplotlib, numpy and the data only).

``attempt`` runs a step that uses student code and turns "not implemented yet" into
one printed line, so an unfinished notebook still runs to the end; graded test
cells do not use it, they fail with the oracle's message.
"""

import matplotlib.pyplot as plt
import numpy as np


def attempt(step, what):
    """Run ``step()``; if it raises, print what to do and return None."""
    try:
        return step()
    except NotImplementedError:
        print(f"{what}: not implemented yet — fill in the cell above and run this cell again.")
    except Exception as error:
        print(f"{what} failed: {type(error).__name__}: {error}")
    return None


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


def plot_computation_graph(ax=None):
    """A two-layer MLP with its loss as a computation graph: values flow forward
    (black, left to right), gradients flow backward (red, right to left), and each
    node turns the gradient of its output into the gradients of its inputs."""
    ax = ax or plt.subplots(figsize=(11, 3.2))[1]
    nodes = [("$x$", 0), ("Linear\n$z_1 = xW_1^\\top + b_1$", 1.6), ("ReLU\n$h = \\max(0, z_1)$", 3.2),
             ("Linear\n$z_2 = hW_2^\\top + b_2$", 4.8), ("loss\n$L(z_2, y)$", 6.4)]
    for label, x in nodes:
        ax.text(x, 0, label, ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.5", fc="#f0f0f0", ec="k"))
    grads = ["", "$\\partial L/\\partial x$", "$\\partial L/\\partial z_1$",
             "$\\partial L/\\partial h$", "$\\partial L/\\partial z_2$"]
    values = ["$x$", "$z_1$", "$h$", "$z_2$"]
    for i in range(len(nodes) - 1):
        a, b = nodes[i][1] + 0.55, nodes[i + 1][1] - 0.55
        ax.annotate("", (b, 0.18), (a, 0.18), arrowprops=dict(arrowstyle="->", color="k"))
        ax.text((a + b) / 2, 0.3, values[i], ha="center", fontsize=10)
        ax.annotate("", (a, -0.18), (b, -0.18), arrowprops=dict(arrowstyle="->", color="tab:red"))
        ax.text((a + b) / 2, -0.42, grads[i + 1], ha="center", color="tab:red", fontsize=10)
    for x, params in ((1.6, "$\\partial L/\\partial W_1,\\ \\partial L/\\partial b_1$"),
                      (4.8, "$\\partial L/\\partial W_2,\\ \\partial L/\\partial b_2$")):
        ax.text(x, -0.75, params, ha="center", color="tab:red", fontsize=10)
    ax.text(6.4, -0.75, "starts the backward pass", ha="center", color="tab:red", fontsize=9)
    ax.set(xlim=(-0.6, 7.1), ylim=(-1, 0.6))
    ax.axis("off")
    ax.set_title("Forward: values (black). Backward: gradients (red), one sweep right to left")
    return ax


def plot_activation(layer, name, ax=None, x=None):
    """f(x) and f'(x) (from ``backward`` with upstream gradient 1) on [-4, 4]."""
    x = np.linspace(-4, 4, 401) if x is None else x
    y = layer.forward(x.copy())
    dy = layer.backward(np.ones_like(x))
    ax = ax or plt.subplots(figsize=(4, 3))[1]
    ax.plot(x, y, label=f"{name}(x)")
    ax.plot(x, dy, "--", label=f"{name}'(x)")
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set_title(name)
    ax.legend()
    return ax


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
    for ax, image, label, prediction in zip(axes.flat, images, labels, predictions):
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
    for start, end in zip(starts, np.r_[starts[1:], len(labels)]):
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
