"""The fully connected layer, pinned to ``nn.Linear``'s conventions."""

import math

import numpy as np

from solutions.module import Module


def torch_default_uniform(rng, shape, fan_in, dtype=np.float64):
    """Draw U(-1/√fan_in, 1/√fan_in): the distribution of nn.Linear's default init
    (kaiming_uniform with a = √5 for W, and the same bound for b)."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Linear(Module):
    """y = x Wᵀ + b with x: (N, in), W: (out, in), b: (out,), y: (N, out).

    Backward: dx = dY W,  dW = dYᵀ x,  db = Σ_n dY (no 1/N: it lives in the loss).
    With ``input_grad=False`` backward skips dx and returns None: a first layer fed
    with data needs no dx (torch skips it too, as data has requires_grad=False).
    """

    param_names = ("W", "b")

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64, input_grad=True):
        rng = np.random.default_rng(rng)
        self.input_grad = input_grad
        self.W = torch_default_uniform(rng, (out_features, in_features), in_features, dtype)
        self.b = torch_default_uniform(rng, (out_features,), in_features, dtype)

    def forward(self, x):
        self.x = x
        return x @ self.W.T + self.b

    def backward(self, dout):
        self.dW = dout.T @ self.x
        self.db = dout.sum(axis=0)
        return dout @ self.W if self.input_grad else None
