"""Broken variants of the reference: each must fail its oracle check with a message
that names what is wrong (``expect``: a phrase the failure message must contain)."""

from dataclasses import dataclass

import numpy as np

import solutions as S
import solutions.descent
import solutions.gradcheck
import solutions.speech
import solutions.torch_mnist
from autograder.student import components as C
from solutions.losses import log_softmax


@dataclass
class Mutant:
    name: str
    check: object
    impl: object
    expect: str


class UnstableSigmoid(S.Sigmoid):
    """e^x / (1 + e^x): inf / inf = NaN at x = 1000 (the naive 1/(1 + e^-x) is right
    there, and passes with advice: a check judges numbers)."""

    def forward(self, x):
        self.y = np.exp(x) / (1 + np.exp(x))
        return self.y


class SigmoidFloat32Inside(S.Sigmoid):
    """float32 arithmetic, the result cast back to float64."""

    def forward(self, x):
        self.y = super().forward(x.astype(np.float32)).astype(np.float64)
        return self.y


class SigmoidSignError(S.Sigmoid):
    def backward(self, dout):
        return dout * self.y * (self.y - 1)


class TanhWrongDerivative(S.Tanh):
    def backward(self, dout):
        return dout * (1 - self.y)


class ReLUOneAtZero(S.ReLU):
    def forward(self, x):
        self.positive = x >= 0
        return np.maximum(x, 0)


class ReLUInPlace(S.ReLU):
    def forward(self, x):
        self.positive = x > 0
        x[~self.positive] = 0
        return x


class ReLUReturnsNone(S.ReLU):
    def forward(self, x):
        self.positive = x > 0
        np.maximum(x, 0)


class ReLUTransposed(S.ReLU):
    def forward(self, x):
        return super().forward(x).T


class LeakySlope001(S.LeakyReLU):
    def __init__(self, slope=0.01):
        super().__init__(slope)


class LeakyOneAtZero(S.LeakyReLU):
    def backward(self, dout):
        return np.where(self.positive | (self.x_zero), dout, self.slope * dout)

    def forward(self, x):
        self.x_zero = x == 0
        return super().forward(x)


class ELUNoAlphaInBackward(S.ELU):
    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, np.exp(np.minimum(self.x, 0)))


class ELUWhereMathExp(S.ELU):
    """math.exp through np.vectorize inside np.where: the branch not chosen still runs
    at x = 1000, and math.exp raises OverflowError there."""

    def forward(self, x):
        import math
        self.x = x
        return np.where(x > 0, x, self.alpha * (np.vectorize(math.exp)(x) - 1))


class GELUAlwaysTanh(S.GELU):
    def __init__(self, approximate="none"):
        super().__init__("tanh")


class SiLUMissingTerm(S.SiLU):
    def backward(self, dout):
        return dout * self.s


class MaxoutLastOnTies(S.Maxout):
    def forward(self, x):
        self.x = x
        z = np.einsum("ni,koi->kno", x, self.W) + self.b[:, None, :]
        k = z.shape[0]
        self.winner = k - 1 - np.argmax(z[::-1], axis=0)
        return np.take_along_axis(z, self.winner[None], axis=0)[0]


class MaxoutNoBiasGradient(S.Maxout):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = np.zeros_like(self.b)
        return dx


class LinearNoBiasGradient(S.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = np.zeros_like(self.b)
        return dx


class LinearTransposedDW(S.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = self.x.T @ dout
        return dx


class LinearMeanDW(S.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = self.dW / len(dout)
        return dx


class LinearDoubleBiasGradient(S.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = 2 * self.db
        return dx


class LinearSignError(S.Linear):
    def backward(self, dout):
        return -super().backward(dout)


class MLPSkipsActivationBackward(S.MLP):
    def backward(self, dout):
        for layer in reversed(self.layers):
            if isinstance(layer, S.Linear):
                dout = layer.backward(dout)
        return dout


class MLPWeightGradientsTransposed(S.MLP):
    """Hands back every dW transposed (xᵀ·dY): a wrong shape for most layers, the
    right shape but transposed numbers for the square 8 → 8 one."""

    def gradients(self):
        return [g.T if g.ndim == 2 else g for g in super().gradients()]


class MSESum(S.MSELoss):
    def forward(self, pred, target):
        self.diff = pred - target
        return np.sum(self.diff**2)


class MSENoFactorTwo(S.MSELoss):
    def backward(self):
        return self.diff / self.diff.size


class CrossEntropyUnstable(S.CrossEntropyLoss):
    def forward(self, logits, target):
        e = np.exp(logits)
        self.probs = e / e.sum(axis=1, keepdims=True)
        self.target = S.losses.as_target_distribution(target, logits.shape[1], logits.dtype)
        return -np.sum(self.target * np.log(self.probs)) / len(logits)


class CrossEntropyNoMeanInBackward(S.CrossEntropyLoss):
    def backward(self):
        return self.probs - self.target


class CrossEntropySumOverBatch(S.CrossEntropyLoss):
    def forward(self, logits, target):
        return super().forward(logits, target) * len(logits)


class CrossEntropyLabelsOnly(S.CrossEntropyLoss):
    """Treats every target as integer labels (wrong for one-hot / probabilities)."""

    def forward(self, logits, target):
        target = np.asarray(target)
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        logp = log_softmax(logits)
        self.probs = np.exp(logp)
        self.target = np.eye(logits.shape[1])[labels]
        return -np.sum(self.target * logp) / len(logits)


class SGDDampened(S.SGD):
    def step(self, grads):
        super().step([(1 - self.momentum) * g if self.momentum else g for g in grads])


class SGDIgnoresWeightDecay(S.SGD):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, momentum, 0.0)


class SGDDecayAfterMomentum(S.SGD):
    """b ← μb + ∇ on the bare gradient, then θ ← θ − η(b + λθ) (torch: b ← μb + ∇ + λθ)."""

    def step(self, grads):
        decay, self.weight_decay = self.weight_decay, 0.0
        decays = [decay * p for p in self.params]
        super().step(grads)
        for p, d in zip(self.params, decays):
            p -= self.lr * d
        self.weight_decay = decay


class AdamNoBiasCorrection(S.Adam):
    def step(self, grads):
        adam_step_variant(self, grads, bias_correction=False)


def adam_step_variant(adam, grads, bias_correction=True, eps_inside=False):
    """One Adam step written out, with a mistake switched on."""
    adam.t += 1
    for p, g, m, v in zip(adam.params, grads, adam.m, adam.v):
        if adam.weight_decay:
            g = g + adam.weight_decay * p
        m[...] = adam.beta1 * m + (1 - adam.beta1) * g
        v[...] = adam.beta2 * v + (1 - adam.beta2) * g * g
        m_hat, v_hat = m, v
        if bias_correction:
            m_hat, v_hat = m / (1 - adam.beta1**adam.t), v / (1 - adam.beta2**adam.t)
        p -= adam.lr * m_hat / (np.sqrt(v_hat + adam.eps) if eps_inside else np.sqrt(v_hat) + adam.eps)


class AdamBiasCorrectionLate(S.Adam):
    """Counts the step once too often: 1 − β^(t+1)."""

    def step(self, grads):
        self.t += 1
        super().step(grads)


class AdamEpsInsideRoot(S.Adam):
    def step(self, grads):
        adam_step_variant(self, grads, eps_inside=True)


class AdamIgnoresWeightDecay(S.Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, betas, eps, 0.0)


class AdamDecoupledWeightDecay(S.Adam):
    """AdamW's θ ← θ(1 − ηλ), then Adam's step on the bare gradient (torch.optim.Adam
    adds λθ to the gradient)."""

    def step(self, grads):
        for p in self.params:
            p *= 1 - self.lr * self.weight_decay
        decay, self.weight_decay = self.weight_decay, 0.0
        super().step(grads)
        self.weight_decay = decay


class AdamRebindsParams(S.Adam):
    def step(self, grads):
        snapshot = [p.copy() for p in self.params]
        super().step(grads)
        for p, old in zip(self.params, snapshot):
            p[...] = old  # as if it had written `p = p - ...`: the caller's arrays stay


def weighted_sum_list(X, w, b):
    return [float(v) for v in X @ w + b]


class PerceptronHistoryAliased(S.Perceptron):
    """Appends self.w itself: every entry of history is the final w."""

    def fit(self, X, y, max_epochs=100, rng=None):
        result = super().fit(X, y, max_epochs, rng)
        result.history = [(self.w, b) for _, b in result.history]
        return result


class PerceptronInPlaceRule(S.Perceptron):
    """The rule as ``self.w += …``: the array changes in place (right by itself)."""

    def update(self, x, y):
        error = y - S.step(S.weighted_sum(x[None, :], self.w, self.b))[0]
        self.w += self.lr * error * x
        self.b = self.b + self.lr * error
        return error


class PerceptronHistoryAliasedAfterCopy(PerceptronInPlaceRule):
    """The initial w copied, then ``self.w`` itself appended after each epoch of
    ``self.w +=`` updates: every entry but the first is the final w."""

    def fit(self, X, y, max_epochs=100, rng=None):
        result = super().fit(X, y, max_epochs, rng)
        result.history = result.history[:1] + [(self.w, b) for _, b in result.history[1:]]
        return result


class PerceptronHistoryAddOut(S.Perceptron):
    """``np.add(self.w, …, out=self.w)`` and ``self.w`` appended, the first entry too."""

    def update(self, x, y):
        error = y - S.step(S.weighted_sum(x[None, :], self.w, self.b))[0]
        np.add(self.w, self.lr * error * x, out=self.w)
        self.b = self.b + self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        result = super().fit(X, y, max_epochs, rng)
        result.history = [(self.w, b) for _, b in result.history]
        return result


class PerceptronHistoryView(PerceptronInPlaceRule):
    """``self.w[:]`` appended, as if it copied (it does for a list; of an array it is a view)."""

    def fit(self, X, y, max_epochs=100, rng=None):
        result = super().fit(X, y, max_epochs, rng)
        result.history = [(self.w[:], b) for _, b in result.history]
        return result


class PerceptronListWeights(S.Perceptron):
    """w a Python list changed item by item; the first entry ``list(self.w)``, then
    the list itself."""

    def __init__(self, n_features, lr=1.0):
        super().__init__(n_features, lr)
        self.w = [0.0] * n_features

    def forward(self, X):
        return S.step(np.asarray(X) @ np.asarray(self.w) + self.b)

    predict = forward

    def update(self, x, y):
        error = y - self.forward(x[None, :])[0]
        for i in range(len(self.w)):
            self.w[i] += self.lr * error * float(x[i])
        self.b = self.b + self.lr * error
        return error

    def fit(self, X, y, max_epochs=100, rng=None):
        mistakes, history = [], [(list(self.w), self.b)]
        for _ in range(max_epochs):
            mistakes.append(int(sum(self.update(X[i], y[i]) != 0 for i in range(len(X)))))
            history.append((self.w, self.b))
            if mistakes[-1] == 0:
                break
        return S.perceptron.FitResult(mistakes[-1] == 0, len(mistakes), mistakes, history)


class PerceptronHistoryOneList(S.Perceptron):
    """w copied, but into one list appended each epoch and refilled: every entry is
    that list, holding the last epoch's w and b."""

    def fit(self, X, y, max_epochs=100, rng=None):
        result = super().fit(X, y, max_epochs, rng)
        entry = []
        result.history = [entry] * len(result.history)
        entry[:] = [self.w.copy(), self.b]
        return result


def step_strict(z):
    return (z > 0).astype(float)


def weighted_sum_no_bias(X, w, b):
    return X @ w


class PerceptronWrongSign(S.Perceptron):
    def update(self, x, y):
        error = y - S.step(S.weighted_sum(x[None, :], self.w, self.b))[0]
        self.w = self.w - self.lr * error * x
        self.b = self.b - self.lr * error
        return error


class PerceptronOneEpoch(S.Perceptron):
    def fit(self, X, y, max_epochs=100, rng=None):
        return super().fit(X, y, max_epochs=1, rng=rng)


class PerceptronClaimsConvergence(S.Perceptron):
    def fit(self, X, y, max_epochs=100, rng=None):
        result = super().fit(X, y, max_epochs, rng)
        result.converged = True
        return result


def exp_ratio_sigmoid(z):
    return np.exp(z) / (1 + np.exp(z))


def numerical_gradient_no_restore(f, x, eps=1e-6):
    grad = S.gradcheck.numerical_gradient(f, x, eps)
    x += eps
    return grad


def numerical_gradient_one_eps(f, x, eps=1e-6):
    return 2 * S.gradcheck.numerical_gradient(f, x, eps)


def gradient_descent_loss_after_update(loss_and_grad, w0, lr, steps):
    w, losses = S.descent.gradient_descent(loss_and_grad, w0, lr, steps + 1)
    return w, losses[1:]


class DatasetFloat64(S.torch_mnist.MNISTDataset):
    def __getitem__(self, index):
        x, y = super().__getitem__(index)
        return x.double(), y


def model_without_hidden_layer():
    import torch
    return torch.nn.Sequential(torch.nn.Linear(784, 10))


def train_one_epoch_without_zero_grad(model, loader, optimizer, criterion, device):
    total, count = 0.0, 0
    for x, y in loader:
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(y), count + len(y)
    return total / count


def predict_loader_max_values(model, loader, device):
    import torch
    with torch.no_grad():
        return np.concatenate([model(x).max(dim=1).values.numpy() for x, _ in loader])


class FramesWithoutMeanNormalisation(S.speech.ContextFrames):
    """Pads and windows the raw frames: no per-utterance mean subtracted."""

    def __init__(self, mfccs, labels, context):
        super().__init__(mfccs, labels, context)
        pad = np.zeros((context, mfccs[0].shape[1]), np.float32)
        self.features = torch_tensor(np.concatenate([piece for x in mfccs for piece in (pad, x, pad)]))


def torch_tensor(array):
    import torch
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


class FramesAcrossUtterances(S.speech.ContextFrames):
    """Pads only the ends of the whole set: windows see the neighbouring utterance."""

    def __init__(self, mfccs, labels, context):
        joined = np.concatenate([x - x.mean(axis=0) for x in mfccs])
        super().__init__([joined], [np.concatenate(labels)] if labels is not None else None, context)
        pad = np.zeros((context, joined.shape[1]), np.float32)
        self.features = torch_tensor(np.concatenate([pad, joined, pad]))


class FramesEdgePadded(S.speech.ContextFrames):
    """Repeats the edge frame instead of zero padding."""

    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        k, d = self.context, self.features.shape[1]
        window = x.reshape(2 * k + 1, d).clone()
        for j in range(2 * k + 1):
            if not window[j].any():
                window[j] = window[k]
        return window.reshape(-1), y


class FramesFeatureMajor(S.speech.ContextFrames):
    """Flattens the window coefficient-major (transposed)."""

    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return x.reshape(2 * self.context + 1, -1).T.reshape(-1), y


class FramesOffByOne(S.speech.ContextFrames):
    def __getitem__(self, i):
        return super().__getitem__(min(i + 1, len(self) - 1))


class FramesCopyEveryWindow(S.speech.ContextFrames):
    """Right answers, but one copy of the features per window."""

    def __init__(self, mfccs, labels, context):
        super().__init__(mfccs, labels, context)
        self.windows = [super(FramesCopyEveryWindow, self).__getitem__(i)[0].clone()
                        for i in range(len(self))]

    def __getitem__(self, i):
        return self.windows[i], self.labels[i]


class FramesRequireLabels(S.speech.ContextFrames):
    def __init__(self, mfccs, labels, context):
        super().__init__(mfccs, [np.zeros(len(x), np.int64) for x in mfccs] if labels is None
                         else labels, context)


def frame_model_with_10_classes(context):
    import torch
    return torch.nn.Sequential(torch.nn.Linear((2 * context + 1) * 28, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 10))


def frame_model_fixed_input(context):
    return S.speech.build_frame_model(5)


class DropoutNonInverted(S.Dropout):
    """Classic dropout: y = x·m in training, x·(1 − p) at eval (torch scales in training)."""

    def forward(self, x):
        if not self.training:
            self.scale = None
            return x * (1 - self.p)
        self.scale = (self.rng.random(x.shape) >= self.p).astype(float)
        return x * self.scale


class DropoutKeepProbability(S.Dropout):
    """p read as the keep probability: keep with probability p, scale by 1/p."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        self.scale = (self.rng.random(x.shape) < self.p) / self.p
        return x * self.scale


class DropoutKeepProbabilityScaled(S.Dropout):
    """Keeps with probability p, though it scales by 1/(1 − p) as torch does."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        self.scale = (self.rng.random(x.shape) < self.p) / (1 - self.p)
        return x * self.scale


class DropoutNewMaskInBackward(S.Dropout):
    def backward(self, dout):
        if self.scale is None:
            return dout.copy()
        return dout * (self.rng.random(dout.shape) >= self.p) / (1 - self.p)


class DropoutUnmaskedGradient(S.Dropout):
    """Scales the gradient by 1/(1 − p) but forgets the mask."""

    def backward(self, dout):
        return dout.copy() if self.scale is None else dout / (1 - self.p)


class DropoutReseeded(S.Dropout):
    """A generator made anew, with the same seed, on every forward: one mask for ever."""

    def forward(self, x):
        self.rng = np.random.default_rng(0)
        return super().forward(x)


class DropoutAlwaysTraining(S.Dropout):
    """Never reads self.training: eval mode drops too."""

    def forward(self, x):
        self.scale = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.scale


class BatchNormUnbiasedNormalisation(S.BatchNorm1d):
    """Normalises with the unbiased batch variance (÷ (N − 1))."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        y = super().forward(x)
        n = len(x)
        self.inv_std = 1.0 / np.sqrt(x.var(axis=0) * n / (n - 1) + self.eps)
        self.x_hat = (x - x.mean(axis=0)) * self.inv_std
        return self.gamma * self.x_hat + self.beta + 0 * y


class BatchNormBiasedRunningVar(S.BatchNorm1d):
    """Updates running_var with the biased batch variance."""

    def forward(self, x):
        before = self.running_var
        y = super().forward(x)
        if self.training:
            self.running_var = (1 - self.momentum) * before + self.momentum * x.var(axis=0)
        return y


class BatchNormMomentumFlipped(S.BatchNorm1d):
    """Keras's convention: running ← momentum·running + (1 − momentum)·batch."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        super().__init__(num_features, eps, 1 - momentum, dtype)


class BatchNormEvalBatchStatistics(S.BatchNorm1d):
    """Normalises with the batch's statistics in eval mode too (and leaves the running
    ones alone there)."""

    def forward(self, x):
        if self.training:
            return super().forward(x)
        self.training = True
        saved = self.running_mean, self.running_var
        y = super().forward(x)
        self.running_mean, self.running_var = saved
        self.training = False
        return y


class BatchNormConstantStatistics(S.BatchNorm1d):
    """Backward as if the batch mean and variance did not depend on x."""

    def backward(self, dout):
        super().backward(dout)
        return dout * self.gamma * self.inv_std


# ---- initialisation (notebook 4) ------------------------------------------------------

def xavier_without_gain(shape, gain=1.0, rng=None):
    return S.xavier_uniform(shape, 1.0, rng)


def xavier_normal_std_as_bound(shape, gain=1.0, rng=None):
    """U(−s, s) with s = gain·√(2/(fan_in + fan_out)), Xavier normal's std."""
    s = gain * np.sqrt(2 / (shape[0] + shape[1]))
    return np.random.default_rng(rng).uniform(-s, s, size=shape)


def xavier_normal_draw(shape, gain=1.0, rng=None):
    s = gain * np.sqrt(2 / (shape[0] + shape[1]))
    return np.random.default_rng(rng).normal(0, s, size=shape)


def xavier_transposed(shape, gain=1.0, rng=None):
    return S.xavier_uniform(shape[::-1], gain, rng)


def xavier_from_zero(shape, gain=1.0, rng=None):
    """rng.random · a: U(0, a)."""
    return np.random.default_rng(rng).random(shape) * gain * np.sqrt(6 / (shape[0] + shape[1]))


def xavier_global_state(shape, gain=1.0, rng=None):
    a = gain * np.sqrt(6 / (shape[0] + shape[1]))
    return np.random.uniform(-a, a, size=shape)


def xavier_float32(shape, gain=1.0, rng=None):
    return S.xavier_uniform(shape, gain, rng).astype(np.float32)


def xavier_default_gain_relu(shape, gain=np.sqrt(2), rng=None):
    return S.xavier_uniform(shape, gain, rng)


def kaiming_fan_out(shape, gain=np.sqrt(2), rng=None):
    return np.random.default_rng(rng).normal(0, gain / np.sqrt(shape[0]), size=shape)


def kaiming_without_gain(shape, gain=np.sqrt(2), rng=None):
    return S.kaiming_normal(shape, 1.0, rng)


def kaiming_variance_as_std(shape, gain=np.sqrt(2), rng=None):
    return np.random.default_rng(rng).normal(0, gain**2 / shape[1], size=shape)


def kaiming_std_as_uniform_bound(shape, gain=np.sqrt(2), rng=None):
    std = gain / np.sqrt(shape[1])
    return np.random.default_rng(rng).uniform(-std, std, size=shape)


def kaiming_fixed_seed(shape, gain=np.sqrt(2), rng=None):
    return S.kaiming_normal(shape, gain, 0)


MUTANTS = [
    Mutant("frames without mean normalisation", C.check_context_frames,
           FramesWithoutMeanNormalisation, "window of frame"),
    Mutant("windows cross utterance boundaries", C.check_context_frames, FramesAcrossUtterances,
           "window of frame"),
    Mutant("edge frames repeated instead of zeros", C.check_context_frames, FramesEdgePadded,
           "k=2: window of frame 0"),
    Mutant("window flattened coefficient-major", C.check_context_frames, FramesFeatureMajor,
           "k=2: window of frame"),
    Mutant("frame index off by one", C.check_context_frames, FramesOffByOne, "k=0: window of frame 0"),
    Mutant("a copy of every window", C.check_context_frames, FramesCopyEveryWindow,
           "not a copy of every window"),
    Mutant("labels required", C.check_context_frames, FramesRequireLabels, "every label must be -1"),
    Mutant("frame model with 10 classes", C.check_frame_model, frame_model_with_10_classes,
           "expected (5, 40)"),
    Mutant("frame model ignores the context", C.check_frame_model, frame_model_fixed_input,
           "build_frame_model raised"),
    Mutant("perceptron fit stops after one epoch", C.check_perceptron_fit, PerceptronOneEpoch,
           "did not report converged=True"),
    Mutant("perceptron claims convergence on XOR", C.check_perceptron_xor,
           PerceptronClaimsConvergence, "converged=True"),
    Mutant("e^x / (1 + e^x) is NaN at large z", C.check_stable_sigmoid, exp_ratio_sigmoid,
           'numpy warned "overflow encountered in exp"'),
    Mutant("numerical gradient leaves x changed", C.check_numerical_gradient,
           numerical_gradient_no_restore, "x was left changed"),
    Mutant("numerical gradient divides by eps, not 2 eps", C.check_numerical_gradient,
           numerical_gradient_one_eps, "result"),
    Mutant("gradient descent records the loss after the update", C.check_gradient_descent,
           gradient_descent_loss_after_update, "losses[0]"),
    Mutant("dataset yields float64 images", C.check_mnist_dataset, DatasetFloat64, "float32 tensor"),
    Mutant("model without a hidden layer", C.check_mnist_model, model_without_hidden_layer,
           "needs a hidden layer"),
    Mutant("training without zero_grad", C.check_train_one_epoch,
           train_one_epoch_without_zero_grad, "after the epoch"),
    Mutant("predict returns max logits", C.check_predict_loader, predict_loader_max_values,
           "predictions"),
    Mutant("unstable sigmoid", C.check_sigmoid, UnstableSigmoid,
           'NaN at index (0, 8) (x = 1000) where torch has 1'),
    Mutant("sigmoid computed in float32", C.check_sigmoid, SigmoidFloat32Inside,
           "this looks like float32 rounding"),
    Mutant("sigmoid backward sign error", C.check_sigmoid, SigmoidSignError,
           "the sign is flipped"),
    Mutant("tanh derivative 1 - y", C.check_tanh, TanhWrongDerivative, "dL/dx"),
    Mutant("ReLU'(0) = 1", C.check_relu, ReLUOneAtZero,
           "x = 0 is a kink: torch uses f'(0) = 0 there, yours is 1"),
    Mutant("ReLU modifies its input", C.check_relu, ReLUInPlace, "in place"),
    Mutant("ReLU forward returns None", C.check_relu, ReLUReturnsNone, "returned None"),
    Mutant("ReLU forward transposed", C.check_relu, ReLUTransposed,
           "shape (3, 4) != expected (4, 3) — the transpose of torch's shape"),
    Mutant("leaky slope 0.01", C.check_leaky_relu, LeakySlope001,
           "your numbers match a slope of 0.01 (torch's default) where the course uses 0.1"),
    Mutant("leaky ReLU'(0) = 1", C.check_leaky_relu, LeakyOneAtZero,
           "x = 0 is a kink: torch uses f'(0) = 0.1 there, yours is 1"),
    Mutant("ELU backward without alpha", C.check_elu, ELUNoAlphaInBackward, "ELU(alpha=0.5)"),
    Mutant("ELU with math.exp inside np.where", C.check_elu, ELUWhereMathExp,
           "np.where evaluates both branches on every element"),
    Mutant("GELU tanh approximation as exact", C.check_gelu, GELUAlwaysTanh,
           "your numbers match GELU(approximate='tanh'): the mode argument is ignored?"),
    Mutant("SiLU backward missing term", C.check_silu, SiLUMissingTerm, "dL/dx"),
    Mutant("maxout ties to the last piece", C.check_maxout, MaxoutLastOnTies, "tied pieces"),
    Mutant("maxout missing bias gradient", C.check_maxout, MaxoutNoBiasGradient, "dL/db"),
    Mutant("linear missing bias gradient", C.check_linear, LinearNoBiasGradient, "dL/db"),
    Mutant("linear dW transposed", C.check_linear, LinearTransposedDW,
           "dL/dW: shape (5, 3) != expected (3, 5) — the transpose of torch's shape"),
    Mutant("linear dW divided by N", C.check_linear, LinearMeanDW,
           "dL/dW: max abs error"),
    Mutant("linear dW divided by N (batch 8)", C.check_linear, LinearMeanDW,
           "yours is exactly 1/8 of torch's, 8 = the batch size: a mean (division by 8) too many?"),
    Mutant("linear bias gradient doubled", C.check_linear, LinearDoubleBiasGradient,
           "yours is exactly 2 × torch's: a factor 2 too many"),
    Mutant("linear backward sign error", C.check_linear, LinearSignError,
           "the sign is flipped: yours = −torch"),
    Mutant("MLP backward skips activations", C.check_mlp, MLPSkipsActivationBackward, "dL/d0.W"),
    Mutant("MLP weight gradients transposed", C.check_mlp, MLPWeightGradientsTransposed,
           "yours is the transpose of torch's"),
    Mutant("MSE sum instead of mean", C.check_mse, MSESum,
           "yours is exactly 15 × torch's, 15 = the number of elements: a mean missing"),
    Mutant("MSE gradient without the 2", C.check_mse, MSENoFactorTwo,
           "yours is exactly ½ of torch's: a factor 2 missing"),
    Mutant("cross-entropy without log-sum-exp", C.check_cross_entropy, CrossEntropyUnstable,
           'numpy warned "overflow encountered in exp"'),
    Mutant("cross-entropy gradient without 1/N", C.check_cross_entropy, CrossEntropyNoMeanInBackward,
           "dL/dpred: max abs error"),
    Mutant("cross-entropy gradient without 1/N (batch 8)", C.check_cross_entropy,
           CrossEntropyNoMeanInBackward, "yours is exactly 8 × torch's, 8 = the batch size: a mean missing"),
    Mutant("cross-entropy sum over the batch", C.check_cross_entropy, CrossEntropySumOverBatch,
           "yours is exactly 8 × torch's, 8 = the batch size: a mean missing"),
    Mutant("cross-entropy labels only", C.check_cross_entropy, CrossEntropyLabelsOnly,
           "targets of shape (6, 3)"),
    Mutant("SGD dampened momentum", C.check_sgd, SGDDampened,
           "your parameters match SGD with dampened momentum"),
    Mutant("SGD ignores weight decay", C.check_sgd, SGDIgnoresWeightDecay,
           "your parameters match SGD without its weight decay"),
    Mutant("SGD decay after momentum", C.check_sgd, SGDDecayAfterMomentum,
           "your parameters match SGD with the weight decay added after the momentum"),
    Mutant("Adam without bias correction", C.check_adam, AdamNoBiasCorrection,
           "your parameters match Adam without bias correction"),
    Mutant("Adam bias correction one step late", C.check_adam, AdamBiasCorrectionLate,
           "your parameters match Adam with its bias correction one step late"),
    Mutant("Adam with eps inside the root", C.check_adam, AdamEpsInsideRoot,
           "your parameters match Adam with ε inside the square root"),
    Mutant("Adam ignores weight decay", C.check_adam, AdamIgnoresWeightDecay,
           "your parameters match Adam without its weight decay"),
    Mutant("Adam with AdamW's decoupled weight decay", C.check_adam, AdamDecoupledWeightDecay,
           "your parameters match AdamW's decoupled weight decay"),
    Mutant("Adam rebinds parameters", C.check_adam, AdamRebindsParams, "in place"),
    Mutant("step is 1 only for z > 0", C.check_step, step_strict, "result"),
    Mutant("weighted sum without bias", C.check_weighted_sum, weighted_sum_no_bias, "result"),
    Mutant("weighted sum returns a list", C.check_weighted_sum, weighted_sum_list,
           "result: your code returned a list, not a numpy array"),
    Mutant("perceptron history holds one array", C.check_perceptron_fit,
           PerceptronHistoryAliased, "append a copy (self.w.copy())"),
    Mutant("perceptron history: first w copied, then self.w after self.w +=", C.check_perceptron_fit,
           PerceptronHistoryAliasedAfterCopy, "entries [1:] of result.history hold the same array as self.w"),
    Mutant("perceptron history: self.w after np.add(out=self.w)", C.check_perceptron_fit,
           PerceptronHistoryAddOut, "entries [:] of result.history hold the same array as self.w"),
    Mutant("perceptron history: self.w[:] of an array", C.check_perceptron_fit, PerceptronHistoryView,
           "entries [:] of result.history hold the same array as self.w"),
    Mutant("perceptron history: a list w changed item by item", C.check_perceptron_fit,
           PerceptronListWeights, "entries [1:] of result.history hold the same list as self.w"),
    Mutant("perceptron history: one list refilled each epoch", C.check_perceptron_fit,
           PerceptronHistoryOneList, "entries [:] of result.history are one list, refilled in place"),
    Mutant("perceptron rule with the wrong sign", C.check_perceptron_update, PerceptronWrongSign,
           "result"),
    Mutant("dropout not inverted", C.check_dropout, DropoutNonInverted,
           "non-inverted dropout, scaling at eval instead of training"),
    Mutant("dropout p as the keep probability", C.check_dropout, DropoutKeepProbability,
           "x/p, not x/(1 − p): p used as the keep probability"),
    Mutant("dropout keeps with probability p", C.check_dropout, DropoutKeepProbabilityScaled,
           "about 1 − p were dropped: p used as the keep probability"),
    Mutant("dropout draws a new mask in backward", C.check_dropout, DropoutNewMaskInBackward,
           "a new mask drawn in backward"),
    Mutant("dropout gradient without the mask", C.check_dropout, DropoutUnmaskedGradient,
           "your numbers match the mask not applied to the gradient"),
    Mutant("dropout reseeded on every forward", C.check_dropout, DropoutReseeded,
           "two forwards in training mode dropped the same elements"),
    Mutant("dropout in eval mode", C.check_dropout, DropoutAlwaysTraining,
           "eval mode dropped elements"),
    Mutant("batchnorm normalises with the unbiased variance", C.check_batchnorm,
           BatchNormUnbiasedNormalisation,
           "your numbers match the unbiased variance (÷ (N − 1)) used to normalise"),
    Mutant("batchnorm running var biased", C.check_batchnorm, BatchNormBiasedRunningVar,
           "your numbers match the biased variance (÷ N) in running_var"),
    Mutant("batchnorm momentum flipped", C.check_batchnorm, BatchNormMomentumFlipped,
           "your numbers match momentum's convention flipped, the new batch weighted 0.9"),
    Mutant("batchnorm eval uses batch statistics", C.check_batchnorm, BatchNormEvalBatchStatistics,
           "your numbers match the batch's own statistics in eval mode"),
    Mutant("batchnorm backward with constant statistics", C.check_batchnorm,
           BatchNormConstantStatistics,
           "your numbers match a backward that treats the batch mean and variance as constants"),
    Mutant("xavier without the gain", C.check_xavier_uniform, xavier_without_gain,
           "your numbers match U(−a, a) without the gain"),
    Mutant("xavier with the normal's std as the bound", C.check_xavier_uniform,
           xavier_normal_std_as_bound, "your numbers match the normal's std used as the uniform bound"),
    Mutant("xavier drawn from a normal", C.check_xavier_uniform, xavier_normal_draw,
           "your numbers match a normal draw with Xavier's std"),
    Mutant("xavier transposed shape", C.check_xavier_uniform, xavier_transposed,
           "shape (1024, 256) != expected (256, 1024) — the transpose"),
    Mutant("xavier U(0, a)", C.check_xavier_uniform, xavier_from_zero, "your numbers match U(0, a)"),
    Mutant("xavier ignores rng", C.check_xavier_uniform, xavier_global_state,
           "twice gave different weights"),
    Mutant("xavier float32", C.check_xavier_uniform, xavier_float32, "dtype float32"),
    Mutant("xavier default gain √2", C.check_xavier_uniform, xavier_default_gain_relu,
           "gain left to its default (1, torch's)"),
    Mutant("kaiming with fan_out", C.check_kaiming_normal, kaiming_fan_out,
           "your numbers match std = gain/√fan_out: fan_out used for fan_in"),
    Mutant("kaiming without the gain", C.check_kaiming_normal, kaiming_without_gain,
           "your numbers match std = 1/√fan_in: the gain is missing"),
    Mutant("kaiming variance as std", C.check_kaiming_normal, kaiming_variance_as_std,
           "your numbers match std = gain²/fan_in: the variance used as the std"),
    Mutant("kaiming std as a uniform bound", C.check_kaiming_normal, kaiming_std_as_uniform_bound,
           "your numbers match U(−std, std)"),
    Mutant("kaiming fixed seed", C.check_kaiming_normal, kaiming_fixed_seed,
           "gave the same weights"),
]


# ---- notebook 5's sanity checks: each mutant is {piece: broken piece}, the rest the reference's

class MLPLargeInit(S.MLP):
    """Weights 10 times too large: logits far from 0, a loss far from ln C at the start."""

    def __init__(self, sizes, **options):
        super().__init__(sizes, **options)
        for layer in self.layers:
            if hasattr(layer, "W"):
                layer.W *= 10


class MLPGradientSignError(S.MLP):
    """Every parameter gradient with the wrong sign: Adam climbs the loss."""

    def backward(self, dout):
        dx = super().backward(dout)
        for grad in self.gradients():
            grad *= -1
        return dx


def train_without_step(model, loss_fn, optimizer, X, y, epochs, batch_size=128, seed=0,
                       lr_schedule=None, on_epoch=None):
    """Forward, loss and backward, but never optimizer.step."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for idx in S.mlp.minibatches(len(X), batch_size, rng):
            loss_fn.forward(model.forward(X[idx]), y[idx])
            model.backward(loss_fn.backward())
    return []


SANITY_MUTANTS = [
    Mutant("cross-entropy summed over the batch: initial loss far from ln C", C.check_initial_loss,
           {"CrossEntropyLoss": CrossEntropySumOverBatch}, "the loss is off, not the network"),
    Mutant("weights 10x too large: initial loss far from ln C", C.check_initial_loss,
           {"MLP": MLPLargeInit}, "the initialisation is off"),
    Mutant("train never steps", C.check_overfits_small_batch, {"train": train_without_step},
           "train never updates the weights"),
    Mutant("Adam rebinds the parameters", C.check_overfits_small_batch, {"Adam": AdamRebindsParams},
           "train never updates the weights"),
    Mutant("gradients with the wrong sign", C.check_overfits_small_batch,
           {"MLP": MLPGradientSignError}, "the backward pass or the update step is wrong"),
]
