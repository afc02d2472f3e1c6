"""Losses: a scalar L from predictions and targets; ``backward()`` returns dL/dpred.

Both average as torch's reduction="mean" does (CONVENTIONS.md).
"""

import numpy as np


class MSELoss:
    """L = 1/M Σ (ŷ - y)² over all M elements;  dL/dŷ = 2(ŷ - y)/M  (F.mse_loss)."""

    def forward(self, pred, target):
        self.diff = pred - target
        return np.mean(self.diff**2)

    def backward(self):
        return 2 * self.diff / self.diff.size

    __call__ = forward


def log_softmax(z):
    """log softmax along the last axis by log-sum-exp: z - max - log Σ e^{z - max}."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def as_target_distribution(target, num_classes, dtype):
    """Integer labels (N,) become one-hot rows (N, C); (N, C) targets pass through."""
    target = np.asarray(target)
    if target.ndim == 1:
        onehot = np.zeros((target.shape[0], num_classes), dtype=dtype)
        onehot[np.arange(target.shape[0]), target] = 1
        return onehot
    return target.astype(dtype, copy=False)


class CrossEntropyLoss:
    """Softmax cross-entropy of logits z: (N, C) and targets d (labels (N,) or
    one-hot/probabilities (N, C)):  L = -1/N Σ_n Σ_c d_nc log softmax(z_n)_c.

    dL/dz = (softmax(z) - d) / N  (F.cross_entropy).
    """

    def forward(self, logits, target):
        logp = log_softmax(logits)
        self.probs = np.exp(logp)
        self.target = as_target_distribution(target, logits.shape[-1], logits.dtype)
        return -np.sum(self.target * logp) / logits.shape[0]

    def backward(self):
        return (self.probs - self.target) / self.probs.shape[0]

    __call__ = forward
