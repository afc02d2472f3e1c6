"""Activation functions, forward and backward, stable for |x| >= 1000.

Subgradients at kinks follow torch (see CONVENTIONS.md): ReLU'(0) = 0,
LeakyReLU'(0) = slope, Maxout ties send the gradient to the first maximal piece.
"""

import math

import numpy as np

from solutions.linear import torch_default_uniform
from solutions.module import Module


def stable_sigmoid(x):
    """σ(x) = 1 / (1 + e^{-x}), computed with e^{-|x|} so exp never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Sigmoid(Module):
    """y = σ(x);  dy/dx = y (1 - y)."""

    def forward(self, x):
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, dout):
        return dout * self.y * (1 - self.y)


class Tanh(Module):
    """y = tanh(x);  dy/dx = 1 - y²."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, dout):
        return dout * (1 - self.y * self.y)


class ReLU(Module):
    """y = max(0, x);  dy/dx = 1 if x > 0 else 0 (0 at x = 0, as torch)."""

    def forward(self, x):
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * self.positive


class LeakyReLU(Module):
    """y = max(slope·x, x) for 0 < slope < 1;  dy/dx = 1 if x > 0 else slope."""

    def __init__(self, slope=0.1):
        self.slope = slope

    def forward(self, x):
        self.positive = x > 0
        return np.where(self.positive, x, self.slope * x)

    def backward(self, dout):
        return np.where(self.positive, dout, self.slope * dout)


class ELU(Module):
    """y = x if x > 0 else α(eˣ - 1);  dy/dx = 1 if x > 0 else α·eˣ."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, dout):
        x = self.x
        return dout * np.where(x > 0, 1.0, self.alpha * np.exp(np.minimum(x, 0)))


_erf = np.vectorize(math.erf, otypes=[float])
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Module):
    """y = x·Φ(x), Φ the standard normal CDF;  dy/dx = Φ(x) + x·φ(x).

    ``approximate="tanh"``: Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715x³))), as torch.
    """

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "tanh":
            self.t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + _erf(x / math.sqrt(2.0))).astype(x.dtype, copy=False)
        return x * self.cdf

    def backward(self, dout):
        x = self.x
        if self.approximate == "tanh":
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)
            return dout * (0.5 * (1 + self.t) + 0.5 * x * (1 - self.t**2) * du)
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return dout * (self.cdf + x * pdf)


class SiLU(Module):
    """Swish / SiLU: y = x·σ(x);  dy/dx = σ(x)(1 + x(1 - σ(x)))."""

    def forward(self, x):
        self.x, self.s = x, stable_sigmoid(x)
        return x * self.s

    def backward(self, dout):
        s = self.s
        return dout * s * (1 + self.x * (1 - s))


Swish = SiLU


class Maxout(Module):
    """k linear pieces, elementwise max:  y = max_j (x W_jᵀ + b_j).

    x: (N, in), W: (k, out, in), b: (k, out), y: (N, out). The gradient flows only
    through the winning piece j* (the first one on ties, as ``torch.max``):
    dW_j = (dY ⊙ [j = j*])ᵀ x,  db_j = Σ_n dY ⊙ [j = j*],  dx = Σ_j (dY ⊙ [j = j*]) W_j.
    """

    param_names = ("W", "b")

    def __init__(self, in_features, out_features, k=2, rng=None, dtype=np.float64):
        rng = np.random.default_rng(rng)
        self.W = torch_default_uniform(rng, (k, out_features, in_features), in_features, dtype)
        self.b = torch_default_uniform(rng, (k, out_features), in_features, dtype)

    def forward(self, x):
        self.x = x
        z = np.einsum("ni,koi->kno", x, self.W) + self.b[:, None, :]
        self.winner = np.argmax(z, axis=0)
        return np.take_along_axis(z, self.winner[None], axis=0)[0]

    def backward(self, dout):
        k = self.W.shape[0]
        dz = np.where(np.arange(k)[:, None, None] == self.winner[None], dout[None], 0)
        self.dW = np.einsum("kno,ni->koi", dz, self.x)
        self.db = dz.sum(axis=1)
        return np.einsum("kno,koi->ni", dz, self.W)
