"""Rosenblatt's perceptron: a neuron as a weighted sum and a threshold."""

import numpy as np


def weighted_sum(X, w, b):
    """z = X w + b for X: (N, D), w: (D,), b: scalar; z: (N,)."""
    return X @ w + b


def step(z):
    """Threshold activation: 1 where z ≥ 0, else 0 (torch.heaviside(z, 1))."""
    return (z >= 0).astype(np.float64)


class Perceptron:
    """ŷ = step(x·w + b), trained by the perceptron rule on labels y ∈ {0, 1}:
        w ← w + η (y - ŷ) x,   b ← b + η (y - ŷ).

    The step has derivative 0 almost everywhere, so this rule is not gradient
    descent: it moves the boundary only on mistakes. It converges in finitely many
    updates exactly when the data are linearly separable (Novikoff).
    """

    def __init__(self, n_features, lr=1.0):
        self.w = np.zeros(n_features)
        self.b = 0.0
        self.lr = lr

    def forward(self, X):
        """The predicted labels ŷ: (N,) for X: (N, D)."""
        return step(weighted_sum(X, self.w, self.b))

    predict = forward

    def update(self, x, y):
        """One application of the rule to a sample x: (D,) with label y; returns y - ŷ."""
        error = y - step(weighted_sum(x[None, :], self.w, self.b))[0]
        self.w = self.w + self.lr * error * x
        self.b = self.b + self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        """Sweep the data (in a seeded random order when ``rng`` is given) until an
        epoch makes no mistake, or ``max_epochs`` pass.

        Returns a FitResult: ``converged`` (False for XOR: not linearly separable),
        ``epochs`` run, ``mistakes`` per epoch, and ``history`` of (w, b) after each
        epoch (for plotting the moving boundary).
        """
        order_rng = None if rng is None else np.random.default_rng(rng)
        mistakes, history = [], [(self.w.copy(), self.b)]
        for _ in range(max_epochs):
            order = np.arange(len(X)) if order_rng is None else order_rng.permutation(len(X))
            mistakes.append(int(sum(self.update(X[i], y[i]) != 0 for i in order)))
            history.append((self.w.copy(), self.b))
            if mistakes[-1] == 0:
                break
        return FitResult(converged=mistakes[-1] == 0, epochs=len(mistakes),
                         mistakes=mistakes, history=history)


class FitResult:
    """What ``Perceptron.fit`` reports; ``str()`` says it in one sentence."""

    def __init__(self, converged, epochs, mistakes, history):
        self.converged, self.epochs = converged, epochs
        self.mistakes, self.history = mistakes, history

    def __repr__(self):
        if self.converged:
            return f"converged after {self.epochs} epochs"
        return (f"did not converge in {self.epochs} epochs ({self.mistakes[-1]} mistakes "
                "in the last): the data may not be linearly separable")
