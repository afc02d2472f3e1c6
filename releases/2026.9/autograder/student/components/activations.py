"""Notebook 2's checks: the activations, forward and backward, against torch."""


from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.student.components.registry import declares
from autograder.student.oracle import Verdict, check_function, check_module

NOTEBOOK = "02_activations"


ELEMENTWISE_SHAPES = [(1, 1), (1, 9), (4, 3), (3, 4), (2, 3, 5)]


def check_activation(make, torch_fn, name, seed=0, device="auto", mistakes=()):
    """An elementwise activation on several shapes, kinks and |x| = 1000 included."""
    return check_module(make, torch_fn, ELEMENTWISE_SHAPES, name=name, seed=seed,
                        device=device, edge_values=True, mistakes=mistakes)


@declares(component="Sigmoid", notebook=NOTEBOOK, torch="torch.sigmoid")
def check_sigmoid(Sigmoid: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    return check_activation(Sigmoid, torch.sigmoid, "Sigmoid", seed, device)


@declares(component="Tanh", notebook=NOTEBOOK, torch="torch.tanh")
def check_tanh(Tanh: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    return check_activation(Tanh, torch.tanh, "Tanh", seed, device)


@declares(component="ReLU", notebook=NOTEBOOK, torch="F.relu")
def check_relu(ReLU: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    return check_activation(ReLU, F.relu, "ReLU", seed, device)


@declares(component="LeakyReLU", notebook=NOTEBOOK, torch="F.leaky_relu(x, 0.1)")
def check_leaky_relu(LeakyReLU: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """Slope 0.1, the seed's max(0.1x, x): the class's default must be 0.1."""
    return check_activation(LeakyReLU, lambda x: F.leaky_relu(x, 0.1), "LeakyReLU(0.1)",
                            seed, device, mistakes=[
                                ("a slope of 0.01 (torch's default) where the course uses 0.1",
                                 lambda x: F.leaky_relu(x, 0.01))])


@declares(component="ELU", notebook=NOTEBOOK, torch="F.elu")
def check_elu(ELU: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    return Verdict.combine("ELU", [
        check_activation(lambda a=alpha: ELU(alpha=a), lambda x, a=alpha: F.elu(x, alpha=a),
                         f"ELU(alpha={alpha})", seed, device)
        for alpha in (1.0, 0.5)])


@declares(component="GELU", notebook=NOTEBOOK, torch="F.gelu")
def check_gelu(GELU: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """Both of torch's modes: approximate="none" is x·Φ(x) (Φ the normal CDF, via
    erf), approximate="tanh" is ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    other = {"none": "tanh", "tanh": "none"}
    return Verdict.combine("GELU", [
        check_activation(lambda m=mode: GELU(approximate=m),
                         lambda x, m=mode: F.gelu(x, approximate=m),
                         f"GELU(approximate={mode!r})", seed, device, mistakes=[
                             (f"GELU(approximate={other[mode]!r}): the mode argument is ignored?",
                              lambda x, m=other[mode]: F.gelu(x, approximate=m))])
        for mode in ("none", "tanh")])


@declares(component="SiLU", notebook=NOTEBOOK, torch="F.silu")
def check_silu(SiLU: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    return check_activation(SiLU, F.silu, "SiLU", seed, device)


def torch_maxout(x, W, b):
    """The maxout oracle: k nn.Linear pieces, then torch.max over the pieces."""
    return torch.stack([F.linear(x, W[j], b[j]) for j in range(W.shape[0])]).max(dim=0).values


MAXOUT_CASES = [  # (in_features, out_features, k, batch)
    (5, 3, 2, 1), (4, 7, 3, 6), (3, 3, 2, 5)]


@declares(component="Maxout", notebook=NOTEBOOK, torch="k × F.linear + torch.max")
def check_maxout(Maxout: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """Maxout(in, out, k) against torch_maxout, plus one layer whose pieces tie
    everywhere (the gradient must go to the first piece, as torch.max sends it)."""
    verdicts = [check_module(lambda i=i, o=o, k=k: Maxout(i, o, k=k), torch_maxout, [(n, i)],
                             name=f"Maxout({i}, {o}, k={k})", seed=seed + n, device=device)
                for i, o, k, n in MAXOUT_CASES]

    def tied():
        layer = Maxout(4, 3, k=2)
        W, b = layer.W, layer.b
        W[1], b[1] = W[0], b[0]
        layer.W, layer.b = W, b  # assigned back: the layer may live in another process
        return layer

    verdicts.append(check_module(tied, torch_maxout, [(5, 4)], name="Maxout with tied pieces",
                                 seed=seed, device=device))
    return Verdict.combine("Maxout", verdicts)


@declares(component="stable_sigmoid", notebook=NOTEBOOK, torch="torch.sigmoid")
def check_stable_sigmoid(stable_sigmoid: Any, seed: int = 0,
                         device: "str | torch.device" = "auto") -> Verdict:
    """σ(z) elementwise, right and finite for |z| up to 1e4 (a numpy warning on the
    way is advice, not a failure: a check judges numbers)."""
    def make_args(rng):
        z = rng.standard_normal(rng.integers(1, 12)) * rng.choice([1.0, 30.0])
        return (np.concatenate([z, [-1e4, -1000.0, 0.0, 1000.0, 1e4]]),)
    return check_function(stable_sigmoid, torch.sigmoid, make_args, cases=5,
                          name="stable_sigmoid", seed=seed, device=device)
