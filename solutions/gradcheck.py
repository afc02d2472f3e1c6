"""Numerical gradients by central differences (the gradient-check exercise)."""

import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    """∂f/∂x for a scalar function f() of the array x (read by f, perturbed in place
    and restored):  ∂f/∂x_i ≈ (f(x + ε e_i) - f(x - ε e_i)) / 2ε, error O(ε²)."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad
