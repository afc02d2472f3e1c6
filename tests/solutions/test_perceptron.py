"""The perceptron learns AND/OR, reports XOR's non-convergence, and separates any
linearly separable data set."""

import numpy as np
import pytest

from solutions.perceptron import Perceptron

X_BOOL = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


@pytest.mark.parametrize("labels", [[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 0]],
                         ids=["AND", "OR", "NAND"])
def test_learns_linearly_separable_gates(labels):
    y = np.array(labels, dtype=float)
    model = Perceptron(2)
    result = model.fit(X_BOOL, y)
    assert result.converged and "converged after" in repr(result)
    np.testing.assert_array_equal(model.predict(X_BOOL), y)
    assert result.mistakes[-1] == 0 and len(result.history) == result.epochs + 1


def test_xor_is_reported_not_looped_forever():
    model = Perceptron(2)
    result = model.fit(X_BOOL, np.array([0, 1, 1, 0.0]), max_epochs=50)
    assert not result.converged and result.epochs == 50
    assert "may not be linearly separable" in repr(result)
    assert (model.predict(X_BOOL) != np.array([0, 1, 1, 0])).any()


@pytest.mark.parametrize("seed", range(5))
def test_separates_random_separable_data(seed):
    rng = np.random.default_rng(seed)
    w_true, b_true = rng.standard_normal(3), rng.standard_normal()
    X = rng.standard_normal((200, 3))
    margin = X @ w_true + b_true
    X, margin = X[np.abs(margin) > 0.1], margin[np.abs(margin) > 0.1]
    y = (margin > 0).astype(float)
    model = Perceptron(3, lr=0.5)
    assert model.fit(X, y, max_epochs=1000, rng=seed).converged
    np.testing.assert_array_equal(model.predict(X), y)


def test_seeded_order_is_reproducible():
    X = np.random.default_rng(0).standard_normal((50, 2))
    y = (X[:, 0] > X[:, 1]).astype(float)
    a, b = Perceptron(2), Perceptron(2)
    a.fit(X, y, rng=3), b.fit(X, y, rng=3)
    np.testing.assert_array_equal(a.w, b.w)
