"""The MLP container and training loop: 1:1 with torch, reproducible, and reaching
the course's accuracy target on full MNIST."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import solutions as S
from autograder.student.components import torch_mlp
from autograder.student.oracle import compare


def copy_into_torch(model, module):
    with torch.no_grad():
        for p, t in zip(model.parameters(), module.parameters(), strict=True):
            t.copy_(torch.as_tensor(p))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_matches_torch_step_for_step(optimizer):
    """Same init, same batches, float64: parameters agree after every step."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 6)), rng.integers(0, 3, size=64)
    sizes = [6, 8, 5, 3]
    model = S.MLP(sizes, rng=1)
    module = torch_mlp(sizes).double()
    copy_into_torch(model, module)
    if optimizer == "sgd":
        ours = S.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        theirs = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    else:
        ours = S.Adam(model.parameters(), lr=0.01)
        theirs = torch.optim.Adam(module.parameters(), lr=0.01)
    loss_fn = S.CrossEntropyLoss()
    for batch in np.array_split(np.arange(64), 8):
        loss = loss_fn.forward(model.forward(X[batch]), y[batch])
        model.backward(loss_fn.backward())
        ours.step(model.gradients())
        theirs.zero_grad()
        loss_t = F.cross_entropy(module(torch.tensor(X[batch])), torch.tensor(y[batch]))
        loss_t.backward()
        theirs.step()
        assert compare("loss", loss, loss_t) is None
        for p, t in zip(model.parameters(), module.parameters(), strict=True):
            assert compare("parameter", p, t.detach()) is None


def test_without_input_grad_the_parameter_gradients_are_the_same():
    x, g = np.random.default_rng(0).standard_normal((2, 5, 4))[0], np.ones((5, 3))
    full, lean = S.MLP([4, 6, 3], rng=0), S.MLP([4, 6, 3], rng=0, input_grad=False)
    full.forward(x), lean.forward(x)
    assert full.backward(g) is not None and lean.backward(g) is None
    for a, b in zip(full.gradients(), lean.gradients(), strict=True):
        np.testing.assert_array_equal(a, b)


def small_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)


def train_small(seed):
    X, y = small_problem()
    model = S.MLP([4, 16, 3], rng=seed, dtype=np.float32)
    history = S.train(model, S.CrossEntropyLoss(), S.Adam(model.parameters(), lr=0.01), X, y,
                      epochs=15, batch_size=32, seed=seed)
    return model, history


def test_same_seed_same_run_and_other_seed_other_run():
    (a, ha), (b, hb), (c, _) = train_small(0), train_small(0), train_small(1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert [r["loss"] for r in ha] == [r["loss"] for r in hb]
    assert not np.array_equal(a.parameters()[0], c.parameters()[0])


def test_training_lowers_the_loss_and_learns():
    model, history = train_small(0)
    X, y = small_problem()
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert S.accuracy(model, X, y) > 0.9
    assert model.parameters()[0].dtype == np.float32


def test_accuracy_and_predict_agree_with_torch_argmax():
    model, _ = train_small(0)
    X, y = small_problem()
    expected = torch.tensor(model.forward(X)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(S.predict(model, X, batch_size=7), expected)
    assert S.accuracy(model, X, y) == pytest.approx(np.mean(expected == y))


def test_step_decay_schedule_sets_the_optimizer_rate():
    X, y = small_problem()
    model = S.MLP([4, 3], rng=0)
    optimizer = S.SGD(model.parameters(), lr=1.0)
    history = S.train(model, S.CrossEntropyLoss(), optimizer, X, y, epochs=5,
                      lr_schedule=S.mlp.step_decay(0.1, factor=0.5, every=2))
    assert [r["lr"] for r in history] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_mlp_needs_two_sizes():
    with pytest.raises(ValueError, match="at least"):
        S.MLP([5])


@pytest.mark.slow
def test_reference_recipe_reaches_98_percent_on_full_mnist(mnist):
    from solutions.recipe import train_reference
    _, history = train_reference(mnist)
    assert history[-1]["test_accuracy"] >= 0.98
