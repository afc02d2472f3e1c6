"""Notebook 4's checks: Linear, the MLP, the numerical gradient, initialisation."""


from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.student.components.registry import declares
from autograder.student.lending import lend
from autograder.student.oracle import (
    CheckFinding,
    StudentCodeError,
    Verdict,
    call_student,
    check_function,
    check_module,
    resolve_device,
    to_numpy,
)

NOTEBOOK = "04_backprop"


LINEAR_CASES = [(5, 3, 1), (5, 3, 8), (3, 7, 4), (1, 1, 2)]  # (in, out, batch)


@declares(component="Linear", notebook=NOTEBOOK, torch="F.linear")
def check_linear(Linear: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """y = x Wᵀ + b against F.linear, batch 1 and non-square weights included."""
    return Verdict.combine("Linear", [
        check_module(lambda i=i, o=o: Linear(i, o), F.linear, [(n, i)],
                     name=f"Linear({i}, {o})", seed=seed + case, device=device)
        for case, (i, o, n) in enumerate(LINEAR_CASES)])


def torch_mlp(sizes):
    """nn.Sequential(Linear, ReLU, …, Linear) with the same layer sizes."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


MLP_SIZES = [[5, 3], [5, 7, 4], [6, 8, 8, 5, 3]]


@declares(component="MLP", notebook=NOTEBOOK, torch="nn.Sequential")
def check_mlp(MLP: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """MLP(sizes) of depth 1 to 4 against nn.Sequential, parameters copied across."""
    return Verdict.combine("MLP", [
        check_module(lambda s=sizes: MLP(s), torch_mlp(sizes), [(1, sizes[0]), (6, sizes[0])],
                     name=f"MLP({sizes})", seed=seed, device=device)
        for sizes in MLP_SIZES])


FD_TARGETS = [  # (numpy f(x), torch f(t)): smooth functions with known gradients
    (lambda x: np.sum(np.sin(x) * x**2), lambda t: torch.sum(torch.sin(t) * t**2)),
    (lambda x: np.log(np.sum(np.exp(x))), lambda t: torch.logsumexp(t, dim=0)),
    (lambda x: np.sum(np.tanh(x @ x.T)), lambda t: torch.sum(torch.tanh(t @ t.T))),
]


@declares(component="numerical_gradient", notebook=NOTEBOOK, torch="torch autograd")
def check_numerical_gradient(numerical_gradient: Any, seed: int = 0,
                             device: "str | torch.device" = "auto") -> Verdict:
    """Central differences of smooth functions against torch autograd
    (rtol 1e-5, atol 1e-7: finite differences are accurate to O(ε²)); x must come
    back unchanged (to within the rounding of x + ε − ε)."""
    def yours(x, which):
        f = FD_TARGETS[int(which)][0]
        x_in = lend(x.copy())  # lent: the student perturbs it, f reads it back
        grad = numerical_gradient(lambda: f(x_in), x_in)
        if not (np.abs(x_in - x) <= 4 * np.spacing(np.abs(x))).all():  # x ± ε ∓ ε rounds
            raise CheckFinding("x was left changed: restore each entry after perturbing it")
        return grad

    def autograd(x, which):
        t = x.clone().requires_grad_(True)
        FD_TARGETS[int(which)][1](t).sum().backward()
        return t.grad

    def make_args(rng):
        which = rng.integers(len(FD_TARGETS))
        shape = (rng.integers(1, 4), rng.integers(1, 4)) if which == 2 else (rng.integers(1, 7),)
        return rng.standard_normal(shape), np.array(which)

    return check_function(yours, autograd, make_args, cases=6, name="numerical_gradient",
                          seed=seed, device=device, rtol=1e-5, atol=1e-7)


# ---- notebook 4: initialisation ------------------------------------------------------

INIT_SHAPES = ((256, 1024), (1024, 256), (384, 640))  # (out, in): fan_in ≠ fan_out, both ways
INIT_DEFAULTS_SHAPE = (512, 128)  # the case that leaves gain and rng to their defaults
INIT_GAINS = (("tanh",), ("relu",), ("leaky_relu", 0.1), ("selu",))  # calculate_gain's; none is 1
INIT_ALPHA = 1e-9  # the chance that a right draw fails one comparison (no flakes, hidden seeds too)
INIT_Z = 6.1  # P(|N(0, 1)| > 6.1) ≈ INIT_ALPHA


def ks_distance(a, b):
    """Two-sample Kolmogorov–Smirnov distance: the largest gap between the empirical
    CDFs of the entries of ``a`` and of ``b``, max over x of |F_a(x) − F_b(x)|. Taken
    where x is the last of a run of equal values in the merged, sorted entries; the
    counts of each up to there are exact integers (a merge of two sorted runs, then
    one cumulative count: 40 % less than a binary search for each entry, whose 262 144
    took 30 ms of every draw a notebook 4 check compares)."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="stable")  # two sorted runs: merged in linear time
    merged = both[order]
    from_a = np.cumsum(order < a.size)  # entries of a at or before each place
    from_b = np.arange(1, both.size + 1) - from_a
    ends = np.append(merged[1:] != merged[:-1], True)  # the last of each run of equals
    return float(np.max(np.abs(from_a[ends] / a.size - from_b[ends] / b.size)))


def ks_allowed(n, m, alpha=INIT_ALPHA):
    """The KS distance that two draws of n and m from one distribution exceed with
    probability ``alpha`` (the asymptotic bound √(ln(2/α)/2 · (n + m)/(n m)))."""
    return float(np.sqrt(np.log(2 / alpha) / 2 * (n + m) / (n * m)))


def torch_init(fill, shape, seed, device):
    """A float64 array of ``shape`` filled in place by ``fill(tensor, generator)``
    (torch.nn.init's functions), from a generator seeded with ``seed``."""
    generator = torch.Generator(device=device).manual_seed(int(seed))
    tensor = torch.empty(shape, dtype=torch.float64, device=device)
    fill(tensor, generator)
    return to_numpy(tensor)


def returned_weights(W, shape):
    """What keeps W from being judged as an (out, in) float64 array, in words; None."""
    if W is None:
        return "your code returned None (is a `return` missing?)"
    if not isinstance(W, np.ndarray):
        return f"expected a numpy array, got {type(W).__name__}"
    if W.shape != tuple(shape):
        turned = (" — the transpose: W is (out, in) = (fan_out, fan_in), as nn.Linear's weight"
                  if W.shape == tuple(shape)[::-1] else "")
        return f"shape {W.shape} != expected {tuple(shape)}{turned}"
    if W.dtype != np.float64:
        return f"dtype {W.dtype}: return float64 weights (the course's convention)"
    if not np.isfinite(W).all():
        return "your weights hold inf or NaN"
    return None


def init_distance(W, torch_draw):
    """The KS distance between W and torch's draw, and whether it is too far for one
    distribution."""
    distance = ks_distance(W, torch_draw)
    return distance, distance > ks_allowed(W.size, torch_draw.size)


def xavier_findings(W, torch_draw, fan_in, fan_out, gain):
    """Words for how W differs from U(-a, a), a = gain·√(6/(fan_in + fan_out)); None."""
    a = gain * np.sqrt(6 / (fan_in + fan_out))
    near = a * (1 - 2 * np.log(2 / INIT_ALPHA) / W.size)  # a right draw of W.size comes this near ±a
    distance, far = init_distance(W, torch_draw)
    if not (far or np.abs(W).max() > a * (1 + 1e-12) or min(-W.min(), W.max()) < near):
        return None
    return (f"your weights lie in [{W.min():.4g}, {W.max():.4g}]; torch's U(−a, a) has a = "
            f"gain·√(6/(fan_in + fan_out)) = {a:.4g} (gain {gain:.4g}, fan_in {fan_in}, "
            f"fan_out {fan_out}); Kolmogorov–Smirnov distance to torch's draw {distance:.3g}")


def kaiming_findings(W, torch_draw, fan_in, fan_out, gain):
    """Words for how W differs from N(0, std²), std = gain/√fan_in; None."""
    std = gain / np.sqrt(fan_in)
    distance, far = init_distance(W, torch_draw)
    if not (far or abs(W.std() / std - 1) > INIT_Z / np.sqrt(2 * W.size)
            or abs(W.mean()) > INIT_Z * std / np.sqrt(W.size)):
        return None
    return (f"your weights have mean {W.mean():.3g}, std {W.std():.4g}, largest |w| "
            f"{np.abs(W).max():.4g}; torch's N(0, std²) has std = gain/√fan_in = {std:.4g} "
            f"(gain {gain:.4g}, fan_in {fan_in}); Kolmogorov–Smirnov distance to torch's draw "
            f"{distance:.3g}")


def uniform_fill(bound):
    return lambda t, g: torch.nn.init.uniform_(t, -bound, bound, generator=g)


def normal_fill(std):
    return lambda t, g: torch.nn.init.normal_(t, 0.0, std, generator=g)


def xavier_mistakes(fan_in, fan_out, gain):
    s = gain * np.sqrt(2 / (fan_in + fan_out))  # Xavier normal's std
    return [
        ("U(−a, a) without the gain: a = √(6/(fan_in + fan_out)) — multiply by gain",
         uniform_fill(np.sqrt(6 / (fan_in + fan_out)))),
        ("the normal's std used as the uniform bound: U(−s, s) with s = gain·√(2/(fan_in + "
         "fan_out)) — a uniform's std is its bound/√3, so the bound is √3·s = gain·√(6/(fan_in + "
         "fan_out))", uniform_fill(s)),
        ("a normal draw with Xavier's std (torch.nn.init.xavier_normal_) — this one is uniform",
         normal_fill(s)),
        ("a = gain·√(3/fan_in), fan_in alone (torch's kaiming_uniform_) — Xavier uses "
         "fan_in + fan_out", uniform_fill(gain * np.sqrt(3 / fan_in))),
        ("a = gain·6/(fan_in + fan_out) — the square root is missing",
         uniform_fill(gain * 6 / (fan_in + fan_out))),
        ("U(0, a), not U(−a, a) — rng.random draws from [0, 1): use (2·rng.random(shape) − 1)·a "
         "or rng.uniform(−a, a, shape)", lambda t, g: torch.nn.init.uniform_(
             t, 0.0, gain * np.sqrt(6 / (fan_in + fan_out)), generator=g)),
    ]


def kaiming_mistakes(fan_in, fan_out, gain):
    std = gain / np.sqrt(fan_in)
    return [
        ("std = gain/√fan_out: fan_out used for fan_in — W is (out, in), so fan_in = shape[1]",
         normal_fill(gain / np.sqrt(fan_out))),
        ("std = 1/√fan_in: the gain is missing (ReLU's is √2)", normal_fill(1 / np.sqrt(fan_in))),
        ("std = gain²/fan_in: the variance used as the std — the normal's scale is the std, "
         "gain/√fan_in", normal_fill(gain**2 / fan_in)),
        ("std = gain·√(2/fan_in): √2 twice — the gain already is ReLU's √2",
         normal_fill(gain * np.sqrt(2 / fan_in))),
        ("a uniform draw with the right std (torch.nn.init.kaiming_uniform_) — this one is normal",
         uniform_fill(np.sqrt(3) * std)),
        ("U(−std, std): the std used as a uniform bound — draw from a normal",
         uniform_fill(std)),
    ]


def likely_causes(W, torch_draw, mistakes, shape, seed, device):
    """' — your numbers match <mistake>' for each known mistake whose torch draw is as
    near W as a draw of one distribution, and far from the right one."""
    causes = ""
    for words, fill in mistakes:
        wrong = torch_init(fill, shape, seed, device)
        allowed = ks_allowed(W.size, wrong.size)
        if ks_distance(W, wrong) <= allowed and ks_distance(wrong, torch_draw) > 2 * allowed:
            causes += f" — your numbers match {words}"
    return causes


def check_initialiser(init, name, torch_fill, findings, mistakes, seed, device):
    """An initialiser ``init(shape, gain, rng) -> W`` (out, in) judged against torch's own
    draw ``torch_fill(tensor, generator, nonlinearity)`` of the same shape (None: torch's
    defaults): a two-sample Kolmogorov–Smirnov test and range or moment tests
    (``findings``), each failing a right draw with probability INIT_ALPHA. The gains are
    torch.nn.init.calculate_gain's, none of them 1; one case leaves gain and rng to their
    defaults; once the weights are right, a seed must give them again, another seed others."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(INIT_GAINS))
    cases = [(shape, INIT_GAINS[i]) for shape, i in zip(INIT_SHAPES, order, strict=False)]
    cases.append((INIT_DEFAULTS_SHAPE, None))
    failures = []
    for case, (shape, nonlinearity) in enumerate(cases, 1):
        draw_seed, torch_seed = (int(s) for s in rng.integers(1, 2**31, size=2))
        torch_draw = torch_init(lambda t, g, n=nonlinearity: torch_fill(t, g, n), shape, torch_seed, device)
        gain = torch.nn.init.calculate_gain(*(nonlinearity or torch_fill.default))
        args = (shape,) if nonlinearity is None else (shape, gain, draw_seed)
        given = (f"gain={gain:.4g}, rng={draw_seed}" if nonlinearity else
                 f"gain left to its default ({gain:.4g}, torch's) and rng to None")
        try:
            W = call_student(name, init, *args)
            problem = returned_weights(W, shape)
            if problem is None:
                fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(
                    torch.empty(shape, device="meta"))  # torch's own: fan_in = shape[1]
                problem = findings(W, torch_draw, fan_in, fan_out, gain)
                if problem:
                    problem += likely_causes(W, torch_draw, mistakes(fan_in, fan_out, gain), shape,
                                             torch_seed + 1, device)
        except StudentCodeError as error:
            problem = str(error)
        if problem:
            failures.append(f"{problem} on arguments shape={shape}, {given} "
                            f"(case {case} of {len(cases)}, seed {seed})")
    if not failures:  # the rng, once the weights are right
        failures += seeded_draws(init, name, seed)
    return Verdict(name, failures, len(cases) + 1)


def seeded_draws(init, name, seed):
    """rng as a seed: the same seed gives the same weights, another seed others."""
    shape, draw_seed = (16, 9), 1000 + seed % 1000
    try:
        first, again, other = (call_student(name, init, shape, 1.0, s)
                               for s in (draw_seed, draw_seed, draw_seed + 1))
    except StudentCodeError as error:
        return [str(error)]
    if not np.array_equal(first, again):
        return [f"rng={draw_seed} twice gave different weights: draw from "
                "np.random.default_rng(rng), not from np.random's global functions"]
    if np.array_equal(first, other):
        return [f"rng={draw_seed} and rng={draw_seed + 1} gave the same weights: draw from "
                "np.random.default_rng(rng) — is the rng argument ignored?"]
    return []


def torch_xavier_uniform(tensor, generator, nonlinearity):
    """torch.nn.init.xavier_uniform_ with calculate_gain(*nonlinearity); None: its default gain."""
    gain = {} if nonlinearity is None else {"gain": torch.nn.init.calculate_gain(*nonlinearity)}
    return torch.nn.init.xavier_uniform_(tensor, generator=generator, **gain)


torch_xavier_uniform.default = ("linear",)  # type: ignore[attr-defined]  # a function's attribute; gain 1


def torch_kaiming_normal(tensor, generator, nonlinearity):
    """torch.nn.init.kaiming_normal_ (mode 'fan_in') for ``nonlinearity`` (name, negative
    slope); None: its defaults, leaky_relu with slope 0, i.e. ReLU's gain √2."""
    name, *slope = nonlinearity or torch_kaiming_normal.default
    return torch.nn.init.kaiming_normal_(tensor, a=slope[0] if slope else 0.0, mode="fan_in",
                                         nonlinearity=name, generator=generator)


torch_kaiming_normal.default = ("leaky_relu", 0.0)  # type: ignore[attr-defined]  # a function's attribute; gain √2


@declares(component="xavier_uniform", notebook=NOTEBOOK, torch="torch.nn.init.xavier_uniform_")
def check_xavier_uniform(xavier_uniform: Any, seed: int = 0,
                         device: "str | torch.device" = "auto") -> Verdict:
    """W ~ U(−a, a), a = gain·√(6/(fan_in + fan_out)), W of shape (out, in), against
    torch.nn.init.xavier_uniform_ (default gain 1)."""
    return check_initialiser(xavier_uniform, "xavier_uniform", torch_xavier_uniform,
                             xavier_findings, xavier_mistakes, seed, device)


@declares(component="kaiming_normal", notebook=NOTEBOOK, torch="torch.nn.init.kaiming_normal_")
def check_kaiming_normal(kaiming_normal: Any, seed: int = 0,
                         device: "str | torch.device" = "auto") -> Verdict:
    """W ~ N(0, std²), std = gain/√fan_in, W of shape (out, in), against
    torch.nn.init.kaiming_normal_ (mode 'fan_in'; default gain √2, ReLU's)."""
    return check_initialiser(kaiming_normal, "kaiming_normal", torch_kaiming_normal,
                             kaiming_findings, kaiming_mistakes, seed, device)
