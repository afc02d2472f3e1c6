# %% [markdown]
# # 4 · Backpropagation
#
# A multilayer perceptron is a composition $y = f_L(\dots f_2(f_1(x)))$. The chain rule
# gives every gradient in one backward sweep: starting from $\partial L/\partial y$, each
# layer receives the gradient of its output and returns the gradient of its input,
#
# $$\frac{\partial L}{\partial x} = J_1^\top \Big(J_2^\top \big(\cdots J_L^\top
#   \tfrac{\partial L}{\partial y}\big)\Big),$$
#
# storing the gradients of its own parameters on the way. That is backpropagation.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from autograder.student.components import (check_kaiming_normal, check_linear, check_mlp,
                                           check_numerical_gradient, check_xavier_uniform)
from autograder.student.experiments import initialisation_experiment
from autograder.student.plots import (attempt, plot_activation_statistics, plot_computation_graph,
                                      plot_decision_region)

# %% [markdown]
# The picture to keep in mind: a network and its loss form a chain of nodes. The forward
# pass sends values left to right and each node keeps what it will need; the backward
# pass starts with $\partial L/\partial L = 1$ at the loss and sends gradients right to left,
# each node multiplying by its own local derivative and handing on the result. Nodes
# with parameters also keep the gradients of those.

# %%
plot_computation_graph()
plt.show()

# %%
# @include solutions.module:Module
# @include solutions.linear:torch_default_uniform

# %% [markdown]
# ## The linear layer
#
# $y = xW^\top + b$ with $x$: (N, in), $W$: (out, in), $b$: (out,) — PyTorch's `nn.Linear`.
# Given $\delta = \partial L/\partial y$ of shape (N, out):
#
# $$\frac{\partial L}{\partial x} = \delta W, \qquad
#   \frac{\partial L}{\partial W} = \delta^\top x, \qquad
#   \frac{\partial L}{\partial b} = \sum_n \delta_n.$$
#
# No $1/N$ here: the loss already averages. $\partial L/\partial W$ has $W$'s shape
# (out, in) and $\partial L/\partial b$ has $b$'s, (out,); `gradients()` returns them in
# the order of `parameters()`. The test says so when your gradient is a transpose, or a
# batch-size multiple, of torch's.
# `input_grad=False` lets a first layer skip $\partial L/\partial x$, which training on
# data never needs (return `None` then).
#
# **Judged, as in notebooks 2 and 3: your numbers** — outputs and gradients against
# PyTorch's in float64 ($|\text{yours} - \text{torch}| \le 10^{-10} + 10^{-7}|\text{torch}|$).
# A numpy warning on the way to right numbers is shown as advice, never a failure. Work
# in float64: float32 rounding inside your result is named as such when it fails.

# %% id="linear" tags=["solution"]
# @solution solutions.linear:Linear

# %% hidden_seed=true id="test_linear" points=3 tags=["tests"]
check_linear(Linear).assert_passed()

# %% [markdown]
# The MLP below uses the `ReLU` you wrote in notebook 2, imported from it as you last
# saved it. It was graded there, not again here; but if it is wrong, the MLP is too: fix
# it in notebook 2, save, run this cell again — and hand in the fixed notebook 2, since
# the grader imports the notebook you hand in. `notebook(name)` runs that notebook's
# imports, functions, classes and simple assignments, never its tests, plots or prints.

# %%
from autograder.student.earlier import notebook

ReLU = notebook("02_activations").ReLU

# %% [markdown]
# ## The chain rule through any depth
#
# `Sequential` runs its layers forward in order and backward in reverse. Its parameters
# are its layers' parameters, in order, named `"<layer index>.<name>"` (`"0.W"`, `"0.b"`,
# `"2.W"`, …). `MLP([in, h1, …, out])` (given) builds Linear → ReLU → … → Linear.

# %% id="sequential" tags=["solution"]
# @solution solutions.mlp:Sequential

# %%
# @include solutions.mlp:MLP

# %% hidden_seed=true id="test_mlp" points=4 tags=["tests"]
check_mlp(MLP).assert_passed()


# %% [markdown]
# ## XOR, solved
#
# Notebook 1 ended on XOR: no line separates $(0,1), (1,0)$ from $(0,0), (1,1)$, so no
# perceptron can. A hidden layer bends the boundary. Below, your `MLP([2, 8, 1])` is
# trained by full-batch gradient descent on the squared error
# $L = \tfrac1N\sum_n (\hat y_n - y_n)^2$, whose gradient with respect to the outputs is
# $\tfrac2N(\hat y - y)$; your `backward` does the rest.

# %%
def train_xor(steps=2000, lr=0.1, seed=0):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    model = MLP([2, 8, 1], rng=seed)
    for _ in range(steps):
        out = model.forward(X)
        model.backward(2 * (out - y) / len(X))
        for p, g in zip(model.parameters(), model.gradients()):
            p -= lr * g
    return model, X, y


trained = attempt(train_xor, "training an MLP on XOR")
if trained:
    xor_model, X_xor, y_xor = trained
    print("outputs on the four points:", np.round(xor_model.forward(X_xor).ravel(), 3))
    plot_decision_region(lambda points: xor_model.forward(points).ravel(), X_xor, y_xor.ravel(),
                         "XOR: an MLP with 8 ReLU units")
    plt.show()

# %% [markdown]
# **Question (1 point, graded by hand).** A perceptron cannot separate XOR; your MLP
# with one hidden layer of ReLUs just did. In two or three sentences: what does the
# hidden layer do to the four points that makes the output layer's job possible? Write
# your answer in the cell below.

# %% [markdown] id="q_xor" points=1 tags=["written"]
# @answer solutions.written:XOR

# %% [markdown]
# ## Gradient checking
#
# How do you know a backward is right without PyTorch? Compare it with the definition
# of the derivative. The central difference
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}$$
#
# has error $O(\varepsilon^2)$. Implement it for a scalar function `f()` that reads the
# array `x`: perturb `x[i]` in place, evaluate, and restore it.

# %% id="numerical_gradient" tags=["solution"]
# @solution solutions.gradcheck:numerical_gradient

# %% hidden_seed=true id="test_numerical_gradient" points=2 tags=["tests"]
check_numerical_gradient(numerical_gradient).assert_passed()


# %% [markdown]
# Now use it on your own layers: $L = \sum g \odot \tanh(\mathrm{MLP}(x))$ for a random $g$,
# so $\partial L/\partial y = g \odot (1 - \tanh^2 y)$. The tanh makes $L$ smooth in the
# weights: with a loss linear in a ReLU network's output, $L$ would be piecewise linear,
# and central differences would have no truncation error to show. The relative error
# $\max|a - n| / \max(|a|, |n|)$ between the analytic gradient $a$ and the numerical one
# $n$ should be around $10^{-8}$ or less. Then watch the two kinds of error trade off as
# $\varepsilon$ shrinks: truncation ($\propto \varepsilon^2$, right) against
# floating-point rounding ($\propto 1/\varepsilon$, left); they meet near
# $\varepsilon \approx 10^{-5}$, about the cube root of float64's machine epsilon.

# %%
def relative_error(a, n):
    return np.max(np.abs(a - n)) / max(np.max(np.abs(a)), np.max(np.abs(n)), 1e-300)


def gradient_check_mlp(eps=1e-6):
    rng = np.random.default_rng(1)
    model = MLP([4, 5, 3], rng=1)
    x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    y = model.forward(x)
    model.backward(g * (1 - np.tanh(y) ** 2))
    loss = lambda: np.sum(g * np.tanh(model.forward(x)))
    W = model.parameters()[0]
    return relative_error(model.gradients()[0].copy(), numerical_gradient(loss, W, eps))


error = attempt(gradient_check_mlp, "gradient check")
if error is not None:
    print(f"relative error of dL/dW of the first layer: {error:.2e}")

# %%
epsilons = np.logspace(-12, -1, 23)
errors = attempt(lambda: [gradient_check_mlp(eps) for eps in epsilons], "gradient check for 23 values of ε")
if errors is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(epsilons, np.maximum(errors, 1e-18), "o-")
    ax.set(xlabel="$\\varepsilon$", ylabel="relative error",
           title="Rounding error (left, ∝ 1/ε) vs truncation error (right, ∝ ε²)")
    plt.show()

# %% [markdown]
# ## Initialisation: keeping a deep net's signals at one scale
#
# Your `Linear` starts from `nn.Linear`'s default, $U(-1/\sqrt{\text{fan\_in}},
# 1/\sqrt{\text{fan\_in}})$. With one or two hidden layers almost any small scale
# trains; with twenty, the scale decides whether anything reaches the other end.
#
# Take a layer $z = xW^\top$, $W$ of shape (out, in) = (fan_out, fan_in), its entries
# independent of each other and of $x$, with mean 0 and variance $\operatorname{Var}(w)$.
# Each output is a sum of fan_in products $w_{ji}x_i$, so
#
# $$\operatorname{Var}(z) = \text{fan\_in}\cdot\operatorname{Var}(w)\cdot\mathbb{E}[x^2].$$
#
# Every layer multiplies the signal's variance by $\text{fan\_in}\cdot\operatorname{Var}(w)$
# (and by what the activation keeps of it), so after $L$ layers by that factor to the
# power $L$: below 1 the signal **vanishes**, above 1 it **explodes**, exponentially in
# depth. Backward, $\partial L/\partial x = \delta W$ sums fan_out terms, and the
# gradient's variance is multiplied by $\text{fan\_out}\cdot\operatorname{Var}(w)$ per layer.
#
# - **Xavier** (Glorot & Bengio, 2010), for tanh, which is the identity near 0: keep both
#   factors near 1 with $\operatorname{Var}(w) = \text{gain}^2\cdot\frac{2}{\text{fan\_in} +
#   \text{fan\_out}}$. $U(-a, a)$ has variance $a^2/3$, so
#   $a = \text{gain}\cdot\sqrt{6/(\text{fan\_in} + \text{fan\_out})}$
#   (`torch.nn.init.xavier_uniform_`, gain 1 by default).
# - **Kaiming** (He et al., 2015), for ReLU: ReLU zeroes half of its inputs,
#   $\mathbb{E}[\max(0, z)^2] = \tfrac12\operatorname{Var}(z)$, so the variance must double
#   at every layer to stay put: $w \sim N(0, \text{std}^2)$ with
#   $\text{std} = \text{gain}/\sqrt{\text{fan\_in}}$ and gain $\sqrt2$, i.e.
#   $\operatorname{Var}(w) = 2/\text{fan\_in}$ (`torch.nn.init.kaiming_normal_`, mode
#   `'fan_in'`).
#
# The gain is what an activation needs on top: `torch.nn.init.calculate_gain` gives 1 for
# none, $\sqrt2$ for ReLU, $5/3$ for tanh. `nn.Linear`'s default has
# $\operatorname{Var}(w) = 1/(3\,\text{fan\_in})$: a ReLU layer then keeps a sixth of the
# variance — harmless in notebook 5's few layers, not in twenty.
#
# Write both for $W$ of shape `(out, in)`: fan_in = `shape[1]`, fan_out = `shape[0]`.
# Return float64 arrays, drawn from `np.random.default_rng(rng)` (`rng` is a seed or a
# generator), so that the same seed gives the same weights. There is no single right
# array to compare with: the tests draw from torch's `xavier_uniform_` and
# `kaiming_normal_` on the same shapes and gains and test that your weights come from the
# same distribution (a Kolmogorov–Smirnov test, and the bound or the std), at odds that
# fail a right implementation once in $10^{9}$.

# %% id="xavier_uniform" tags=["solution"]
# @solution solutions.init:xavier_uniform

# %% hidden_seed=true id="test_xavier_uniform" points=1 tags=["tests"]
check_xavier_uniform(xavier_uniform).assert_passed()

# %% id="kaiming_normal" tags=["solution"]
# @solution solutions.init:kaiming_normal

# %% hidden_seed=true id="test_kaiming_normal" points=1 tags=["tests"]
check_kaiming_normal(kaiming_normal).assert_passed()

# %% [markdown]
# ### What depth does with the scale
#
# A batch of 256 standard-normal inputs goes up 20 layers of 256 units,
# $h_l = f(h_{l-1}W_l^\top)$ (no biases), once per initialisation: your two, and two naive
# ones that ignore the layer's size, $N(0, 0.01^2)$ and $N(0, 1)$. Then a standard-normal
# gradient goes back down from the top. Top row: the std of each layer's output; bottom
# row: the std of the gradient that reaches each layer's input. Both on log scales.

# %%
statistics = attempt(lambda: initialisation_experiment(xavier_uniform, kaiming_normal),
                     "the initialisation experiment")
if statistics:
    plot_activation_statistics(statistics)
    plt.show()
    saturated = statistics["tanh"]["N(0, 1)"]["saturated"]
    print(f"tanh net, N(0, 1): {saturated.min():.0%} to {saturated.max():.0%} of each layer's "
          "units are saturated (|h| > 0.99)")

# %% [markdown]
# What the figure shows:
#
# - **$N(0, 0.01^2)$**, $\text{fan\_in}\cdot\operatorname{Var}(w) = 256\cdot 10^{-4}$: the
#   signal vanishes in both nets. In the tanh net its std shrinks by
#   $\sqrt{256\cdot 10^{-4}} = 0.16$ per layer (tanh is the identity near 0), to less than
#   $10^{-12}$ of the first layer's by layer 20; the gradient shrinks the same way on its
#   way down, and less than $10^{-12}$ of what reaches the last layer reaches the first. No
#   layer below the top would learn.
# - **$N(0, 1)$**, $\text{fan\_in}\cdot\operatorname{Var}(w) = 256$: in the ReLU net the
#   signal explodes, by about $\sqrt{256/2} \approx 11$ per layer, more than $10^{15}$-fold by
#   layer 20, and the gradient explodes on its way down. In the tanh net the std looks
#   fine, near 1 at every layer — because more than 80 % of the units are saturated at
#   ±1 (printed above), where tanh passes on almost no gradient; yet the gradient still
#   grows more than $10^{3}$-fold on its way down, multiplied by weights 16 times too
#   large. A flat activation curve is not enough.
# - **Xavier** with tanh: neither vanishes nor explodes — every layer's std, and every
#   gradient's, stays within a factor 10 of the first layer's. The slow drift is tanh
#   squashing its input; the gain 5/3 would make up for it.
# - **ReLU**: Xavier's gain 1 loses half the variance at every layer (ReLU zeroes half),
#   to less than $10^{-2}$ of the first layer's std by layer 20. Kaiming's $\sqrt2$ makes up
#   for exactly that: every layer's std, and every gradient's, stays within a factor 2 of
#   the first layer's.

# %% [markdown]
# ## Summary
#
# - Each layer maps $\partial L/\partial y$ to $\partial L/\partial x$ and stores its
#   parameter gradients; `Sequential` chains them in reverse.
# - One hidden layer is enough for XOR: the perceptron's straight line becomes a bent
#   boundary.
# - Finite differences check any backward. In float64 their error is smallest near
#   $\varepsilon \approx 10^{-5}$: rounding grows as $1/\varepsilon$ below it, truncation as
#   $\varepsilon^2$ above (for a smooth function; a piecewise-linear one has none).
# - Each layer multiplies the variance of the signal by $\text{fan\_in}\cdot\operatorname{Var}(w)$
#   (and of the gradient by $\text{fan\_out}\cdot\operatorname{Var}(w)$): Xavier
#   ($2/(\text{fan\_in} + \text{fan\_out})$) for tanh and Kaiming ($2/\text{fan\_in}$) for ReLU
#   keep a deep net's signals at one scale; a fixed scale makes them vanish or explode.
#
# Next: all of it together, trained on 60 000 handwritten digits (notebook 5).
