# %% [markdown]
# # 2 · Activation functions
#
# A threshold has derivative 0 almost everywhere, so gradients cannot flow through it.
# Smooth (or piecewise-linear) *activation functions* replace it. Each one is a layer
# with two methods:
#
# - `forward(x)` returns $y = f(x)$ elementwise and remembers what `backward` needs;
# - `backward(dout)` receives $\partial L/\partial y$ and returns
#   $\partial L/\partial x = \partial L/\partial y \odot f'(x)$ (the chain rule).
#
# | name | $f(x)$ | $f'(x)$ |
# |---|---|---|
# | sigmoid | $\sigma(x) = \frac{1}{1+e^{-x}}$ | $\sigma(x)(1-\sigma(x))$ |
# | tanh | $\tanh x$ | $1-\tanh^2 x$ |
# | ReLU | $\max(0, x)$ | $1$ if $x>0$, else $0$ |
# | leaky ReLU | $\max(0.1x, x)$ | $1$ if $x>0$, else $0.1$ |
# | ELU | $x$ if $x>0$, else $\alpha(e^x-1)$ | $1$ if $x>0$, else $\alpha e^x$ |
# | maxout | $\max(\mathbf{w}_1^\top\mathbf{x}+b_1,\ \mathbf{w}_2^\top\mathbf{x}+b_2)$ | the winning piece's gradient |
# | GELU | $x\,\Phi(x)$ | $\Phi(x) + x\,\varphi(x)$ |
# | Swish / SiLU | $x\,\sigma(x)$ | $\sigma(x)(1 + x(1-\sigma(x)))$ |
#
# At the kinks, use PyTorch's choice: ReLU'(0) = 0, leaky ReLU'(0) = 0.1. The tests
# include $x = 0$ and $|x| = 1000$, in float64.
#
# **What a test judges: your numbers.** Each test compares your outputs and gradients
# with PyTorch's (float64, $|\text{yours} - \text{torch}| \le 10^{-10} + 10^{-7}|\text{torch}|$).
# A numpy warning on the way to a right answer — `overflow encountered in exp` in the
# branch of an `np.where` you did not choose, say — costs nothing: the test shows it as
# *advice*, with the line and a stable rewrite. A wrong, `nan` or `inf` value fails, and
# the failure names the warning that led to it. Work in float64: a result you return
# as float32 is compared at float32's tolerance (with advice), and float32 rounding
# inside a float64 result is named as such when it fails.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from autograder.student.components import (check_elu, check_gelu, check_leaky_relu, check_maxout,
                                           check_relu, check_sigmoid, check_silu, check_stable_sigmoid,
                                           check_tanh)
from autograder.student.plots import plot_activations

# %% [markdown]
# Every layer derives from this small base class (given).

# %%
# @include solutions.module:Module

# %% [markdown]
# ## Sigmoid, stably
#
# $e^{-x}$ overflows for $x < -709$ in float64. Rewrite $\sigma$ so that `np.exp` only
# ever sees non-positive numbers: for $x \ge 0$ use $1/(1+e^{-x})$, for $x<0$ use
# $e^{x}/(1+e^{x})$ — both are $e^{-|x|}$ in disguise.
#
# Judged here: your values for $|z|$ up to $10^4$, which must be right and finite. The
# naive $1/(1+e^{-z})$ happens to give the right 0 at $z = -10^4$ (numpy warns, and the
# test passes it on to you as advice); $e^{z}/(1+e^{z})$ gives $\infty/\infty$ = `nan`
# at $z = 10^4$ and fails. The stable form never overflows at all.

# %% id="stable_sigmoid" tags=["solution"]
# @solution solutions.activations:stable_sigmoid

# %% hidden_seed=true id="test_stable_sigmoid" points=1 tags=["tests"]
check_stable_sigmoid(stable_sigmoid).assert_passed()

# %% id="sigmoid" tags=["solution"]
# @solution solutions.activations:Sigmoid

# %% hidden_seed=true id="test_sigmoid" points=2 tags=["tests"]
check_sigmoid(Sigmoid).assert_passed()

# %% id="tanh" tags=["solution"]
# @solution solutions.activations:Tanh

# %% hidden_seed=true id="test_tanh" points=1 tags=["tests"]
check_tanh(Tanh).assert_passed()

# %% [markdown]
# ## ReLU and leaky ReLU
#
# ReLU passes positive inputs and blocks the rest; its gradient is 1 or 0. A ReLU that
# only ever sees negative inputs never learns again ("dies"); leaky ReLU keeps a small
# slope of 0.1 on the negative side.

# %% id="relu" tags=["solution"]
# @solution solutions.activations:ReLU

# %% hidden_seed=true id="test_relu" points=1 tags=["tests"]
check_relu(ReLU).assert_passed()

# %% id="leaky_relu" tags=["solution"]
# @solution solutions.activations:LeakyReLU

# %% hidden_seed=true id="test_leaky_relu" points=2 tags=["tests"]
check_leaky_relu(LeakyReLU).assert_passed()

# %% [markdown]
# ## ELU
#
# ELU is smooth for $\alpha = 1$ and saturates at $-\alpha$. Use `np.expm1` and only
# exponentiate non-positive numbers.

# %% id="elu" tags=["solution"]
# @solution solutions.activations:ELU

# %% hidden_seed=true id="test_elu" points=2 tags=["tests"]
check_elu(ELU).assert_passed()

# %% [markdown]
# ## Maxout
#
# Maxout learns its own activation: $k$ linear pieces $\mathbf{z}_j = \mathbf{x} W_j^\top +
# \mathbf{b}_j$ and their elementwise maximum. With $x$: (N, in), $W$: (k, out, in),
# $b$: (k, out) and $y$: (N, out), the gradient flows only through the winning piece
# $j^*$ (the first one on ties, as `torch.max` does):
#
# $$\frac{\partial L}{\partial W_j} = (\delta_j)^\top \mathbf{x},\quad
#   \frac{\partial L}{\partial \mathbf{b}_j} = \sum_n \delta_j,\quad
#   \frac{\partial L}{\partial \mathbf{x}} = \sum_j \delta_j W_j,\qquad
#   \delta_j = \frac{\partial L}{\partial y} \odot [\,j = j^*\,]$$
#
# Its weights start like PyTorch's `nn.Linear` (given). The test compares it with $k$
# linear maps and `torch.max`.

# %%
# @include solutions.linear:torch_default_uniform

# %% id="maxout" tags=["solution"]
# @solution solutions.activations:Maxout

# %% hidden_seed=true id="test_maxout" points=3 tags=["tests"]
check_maxout(Maxout).assert_passed()

# %% [markdown]
# ## Two recent activations: GELU and Swish
#
# They count like the others (1 point each).
#
# GELU weighs $x$ by the probability $\Phi(x)$ that a standard normal variable is below
# it; its tanh approximation is what many transformers use. Swish (SiLU) is $x\sigma(x)$.
# $\Phi(x) = \tfrac12(1 + \operatorname{erf}(x/\sqrt2))$ and $\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}$;
# `_erf` and the constant are given.
#
# Like `torch.nn.functional.gelu`, `GELU(approximate=...)` has two modes, and the test
# checks both:
#
# | `approximate` | $f(x)$ | $f'(x)$ |
# |---|---|---|
# | `"none"` (default) | $x\,\Phi(x)$ | $\Phi(x) + x\,\varphi(x)$ |
# | `"tanh"` | $\tfrac12 x\,(1 + \tanh u)$, $u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)$ | $\tfrac12(1 + \tanh u) + \tfrac12 x\,(1 - \tanh^2 u)\,\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)$ |

# %%
# @include solutions.activations:_erf
# @include solutions.activations:_SQRT_2_OVER_PI

# %% id="gelu" tags=["solution"]
# @solution solutions.activations:GELU

# %% hidden_seed=true id="test_gelu" points=1 tags=["tests"]
check_gelu(GELU).assert_passed()

# %% id="silu" tags=["solution"]
# @solution solutions.activations:SiLU

# %% hidden_seed=true id="test_silu" points=1 tags=["tests"]
check_silu(SiLU).assert_passed()

# %% [markdown]
# ## Every activation and its derivative
#
# Solid: $f(x)$; dashed: $f'(x)$, computed by *your* `backward` with upstream gradient 1.
# Look for the kink of ReLU at 0, the 0.1 slope of leaky ReLU, and how sigmoid's
# derivative never exceeds 1/4 — why deep sigmoid networks learn slowly.

# %%
x = np.linspace(-4, 4, 401)
layers = {"sigmoid": (Sigmoid, x), "tanh": (Tanh, x), "ReLU": (ReLU, x),
          "leaky ReLU": (LeakyReLU, x), "ELU": (ELU, x), "GELU": (GELU, x), "SiLU": (SiLU, x),
          "maxout (k=3, 1-D)": (lambda: Maxout(1, 1, k=3, rng=0), x[:, None])}
plot_activations(layers)  # the finished ones; one line names the rest
plt.show()

# %% [markdown]
# ## Summary
#
# You built eight activations, each with its derivative, judged against PyTorch at the
# kinks and at $|x| = 1000$. Next: a loss that says how wrong the network is, and
# gradient descent to make it less wrong (notebook 3).
