"""Gradient descent: Ŵ = argmin_W Loss(W), found by repeatedly stepping downhill."""

import numpy as np


def gradient_descent(loss_and_grad, w0, lr, steps):
    """W_{t+1} = W_t - η ∇Loss(W_t), starting at W_0 = w0 (not modified).

    loss_and_grad(w) returns (Loss(w), ∇Loss(w)). Returns the final w and the list
    of losses, one per step, measured before that step's update.
    """
    w = np.array(w0, dtype=np.float64, copy=True)
    losses = []
    for _ in range(steps):
        loss, grad = loss_and_grad(w)
        losses.append(float(loss))
        w = w - lr * grad
    return w, losses


def linear_regression_loss(X, d):
    """Loss(w) = 1/N Σ (x_iᵀw - d_i)² (MSE of a linear model) and its gradient
    ∇Loss(w) = 2/N Xᵀ(Xw - d)."""
    def loss_and_grad(w):
        residual = X @ w - d
        return np.mean(residual**2), 2 * X.T @ residual / len(d)
    return loss_and_grad
