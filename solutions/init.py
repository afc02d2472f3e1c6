"""Weight initialisation that keeps a deep net's signals at one scale (torch.nn.init's).

A layer z = x Wᵀ with W of shape (out, in) and independent zero-mean entries gives
Var(z) = fan_in · Var(W) · E[x²]: each layer multiplies the scale by √(fan_in·Var(W)).
Xavier (Glorot & Bengio, 2010) sets Var(W) = 2/(fan_in + fan_out), the compromise
between the forward pass (fan_in) and the backward pass (fan_out); Kaiming (He et
al., 2015) sets Var(W) = 2/fan_in for ReLU, which zeroes half of its inputs.
"""

import math

import numpy as np


def xavier_uniform(shape, gain=1.0, rng=None):
    """W ~ U(-a, a), a = gain · √(6 / (fan_in + fan_out)), for W of shape (out, in):
    fan_in = shape[1], fan_out = shape[0]. Var(W) = a²/3 = gain² · 2/(fan_in + fan_out)
    (torch.nn.init.xavier_uniform_). rng: a seed or a np.random.Generator."""
    fan_out, fan_in = shape
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return np.random.default_rng(rng).uniform(-bound, bound, size=(fan_out, fan_in))


def kaiming_normal(shape, gain=math.sqrt(2), rng=None):
    """W ~ N(0, std²), std = gain / √fan_in, for W of shape (out, in): fan_in = shape[1].
    gain √2 suits ReLU, so Var(W) = 2/fan_in (torch.nn.init.kaiming_normal_, mode
    'fan_in'). rng: a seed or a np.random.Generator."""
    fan_out, fan_in = shape
    std = gain / math.sqrt(fan_in)
    return np.random.default_rng(rng).normal(0.0, std, size=(fan_out, fan_in))
