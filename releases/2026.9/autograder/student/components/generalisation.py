"""Notebook 5's checks (part B): Dropout and BatchNorm1d against torch."""


from typing import Any

import numpy as np
import torch

from autograder.student.components.registry import declares
from autograder.student.lending import lend
from autograder.student.oracle import (
    ATOL,
    FLOAT32_ATOL,
    FLOAT32_RTOL,
    RTOL,
    CheckFinding,
    StudentCodeError,
    Verdict,
    call_student,
    compare,
    resolve_device,
    to_numpy,
)

NOTEBOOK = "05_mnist_mlp"


# ---- notebook 5: generalisation ------------------------------------------------------

DROPOUT_CASES = [(0.25, (256, 40)), (0.6, (128, 50)), (0.5, (2, 3, 5))]  # (p, input shape)
DROPOUT_SIGMAS = 7  # how far the dropped count may lie from N·p, in binomial σ: never a flake
FRACTION_SIZE = 1000  # inputs at least this large have their dropped fraction checked


def nonzero_input(rng, shape):
    """Entries of magnitude 0.5 to 2, of either sign: y/x shows the mask everywhere."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def dropped_or_scaled(y, x, factor, rtol, atol):
    """Elementwise: y is 0 (dropped) or factor·x (kept), to the tolerance."""
    return (np.abs(y) <= atol) | (np.abs(y - factor * x) <= atol + rtol * np.abs(factor * x))


DROPOUT_SCALINGS = [  # (factor of x in a kept element, given p; the likely cause)
    (lambda p: 1.0, "the kept elements are x itself, not x/(1 − p): non-inverted dropout, "
                    "scaling at eval instead of training? torch's (inverted) dropout divides by "
                    "1 − p in training, so that eval mode is the identity"),
    (lambda p: 1 / p, "the kept elements are x/p, not x/(1 − p): p used as the keep "
                      "probability? torch's p is the probability of dropping an element"),
    (lambda p: 1 - p, "the kept elements are x·(1 − p): multiplied by 1 − p where torch "
                      "divides by it"),
]


def dropout_mask(quantity, y, x, p):
    """(kept, None): the mask a training-mode output y of x shows, every element 0 or
    x/(1 − p); else (None, what is wrong, with its likely cause)."""
    if y is None:
        return None, f"{quantity}: your code returned None (is a `return` missing?)"
    try:
        single = np.asarray(to_numpy(y)).dtype in (np.float32, np.float16)
        y = np.asarray(to_numpy(y), dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"{quantity}: expected a numpy array, got {type(y).__name__}"
    if y.shape != x.shape:
        return None, f"{quantity}: shape {y.shape} != expected {x.shape}"
    rtol, atol = (FLOAT32_RTOL, FLOAT32_ATOL) if single else (RTOL, ATOL)
    valid = dropped_or_scaled(y, x, 1 / (1 - p), rtol, atol)
    if valid.all():
        return np.abs(y) > atol, None
    index = tuple(int(i) for i in np.argwhere(~valid)[0])
    problem = (f"{quantity}: every element must be 0 (dropped) or x/(1 − p) (kept); at index "
               f"{index} x = {x[index]:.6g}, x/(1 − p) = {x[index] / (1 - p):.6g}, yours "
               f"{y[index]:.6g}")
    if np.array_equal(y, x):
        return None, (problem + " — nothing was dropped: is training mode (self.training, True "
                      "until eval()) read the right way round?")
    causes = [cause for factor, cause in DROPOUT_SCALINGS
              if dropped_or_scaled(y, x, factor(p), rtol, atol).all()]
    return None, problem + "".join(f" — {cause}" for cause in causes[:1])


def fraction_problem(kept, p):
    """None when the number of dropped elements is within DROPOUT_SIGMAS binomial σ of
    N·p; else how far off, naming p used as the keep probability when it fits 1 − p."""
    n, dropped = kept.size, int(kept.size - np.count_nonzero(kept))
    allowed = DROPOUT_SIGMAS * np.sqrt(n * p * (1 - p)) + 1
    if abs(dropped - n * p) <= allowed:
        return None
    problem = (f"forward (training) dropped {dropped} of {n} elements ({dropped / n:.3f}); "
               f"with p = {p:g} about {n * p:.0f} ± {allowed:.0f} ({DROPOUT_SIGMAS} binomial "
               "standard deviations) should be dropped")
    if abs(dropped - n * (1 - p)) <= allowed:
        problem += (" — about 1 − p were dropped: p used as the keep probability? torch's p "
                    "is the probability of dropping an element")
    return problem


def torch_dropout_with(x, kept, p, device):
    """nn.Dropout(p)'s training-mode definition with a given mask: y = x·m/(1 − p).
    Returns (y, x as a tensor that requires grad)."""
    x_t = torch.tensor(x, device=device, requires_grad=True)
    return x_t * torch.tensor(kept, dtype=torch.float64, device=device) / (1 - p), x_t


def switch_to_eval(layer):
    """``layer.eval()`` where the class has it (the course's Module), else
    ``layer.training = False`` (what torch's modules and the course's read)."""
    try:
        method = layer.eval
    except Exception:  # no eval(): the attribute alone
        method = None
    if callable(method):
        call_student("eval()", method)
    else:
        call_student("training = False", setattr, layer, "training", False)


def dropout_training(Dropout, p, x, g, device):
    """(failures, comparisons) of training mode: the student's own mask, recovered from
    its output, must drop about p of a large input and be used again by backward; the
    output and gradient equal torch's with that mask; a second forward draws a new one."""
    layer = call_student("constructor", Dropout, p)
    x_in = lend(x.copy())  # lent: a forward that writes into x is told so
    y = call_student("forward", layer.forward, x_in)
    kept, problem = dropout_mask("forward (training)", y, x, p)
    if problem is None and not np.array_equal(x_in, x):
        problem = "forward: your code modified its input x in place"
    if problem is None and x.size >= FRACTION_SIZE:
        problem = fraction_problem(kept, p)
    if problem:
        return [problem], 1
    y_t, x_t = torch_dropout_with(x, kept, p, device)
    problem = compare("forward (training)", y, y_t.detach())
    if problem:
        return [problem], 1
    y_t.backward(torch.tensor(g, device=device))
    dx = call_student("backward", layer.backward, g)
    problem = compare("dL/dx (training)", dx, x_t.grad, context={"hypotheses": [
        ("the mask not applied to the gradient: backward must multiply by the forward's "
         "mask/(1 − p)", g / (1 - p)),
        ("the gradient passed through unchanged: backward must multiply by the forward's "
         "mask/(1 − p)", g),
        ("the mask without the 1/(1 − p) in backward", g * kept)]})
    if problem:
        other, not_a_mask = dropout_mask("dL/dx", dx, g, p)
        if not_a_mask is None and not other.all() and not np.array_equal(other, kept):
            problem += (" — your backward drops other elements than your forward: a new mask "
                        "drawn in backward? keep the forward's mask (e.g. self.mask) and use it")
    failures = [problem] if problem else []
    if x.size >= FRACTION_SIZE:
        again, problem = dropout_mask("second forward (training)",
                                      call_student("forward", layer.forward, x), x, p)
        if problem is None and np.array_equal(again, kept):
            problem = ("two forwards in training mode dropped the same elements: draw a new mask "
                       "on every forward (not once in __init__, nor from a generator seeded "
                       "anew on each call)")
        failures += [problem] if problem else []
    return failures, 3 + 2 * (x.size >= FRACTION_SIZE)


def dropout_eval(Dropout, p, x, g, device):
    """(failures, comparisons) of eval mode: forward and backward are the identity, as
    ``nn.Dropout(p).eval()``."""
    layer = call_student("constructor", Dropout, p)
    switch_to_eval(layer)
    x_t = torch.tensor(x, device=device, requires_grad=True)
    y_t = torch.nn.Dropout(p).eval()(x_t)
    y_t.backward(torch.tensor(g, device=device))
    y = call_student("forward", layer.forward, x)
    problem = compare("forward (eval mode)", y, y_t.detach(), context={"hypotheses": [
        ("x·(1 − p): non-inverted dropout, scaling at eval instead of training? torch's "
         "(inverted) dropout divides by 1 − p in training, so that eval mode is the identity",
         x * (1 - p)),
        ("x/(1 − p): eval mode must return x unchanged (the 1/(1 − p) belongs to training)",
         x / (1 - p))]})
    if problem and isinstance(y, np.ndarray) and y.shape == x.shape and (y == 0).any():
        problem += " — eval mode dropped elements: in eval mode forward must return x unchanged"
    if problem:
        return [problem], 1
    dx = call_student("backward", layer.backward, g)
    problem = compare("dL/dx (eval mode)", dx, x_t.grad, context={"hypotheses": [
        ("g·(1 − p): non-inverted dropout, scaling at eval instead of training?", g * (1 - p))]})
    if problem and isinstance(dx, np.ndarray) and dx.shape == g.shape and (dx == 0).any():
        problem += " — a mask applied to the gradient in eval mode, where nothing is dropped?"
    return [problem] if problem else [], 2


def dropout_identity(Dropout, shape, rng, device):
    """(failures, comparisons) for p = 0 in training mode: nothing is dropped or scaled."""
    x, g = nonzero_input(rng, shape), rng.standard_normal(shape)
    x_t = torch.tensor(x, device=device, requires_grad=True)
    y_t = torch.nn.Dropout(0.0).train()(x_t)
    y_t.backward(torch.tensor(g, device=device))
    layer = call_student("constructor", Dropout, 0.0)
    problem = compare("forward (training, p = 0)", call_student("forward", layer.forward, x),
                      y_t.detach())
    if problem is None:
        problem = compare("dL/dx (training, p = 0)", call_student("backward", layer.backward, g),
                          x_t.grad)
    return [problem] if problem else [], 2


@declares(component="Dropout", notebook=NOTEBOOK, torch="nn.Dropout")
def check_dropout(Dropout: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """Inverted dropout against nn.Dropout(p). The student draws its own mask (any RNG):
    it is recovered from the training output (each element 0 or x/(1 − p)), must drop
    about p of a large input (a binomial bound 7σ wide), and torch's definition with that
    mask gives the output and, by autograd, dL/dx (backward must reuse the mask); two
    forwards draw two masks; eval mode (eval(), or training = False) and p = 0 are the
    identity."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    verdicts = []
    for p, shape in DROPOUT_CASES:
        x, g = nonzero_input(rng, shape), rng.standard_normal(shape)
        failures, comparisons = [], 0
        for part in (dropout_training, dropout_eval):
            try:
                found, counted = part(Dropout, p, x, g, device)
            except StudentCodeError as error:
                found, counted = [str(error)], 1
            failures += [f"{f} on input x of shape {shape} (seed {seed})" for f in found]
            comparisons += counted
        verdicts.append(Verdict(f"Dropout(p={p:g})", failures, comparisons))
    try:
        failures, comparisons = dropout_identity(Dropout, (4, 6), rng, device)
    except StudentCodeError as error:
        failures, comparisons = [str(error)], 1
    verdicts.append(Verdict("Dropout(p=0)", [f"{f} (seed {seed})" for f in failures], comparisons))
    return Verdict.combine("Dropout", verdicts)


BATCHNORM_CASES = [(4, 8, 1e-5, 0.1), (3, 16, 1e-3, 0.3), (5, 2, 1e-5, 0.1)]  # F, N, eps, momentum
BATCHNORM_BATCHES = 3  # training batches before the running statistics are compared


def batch_normalised(x, gamma, beta, eps, unbiased=False, constant=False):
    """γ·(x − μ)/√(σ² + ε) + β with the batch's mean and (biased, or unbiased) variance;
    ``constant``: the statistics detached from x, as a backward that forgets they
    depend on it."""
    mean, var = x.mean(dim=0), x.var(dim=0, correction=int(unbiased))
    if constant:
        mean, var = mean.detach(), var.detach()
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta


def running_statistics(batches, momentum, unbiased=True, flipped=False):
    """running_mean, running_var after ``batches`` by torch's rule, r ← (1 − m)·r + m·batch
    with the unbiased variance; ``unbiased=False``: the biased one; ``flipped``: the
    new batch weighted 1 − m."""
    weight = 1 - momentum if flipped else momentum
    mean, var = torch.zeros_like(batches[0][0]), torch.ones_like(batches[0][0])
    for x in batches:
        mean = (1 - weight) * mean + weight * x.mean(dim=0)
        var = (1 - weight) * var + weight * x.var(dim=0, correction=int(unbiased))
    return mean, var


def read_array(layer, name):
    """A copy of the layer's array attribute ``name`` (the layer may change its own)."""
    value = getattr(layer, name)
    try:
        return np.array(to_numpy(value), dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFinding(f"{name} must be a numpy array, got {type(value).__name__}") from None


def batchnorm_case(BatchNorm1d, features, n, eps, momentum, rng, device):
    """(failures, comparisons) of one BatchNorm1d against nn.BatchNorm1d, random γ and
    β copied into both: the running statistics at the start, a training forward and
    backward, the running statistics after BATCHNORM_BATCHES training batches, and an
    eval forward that uses (and leaves) them."""
    def t(a):
        return torch.tensor(a, dtype=torch.float64, device=device)

    reference = torch.nn.BatchNorm1d(features, eps=eps, momentum=momentum, device=device,
                                     dtype=torch.float64)
    gamma = rng.uniform(0.5, 2.0, features) * rng.choice([-1.0, 1.0], features)
    beta = rng.standard_normal(features)
    with torch.no_grad():
        reference.weight.copy_(t(gamma))
        reference.bias.copy_(t(beta))
    loc, scale = rng.uniform(-3, 3, features), rng.uniform(0.5, 3, features)
    batches = [rng.normal(loc, scale, (n, features)) for _ in range(BATCHNORM_BATCHES + 1)]
    x, g = batches[0], rng.standard_normal((n, features))
    failures, counted = [], []

    def check(quantity, yours, expected, hypotheses=()):
        counted.append(quantity)
        problem = compare(quantity, yours, expected, context={
            "hypotheses": hypotheses, "sizes": {"the batch size": n}})
        failures.extend([problem] if problem else [])
        return problem is None

    try:
        layer = call_student("constructor", lambda: BatchNorm1d(features, eps=eps, momentum=momentum))
        for name, start in (("running_mean", reference.running_mean),
                            ("running_var", reference.running_var)):
            check(f"{name} before any batch", call_student(name, read_array, layer, name), start)
        call_student("gamma = …", setattr, layer, "gamma", gamma)
        call_student("beta = …", setattr, layer, "beta", beta)
        x_in, x_t = lend(x.copy()), t(x).requires_grad_(True)
        y_t = reference(x_t)
        unbiased = batch_normalised(t(x), t(gamma), t(beta), eps, unbiased=True).detach()
        if check("forward (training)", call_student("forward", layer.forward, x_in), y_t.detach(), [
                ("the unbiased variance (÷ (N − 1)) used to normalise: torch normalises with the "
                 "batch's biased variance (÷ N), and uses the unbiased one for running_var only",
                 unbiased)]):
            if not np.array_equal(x_in, x):
                failures.append("forward: your code modified its input x in place")
            y_t.backward(t(g))
            constant_t = t(x).requires_grad_(True)
            batch_normalised(constant_t, t(gamma), t(beta), eps, constant=True).backward(t(g))
            check("dL/dx (training)", call_student("backward", layer.backward, g), x_t.grad, [
                ("a backward that treats the batch mean and variance as constants: they depend "
                 "on x, which adds two terms to dL/dx", constant_t.grad)])
            grads = list(call_student("gradients()", layer.gradients)) + [None, None]
            check("dL/dgamma", grads[0], reference.weight.grad)
            check("dL/dbeta", grads[1], reference.bias.grad)
        for batch in batches[1:-1]:
            call_student("forward", layer.forward, batch)
            reference(t(batch))
        seen = [t(b) for b in batches[:-1]]
        flipped = running_statistics(seen, momentum, flipped=True)
        flip = (f"momentum's convention flipped, the new batch weighted {1 - momentum:g} (Keras's "
                f"convention): torch's is running ← (1 − momentum)·running + momentum·batch, "
                f"momentum = {momentum:g} on the new batch")
        stats = {name: call_student(name, read_array, layer, name)
                 for name in ("running_mean", "running_var")}
        check(f"running_mean after {BATCHNORM_BATCHES} training batches", stats["running_mean"],
              reference.running_mean, [(flip, flipped[0])])
        check(f"running_var after {BATCHNORM_BATCHES} training batches", stats["running_var"],
              reference.running_var, [
                  ("the biased variance (÷ N) in running_var: torch updates it with the unbiased "
                   "variance (÷ (N − 1)) while it normalises with the biased one",
                   running_statistics(seen, momentum, unbiased=False)[1]), (flip, flipped[1])])
        switch_to_eval(layer)
        reference.eval()
        x_eval = batches[-1]
        check("forward (eval mode)", call_student("forward", layer.forward, x_eval),
              reference(t(x_eval)).detach(), [
                  ("the batch's own statistics in eval mode: eval normalises with running_mean "
                   "and running_var", batch_normalised(t(x_eval), t(gamma), t(beta), eps).detach())])
        after = {name: call_student(name, read_array, layer, name) for name in stats}
        changed = [name for name in stats if not np.array_equal(after[name], stats[name])]
        if changed:
            failures.append(f"a forward in eval mode changed {' and '.join(changed)}: eval mode "
                            "uses the running statistics and leaves them as they are")
    except StudentCodeError as error:
        counted.append("error")
        failures.append(str(error))
    return failures, len(counted)


@declares(component="BatchNorm1d", notebook=NOTEBOOK, torch="nn.BatchNorm1d")
def check_batchnorm(BatchNorm1d, seed=0, device="auto"):
    """BatchNorm1d(F, eps, momentum) against nn.BatchNorm1d in float64 with random γ, β:
    training forward (batch mean, biased variance), dL/dx, dL/dγ, dL/dβ by autograd,
    running_mean and running_var after several batches (torch's rule: momentum on the new
    batch, the unbiased variance), and an eval forward with the running statistics."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    verdicts = []
    for features, n, eps, momentum in BATCHNORM_CASES:
        failures, comparisons = batchnorm_case(BatchNorm1d, features, n, eps, momentum, rng, device)
        where = f"on batches of shape {(n, features)} (seed {seed})"
        verdicts.append(Verdict(f"BatchNorm1d({features}, eps={eps:g}, momentum={momentum:g})",
                                [f"{f} {where}" for f in failures], comparisons))
    return Verdict.combine("BatchNorm1d", verdicts)
