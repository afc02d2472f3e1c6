# %% [markdown]
# # 3 · Loss and gradient descent
#
# Training is minimisation. For a network $f(X; W)$ and data $(X_i, d_i)$ the loss is the
# average divergence between outputs and desired outputs,
#
# $$\mathrm{Loss}(W) = \frac{1}{N}\sum_{i=1}^{N} \operatorname{div}\big(f(X_i; W),\, d_i\big),
#   \qquad \hat W = \operatorname*{argmin}_W \mathrm{Loss}(W).$$
#
# Gradient descent finds $\hat W$ by stepping against the gradient:
# $W_{t+1} = W_t - \eta\,\nabla_W \mathrm{Loss}(W_t)$.
#
# A loss object has `forward(pred, target)`, returning the scalar loss, and `backward()`,
# returning $\partial L/\partial\,\mathrm{pred}$. Conventions are PyTorch's: both losses
# are *means*.

# %%
import matplotlib.pyplot as plt
import numpy as np

from autograder.student.components import check_cross_entropy, check_gradient_descent, check_mse
from autograder.student.plots import attempt, plot_loss_curves

# %% [markdown]
# ## Mean squared error
#
# $$L = \frac{1}{M}\sum_{m=1}^{M} (\hat y_m - y_m)^2, \qquad
#   \frac{\partial L}{\partial \hat y_m} = \frac{2(\hat y_m - y_m)}{M}$$
#
# over all $M$ elements (`F.mse_loss`).

# %% id="mse" tags=["solution"]
# @solution solutions.losses:MSELoss

# %% hidden_seed=true id="test_mse" points=2 tags=["tests"]
check_mse(MSELoss).assert_passed()

# %% [markdown]
# ## Softmax cross-entropy
#
# For logits $z_n \in \mathbb{R}^C$ and a target distribution $d_n$ (one-hot for a label),
#
# $$L = -\frac1N \sum_n \sum_c d_{nc} \log \operatorname{softmax}(z_n)_c, \qquad
#   \frac{\partial L}{\partial z_n} = \frac{\operatorname{softmax}(z_n) - d_n}{N}.$$
#
# Compute $\log\operatorname{softmax}$ with the log-sum-exp trick, $z - \max z - \log\sum
# e^{z - \max z}$, so that logits of 1000 do not overflow. Targets may be integer labels
# (N,) or rows of probabilities (N, C) — one-hot rows included; the test uses all three,
# like `torch.nn.functional.cross_entropy`. The helper that turns labels into one-hot
# rows is given.
#
# Judged: the loss and $\partial L/\partial z$, in float64, including logits of magnitude
# 1000. There $e^{z}$ is $\infty$ and $\infty/\infty$ is `nan`, so a formula without the
# trick fails (the failure names numpy's overflow warning); a warning on the way to right
# numbers only earns advice.

# %% id="log_softmax" tags=["solution"]
# @solution solutions.losses:log_softmax

# %%
# @include solutions.losses:as_target_distribution

# %% id="cross_entropy" tags=["solution"]
# @solution solutions.losses:CrossEntropyLoss

# %% hidden_seed=true id="test_cross_entropy" points=3 tags=["tests"]
check_cross_entropy(CrossEntropyLoss).assert_passed()

# %% [markdown]
# ## Gradient descent
#
# `loss_and_grad(w)` returns $(\mathrm{Loss}(w), \nabla\mathrm{Loss}(w))$. Record the loss
# *before* each update. The test runs your function on a least-squares problem and
# compares the result with `torch.linalg.lstsq`.

# %% id="gradient_descent" tags=["solution"]
# @solution solutions.descent:gradient_descent

# %% hidden_seed=true id="test_gradient_descent" points=3 tags=["tests"]
check_gradient_descent(gradient_descent).assert_passed()

# %% [markdown]
# ## The learning rate
#
# Fit a line $d \approx w_0 + w_1 x$ by MSE with four learning rates. Too small crawls;
# too large overshoots and diverges. (For this problem, descent diverges once
# $\eta > 2/\lambda_{\max}$, where $\lambda_{\max}$ is the largest eigenvalue of
# $\tfrac{2}{N}X^\top X$.)

# %%
# @include solutions.descent:linear_regression_loss

# %%
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, size=100)
X_line = np.column_stack([np.ones_like(x), x])
d = 0.5 + 2.0 * x + 0.2 * rng.standard_normal(100)
loss_and_grad = linear_regression_loss(X_line, d)
lambda_max = np.linalg.eigvalsh(2 * X_line.T @ X_line / len(d)).max()
print(f"divergence above eta = 2 / lambda_max = {2 / lambda_max:.2f}")

rates = [0.01, 0.1, 0.9, 1.03 * 2 / lambda_max]
curves = attempt(lambda: {f"eta = {eta:.2f}": gradient_descent(loss_and_grad, np.zeros(2), eta, 60)[1]
                          for eta in rates}, "descent with four learning rates")
if curves is not None:
    plot_loss_curves(curves, title="Loss per step for four learning rates")
    plt.show()

# %%
final_losses = {}
for eta in np.linspace(0.01, 2 / lambda_max, 25):
    run = attempt(lambda: gradient_descent(loss_and_grad, np.zeros(2), eta, 60), "descent")
    if run is None:
        break
    final_losses[eta] = run[1][-1]
if final_losses:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(list(final_losses), list(final_losses.values()), "o-")
    ax.set(xlabel="learning rate $\\eta$", ylabel="loss after 60 steps",
           title="Too small is slow, too large is unstable")
    plt.show()

# %% [markdown]
# ## Summary
#
# - A loss averages a divergence over the data; training is $\operatorname{argmin}$.
# - MSE for regression, softmax cross-entropy for classification. Both gradients are
#   "prediction minus target", scaled by the mean: $\partial L/\partial \hat y =
#   2(\hat y - y)/M$ for MSE ($M$ = the number of elements: the square's 2 stays), and
#   $(\operatorname{softmax}(z) - d)/N$ for cross-entropy ($N$ = the batch size).
# - The learning rate trades speed against stability.
#
# Next: computing $\nabla_W \mathrm{Loss}$ for every weight of a deep network at once —
# backpropagation (notebook 4).
