"""A fairness corpus: correct implementations of the course's components, each written
the way some student (or a public handout: CMU 11-785 mytorch, CS231n layers.py /
optim.py, micrograd, numpy-from-scratch tutorials) would write it, and each in a style
different from the reference's. Every one computes the right numbers (to float64
rounding; the ``float32=True`` ones to float32 rounding, on purpose) on every input the
checks draw, kinks and |x| = 1000 included, with torch's subgradients at the kinks.

A check that rejects one of these rejects a correct student. Nothing here imports the
reference solution.
"""

import collections
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.special
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Case:
    name: str
    check_name: str
    impl: object
    float32: bool = False
    note: str = ""


def uniform_init(rng, shape, fan_in):
    """nn.Linear's default U(-1/√fan_in, 1/√fan_in), written out by hand."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


# ---- stable_sigmoid (notebook 2, a function) --------------------------------------------

def stable_sigmoid_masks(x):
    """Two branches filled through boolean masks: exp only of non-positive numbers."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def stable_sigmoid_abs(x):
    """One exp(-|x|), then np.where on two safe numerators over a shared denominator."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def stable_sigmoid_expit(x):
    """scipy.special.expit."""
    return scipy.special.expit(x)


def stable_sigmoid_tanh(x):
    """The identity σ(x) = ½(1 + tanh(x/2)): tanh never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def stable_sigmoid_logaddexp(x):
    """σ(x) = exp(-log(1 + e^{-x})) = exp(-logaddexp(0, -x))."""
    return np.exp(-np.logaddexp(0.0, -x))


def stable_sigmoid_where_both(x):
    """np.where over both textbook branches (each branch evaluated everywhere; the
    unselected one overflows harmlessly)."""
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def stable_sigmoid_float32(x):
    """The masked two-branch form computed in float32, cast back to float64."""
    x32 = np.asarray(x, dtype=np.float32)
    e = np.exp(-np.abs(x32))
    out = np.where(x32 >= 0, np.float32(1), e) / (np.float32(1) + e)
    return out.astype(np.float64)


# ---- Sigmoid -----------------------------------------------------------------------------

class SigmoidNaive:
    """Textbook 1/(1+exp(-x)); exp overflows to inf for x ≪ 0 and 1/inf = 0 is right."""

    def forward(self, x):
        self.y = 1.0 / (1.0 + np.exp(-x))
        return self.y

    def backward(self, dout):
        return dout * self.y * (1.0 - self.y)


class SigmoidMasks:
    """Stable two-branch forward with masks (mytorch style), backward from the output."""

    def forward(self, x):
        out = np.zeros(x.shape)
        pos = x >= 0
        neg = ~pos
        out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
        ex = np.exp(x[neg])
        out[neg] = ex / (ex + 1.0)
        self.A = out
        return out

    def backward(self, dLdA):
        dAdZ = self.A - self.A * self.A
        return dLdA * dAdZ


class SigmoidWhereClipped:
    """np.where whose branches get clipped arguments, so neither can overflow."""

    def forward(self, x):
        pos = np.exp(-np.maximum(x, 0.0))
        neg = np.exp(np.minimum(x, 0.0))
        self.s = np.where(x >= 0, 1.0 / (1.0 + pos), neg / (1.0 + neg))
        return self.s

    def backward(self, dout):
        return dout * (self.s * (1 - self.s))


class SigmoidClipNaive:
    """Tutorial trick: clip x to [-500, 500], then the naive formula."""

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-np.clip(x, -500, 500)))
        return self.out

    def backward(self, dout):
        return self.out * (1 - self.out) * dout


class SigmoidExpit:
    """scipy.special.expit, backward recomputed from the stored input."""

    def forward(self, x):
        self.x = x
        return scipy.special.expit(x)

    def backward(self, dout):
        s = scipy.special.expit(self.x)
        return dout * s * (1.0 - s)


class SigmoidTanh:
    """σ(x) = ½(1 + tanh(x/2)); σ' = ¼(1 - tanh²(x/2))."""

    def forward(self, x):
        self.t = np.tanh(x / 2)
        return 0.5 + 0.5 * self.t

    def backward(self, dout):
        return 0.25 * (1 - self.t ** 2) * dout


class SigmoidLogaddexp:
    """exp(-logaddexp(0, -x)); backward as the accurate product σ(x)·σ(-x)."""

    def forward(self, x):
        self.x = x.copy()
        return np.exp(-np.logaddexp(0, -x))

    def backward(self, dout):
        return dout * np.exp(-np.logaddexp(0, -self.x)) * np.exp(-np.logaddexp(0, self.x))


class SigmoidFloat32:
    """Stable sigmoid computed in float32 internally, cast back to float64."""

    def forward(self, x):
        z = x.astype(np.float32)
        e = np.exp(-np.abs(z))
        self.y = np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)
        return self.y.astype(np.float64)

    def backward(self, dout):
        return (dout.astype(np.float32) * self.y * (1 - self.y)).astype(np.float64)


# ---- Tanh --------------------------------------------------------------------------------

class TanhNumpy:
    """np.tanh; backward (1 - y)(1 + y) from the stored output."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, dout):
        return dout * (1.0 - self.y) * (1.0 + self.y)


class TanhViaSigmoid:
    """tanh(x) = 2σ(2x) - 1 with a stable sigmoid written inline."""

    def forward(self, x):
        z = 2.0 * x
        e = np.exp(-np.abs(z))
        s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        self.out = 2.0 * s - 1.0
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out ** 2)


class TanhExpClipped:
    """(e^{2x} - 1)/(e^{2x} + 1) with x clipped to ±20, where tanh is ±1 in float64."""

    def forward(self, x):
        e2x = np.exp(2.0 * np.clip(x, -20.0, 20.0))
        self.A = (e2x - 1.0) / (e2x + 1.0)
        return self.A

    def backward(self, dLdA):
        return dLdA * (1.0 - np.square(self.A))


class TanhSech:
    """np.tanh forward; backward sech²(x) = 1/cosh²(x) (cosh overflows to inf for
    |x| = 1000 and 1/inf = 0 is right)."""

    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, dout):
        return dout / np.cosh(self.x) ** 2


# ---- ReLU --------------------------------------------------------------------------------

class ReLUMaximum:
    """np.maximum(0, x); the mask x > 0 stored at forward."""

    def forward(self, x):
        self.mask = x > 0
        return np.maximum(0, x)

    def backward(self, dout):
        return dout * self.mask


class ReLUMultiply:
    """x * (x > 0); backward (x > 0).astype(float)."""

    def forward(self, x):
        self.x = x
        return x * (x > 0)

    def backward(self, dout):
        return dout * (self.x > 0).astype(float)


class ReLUWhere:
    """np.where(x > 0, x, 0) both ways."""

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, 0.0)

    def backward(self, dout):
        return np.where(self.x > 0, dout, 0.0)


class ReLUClipHeaviside:
    """np.clip(x, 0, None); backward np.heaviside(x, 0)."""

    def forward(self, x):
        self.x = x
        return np.clip(x, 0, None)

    def backward(self, dout):
        return dout * np.heaviside(self.x, 0)


class ReLUCS231n:
    """CS231n relu_backward: dx = dout.copy(); dx[x <= 0] = 0."""

    def forward(self, x):
        out = x.copy()
        out[out < 0] = 0
        self.cache = x
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.cache <= 0] = 0
        return dx


# ---- LeakyReLU ---------------------------------------------------------------------------

class LeakyMaximum:
    """The seed's np.maximum(slope·x, x); backward np.where on x > 0."""

    def __init__(self, slope=0.1):
        self.slope = slope

    def forward(self, x):
        self.x = x
        return np.maximum(self.slope * x, x)

    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, self.slope)


class LeakyWhere:
    """np.where(x > 0, x, slope·x) both ways."""

    def __init__(self, slope=0.1):
        self.slope = slope

    def forward(self, x):
        self.pos = x > 0
        return np.where(self.pos, x, x * self.slope)

    def backward(self, dout):
        return np.where(self.pos, dout, dout * self.slope)


class LeakyMaskArithmetic:
    """Mask arithmetic: factor = [x > 0] + slope·[x ≤ 0]; y = factor·x, dx = factor·dout."""

    def __init__(self, slope=0.1):
        self.slope = slope

    def forward(self, x):
        pos = (x > 0).astype(np.float64)
        self.factor = pos + self.slope * (1.0 - pos)
        return self.factor * x

    def backward(self, dout):
        return self.factor * dout


# ---- ELU ---------------------------------------------------------------------------------

class ELUWhereExp:
    """np.where(x > 0, x, α(eˣ - 1)): exp(1000) is evaluated (inf) but not selected."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.alpha * (np.exp(x) - 1))

    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, self.alpha * np.exp(self.x))


class ELUExpm1Clipped:
    """max(x, 0) + α·expm1(min(x, 0)); backward from the output: y + α where x ≤ 0."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        self.positive = x > 0
        self.A = np.maximum(x, 0.0) + self.alpha * np.expm1(np.minimum(x, 0.0))
        return self.A

    def backward(self, dLdA):
        return dLdA * np.where(self.positive, 1.0, self.A + self.alpha)


class ELUMask:
    """Boolean-indexed assignment: only the negatives see exp."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        self.neg = x <= 0
        self.x = x
        y = x.copy()
        y[self.neg] = self.alpha * np.expm1(x[self.neg])
        return y

    def backward(self, dout):
        local = np.ones_like(self.x)
        local[self.neg] = self.alpha * np.exp(self.x[self.neg])
        return dout * local


class ELUPiecewise:
    """np.piecewise: each piece evaluated on its own elements only."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return np.piecewise(x, [x > 0], [lambda v: v, lambda v: self.alpha * np.expm1(v)])

    def backward(self, dout):
        local = np.piecewise(self.x, [self.x > 0], [1.0, lambda v: self.alpha * np.exp(v)])
        return dout * local


# ---- GELU --------------------------------------------------------------------------------

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELUScipy:
    """scipy.special.erf for "none"; the tanh formula differentiated by hand."""

    def __init__(self, approximate="none"):
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "tanh":
            self.u = SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
            self.th = np.tanh(self.u)
            return 0.5 * x * (1.0 + self.th)
        self.Phi = 0.5 * (1.0 + scipy.special.erf(x / math.sqrt(2.0)))
        return x * self.Phi

    def backward(self, dout):
        x = self.x
        if self.approximate == "tanh":
            du = SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x ** 2)
            return dout * (0.5 * (1.0 + self.th) + 0.5 * x * (1.0 - self.th ** 2) * du)
        phi = np.exp(-0.5 * x ** 2) / math.sqrt(2.0 * math.pi)
        return dout * (self.Phi + x * phi)


class GELUMathErf:
    """math.erf vectorised with np.vectorize; tanh mode through ½(1 + tanh u) = σ(2u)."""

    _erf = staticmethod(np.vectorize(math.erf, otypes=[float]))

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(approximate)
        self.tanh_mode = approximate == "tanh"

    @staticmethod
    def _sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0, e) / (1.0 + e)

    def forward(self, x):
        self.x = x
        if self.tanh_mode:
            self.u = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
            self.s = self._sigmoid(2 * self.u)
            return x * self.s
        self.cdf = 0.5 * (1 + self._erf(x / math.sqrt(2)))
        return x * self.cdf

    def backward(self, dout):
        x = self.x
        if self.tanh_mode:
            du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            return dout * (self.s + x * self.s * (1 - self.s) * 2 * du)
        pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        return dout * (self.cdf + x * pdf)


class GELUErfc:
    """Φ(x) = ½·erfc(-x/√2) (accurate in the left tail); tanh mode with a cached 1 - t²."""

    def __init__(self, approximate="none"):
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "none":
            self.cdf = 0.5 * scipy.special.erfc(-x / np.sqrt(2))
            return x * self.cdf
        k = np.sqrt(2 / np.pi)
        t = np.tanh(k * (x + 0.044715 * np.power(x, 3)))
        self.half_one_plus_t = 0.5 * (1 + t)
        self.sech2 = 1 - t * t
        return x * self.half_one_plus_t

    def backward(self, dout):
        x = self.x
        if self.approximate == "none":
            return dout * (self.cdf + x * np.exp(-np.square(x) / 2) / np.sqrt(2 * np.pi))
        k = np.sqrt(2 / np.pi)
        inner = k * (1 + 0.134145 * np.square(x))
        return dout * (self.half_one_plus_t + 0.5 * x * self.sech2 * inner)


# ---- SiLU --------------------------------------------------------------------------------

class SiLUNaive:
    """x / (1 + exp(-x)): overflows to inf for x ≪ 0 and x/inf = -0 is right."""

    def forward(self, x):
        self.x = x
        self.s = 1 / (1 + np.exp(-x))
        return x * self.s

    def backward(self, dout):
        s = self.s
        return dout * (s + self.x * s * (1 - s))


class SiLUExpit:
    """x·expit(x); derivative σ + x·σ(1 - σ)."""

    def forward(self, x):
        self.x = x
        self.sig = scipy.special.expit(x)
        return x * self.sig

    def backward(self, dout):
        return dout * (self.sig + self.x * self.sig * (1.0 - self.sig))


class SiLUTanh:
    """σ from ½ + ½tanh(x/2); derivative σ(1 + x(1 - σ))."""

    def forward(self, x):
        self.x = x
        self.s = 0.5 + 0.5 * np.tanh(x / 2)
        return self.x * self.s

    def backward(self, dout):
        return dout * self.s * (1 + self.x * (1 - self.s))


# ---- Maxout ------------------------------------------------------------------------------

class MaxoutLoop:
    """A running max over the pieces in a Python loop; strict > keeps the first piece
    on ties (as torch.max)."""

    def __init__(self, in_features, out_features, k=2, rng=None):
        rng = np.random.default_rng(rng)
        self.W = uniform_init(rng, (k, out_features, in_features), in_features)
        self.b = uniform_init(rng, (k, out_features), in_features)

    def forward(self, x):
        self.x = x
        best = x @ self.W[0].T + self.b[0]
        self.winner = np.zeros(best.shape, dtype=int)
        for j in range(1, self.W.shape[0]):
            z = x @ self.W[j].T + self.b[j]
            better = z > best
            best = np.where(better, z, best)
            self.winner[better] = j
        return best

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        dx = np.zeros_like(self.x)
        for j in range(self.W.shape[0]):
            dz = dout * (self.winner == j)
            self.dW[j] = dz.T @ self.x
            self.db[j] = dz.sum(axis=0)
            dx += dz @ self.W[j]
        return dx

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


class MaxoutEinsum:
    """All pieces at once with einsum; a one-hot mask of argmax routes the gradient."""

    def __init__(self, in_features, out_features, k=2, rng=None):
        rng = np.random.default_rng(rng)
        self.W = uniform_init(rng, (k, out_features, in_features), in_features)
        self.b = uniform_init(rng, (k, out_features), in_features)

    def forward(self, x):
        self.x = x
        z = np.einsum("ni,koi->kno", x, self.W) + self.b[:, None, :]
        k = z.shape[0]
        self.mask = np.arange(k)[:, None, None] == z.argmax(axis=0)[None]
        return z.max(axis=0)

    def backward(self, dout):
        dz = self.mask * dout[None]
        self.dW = np.einsum("kno,ni->koi", dz, self.x)
        self.db = np.einsum("kno->ko", dz)
        return np.einsum("kno,koi->ni", dz, self.W)

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


class MaxoutReshape:
    """One big (k·out, in) linear map, reshaped to (N, k, out); take/put_along_axis."""

    param_names = ("W", "b")

    def __init__(self, in_features, out_features, k=2, rng=None):
        rng = np.random.default_rng(rng)
        self.W = uniform_init(rng, (k, out_features, in_features), in_features)
        self.b = uniform_init(rng, (k, out_features), in_features)

    def forward(self, x):
        k, o, i = self.W.shape
        self.x = x
        z = (x @ self.W.reshape(k * o, i).T + self.b.reshape(k * o)).reshape(len(x), k, o)
        self.idx = np.argmax(z, axis=1)[:, None, :]
        return np.take_along_axis(z, self.idx, axis=1)[:, 0, :]

    def backward(self, dout):
        k, o, i = self.W.shape
        dz = np.zeros((len(self.x), k, o))
        np.put_along_axis(dz, self.idx, dout[:, None, :], axis=1)
        dz = dz.reshape(len(self.x), k * o)
        self.dW = (dz.T @ self.x).reshape(k, o, i)
        self.db = dz.sum(axis=0).reshape(k, o)
        return dz @ self.W.reshape(k * o, i)

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


# ---- Linear ------------------------------------------------------------------------------

class LinearDot:
    """np.dot everywhere (CS231n affine_forward/backward with W stored (out, in))."""

    param_names = ("W", "b")

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64, input_grad=True):
        rng = np.random.default_rng(rng)
        self.input_grad = input_grad
        self.W = uniform_init(rng, (out_features, in_features), in_features).astype(dtype)
        self.b = uniform_init(rng, (out_features,), in_features).astype(dtype)

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W.T) + self.b

    def backward(self, dout):
        self.dW = np.dot(dout.T, self.x)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W) if self.input_grad else None

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


class LinearEinsum:
    """Every product as an einsum."""

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64, input_grad=True):
        rng = np.random.default_rng(rng)
        self.input_grad = input_grad
        self.W = uniform_init(rng, (out_features, in_features), in_features).astype(dtype)
        self.b = uniform_init(rng, (out_features,), in_features).astype(dtype)

    def forward(self, x):
        self.x = x
        return np.einsum("ni,oi->no", x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.einsum("no,ni->oi", dout, self.x)
        self.db = np.einsum("no->o", dout)
        return np.einsum("no,oi->ni", dout, self.W) if self.input_grad else None

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


class LinearOnesColumn:
    """mytorch style: Z = A·Wᵀ + 1·bᵀ with an explicit column of ones; dLdb = dLdZᵀ·1."""

    param_names = ("W", "b")

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64, input_grad=True):
        rng = np.random.default_rng(rng)
        self.input_grad = input_grad
        self.W = uniform_init(rng, (out_features, in_features), in_features).astype(dtype)
        self.b = uniform_init(rng, (out_features,), in_features).astype(dtype)

    def forward(self, A):
        self.A = A
        self.ones = np.ones((A.shape[0], 1))
        return A @ self.W.T + self.ones @ self.b.reshape(1, -1)

    def backward(self, dLdZ):
        self.dW = dLdZ.T @ self.A
        self.db = (dLdZ.T @ self.ones).reshape(-1)
        return dLdZ @ self.W if self.input_grad else None

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


class LinearLoop:
    """Per-sample loops: y_n = W x_n + b, dW = Σ_n outer(dy_n, x_n) (the naive way)."""

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64, input_grad=True):
        rng = np.random.default_rng(rng)
        self.input_grad = input_grad
        self.W = uniform_init(rng, (out_features, in_features), in_features).astype(dtype)
        self.b = uniform_init(rng, (out_features,), in_features).astype(dtype)

    def forward(self, x):
        self.x = x
        return np.array([self.W @ row + self.b for row in x])

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        for dy, row in zip(dout, self.x):
            self.dW += np.outer(dy, row)
            self.db += dy
        if not self.input_grad:
            return None
        return np.array([self.W.T @ dy for dy in dout])

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


class LinearFloat32:
    """x Wᵀ + b computed in float32 (as in a float32 training run), cast back."""

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64, input_grad=True):
        rng = np.random.default_rng(rng)
        self.input_grad = input_grad
        self.W = uniform_init(rng, (out_features, in_features), in_features).astype(dtype)
        self.b = uniform_init(rng, (out_features,), in_features).astype(dtype)

    def forward(self, x):
        self.x32 = x.astype(np.float32)
        W32, b32 = self.W.astype(np.float32), self.b.astype(np.float32)
        return (self.x32 @ W32.T + b32).astype(np.float64)

    def backward(self, dout):
        d32 = dout.astype(np.float32)
        self.dW = (d32.T @ self.x32).astype(np.float64)
        self.db = d32.sum(axis=0).astype(np.float64)
        return (d32 @ self.W.astype(np.float32)).astype(np.float64) if self.input_grad else None

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]


# ---- MLP ---------------------------------------------------------------------------------

class SequentialLoop:
    """Sequential: a for-loop forward, reversed loop backward, parameters flattened."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    @property
    def param_names(self):
        return tuple(f"{i}.{n}" for i, layer in enumerate(self.layers)
                     for n in getattr(layer, "param_names", ()))

    def parameters(self):
        params = []
        for layer in self.layers:
            if hasattr(layer, "parameters"):
                params.extend(layer.parameters())
        return params

    def gradients(self):
        grads = []
        for layer in self.layers:
            if hasattr(layer, "gradients"):
                grads.extend(layer.gradients())
        return grads


class MLPSequential(SequentialLoop):
    """MLP(sizes) as the notebook's Sequential of Linear and ReLU layers."""

    def __init__(self, sizes, activation=ReLUMaximum, rng=None, dtype=np.float64, input_grad=True):
        rng = np.random.default_rng(rng)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(LinearDot(n_in, n_out, rng=rng, dtype=dtype,
                                    input_grad=input_grad or i > 0))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)


class MLPLists:
    """No layer objects: lists of W and b, ReLU inline (a from-scratch tutorial MLP)."""

    def __init__(self, sizes, rng=None):
        rng = np.random.default_rng(rng)
        self.Ws = [uniform_init(rng, (o, i), i) for i, o in zip(sizes[:-1], sizes[1:])]
        self.bs = [uniform_init(rng, (o,), i) for i, o in zip(sizes[:-1], sizes[1:])]

    def forward(self, x):
        self.inputs, self.pre = [], []
        h = x
        for layer, (W, b) in enumerate(zip(self.Ws, self.bs)):
            self.inputs.append(h)
            z = h @ W.T + b
            self.pre.append(z)
            h = z if layer == len(self.Ws) - 1 else np.maximum(z, 0)
        return h

    def backward(self, dout):
        self.dWs = [None] * len(self.Ws)
        self.dbs = [None] * len(self.bs)
        dz = dout
        for layer in reversed(range(len(self.Ws))):
            self.dWs[layer] = dz.T @ self.inputs[layer]
            self.dbs[layer] = dz.sum(axis=0)
            dh = dz @ self.Ws[layer]
            if layer > 0:
                dz = dh * (self.pre[layer - 1] > 0)
        return dh

    def parameters(self):
        return [p for pair in zip(self.Ws, self.bs) for p in pair]

    def gradients(self):
        return [g for pair in zip(self.dWs, self.dbs) for g in pair]


# ---- MSELoss -----------------------------------------------------------------------------

class MSEMeanFloat:
    """np.mean((p - t)**2) returned as a Python float."""

    def forward(self, pred, target):
        self.diff = pred - target
        return float(np.mean(self.diff ** 2))

    def backward(self):
        return 2.0 * self.diff / self.diff.size


class MSESumOverSize:
    """((p - t)**2).sum() / p.size returned as a 0-d array."""

    def forward(self, pred, target):
        self.pred, self.target = pred, target
        return np.asarray(((pred - target) ** 2).sum() / pred.size)

    def backward(self):
        return (2 / self.pred.size) * (self.pred - self.target)


class MSEEinsum:
    """einsum('i,i->') over the flattened residual; np.prod(shape) elements."""

    def forward(self, pred, target):
        self.e = np.subtract(pred, target)
        self.n = int(np.prod(self.e.shape))
        flat = self.e.ravel()
        return np.einsum("i,i->", flat, flat) / self.n

    def backward(self):
        return np.multiply(self.e, 2.0 / self.n)


class MSESquareAverage:
    """np.average(np.square(.)) and a gradient scaled by 1/M written with np.divide."""

    def forward(self, pred, target):
        self.residual = pred - target
        return np.average(np.square(self.residual))

    def backward(self):
        return np.divide(2 * self.residual, self.residual.size)


class MSEFloat32:
    """The mean squared error accumulated in float32."""

    def forward(self, pred, target):
        self.d = (pred.astype(np.float32) - np.asarray(target, dtype=np.float32))
        return float(np.mean(self.d * self.d, dtype=np.float32))

    def backward(self):
        return (np.float32(2) * self.d / np.float32(self.d.size)).astype(np.float64)


# ---- CrossEntropyLoss --------------------------------------------------------------------

def targets_as_rows(target, n_classes):
    target = np.asarray(target)
    if target.ndim == 1:
        return np.eye(n_classes)[target]
    return target.astype(np.float64)


class CELogsumexp:
    """scipy.special.logsumexp; labels turned into one-hot rows by np.eye; a Python float."""

    def forward(self, logits, target):
        self.N, C = logits.shape
        self.Y = targets_as_rows(target, C)
        logp = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
        self.P = np.exp(logp)
        return float(-np.sum(self.Y * logp) / self.N)

    def backward(self):
        return (self.P - self.Y) / self.N


class CEManualShift:
    """Manual max shift; integer labels handled by fancy indexing, not one-hot."""

    def forward(self, logits, target):
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.probs = np.exp(logp)
        self.target = target
        n = logits.shape[0]
        if target.ndim == 1:
            return -logp[np.arange(n), target].mean()
        return -(target * logp).sum(axis=1).mean()

    def backward(self):
        n = self.probs.shape[0]
        grad = self.probs.copy()
        if self.target.ndim == 1:
            grad[np.arange(n), self.target] -= 1
        else:
            grad -= self.target
        return grad / n


class CELogSoftmax:
    """scipy.special.log_softmax and softmax; a 0-d array comes back."""

    def forward(self, logits, target):
        logp = scipy.special.log_softmax(logits, axis=-1)
        self.softmax = scipy.special.softmax(logits, axis=-1)
        if np.issubdtype(np.asarray(target).dtype, np.integer):
            self.onehot = np.zeros_like(logits)
            self.onehot[np.arange(len(target)), target] = 1.0
        else:
            self.onehot = target
        return np.asarray(-np.einsum("nc,nc->", self.onehot, logp) / logits.shape[0])

    def backward(self):
        return (self.softmax - self.onehot) / self.softmax.shape[0]


class CERowLoop:
    """Row by row in Python (the mytorch way), stable with each row's max."""

    def forward(self, logits, target):
        n, c = logits.shape
        self.grad = np.zeros((n, c))
        total = 0.0
        for i in range(n):
            row = logits[i]
            m = row.max()
            lse = m + math.log(np.exp(row - m).sum())
            if np.ndim(target) == 1:
                d = np.zeros(c)
                d[int(target[i])] = 1.0
            else:
                d = target[i]
            total -= float(np.dot(d, row - lse))
            self.grad[i] = (np.exp(row - lse) - d) / n
        return total / n

    def backward(self):
        return self.grad


class CEFloat32:
    """Log-sum-exp cross-entropy in float32 (as a float32 training run computes it)."""

    def forward(self, logits, target):
        z = logits.astype(np.float32)
        Y = targets_as_rows(target, z.shape[1]).astype(np.float32)
        shifted = z - z.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.grad = ((np.exp(logp) - Y) / np.float32(len(z))).astype(np.float64)
        return float(-(Y * logp).sum() / np.float32(len(z)))

    def backward(self):
        return self.grad


# ---- SGD ---------------------------------------------------------------------------------

class SGDInPlace:
    """Zero-initialised velocity (v = μv + g equals torch's first-step buf = g);
    p -= lr·v in place."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr = list(params), lr
        self.momentum, self.weight_decay = momentum, weight_decay
        self.v = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        for p, g, v in zip(self.params, grads, self.v):
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                v *= self.momentum
                v += g
                g = v
            p -= self.lr * g


class SGDSubtractOut:
    """torch's algorithm, buffers None until the first step; np.subtract(..., out=p)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.mu, self.wd = lr, momentum, weight_decay
        self.buf = [None for _ in self.params]

    def step(self, grads):
        for i, (p, g) in enumerate(zip(self.params, grads)):
            d_p = g + self.wd * p if self.wd != 0 else g
            if self.mu != 0:
                self.buf[i] = d_p.copy() if self.buf[i] is None else self.mu * self.buf[i] + d_p
                d_p = self.buf[i]
            np.subtract(p, self.lr * d_p, out=p)


class SGDEllipsis:
    """p[...] = p - lr·g (assignment into the existing array); a dict of velocities."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr = list(params), lr
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = {}

    def step(self, grads):
        for i, p in enumerate(self.params):
            g = np.add(grads[i], self.weight_decay * p)
            if self.momentum > 0:
                g = self.momentum * self.velocity[i] + g if i in self.velocity else g
                self.velocity[i] = g
            p[...] = p - self.lr * g


class SGDCS231n:
    """CS231n sgd_momentum: v = μv - lr·g; p += v (the same as torch for a constant lr)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params = list(params)
        self.config = {"learning_rate": lr, "momentum": momentum, "weight_decay": weight_decay}
        self.velocities = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        lr, mu = self.config["learning_rate"], self.config["momentum"]
        for p, dw, v in zip(self.params, grads, self.velocities):
            dw = dw + self.config["weight_decay"] * p
            v[:] = mu * v - lr * dw
            p += v


# ---- Adam --------------------------------------------------------------------------------

class AdamHat:
    """m̂ = m/(1-β₁ᵗ), v̂ = v/(1-β₂ᵗ), θ -= lr·m̂/(√v̂ + ε) (the paper's Algorithm 1)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params, self.lr = list(params), lr
        self.b1, self.b2 = betas
        self.eps, self.wd = eps, weight_decay
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            g = g + self.wd * p
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g
            m_hat = self.m[i] / (1 - self.b1 ** self.t)
            v_hat = self.v[i] / (1 - self.b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamTorchForm:
    """torch's own arrangement: step size lr/(1-β₁ᵗ), denominator √v/√(1-β₂ᵗ) + ε;
    everything in place through the notebook's scratch arrays."""

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
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for p, g, m, v, s in zip(self.params, grads, self.m, self.v, self.scratch):
            if self.weight_decay:
                g = g + self.weight_decay * p
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            np.sqrt(v, out=s)
            s /= math.sqrt(c2)
            s += self.eps
            np.divide(m, s, out=s)
            s *= self.lr / c1
            p -= s


class AdamLerp:
    """Moments updated as m += (1-β₁)(g - m) (torch's lerp_), then the bias-corrected step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.hyper = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.state = [{"m": np.zeros(p.shape), "v": np.zeros(p.shape)} for p in self.params]
        self.steps = 0

    def step(self, grads):
        lr, (b1, b2), eps, wd = (self.hyper[k] for k in ("lr", "betas", "eps", "weight_decay"))
        self.steps += 1
        for p, g, st in zip(self.params, grads, self.state):
            g = g + wd * p
            st["m"] += (1 - b1) * (g - st["m"])
            st["v"] += (1 - b2) * (np.square(g) - st["v"])
            denom = np.sqrt(st["v"] / (1 - b2 ** self.steps)) + eps
            np.subtract(p, lr * (st["m"] / (1 - b1 ** self.steps)) / denom, out=p)


class AdamFolded:
    """The paper's folded step size α_t = lr·√(1-β₂ᵗ)/(1-β₁ᵗ), with ε scaled by
    √(1-β₂ᵗ) as well: algebraically identical to torch's m̂/(√v̂ + ε)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params, self.lr = list(params), lr
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        root = math.sqrt(1 - self.beta2 ** self.t)
        alpha = self.lr * root / (1 - self.beta1 ** self.t)
        eps_hat = self.eps * root
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            g = g + self.weight_decay * p
            m[:] = self.beta1 * m + (1 - self.beta1) * g
            v[:] = self.beta2 * v + (1 - self.beta2) * g ** 2
            p -= alpha * m / (np.sqrt(v) + eps_hat)


# ---- perceptron pieces (notebook 1) ------------------------------------------------------

def weighted_sum_dot(X, w, b):
    """np.dot(X, w) + b."""
    return np.dot(X, w) + b


def weighted_sum_einsum(X, w, b):
    """einsum('nd,d->n')."""
    return np.einsum("nd,d->n", X, w) + b


def weighted_sum_broadcast(X, w, b):
    """Broadcast multiply and sum along the features."""
    return (X * w[np.newaxis, :]).sum(axis=1) + b


def weighted_sum_loop(X, w, b):
    """Two Python loops over Python floats, the list made an array at the end (a list
    itself is the wrong type: the next function needs an array)."""
    z = []
    for row in X:
        total = float(b)
        for x_d, w_d in zip(row, w):
            total = total + float(x_d) * float(w_d)
        z.append(total)
    return np.array(z)


def weighted_sum_accumulate(X, w, b):
    """A loop whose accumulator starts at b and grows with +=: right for the scalar b
    the docstring promises (it would also be right for a Python or numpy float)."""
    z = np.zeros(len(X))
    for n in range(len(X)):
        acc = b
        for d in range(len(w)):
            acc += X[n, d] * w[d]
        z[n] = acc
    return z


def step_astype(z):
    """(z >= 0).astype(float)."""
    return (z >= 0).astype(float)


def step_where(z):
    """np.where(z >= 0, 1.0, 0.0)."""
    return np.where(z >= 0, 1.0, 0.0)


def step_heaviside(z):
    """np.heaviside(z, 1): numpy's own step, 1 at 0."""
    return np.heaviside(z, 1)


def step_list(z):
    """A list comprehension of Python floats, made an array."""
    return np.array([1.0 if value >= 0 else 0.0 for value in z])


def step_bool(z):
    """The boolean array z >= 0 (True = 1)."""
    return z >= 0


class FitResultNotebook:
    """The notebook's FitResult, as given."""

    def __init__(self, converged, epochs, mistakes, history):
        self.converged, self.epochs = converged, epochs
        self.mistakes, self.history = mistakes, history


class PerceptronClassic:
    """Rosenblatt's rule sample by sample, Python scalars, weights updated in place."""

    def __init__(self, n_features, lr=1.0):
        self.w = np.zeros(n_features)
        self.b = 0.0
        self.lr = lr

    def forward(self, X):
        return np.where(X @ self.w + self.b >= 0, 1.0, 0.0)

    predict = forward

    def update(self, x, y):
        y_hat = 1.0 if float(np.dot(x, self.w) + self.b) >= 0 else 0.0
        error = y - y_hat
        if error != 0:
            self.w += self.lr * error * x
            self.b += self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        mistakes, history = [], [(self.w.copy(), self.b)]
        for epoch in range(max_epochs):
            wrong = 0
            for xi, yi in zip(X, y):
                if self.update(xi, yi) != 0:
                    wrong += 1
            mistakes.append(wrong)
            history.append((self.w.copy(), self.b))
            if wrong == 0:
                break
        return FitResultNotebook(converged=mistakes[-1] == 0, epochs=len(mistakes),
                                 mistakes=mistakes, history=history)


class PerceptronNumpyCounts:
    """Errors of an epoch collected in an array and counted with np.sum: the mistake
    counts are numpy ints, so ``converged`` is a numpy bool (np.False_ on XOR)."""

    def __init__(self, n_features, lr=1.0):
        self.w = np.zeros(n_features)
        self.b = 0.0
        self.lr = lr

    def forward(self, X):
        return (np.dot(X, self.w) + self.b >= 0).astype(float)

    predict = forward

    def update(self, x, y):
        error = y - self.forward(x[None, :])[0]
        self.w = self.w + self.lr * error * x
        self.b = self.b + self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        order_rng = np.random.default_rng(rng) if rng is not None else None
        mistakes, history = [], [(self.w.copy(), self.b)]
        for _ in range(max_epochs):
            order = order_rng.permutation(len(X)) if order_rng else range(len(X))
            errors = np.array([self.update(X[i], y[i]) for i in order])
            mistakes.append(np.sum(errors != 0))
            history.append((self.w.copy(), self.b))
            if mistakes[-1] == 0:
                break
        return FitResultNotebook(mistakes[-1] == 0, len(mistakes), mistakes, history)


FitResultTuple = collections.namedtuple("FitResultTuple", "converged epochs mistakes history")


class PerceptronNamedTuple:
    """A while-loop fit that reports a namedtuple with the FitResult fields."""

    def __init__(self, n_features, lr=1.0):
        self.w = np.zeros(n_features)
        self.b = 0.0
        self.lr = lr

    def predict(self, X):
        return np.heaviside(X @ self.w + self.b, 1.0)

    forward = predict

    def update(self, x, y):
        error = y - np.heaviside(x @ self.w + self.b, 1.0)
        self.w = self.w + self.lr * error * x
        self.b = self.b + float(self.lr * error)
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        epoch, mistakes, history = 0, [], []
        converged = False
        while epoch < max_epochs and not converged:
            count = sum(1 for xi, yi in zip(X, y) if self.update(xi, yi) != 0)
            epoch += 1
            mistakes.append(count)
            history.append((self.w.copy(), self.b))
            converged = count == 0
        return FitResultTuple(converged, epoch, mistakes, history)


class PerceptronRebindNoCopy:
    """``self.w = self.w + …`` makes a new array at each update, so appending self.w
    itself (no copy, the first entry too) records every epoch right."""

    def __init__(self, n_features, lr=1.0):
        self.w, self.b, self.lr = np.zeros(n_features), 0.0, lr

    def predict(self, X):
        return (X @ self.w + self.b >= 0).astype(float)

    forward = predict

    def update(self, x, y):
        error = y - float(x @ self.w + self.b >= 0)
        self.w = self.w + self.lr * error * x
        self.b = self.b + self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        mistakes, history = [], [(self.w, self.b)]
        for _ in range(max_epochs):
            mistakes.append(sum(self.update(xi, yi) != 0 for xi, yi in zip(X, y)))
            history.append((self.w, self.b))
            if mistakes[-1] == 0:
                break
        return FitResultNotebook(mistakes[-1] == 0, len(mistakes), mistakes, history)


class PerceptronListCopies(PerceptronRebindNoCopy):
    """w a Python list changed item by item; each entry of history a list(self.w)."""

    def __init__(self, n_features, lr=1.0):
        super().__init__(n_features, lr)
        self.w = [0.0] * n_features

    def predict(self, X):
        return (np.asarray(X) @ np.array(self.w) + self.b >= 0).astype(float)

    forward = predict

    def update(self, x, y):
        error = y - float(np.dot(x, self.w) + self.b >= 0)
        for i, xi in enumerate(x):
            self.w[i] += self.lr * error * float(xi)
        self.b += self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        mistakes, history = [], [(list(self.w), self.b)]
        for _ in range(max_epochs):
            mistakes.append(sum(self.update(xi, yi) != 0 for xi, yi in zip(X, y)))
            history.append((list(self.w), self.b))
            if mistakes[-1] == 0:
                break
        return FitResultNotebook(mistakes[-1] == 0, len(mistakes), mistakes, history)


class PerceptronAddOutFreshLists(PerceptronRebindNoCopy):
    """``np.add(…, out=self.w)`` in place; each epoch appends a new list
    [np.array(self.w), self.b] (lists as entries, each w a fresh array)."""

    def update(self, x, y):
        error = y - float(x @ self.w + self.b >= 0)
        np.add(self.w, self.lr * error * x, out=self.w)
        self.b = self.b + self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        mistakes, history = [], [[np.array(self.w), self.b]]
        for _ in range(max_epochs):
            mistakes.append(sum(self.update(xi, yi) != 0 for xi, yi in zip(X, y)))
            history.append([np.array(self.w), self.b])
            if mistakes[-1] == 0:
                break
        return FitResultNotebook(mistakes[-1] == 0, len(mistakes), mistakes, history)


class PerceptronAppendSnapshot(PerceptronAddOutFreshLists):
    """In-place updates; each epoch's snapshot np.append(self.w, self.b), recorded as
    (snapshot[:-1], snapshot[-1]): a view, but of a fresh array."""

    def fit(self, X, y, max_epochs=100, rng=None):
        mistakes, history = [], []
        for _ in range(max_epochs):
            mistakes.append(sum(self.update(xi, yi) != 0 for xi, yi in zip(X, y)))
            snapshot = np.append(self.w, self.b)
            history.append((snapshot[:-1], snapshot[-1]))
            if mistakes[-1] == 0:
                break
        return FitResultNotebook(mistakes[-1] == 0, len(mistakes), mistakes, history)


# ---- numerical_gradient (notebook 4) -----------------------------------------------------

def numerical_gradient_nditer(f, x, eps=1e-6):
    """CS231n eval_numerical_gradient: np.nditer with multi_index, old value restored."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + eps
        fxph = f()
        x[ix] = oldval - eps
        fxmh = f()
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * eps)
        it.iternext()
    return grad


def numerical_gradient_flat(f, x, eps=1e-6):
    """A flat index over x.flat and grad.flat."""
    grad = np.empty(x.shape)
    for i in range(x.size):
        saved = x.flat[i]
        x.flat[i] = saved + eps
        up = f()
        x.flat[i] = saved - eps
        down = f()
        x.flat[i] = saved
        grad.flat[i] = (up - down) / (2 * eps)
    return grad


def numerical_gradient_ndindex(f, x, eps=1e-6):
    """np.ndindex over the shape, f values kept as Python floats."""
    grad = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        original = float(x[idx])
        x[idx] = original + eps
        plus = float(f())
        x[idx] = original - eps
        minus = float(f())
        x[idx] = original
        grad[idx] = (plus - minus) / (2.0 * eps)
    return grad


def numerical_gradient_arithmetic(f, x, eps=1e-6):
    """micrograd-style nudges: += ε, -= 2ε, += ε (restores x up to one rounding)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += eps
        fp = f()
        x[idx] -= 2 * eps
        fm = f()
        x[idx] += eps
        grad[idx] = (fp - fm) / (2 * eps)
    return grad


# ---- gradient_descent (notebook 3) -------------------------------------------------------

def gradient_descent_rebind(loss_and_grad, w0, lr, steps):
    """w = w - lr·g (a new array each step), losses a list of Python floats."""
    w = np.array(w0, dtype=float)
    losses = []
    for _ in range(steps):
        loss, grad = loss_and_grad(w)
        losses.append(float(loss))
        w = w - lr * grad
    return w, losses


def gradient_descent_inplace(loss_and_grad, w0, lr, steps):
    """A copy of w0 updated in place; losses preallocated as an array."""
    w = w0.copy()
    losses = np.empty(steps)
    for t in range(steps):
        losses[t], g = loss_and_grad(w.copy())
        w -= lr * np.asarray(g)
    return w, losses


def gradient_descent_while(loss_and_grad, w0, lr, steps):
    """A while loop over a counter, the history as a numpy array."""
    w, history, t = w0 + 0.0, [], 0
    while t < steps:
        value, gradient = loss_and_grad(w)
        history.append(value)
        w = np.subtract(w, np.multiply(lr, gradient))
        t += 1
    return w, np.array(history)


# ---- notebook 5: torch -------------------------------------------------------------------

class MNISTIndexed:
    """The stub's tensors, indexed; len from the first dimension."""

    def __init__(self, X, y):
        self.X = torch.as_tensor(X, dtype=torch.float32)
        self.y = torch.as_tensor(y, dtype=torch.int64)

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return self.X[index], self.y[index]


class MNISTFromNumpy(torch.utils.data.Dataset):
    """numpy arrays kept, converted per item with torch.from_numpy / torch.tensor."""

    def __init__(self, X, y):
        self.X = np.asarray(X, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.int64)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return torch.from_numpy(self.X[index]), torch.tensor(self.y[index], dtype=torch.long)


def build_model_sequential():
    """nn.Sequential built from a list of sizes."""
    sizes, layers = [784, 512, 256, 10], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class MNISTNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def build_model_subclass():
    """A custom nn.Module subclass with F.relu in forward."""
    return MNISTNet()


def train_one_epoch_item(model, loader, optimizer, criterion, device):
    """The canonical loop; loss.item() weighted by the batch size."""
    model.train()
    running, seen = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        running += loss.item() * inputs.size(0)
        seen += inputs.size(0)
    return running / seen


def train_one_epoch_tensor(model, loader, optimizer, criterion, device):
    """Loss summed as a detached tensor, set_to_none zeroing; a tensor comes back."""
    model.train()
    total = torch.zeros((), device=device)
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        loss = criterion(out, y)
        loss.backward()
        optimizer.step()
        total += loss.detach() * y.numel()
    return total / len(loader.dataset)


def predict_loader_concat(model, loader, device):
    """torch.cat of the argmaxes, then .cpu().numpy()."""
    model.eval()
    chunks = []
    with torch.inference_mode():
        for x, _ in loader:
            chunks.append(torch.argmax(model(x.to(device)), dim=1))
    return torch.cat(chunks).cpu().numpy()


def predict_loader_list(model, loader, device):
    """Predictions extended into a Python list with .tolist(), then np.array."""
    model.eval()
    predictions = []
    with torch.no_grad():
        for batch in loader:
            logits = model(batch[0].to(device))
            predictions.extend(logits.max(dim=1).indices.tolist())
    return np.array(predictions)


# ---- notebook 6: speech frames -----------------------------------------------------------

class ContextFramesTorch(torch.utils.data.Dataset):
    """The stub's layout built with torch: F.pad per utterance, torch.cat, centres
    from cumulative lengths; a window is a slice of rows, flattened."""

    def __init__(self, mfccs, labels, context):
        self.context = int(context)
        self.features, self.centres = self.pad_and_index(mfccs)
        self.labels = (torch.as_tensor(np.concatenate(labels), dtype=torch.int64) if labels is not None
                       else torch.full((len(self.centres),), -1, dtype=torch.int64))

    def pad_and_index(self, mfccs):
        k = self.context
        blocks, centres, offset = [], [], 0
        for x in mfccs:
            x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
            blocks.append(F.pad(x - x.mean(dim=0, keepdim=True), (0, 0, k, k)).float())
            centres.append(torch.arange(len(x)) + offset + k)
            offset += len(x) + 2 * k
        return torch.cat(blocks), torch.cat(centres)

    def __len__(self):
        return len(self.centres)

    def __getitem__(self, i):
        c, k = int(self.centres[i]), self.context
        return self.features[c - k:c + k + 1].reshape(-1), self.labels[i]


class ContextFramesNumpy(torch.utils.data.Dataset):
    """numpy all the way (np.pad into one float32 array, np.repeat/cumsum for the
    centres), converted to tensors per item."""

    def __init__(self, mfccs, labels, context):
        self.k = int(context)
        lengths = np.array([len(x) for x in mfccs])
        padded = [np.pad(np.asarray(x, dtype=np.float64) - np.asarray(x, dtype=np.float64).mean(axis=0),
                         ((self.k, self.k), (0, 0))) for x in mfccs]
        self.frames = np.concatenate(padded).astype(np.float32)
        starts = np.concatenate([[0], np.cumsum(lengths + 2 * self.k)[:-1]])
        self.rows = np.repeat(starts, lengths) + self.k + (
            np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
        self.y = (np.concatenate(labels).astype(np.int64) if labels is not None
                  else np.full(lengths.sum(), -1, dtype=np.int64))

    def __len__(self):
        return int(len(self.rows))

    def __getitem__(self, i):
        r = self.rows[i]
        window = self.frames[r - self.k:r + self.k + 1].ravel()
        return torch.from_numpy(window.copy()), torch.tensor(self.y[i])


def build_frame_model_loop(context, hidden=(1024, 512, 256), classes=40):
    """nn.Sequential grown in a loop: Linear, BatchNorm1d, GELU, Dropout(0.1)."""
    layers, width = [], (2 * context + 1) * 28
    for h in hidden:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.GELU(), nn.Dropout(0.1)]
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def build_frame_model_ordered(context, hidden=(1024, 512, 256), classes=40):
    """An OrderedDict of named blocks."""
    blocks, sizes = OrderedDict(), [(2 * context + 1) * 28, *hidden]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        blocks[f"block{i}"] = nn.Sequential(nn.Linear(a, b), nn.BatchNorm1d(b), nn.GELU(),
                                            nn.Dropout(p=0.1))
    blocks["logits"] = nn.Linear(sizes[-1], classes)
    return nn.Sequential(blocks)


# ---- Dropout and BatchNorm1d (notebook 5, part B) ------------------------------------------

class TrainEval:
    """train()/eval() written out, as the notebook's given Module has them."""

    training = True

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)


class DropoutBinomial:
    """rng.binomial(1, 1 − p) mask scaled by 1/(1 − p); a training attribute, no eval()."""

    def __init__(self, p=0.5, rng=None):
        self.p, self.rng, self.training = p, np.random.default_rng(rng), True

    def forward(self, x):
        if self.training:
            self.mask = self.rng.binomial(1, 1 - self.p, size=x.shape) / (1 - self.p)
        else:
            self.mask = np.ones_like(x)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class DropoutWhere(TrainEval):
    """A boolean mask from the global np.random.rand, np.where on both passes."""

    def __init__(self, p=0.5):
        self.p = p

    def forward(self, x):
        self.keep = np.random.rand(*x.shape) >= self.p if self.training else None
        if self.keep is None:
            return x
        return np.where(self.keep, x / (1 - self.p), 0.0)

    def backward(self, dout):
        return dout if self.keep is None else np.where(self.keep, dout / (1 - self.p), 0.0)


class DropoutCS231n(TrainEval):
    """CS231n's: mask = (rand < 1 − p) / (1 − p), out = x * mask, from a RandomState."""

    def __init__(self, p=0.5, seed=None):
        self.p = p
        self.rng = np.random.RandomState(seed)
        self.mask = None

    def forward(self, x):
        if not self.training:
            self.mask = None
            return x.copy()
        self.mask = (self.rng.rand(*x.shape) < (1 - self.p)) / (1 - self.p)
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask


class BatchNormStaged(TrainEval):
    """CS231n's staged computation graph: forward in small steps, backward through each
    (the two-pass textbook form); running statistics updated in place, np.var(ddof=1)."""

    param_names = ("gamma", "beta")

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.dgamma, self.dbeta]

    def forward(self, x):
        if not self.training:
            return self.gamma * (x - self.running_mean) / np.sqrt(self.running_var + self.eps) + self.beta
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (xmu ** 2).mean(axis=0)
        sqrtvar = np.sqrt(var + self.eps)
        ivar = 1.0 / sqrtvar
        xhat = xmu * ivar
        self.running_mean *= 1 - self.momentum
        self.running_mean += self.momentum * mu
        self.running_var *= 1 - self.momentum
        self.running_var += self.momentum * np.var(x, axis=0, ddof=1)
        self.cache = (xhat, xmu, ivar, sqrtvar, var)
        return self.gamma * xhat + self.beta

    def backward(self, dout):
        xhat, xmu, ivar, sqrtvar, var = self.cache
        n = dout.shape[0]
        self.dbeta = dout.sum(axis=0)
        self.dgamma = (dout * xhat).sum(axis=0)
        dxhat = dout * self.gamma
        divar = (dxhat * xmu).sum(axis=0)
        dxmu1 = dxhat * ivar
        dsqrtvar = -divar / sqrtvar ** 2
        dvar = 0.5 * dsqrtvar / np.sqrt(var + self.eps)
        dsq = np.ones_like(dout) * dvar / n
        dxmu2 = 2 * xmu * dsq
        dx1 = dxmu1 + dxmu2
        dmu = -dx1.sum(axis=0)
        return dx1 + np.ones_like(dout) * dmu / n


class BatchNormCachedXhat:
    """The compact backward from the cached x̂: dx = (1/N)·istd·(N·dx̂ − Σdx̂ −
    x̂·Σ(dx̂·x̂)); a training attribute, no eval(); running statistics rebound."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.dgamma, self.dbeta]

    def forward(self, x):
        n = x.shape[0]
        if self.training:
            mean, var = np.mean(x, axis=0), np.var(x, axis=0)
            m = self.momentum
            self.running_mean = m * mean + (1 - m) * self.running_mean
            self.running_var = m * var * n / (n - 1) + (1 - m) * self.running_var
        else:
            mean, var = self.running_mean, self.running_var
        self.istd = 1 / np.sqrt(var + self.eps)
        self.xhat = (x - mean) * self.istd
        return self.xhat * self.gamma + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        self.dgamma = np.einsum("nf,nf->f", dout, self.xhat)
        self.dbeta = dout.sum(axis=0)
        dxhat = dout * self.gamma
        return self.istd / n * (n * dxhat - dxhat.sum(axis=0)
                                - self.xhat * (dxhat * self.xhat).sum(axis=0))


# ---- initialisation (notebook 4, functions) ------------------------------------------------

def xavier_two_random_minus_one(shape, gain=1.0, rng=None):
    """(2·rng.random − 1)·a, fans unpacked as out, in."""
    fan_out, fan_in = shape
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return (2 * np.random.default_rng(rng).random(shape) - 1) * a


def xavier_from_variance(shape, gain=1.0, rng=None):
    """The variance first, the bound √(3·Var) from it; a legacy RandomState."""
    variance = gain**2 * 2 / (shape[0] + shape[1])
    bound = np.sqrt(3 * variance)
    return np.random.RandomState(rng).uniform(low=-bound, high=bound, size=shape)


def xavier_global_seeded(shape, gain=1.0, rng=None):
    """np.random.seed(rng) then np.random.uniform: reproducible given the seed."""
    np.random.seed(rng)
    limit = gain * np.sqrt(6 / sum(shape))
    return np.random.uniform(-limit, limit, shape)


def xavier_via_torch_formula(shape, gain=1.0, rng=None):
    """std = gain·√(2/(in + out)) as torch writes it, bound = √3·std; a tuple shape rebuilt."""
    out_features, in_features = shape
    std = gain * math.sqrt(2.0 / float(in_features + out_features))
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return generator.uniform(-math.sqrt(3.0) * std, math.sqrt(3.0) * std, (out_features, in_features))


def kaiming_normal_loc_scale(shape, gain=math.sqrt(2), rng=None):
    """rng.normal(0, std, shape)."""
    return np.random.default_rng(rng).normal(0, gain / math.sqrt(shape[1]), shape)


def kaiming_standard_normal_times_std(shape, gain=math.sqrt(2), rng=None):
    """rng.standard_normal(shape) · std, the variance 2/fan_in written out for gain √2."""
    variance = gain**2 / shape[-1]
    return np.random.default_rng(rng).standard_normal(shape) * np.sqrt(variance)


def kaiming_box_muller(shape, gain=math.sqrt(2), rng=None):
    """Box–Muller from two uniforms: a normal by hand."""
    generator = np.random.default_rng(rng)
    u1, u2 = 1 - generator.random(shape), generator.random(shape)
    return gain / math.sqrt(shape[1]) * np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def kaiming_random_state(shape, gain=math.sqrt(2), rng=None):
    """A legacy RandomState's randn, seeded with rng."""
    fan_in = shape[1]
    return np.random.RandomState(rng).randn(*shape) * (gain / np.sqrt(fan_in))


# ---- the table ---------------------------------------------------------------------------

C = Case
CORRECT = [
    # stable_sigmoid (notebook 2)
    C("stable_sigmoid/masks", "check_stable_sigmoid", stable_sigmoid_masks, note="boolean masks"),
    C("stable_sigmoid/abs-where", "check_stable_sigmoid", stable_sigmoid_abs,
      note="exp(-|x|), where on safe branches"),
    C("stable_sigmoid/expit", "check_stable_sigmoid", stable_sigmoid_expit, note="scipy expit"),
    C("stable_sigmoid/tanh", "check_stable_sigmoid", stable_sigmoid_tanh, note="½(1+tanh(x/2))"),
    C("stable_sigmoid/logaddexp", "check_stable_sigmoid", stable_sigmoid_logaddexp,
      note="exp(-logaddexp(0,-x))"),
    C("stable_sigmoid/where-both-branches", "check_stable_sigmoid", stable_sigmoid_where_both,
      note="np.where evaluates the overflowing branch; right values, but the exercise "
           "text asks for warning-free"),
    C("stable_sigmoid/float32", "check_stable_sigmoid", stable_sigmoid_float32, float32=True,
      note="float32 internally"),
    # Sigmoid
    C("Sigmoid/naive", "check_sigmoid", SigmoidNaive, note="overflow warning, right values"),
    C("Sigmoid/masks", "check_sigmoid", SigmoidMasks, note="two-branch masks"),
    C("Sigmoid/where-clipped", "check_sigmoid", SigmoidWhereClipped, note="where on clipped args"),
    C("Sigmoid/clip-500-naive", "check_sigmoid", SigmoidClipNaive, note="clip then naive"),
    C("Sigmoid/expit", "check_sigmoid", SigmoidExpit, note="scipy expit, recomputed backward"),
    C("Sigmoid/tanh", "check_sigmoid", SigmoidTanh, note="½(1+tanh(x/2))"),
    C("Sigmoid/logaddexp", "check_sigmoid", SigmoidLogaddexp, note="σ(x)σ(-x) backward"),
    C("Sigmoid/float32", "check_sigmoid", SigmoidFloat32, float32=True, note="float32 internally"),
    # Tanh
    C("Tanh/np.tanh", "check_tanh", TanhNumpy, note="(1-y)(1+y)"),
    C("Tanh/2sigmoid(2x)-1", "check_tanh", TanhViaSigmoid, note="stable sigmoid identity"),
    C("Tanh/exp-clipped", "check_tanh", TanhExpClipped, note="exp formula, x clipped to ±20"),
    C("Tanh/sech2", "check_tanh", TanhSech, note="1/cosh² overflows to inf → 0, right values"),
    # ReLU
    C("ReLU/maximum-mask", "check_relu", ReLUMaximum, note="np.maximum, stored mask"),
    C("ReLU/multiply", "check_relu", ReLUMultiply, note="x*(x>0), astype(float)"),
    C("ReLU/where", "check_relu", ReLUWhere, note="np.where both ways"),
    C("ReLU/clip-heaviside", "check_relu", ReLUClipHeaviside, note="np.clip, np.heaviside(x,0)"),
    C("ReLU/cs231n", "check_relu", ReLUCS231n, note="dx = dout.copy(); dx[x<=0] = 0"),
    # LeakyReLU
    C("LeakyReLU/maximum", "check_leaky_relu", LeakyMaximum, note="np.maximum(0.1x, x)"),
    C("LeakyReLU/where", "check_leaky_relu", LeakyWhere, note="np.where"),
    C("LeakyReLU/mask-arithmetic", "check_leaky_relu", LeakyMaskArithmetic, note="mask arithmetic"),
    # ELU
    C("ELU/where-exp", "check_elu", ELUWhereExp,
      note="np.where evaluates exp(1000) = inf in the unselected branch; right values"),
    C("ELU/expm1-clipped", "check_elu", ELUExpm1Clipped, note="max + α·expm1(min), y+α backward"),
    C("ELU/mask", "check_elu", ELUMask, note="boolean-indexed assignment"),
    C("ELU/piecewise", "check_elu", ELUPiecewise, note="np.piecewise"),
    # GELU
    C("GELU/scipy-erf", "check_gelu", GELUScipy, note="scipy.special.erf; tanh formula"),
    C("GELU/math-erf-vectorize", "check_gelu", GELUMathErf, note="np.vectorize(math.erf); σ(2u)"),
    C("GELU/erfc", "check_gelu", GELUErfc, note="½erfc(-x/√2)"),
    # SiLU
    C("SiLU/naive", "check_silu", SiLUNaive, note="x/(1+exp(-x)): overflow warning, right values"),
    C("SiLU/expit", "check_silu", SiLUExpit, note="x·expit(x)"),
    C("SiLU/tanh", "check_silu", SiLUTanh, note="σ from tanh"),
    # Maxout
    C("Maxout/loop", "check_maxout", MaxoutLoop, note="running max, strict >"),
    C("Maxout/einsum-onehot", "check_maxout", MaxoutEinsum, note="einsum, one-hot argmax mask"),
    C("Maxout/reshape", "check_maxout", MaxoutReshape, note="one (k·out, in) map, take/put_along_axis"),
    # Linear
    C("Linear/np.dot", "check_linear", LinearDot, note="np.dot"),
    C("Linear/einsum", "check_linear", LinearEinsum, note="einsum"),
    C("Linear/ones-column", "check_linear", LinearOnesColumn, note="mytorch ones column"),
    C("Linear/per-sample-loop", "check_linear", LinearLoop, note="Python loops, np.outer"),
    C("Linear/float32", "check_linear", LinearFloat32, float32=True, note="float32 matmuls"),
    # MLP
    C("MLP/sequential", "check_mlp", MLPSequential, note="Sequential of layer objects"),
    C("MLP/weight-lists", "check_mlp", MLPLists, note="lists of W, b; ReLU inline"),
    # MSELoss
    C("MSELoss/mean-python-float", "check_mse", MSEMeanFloat, note="returns a Python float"),
    C("MSELoss/sum-over-size-0d", "check_mse", MSESumOverSize, note="returns a 0-d array"),
    C("MSELoss/einsum", "check_mse", MSEEinsum, note="einsum sum of squares"),
    C("MSELoss/square-average", "check_mse", MSESquareAverage, note="np.average(np.square)"),
    C("MSELoss/float32", "check_mse", MSEFloat32, float32=True, note="float32 accumulation"),
    # CrossEntropyLoss
    C("CrossEntropyLoss/scipy-logsumexp", "check_cross_entropy", CELogsumexp,
      note="scipy logsumexp, np.eye one-hot, Python float"),
    C("CrossEntropyLoss/manual-shift-fancy-index", "check_cross_entropy", CEManualShift,
      note="max shift, fancy indexing for labels"),
    C("CrossEntropyLoss/scipy-log_softmax", "check_cross_entropy", CELogSoftmax,
      note="scipy log_softmax, 0-d array"),
    C("CrossEntropyLoss/row-loop", "check_cross_entropy", CERowLoop, note="Python loop over rows"),
    C("CrossEntropyLoss/float32", "check_cross_entropy", CEFloat32, float32=True,
      note="float32 log-sum-exp"),
    # SGD
    C("SGD/in-place-velocity", "check_sgd", SGDInPlace, note="p -= lr·v, zero-initialised v"),
    C("SGD/np.subtract-out", "check_sgd", SGDSubtractOut, note="np.subtract(out=p), None buffers"),
    C("SGD/ellipsis-assign", "check_sgd", SGDEllipsis, note="p[...] = p - lr·g"),
    C("SGD/cs231n-momentum", "check_sgd", SGDCS231n, note="v = μv - lr·g; p += v"),
    # Adam
    C("Adam/m-hat-v-hat", "check_adam", AdamHat, note="explicit m̂, v̂"),
    C("Adam/torch-form-scratch", "check_adam", AdamTorchForm, note="in-place via scratch arrays"),
    C("Adam/lerp-moments", "check_adam", AdamLerp, note="m += (1-β₁)(g-m)"),
    C("Adam/folded-step-size", "check_adam", AdamFolded, note="α_t folded, ε·√(1-β₂ᵗ)"),
    # perceptron pieces (notebook 1)
    C("weighted_sum/np.dot", "check_weighted_sum", weighted_sum_dot, note="np.dot"),
    C("weighted_sum/einsum", "check_weighted_sum", weighted_sum_einsum, note="einsum"),
    C("weighted_sum/broadcast-sum", "check_weighted_sum", weighted_sum_broadcast, note="(X*w).sum"),
    C("weighted_sum/accumulate-from-b", "check_weighted_sum", weighted_sum_accumulate,
      note="acc = b; acc += …: right for a scalar b"),
    C("step/astype", "check_step", step_astype, note="(z>=0).astype(float)"),
    C("step/where", "check_step", step_where, note="np.where"),
    C("step/heaviside", "check_step", step_heaviside, note="np.heaviside(z, 1)"),
    C("step/bool-array", "check_step", step_bool, note="a boolean array"),
    C("Perceptron.update/classic", "check_perceptron_update", PerceptronClassic, note="in place"),
    C("Perceptron.fit/classic", "check_perceptron_fit", PerceptronClassic, note="Python ints"),
    C("Perceptron.xor/classic", "check_perceptron_xor", PerceptronClassic, note="Python bool"),
    C("weighted_sum/python-loop-array", "check_weighted_sum", weighted_sum_loop,
      note="Python loops, np.array at the end"),
    C("step/python-list-array", "check_step", step_list, note="a list comprehension, made an array"),
    C("Perceptron.update/numpy-counts", "check_perceptron_update", PerceptronNumpyCounts,
      note="rebinding update"),
    C("Perceptron.fit/numpy-counts", "check_perceptron_fit", PerceptronNumpyCounts,
      note="converged is np.bool_"),
    C("Perceptron.xor/numpy-counts", "check_perceptron_xor", PerceptronNumpyCounts,
      note="converged is np.False_"),
    C("Perceptron.update/namedtuple", "check_perceptron_update", PerceptronNamedTuple,
      note="heaviside"),
    C("Perceptron.fit/namedtuple", "check_perceptron_fit", PerceptronNamedTuple,
      note="FitResult as a namedtuple"),
    C("Perceptron.xor/namedtuple", "check_perceptron_xor", PerceptronNamedTuple,
      note="FitResult as a namedtuple"),
    C("Perceptron.fit/rebind-no-copy", "check_perceptron_fit", PerceptronRebindNoCopy,
      note="self.w appended itself: each update rebinds it"),
    C("Perceptron.fit/list-copies", "check_perceptron_fit", PerceptronListCopies,
      note="a list w changed in place, list(self.w) recorded"),
    C("Perceptron.fit/add-out-fresh-lists", "check_perceptron_fit", PerceptronAddOutFreshLists,
      note="np.add(out=), [np.array(w), b] entries"),
    C("Perceptron.fit/np.append-snapshot", "check_perceptron_fit", PerceptronAppendSnapshot,
      note="in place, views of a fresh np.append each epoch"),
    # numerical_gradient (notebook 4)
    C("numerical_gradient/nditer", "check_numerical_gradient", numerical_gradient_nditer,
      note="CS231n nditer"),
    C("numerical_gradient/flat", "check_numerical_gradient", numerical_gradient_flat,
      note="x.flat"),
    C("numerical_gradient/ndindex-floats", "check_numerical_gradient", numerical_gradient_ndindex,
      note="np.ndindex, Python floats"),
    C("numerical_gradient/nudge-arithmetic", "check_numerical_gradient",
      numerical_gradient_arithmetic, note="+=ε, -=2ε, +=ε: x restored up to rounding"),
    # gradient_descent (notebook 3)
    C("gradient_descent/rebind", "check_gradient_descent", gradient_descent_rebind,
      note="w = w - lr·g, list of floats"),
    C("gradient_descent/in-place", "check_gradient_descent", gradient_descent_inplace,
      note="copy, w -= lr·g, preallocated losses"),
    C("gradient_descent/while", "check_gradient_descent", gradient_descent_while,
      note="while loop, np.array history"),
    # notebook 5 (torch)
    C("MNISTDataset/indexed", "check_mnist_dataset", MNISTIndexed, note="no Dataset base class"),
    C("MNISTDataset/from-numpy", "check_mnist_dataset", MNISTFromNumpy, note="per-item conversion"),
    C("build_model/sequential-loop", "check_mnist_model", build_model_sequential, note="loop"),
    C("build_model/module-subclass", "check_mnist_model", build_model_subclass, note="nn.Module"),
    C("train_one_epoch/item", "check_train_one_epoch", train_one_epoch_item, note="loss.item()"),
    C("train_one_epoch/tensor-sum", "check_train_one_epoch", train_one_epoch_tensor,
      note="detached tensor sum, returns a tensor"),
    C("predict_loader/cat", "check_predict_loader", predict_loader_concat, note="torch.cat"),
    C("predict_loader/list", "check_predict_loader", predict_loader_list, note=".tolist()"),
    # notebook 6 (speech)
    C("ContextFrames/torch-pad", "check_context_frames", ContextFramesTorch, note="F.pad, torch.cat"),
    C("ContextFrames/numpy", "check_context_frames", ContextFramesNumpy, note="np.pad, row index"),
    C("build_frame_model/loop", "check_frame_model", build_frame_model_loop, note="Sequential"),
    C("build_frame_model/ordered-dict", "check_frame_model", build_frame_model_ordered,
      note="OrderedDict of blocks"),
    # notebook 5, part B (generalisation)
    C("Dropout/binomial", "check_dropout", DropoutBinomial,
      note="rng.binomial mask, training attribute only"),
    C("Dropout/where", "check_dropout", DropoutWhere,
      note="global np.random.rand, np.where, eval returns x itself"),
    C("Dropout/cs231n", "check_dropout", DropoutCS231n, note="RandomState, mask/(1 − p) kept"),
    C("BatchNorm1d/staged", "check_batchnorm", BatchNormStaged,
      note="CS231n staged graph, in-place running stats"),
    C("BatchNorm1d/cached-xhat", "check_batchnorm", BatchNormCachedXhat,
      note="compact x̂ backward, training attribute only"),
    # initialisation (notebook 4)
    C("xavier_uniform/2-random-minus-1", "check_xavier_uniform", xavier_two_random_minus_one,
      note="(2·rng.random − 1)·a"),
    C("xavier_uniform/from-variance", "check_xavier_uniform", xavier_from_variance,
      note="RandomState, bound = √(3·Var)"),
    C("xavier_uniform/global-seeded", "check_xavier_uniform", xavier_global_seeded,
      note="np.random.seed(rng)"),
    C("xavier_uniform/torch-formula", "check_xavier_uniform", xavier_via_torch_formula,
      note="√3 · torch's std"),
    C("kaiming_normal/loc-scale", "check_kaiming_normal", kaiming_normal_loc_scale,
      note="rng.normal(0, std, shape)"),
    C("kaiming_normal/standard-normal", "check_kaiming_normal", kaiming_standard_normal_times_std,
      note="standard_normal · √Var"),
    C("kaiming_normal/box-muller", "check_kaiming_normal", kaiming_box_muller,
      note="Box–Muller by hand"),
    C("kaiming_normal/random-state", "check_kaiming_normal", kaiming_random_state,
      note="RandomState.randn"),
]
