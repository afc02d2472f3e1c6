"""Optimizers that update numpy parameters in place, step for step as torch.optim.

Both take the parameter list at construction (as torch does) and the matching
gradient list at each ``step``. Weight decay is L2: g ← g + λθ.
"""

import numpy as np


class SGD:
    """g ← ∇ + λθ;  with momentum μ: b ← g (first step), b ← μb + g (later), g ← b;
    θ ← θ - ηg."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr = list(params), lr
        self.momentum, self.weight_decay = momentum, weight_decay
        self.buffers = [None] * len(self.params)

    def step(self, grads):
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                if self.buffers[i] is None:
                    self.buffers[i] = np.array(g, copy=True)
                else:
                    self.buffers[i] *= self.momentum
                    self.buffers[i] += g
                g = self.buffers[i]
            p -= self.lr * g


class Adam:
    """g ← ∇ + λθ;  m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;
    θ ← θ - η·(m / (1-β₁ᵗ)) / (√v / √(1-β₂ᵗ) + ε)   (bias-corrected, as torch)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params, self.lr = list(params), lr
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.scratch = [np.empty_like(p) for p in self.params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        step_size = self.lr / (1 - self.beta1**self.t)
        sqrt_correction2 = np.sqrt(1 - self.beta2**self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.scratch):
            if self.weight_decay:
                g = g + self.weight_decay * p
            # The same formula, written in place: temporaries cost more than the math.
            np.multiply(g, 1 - self.beta1, out=tmp)
            m *= self.beta1
            m += tmp
            np.multiply(g, g, out=tmp)
            tmp *= 1 - self.beta2
            v *= self.beta2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= sqrt_correction2
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp
