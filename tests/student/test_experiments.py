"""Notebook 4's initialisation figure shows what its text says: each statement of the
text under the figure, asserted on the numbers the figure draws
(``experiments.initialisation_experiment``) with the reference's initialisers — on the
notebook's seed and on two others, so no statement rests on one lucky draw."""

import math

import numpy as np
import pytest

import solutions as S
from autograder.student.experiments import activation_statistics, initialisation_experiment

DEPTH, WIDTH = 20, 256  # the notebook's net, as its text states


@pytest.fixture(scope="module", params=[0, 1, 2], ids=lambda seed: f"seed {seed}")
def runs(request):
    return initialisation_experiment(S.xavier_uniform, S.kaiming_normal, DEPTH, WIDTH,
                                     seed=request.param)


def per_layer_factor(stds):
    """The geometric mean of the ratio of one layer's std to the one before."""
    return float(np.exp(np.mean(np.diff(np.log(stds)))))


def within_factor(values, factor):
    """Every layer within ``factor`` of the first layer's value, either way."""
    return bool(np.all(values / values[0] <= factor) and np.all(values[0] / values <= factor))


def test_the_figure_has_the_runs_the_text_names(runs):
    assert list(runs) == ["tanh", "relu"]
    assert list(runs["tanh"]) == ["N(0, 0.01²)", "N(0, 1)", "Xavier uniform"]
    assert list(runs["relu"]) == ["N(0, 0.01²)", "N(0, 1)", "Xavier uniform", "Kaiming normal"]
    for statistics in (s for column in runs.values() for s in column.values()):
        assert all(v.shape == (DEPTH,) and np.isfinite(v).all() for v in statistics.values())


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_small_normal_vanishes_forward_and_backward(runs, activation):
    statistics = runs[activation]["N(0, 0.01²)"]
    activations, gradients = statistics["activation_std"], statistics["gradient_std"]
    assert activations[-1] < 1e-12 * activations[0]
    assert gradients[0] < 1e-12 * gradients[-1]


def test_small_normal_shrinks_tanh_by_the_factor_the_text_computes(runs):
    expected = math.sqrt(WIDTH * 0.01**2)  # 0.16: tanh is the identity near 0
    assert per_layer_factor(runs["tanh"]["N(0, 0.01²)"]["activation_std"]) == pytest.approx(
        expected, rel=0.05)


def test_unit_normal_explodes_the_relu_net_by_the_factor_the_text_computes(runs):
    statistics = runs["relu"]["N(0, 1)"]
    activations, gradients = statistics["activation_std"], statistics["gradient_std"]
    assert per_layer_factor(activations) == pytest.approx(math.sqrt(WIDTH / 2), rel=0.1)
    assert activations[-1] > 1e15 * activations[0]
    assert gradients[0] > 1e15 * gradients[-1]


def test_unit_normal_saturates_tanh_yet_its_gradient_explodes(runs):
    statistics = runs["tanh"]["N(0, 1)"]
    assert np.all(np.abs(statistics["activation_std"] - 1) < 0.1)  # "near 1 at every layer"
    assert statistics["saturated"].min() > 0.8
    assert statistics["gradient_std"][0] > 1e3 * statistics["gradient_std"][-1]


def test_xavier_keeps_the_tanh_net_within_a_factor_10(runs):
    statistics = runs["tanh"]["Xavier uniform"]
    assert within_factor(statistics["activation_std"], 10)
    assert within_factor(statistics["gradient_std"], 10)


def test_xavier_halves_the_relu_variance_and_kaiming_keeps_it(runs):
    xavier, kaiming = runs["relu"]["Xavier uniform"], runs["relu"]["Kaiming normal"]
    assert xavier["activation_std"][-1] < 1e-2 * xavier["activation_std"][0]
    assert per_layer_factor(xavier["activation_std"]) == pytest.approx(math.sqrt(0.5), rel=0.1)
    assert within_factor(kaiming["activation_std"], 2)
    assert within_factor(kaiming["gradient_std"], 2)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_activation_statistics_measures_what_it_says(activation):
    """The stds of h_l and of ∂L/∂h_{l-1}, L = Σ g·h_depth, as torch's autograd gets them
    on the same input, weights and g (drawn as the docstring says)."""
    import torch
    depth, width, batch, seed = 4, 16, 32, 3
    def init(shape, layer_seed):
        return S.kaiming_normal(shape, rng=layer_seed)
    statistics = activation_statistics(init, activation, depth, width, batch, seed)
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
    f = torch.tanh if activation == "tanh" else torch.relu
    inputs, h = [], torch.tensor(x)
    for layer in range(depth):
        inputs.append(h.requires_grad_(True) if layer == 0 else h)
        h.retain_grad()
        h = f(h @ torch.tensor(init((width, width), seed * 1000 + layer)).T)
        torch.testing.assert_close(float(h.detach().std(unbiased=False)),
                                   float(statistics["activation_std"][layer]))
    (h * torch.tensor(g)).sum().backward()
    torch.testing.assert_close([float(i.grad.std(unbiased=False)) for i in inputs],
                               statistics["gradient_std"].tolist())
