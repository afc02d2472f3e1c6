"""Regularisation layers pinned to torch's: inverted Dropout and BatchNorm1d."""

import numpy as np

from solutions.module import Module


class Dropout(Module):
    """Inverted dropout, as ``nn.Dropout(p)``: in training, y = x·m/(1 − p) with a new
    mask m ~ Bernoulli(1 − p) per element on every forward (p is the probability of
    dropping); backward is dL/dx = dL/dy·m/(1 − p), the forward's mask. In eval mode
    y = x and dL/dx = dL/dy: the scaling in training keeps E[y] = x, so test time
    needs none."""

    param_names = ()

    def __init__(self, p=0.5, rng=None):
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p}")
        self.p, self.rng = p, np.random.default_rng(rng)
        self.scale = None  # m/(1 − p) of the last training forward; None: the identity

    def forward(self, x):
        if not self.training or self.p == 0:
            self.scale = None
            return x.copy()
        self.scale = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.scale

    def backward(self, dout):
        return dout.copy() if self.scale is None else dout * self.scale


class BatchNorm1d(Module):
    """Batch normalisation over the batch axis of x: (N, F), as ``nn.BatchNorm1d``.

    Training: x̂ = (x − μ_B)/√(σ²_B + ε) with the batch mean μ_B and the *biased*
    variance σ²_B, y = γ·x̂ + β; the running statistics move towards the batch's,
    r ← (1 − momentum)·r + momentum·batch, with the *unbiased* variance for
    running_var (torch's rule). Eval: x̂ uses running_mean and running_var.
    Backward (training), the batch statistics depending on x:
    dx = γ/(N√(σ²_B + ε)) · (N·dy − Σdy − x̂·Σ(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy.
    """

    param_names = ("gamma", "beta")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features, dtype), np.zeros(num_features, dtype)
        self.running_mean = np.zeros(num_features, dtype)
        self.running_var = np.ones(num_features, dtype)

    def forward(self, x):
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            n = len(x)
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var = ((1 - self.momentum) * self.running_var
                                + self.momentum * var * n / max(n - 1, 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.batch_stats = self.training
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.gamma * self.x_hat + self.beta

    def backward(self, dout):
        self.dgamma = np.sum(dout * self.x_hat, axis=0)
        self.dbeta = np.sum(dout, axis=0)
        if not self.batch_stats:  # eval: mean and variance are constants
            return dout * self.gamma * self.inv_std
        n = len(dout)
        return (self.gamma * self.inv_std / n) * (
            n * dout - self.dbeta - self.x_hat * self.dgamma)
