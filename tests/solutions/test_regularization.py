"""The reference Dropout and BatchNorm1d against torch, step by step, and Module's
train/eval modes."""

import numpy as np
import pytest
import torch

import solutions as S
from autograder.course.gradcheck import gradcheck_module
from autograder.student.oracle import compare


def test_train_and_eval_reach_every_layer_and_return_the_module():
    model = S.Sequential(S.Linear(3, 4, rng=0), S.Dropout(0.5), S.BatchNorm1d(4))
    assert model.training and all(layer.training for layer in model.layers)
    assert model.eval() is model
    assert not model.training and not any(layer.training for layer in model.layers)
    assert model.train() is model and all(layer.training for layer in model.layers)
    assert not model.train(False).layers[1].training


def test_dropout_is_torch_s_definition_with_its_own_mask():
    p, rng = 0.3, np.random.default_rng(1)
    x, g = rng.standard_normal((50, 40)), rng.standard_normal((50, 40))
    layer = S.Dropout(p, rng=0)
    y = layer.forward(x)
    kept = y != 0
    x_t = torch.tensor(x, requires_grad=True)
    y_t = x_t * torch.tensor(kept, dtype=torch.float64) / (1 - p)
    y_t.backward(torch.tensor(g))
    assert compare("forward", y, y_t.detach()) is None
    assert compare("dL/dx", layer.backward(g), x_t.grad) is None
    assert abs(1 - kept.mean() - p) < 0.05


def test_dropout_draws_a_new_mask_per_forward_reproducibly_from_its_seed():
    x = np.ones((20, 30))
    a, b = S.Dropout(0.5, rng=7), S.Dropout(0.5, rng=7)
    first, second = a.forward(x), a.forward(x)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, b.forward(x))


@pytest.mark.parametrize("p", [0.0, 0.5])
def test_dropout_in_eval_mode_is_torch_s_identity(p):
    x, g = np.random.default_rng(2).standard_normal((2, 6, 3)), np.ones((2, 6, 3))
    layer = S.Dropout(p).eval()
    y = layer.forward(x)
    np.testing.assert_array_equal(y, torch.nn.Dropout(p).eval()(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(layer.backward(g), g)
    assert y is not x  # a copy: whoever changes y leaves x alone


def test_dropout_refuses_p_outside_0_to_1():
    with pytest.raises(ValueError):
        S.Dropout(1.0)


def test_batchnorm_follows_torch_through_training_and_eval():
    """Random γ, β; four training batches (forward, dx, dγ, dβ, running statistics
    after each), then eval forward and backward with the running statistics."""
    rng = np.random.default_rng(3)
    features, eps, momentum = 5, 1e-3, 0.2
    ours = S.BatchNorm1d(features, eps=eps, momentum=momentum)
    torch_bn = torch.nn.BatchNorm1d(features, eps=eps, momentum=momentum, dtype=torch.float64)
    ours.gamma, ours.beta = rng.uniform(0.5, 2, features), rng.standard_normal(features)
    with torch.no_grad():
        torch_bn.weight.copy_(torch.tensor(ours.gamma))
        torch_bn.bias.copy_(torch.tensor(ours.beta))
    for step in range(5):
        if step == 4:
            ours.eval()
            torch_bn.eval()
        x = rng.normal(2.0, 3.0, (7, features))
        g = rng.standard_normal((7, features))
        x_t = torch.tensor(x, requires_grad=True)
        torch_bn.zero_grad()
        y_t = torch_bn(x_t)
        y_t.backward(torch.tensor(g))
        assert compare("forward", ours.forward(x), y_t.detach()) is None
        assert compare("dL/dx", ours.backward(g), x_t.grad) is None
        assert compare("dgamma", ours.dgamma, torch_bn.weight.grad) is None
        assert compare("dbeta", ours.dbeta, torch_bn.bias.grad) is None
        assert compare("running_mean", ours.running_mean, torch_bn.running_mean) is None
        assert compare("running_var", ours.running_var, torch_bn.running_var) is None


def test_batchnorm_backward_agrees_with_finite_differences():
    def layer():
        bn = S.BatchNorm1d(3)
        bn.gamma, bn.beta = np.array([0.5, -1.5, 2.0]), np.array([0.1, 0.0, -0.3])
        return bn
    verdict = gradcheck_module(layer, (6, 3), seed=4)
    assert verdict.passed, str(verdict)
