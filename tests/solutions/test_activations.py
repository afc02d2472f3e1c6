"""Property tests: activations agree with torch on arbitrary finite inputs, never
warn or produce NaN/inf at large |x|, and keep float32 training data float32."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import solutions as S
from autograder.student.oracle import compare

PAIRS = [
    (S.Sigmoid, torch.sigmoid), (S.Tanh, torch.tanh), (S.ReLU, F.relu),
    (S.LeakyReLU, lambda x: F.leaky_relu(x, 0.1)), (S.ELU, F.elu), (S.GELU, F.gelu),
    (lambda: S.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")), (S.SiLU, F.silu),
]
IDS = ["sigmoid", "tanh", "relu", "leaky", "elu", "gelu", "gelu-tanh", "silu"]
inputs = arrays(np.float64, array_shapes(max_dims=3, max_side=6),
                elements=st.floats(-1e4, 1e4, allow_nan=False))


@pytest.mark.parametrize("make, torch_fn", PAIRS, ids=IDS)
@settings(max_examples=40, deadline=None)
@given(x=inputs)
def test_matches_torch_without_warnings(make, torch_fn, x):
    layer = make()
    with np.errstate(all="raise", under="ignore"):
        y = layer.forward(x.copy())
        g = np.ones_like(y)
        dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_fn(xt)
    yt.backward(torch.ones_like(yt))
    assert compare("forward", y, yt) is None
    assert compare("dL/dx", dx, xt.grad) is None


@pytest.mark.parametrize("make, torch_fn", PAIRS, ids=IDS)
def test_extremes_are_finite(make, torch_fn):
    x = np.array([-1e4, -1000.0, -700.0, 0.0, 700.0, 1000.0, 1e4])
    layer = make()
    with np.errstate(all="raise", under="ignore"):
        y, dx = layer.forward(x), layer.backward(np.ones_like(x))
    assert np.isfinite(y).all() and np.isfinite(dx).all()


@pytest.mark.parametrize("make", [p[0] for p in PAIRS if p[0] is not S.GELU], ids=IDS[:5] + IDS[6:])
def test_float32_stays_float32(make):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    layer = make()
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


def test_leaky_relu_default_slope_is_the_seeds_point_one():
    layer = S.LeakyReLU()
    assert layer.forward(np.array([-10.0]))[0] == pytest.approx(-1.0)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        S.GELU("fast")
