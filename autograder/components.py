"""The course's components and how each is judged against torch.

``check_<component>(impl, seed=0, device="auto")`` takes an implementation (a class,
or a function for the perceptron pieces) and returns a ``Verdict``. Notebook tests,
the grader and ``tests/`` all call these; a hidden test calls them with another seed.
Student-safe: nothing here knows the reference solution.
"""

import numpy as np
import torch
import torch.nn.functional as F

from autograder.gradcheck import gradcheck_module
from autograder.oracle import Verdict, check_function, check_loss, check_module, check_optimizer

ELEMENTWISE_SHAPES = [(1, 1), (1, 9), (4, 3), (3, 4), (2, 3, 5)]


def check_activation(make, torch_fn, name, seed=0, device="auto"):
    """An elementwise activation on several shapes, kinks and |x| = 1000 included."""
    return check_module(make, torch_fn, ELEMENTWISE_SHAPES, name=name, seed=seed,
                        device=device, edge_values=True)


def check_sigmoid(Sigmoid, seed=0, device="auto"):
    return check_activation(Sigmoid, torch.sigmoid, "Sigmoid", seed, device)


def check_tanh(Tanh, seed=0, device="auto"):
    return check_activation(Tanh, torch.tanh, "Tanh", seed, device)


def check_relu(ReLU, seed=0, device="auto"):
    return check_activation(ReLU, F.relu, "ReLU", seed, device)


def check_leaky_relu(LeakyReLU, seed=0, device="auto"):
    """Slope 0.1, the seed's max(0.1x, x): the class's default must be 0.1."""
    return check_activation(LeakyReLU, lambda x: F.leaky_relu(x, 0.1), "LeakyReLU(0.1)",
                            seed, device)


def check_elu(ELU, seed=0, device="auto"):
    return Verdict.combine("ELU", [
        check_activation(lambda: ELU(alpha=alpha), lambda x, a=alpha: F.elu(x, alpha=a),
                         f"ELU(alpha={alpha})", seed, device)
        for alpha in (1.0, 0.5)])


def check_gelu(GELU, seed=0, device="auto"):
    return Verdict.combine("GELU", [
        check_activation(lambda: GELU(approximate=mode),
                         lambda x, m=mode: F.gelu(x, approximate=m),
                         f"GELU(approximate={mode!r})", seed, device)
        for mode in ("none", "tanh")])


def check_silu(SiLU, seed=0, device="auto"):
    return check_activation(SiLU, F.silu, "SiLU", seed, device)


def torch_maxout(x, W, b):
    """The maxout oracle: k nn.Linear pieces, then torch.max over the pieces."""
    return torch.stack([F.linear(x, W[j], b[j]) for j in range(W.shape[0])]).max(dim=0).values


MAXOUT_CASES = [  # (in_features, out_features, k, batch)
    (5, 3, 2, 1), (4, 7, 3, 6), (3, 3, 2, 5)]


def check_maxout(Maxout, seed=0, device="auto"):
    """Maxout(in, out, k) against torch_maxout, plus one layer whose pieces tie
    everywhere (the gradient must go to the first piece, as torch.max sends it) and a
    finite-difference check of the gradients away from ties."""
    verdicts = [check_module(lambda i=i, o=o, k=k: Maxout(i, o, k=k), torch_maxout, [(n, i)],
                             name=f"Maxout({i}, {o}, k={k})", seed=seed + n, device=device)
                for i, o, k, n in MAXOUT_CASES]

    def tied():
        layer = Maxout(4, 3, k=2)
        layer.W[1], layer.b[1] = layer.W[0], layer.b[0]
        return layer

    verdicts.append(check_module(tied, torch_maxout, [(5, 4)], name="Maxout with tied pieces",
                                 seed=seed, device=device))
    verdicts.append(gradcheck_module(lambda: Maxout(4, 3, k=3), (5, 4),
                                     name="Maxout finite differences", seed=seed))
    return Verdict.combine("Maxout", verdicts)


LINEAR_CASES = [(5, 3, 1), (5, 3, 8), (3, 7, 4), (1, 1, 2)]  # (in, out, batch)


def check_linear(Linear, seed=0, device="auto"):
    """y = x Wᵀ + b against F.linear, batch 1 and non-square weights included."""
    return Verdict.combine("Linear", [
        check_module(lambda i=i, o=o: Linear(i, o), F.linear, [(n, i)],
                     name=f"Linear({i}, {o})", seed=seed + case, device=device)
        for case, (i, o, n) in enumerate(LINEAR_CASES)])


def torch_mlp(sizes):
    """nn.Sequential(Linear, ReLU, …, Linear) with the same layer sizes."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


MLP_SIZES = [[5, 3], [5, 7, 4], [6, 8, 8, 5, 3]]


def check_mlp(MLP, seed=0, device="auto"):
    """MLP(sizes) of depth 1 to 4 against nn.Sequential, parameters copied across."""
    return Verdict.combine("MLP", [
        check_module(lambda s=sizes: MLP(s), torch_mlp(sizes), [(1, sizes[0]), (6, sizes[0])],
                     name=f"MLP({sizes})", seed=seed, device=device)
        for sizes in MLP_SIZES])


def regression_case(shape):
    return lambda rng: (rng.standard_normal(shape), rng.standard_normal(shape))


def check_mse(MSELoss, seed=0, device="auto"):
    """L = mean (ŷ - y)² against F.mse_loss (reduction="mean")."""
    cases = [regression_case(s) for s in [(1, 1), (5, 3), (4,), (2, 3, 4)]]
    return check_loss(MSELoss, F.mse_loss, cases, name="MSELoss", seed=seed, device=device)


def classification_case(n, c, target, scale=1.0):
    """Logits (n, c) and integer labels, one-hot rows, or probability rows."""
    def make(rng):
        logits = scale * rng.standard_normal((n, c))
        labels = rng.integers(0, c, size=n)
        if target == "labels":
            return logits, labels
        if target == "onehot":
            return logits, np.eye(c)[labels]
        probs = rng.random((n, c))
        return logits, probs / probs.sum(axis=1, keepdims=True)
    return make


def check_cross_entropy(CrossEntropyLoss, seed=0, device="auto"):
    """Softmax cross-entropy against F.cross_entropy: labels, one-hot and probability
    targets, batch 1, and logits of magnitude ~1000 (log-sum-exp must be stable)."""
    cases = [classification_case(1, 3, "labels"), classification_case(8, 10, "labels"),
             classification_case(5, 4, "onehot"), classification_case(6, 3, "probs"),
             classification_case(4, 5, "labels", scale=1000.0)]
    return check_loss(CrossEntropyLoss, F.cross_entropy, cases, name="CrossEntropyLoss",
                      seed=seed, device=device)


SGD_SETTINGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.1, momentum=0.5,
                                                                 weight_decay=0.01)]
ADAM_SETTINGS = [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6),
                 dict(lr=0.01, weight_decay=0.1)]


def check_sgd(SGD, seed=0, device="auto"):
    """Six steps of SGD (plain, momentum, weight decay) against torch.optim.SGD."""
    return Verdict.combine("SGD", [
        check_optimizer(lambda p, k=kw: SGD(p, **k), lambda t, k=kw: torch.optim.SGD(t, **k),
                        name=f"SGD({kw})", seed=seed, device=device) for kw in SGD_SETTINGS])


def check_adam(Adam, seed=0, device="auto"):
    """Six steps of Adam (bias-corrected; weight decay as L2) against torch.optim.Adam."""
    return Verdict.combine("Adam", [
        check_optimizer(lambda p, k=kw: Adam(p, **k), lambda t, k=kw: torch.optim.Adam(t, **k),
                        name=f"Adam({kw})", seed=seed, device=device) for kw in ADAM_SETTINGS])


def perceptron_inputs(rng):
    """Small integers, so that z = Xw + b hits the threshold 0 exactly."""
    n, d = rng.integers(1, 6), rng.integers(1, 4)
    return (rng.integers(-2, 3, size=(n, d)).astype(float),
            rng.integers(-2, 3, size=d).astype(float), float(rng.integers(-1, 2)))


def check_weighted_sum(weighted_sum, seed=0, device="auto"):
    """z = X w + b for X: (N, D), w: (D,), b: scalar."""
    return check_function(weighted_sum, lambda X, w, b: X @ w + b, perceptron_inputs,
                          cases=6, name="weighted_sum", seed=seed, device=device)


def check_step(step, seed=0, device="auto"):
    """step(z) = 1 where z >= 0 else 0, as torch.heaviside(z, 1)."""
    return check_function(step, lambda z: torch.heaviside(z, torch.ones_like(z)),
                          lambda rng: (rng.integers(-2, 3, size=rng.integers(1, 9)).astype(float),),
                          cases=6, name="step", seed=seed, device=device)


def check_perceptron_update(Perceptron, seed=0, device="auto"):
    """One perceptron-rule update w ← w + η(y - ŷ)x, b ← b + η(y - ŷ), as [w, b]."""
    def yours(X, w, b, y, lr):
        model = Perceptron(len(w), lr=float(lr))
        model.w, model.b = w.copy(), float(b)
        model.update(X[0], float(y))
        return np.append(model.w, model.b)

    def torch_update(X, w, b, y, lr):
        error = y - torch.heaviside(X[0] @ w + b, torch.ones_like(b))
        return torch.cat([w + lr * error * X[0], (b + lr * error).reshape(1)])

    def make_args(rng):
        X, w, b = perceptron_inputs(rng)
        return X, w, b, float(rng.integers(0, 2)), float(rng.choice([1.0, 0.5]))

    return check_function(yours, torch_update, make_args, cases=8, name="Perceptron.update",
                          seed=seed, device=device)
