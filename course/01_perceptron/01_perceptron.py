# %% [markdown]
# # 1 · The perceptron
#
# A neuron takes inputs $x_1, \dots, x_D$, weighs each by $w_i$, adds a bias $b$ and
# *fires* when the sum reaches a threshold:
#
# $$z = \sum_{i=1}^{D} w_i x_i + b = \mathbf{w}^\top \mathbf{x} + b, \qquad
#   \hat y = \operatorname{step}(z) = \begin{cases} 1 & z \ge 0 \\ 0 & z < 0 \end{cases}$$
#
# That is Rosenblatt's perceptron (1958). In this notebook you implement it, train it
# on the logic gates AND and OR, watch its decision boundary move, and see it fail on
# XOR — the reason networks have more than one layer.
#
# **How this notebook works.** Fill in every cell that says `# YOUR CODE HERE` (delete
# the `raise NotImplementedError()`), then run the test cell below it. A test compares
# your code with PyTorch on many inputs and tells you what differs. Hidden tests run
# the same checks on other inputs when your notebook is graded.

# %%
import matplotlib.pyplot as plt
import numpy as np

from autograder.student.components import (check_perceptron_fit, check_perceptron_update,
                                           check_perceptron_xor, check_step, check_weighted_sum)
from autograder.student.plots import attempt, plot_decision_boundaries

# %% [markdown]
# ## The weighted sum
#
# For a batch of $N$ inputs stacked as the rows of $X \in \mathbb{R}^{N\times D}$, all
# weighted sums at once are one matrix–vector product: $\mathbf{z} = X\mathbf{w} + b$.

# %% id="weighted_sum" tags=["solution"]
# @solution solutions.perceptron:weighted_sum

# %% hidden_seed=true id="test_weighted_sum" points=2 tags=["tests"]
check_weighted_sum(weighted_sum).assert_passed()

# %% [markdown]
# ## The threshold
#
# The step function returns floats `1.0` where $z \ge 0$ and `0.0` elsewhere — note
# what happens exactly at $z = 0$ (PyTorch's `torch.heaviside(z, 1)` is the judge).

# %% id="step" tags=["solution"]
# @solution solutions.perceptron:step

# %% hidden_seed=true id="test_step" points=1 tags=["tests"]
check_step(step).assert_passed()

# %% [markdown]
# ## The perceptron learning rule
#
# Show the perceptron one sample $(\mathbf{x}, y)$ at a time. If it is right, nothing
# changes; if it is wrong, move the boundary towards the sample:
#
# $$\mathbf{w} \leftarrow \mathbf{w} + \eta\,(y - \hat y)\,\mathbf{x}, \qquad
#   b \leftarrow b + \eta\,(y - \hat y)$$
#
# Repeat over the data set (an *epoch*) until an epoch makes no mistake. Novikoff
# (1962): when the classes can be split by a line (hyperplane), this stops after finitely
# many mistakes. When they cannot, it never stops — so `fit` gives up after
# `max_epochs` and reports it. `fit` returns a `FitResult` (given below).

# %%
# @include solutions.perceptron:FitResult

# %% id="perceptron" tags=["solution"]
# @solution solutions.perceptron:Perceptron

# %% hidden_seed=true id="test_perceptron_update" points=3 tags=["tests"]
check_perceptron_update(Perceptron).assert_passed()

# %% [markdown]
# ## Learning AND and OR
#
# Each gate has four inputs. The green lines are the boundary $\mathbf{w}^\top\mathbf{x} +
# b = 0$ after each epoch — lighter lines are earlier epochs.

# %%
X_gates = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
gates = {"AND": np.array([0, 0, 0, 1.0]), "OR": np.array([0, 1, 1, 1.0])}
results = attempt(lambda: {name: Perceptron(2).fit(X_gates, labels) for name, labels in gates.items()},
                  "fit on AND and OR")
if results is not None:
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, (name, result) in zip(axes, results.items()):
        print(f"{name}: {result}")
        plot_decision_boundaries(X_gates, gates[name], result.history, name, ax=ax)
    plt.show()

# %% hidden_seed=true id="test_fit" points=3 tags=["tests"]
check_perceptron_fit(Perceptron).assert_passed()

# %% [markdown]
# ## XOR: where one neuron is not enough
#
# XOR is 1 when exactly one input is 1. No single line separates its two classes, so the
# rule cycles for ever; `fit` must stop at `max_epochs` and say so.

# %%
xor = np.array([0, 1, 1, 0.0])
result = attempt(lambda: Perceptron(2).fit(X_gates, xor, max_epochs=20), "fit on XOR")
if result is not None:
    print(f"XOR: {result}")
    plot_decision_boundaries(X_gates, xor, result.history[-4:], "XOR: the last epochs")
    plt.show()

# %% id="test_xor" points=1 tags=["tests"]
check_perceptron_xor(Perceptron).assert_passed()
### BEGIN HIDDEN TESTS
check_perceptron_xor(Perceptron, max_epochs=40).assert_passed()
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# - A neuron computes $\hat y = \operatorname{step}(\mathbf{w}^\top\mathbf{x} + b)$.
# - The perceptron rule moves the boundary on mistakes only; it converges exactly when
#   the data are linearly separable.
# - XOR is not: two layers of neurons are needed. Their thresholds must become smooth
#   *activation functions* so that we can train them by gradients — notebook 2.
