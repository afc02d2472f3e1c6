"""Notebook 3's checks: MSE, softmax cross-entropy, gradient descent."""


from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.student.components.registry import declares
from autograder.student.lending import lend
from autograder.student.oracle import (
    StudentCodeError,
    Verdict,
    call_student,
    check_loss,
    compare,
    resolve_device,
)

NOTEBOOK = "03_loss_and_gradient_descent"


def regression_case(shape):
    return lambda rng: (rng.standard_normal(shape), rng.standard_normal(shape))


@declares(component="MSELoss", notebook=NOTEBOOK, torch="F.mse_loss")
def check_mse(MSELoss: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """L = mean (ŷ - y)² against F.mse_loss (reduction="mean")."""
    cases = [regression_case(s) for s in [(1, 1), (5, 3), (4,), (2, 3, 4)]]
    factors = {"loss value": {0.5: "yours is exactly ½ of torch's: a ½ in front of the mean? "
                                   "(torch's MSE has none)"},
               "dL/dpred": {0.5: "yours is exactly ½ of torch's: a factor 2 missing "
                                 "(d/dŷ (ŷ − y)² = 2(ŷ − y))?"}}
    return check_loss(MSELoss, F.mse_loss, cases, name="MSELoss", seed=seed, device=device,
                      factors=factors)


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


@declares(component="CrossEntropyLoss", notebook=NOTEBOOK, torch="F.cross_entropy")
def check_cross_entropy(CrossEntropyLoss: Any, seed: int = 0,
                        device: "str | torch.device" = "auto") -> Verdict:
    """Softmax cross-entropy against F.cross_entropy: labels, one-hot and probability
    targets, batch 1, and logits of magnitude ~1000 (log-sum-exp must be stable)."""
    cases = [classification_case(1, 3, "labels"), classification_case(8, 10, "labels"),
             classification_case(5, 4, "onehot"), classification_case(6, 3, "probs"),
             classification_case(4, 5, "labels", scale=1000.0)]
    return check_loss(CrossEntropyLoss, F.cross_entropy, cases, name="CrossEntropyLoss",
                      seed=seed, device=device)


@declares(component="gradient_descent", notebook=NOTEBOOK, torch="torch.linalg.lstsq")
def check_gradient_descent(gradient_descent: Any, seed: int = 0,
                           device: "str | torch.device" = "auto") -> Verdict:
    """Gradient descent on a seeded least-squares problem (loss and gradient from
    torch autograd) must reach torch.linalg.lstsq's minimiser; its loss list must
    start at Loss(w0), have one entry per step and never increase."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(30, 60)), int(rng.integers(2, 5))
    X, w_true = rng.standard_normal((n, d)), rng.standard_normal(d)
    target = X @ w_true + 0.1 * rng.standard_normal(n)
    X_t, target_t = (torch.tensor(a, device=device) for a in (X, target))

    def loss_and_grad(w):
        w_t = torch.tensor(np.asarray(w, dtype=np.float64), device=device, requires_grad=True)
        loss = F.mse_loss(X_t @ w_t, target_t)
        loss.backward()
        return loss.item(), w_t.grad.cpu().numpy()

    w0, steps = lend(np.zeros(d)), 400  # lent: a descent that writes into w0 is told so
    start_loss = loss_and_grad(np.zeros(d))[0]  # at the w0 handed over, before any update
    best = torch.linalg.lstsq(X_t, target_t.unsqueeze(1)).solution.squeeze(1)
    failures = []
    try:
        w, losses = call_student("gradient_descent", gradient_descent, loss_and_grad, w0, 0.1, steps)
        if not np.array_equal(w0, np.zeros(d)):  # first: it explains the rest
            failures.append("w0 was modified in place: work on a copy (w = w0.copy())")
        problem = compare("final w vs torch.linalg.lstsq", w, best, rtol=1e-6, atol=1e-8)
        if problem:
            failures.append(problem)
        losses = np.asarray(losses, dtype=np.float64)
        if losses.shape != (steps,):
            failures.append(f"losses: expected one per step, shape ({steps},), got {losses.shape}")
        elif compare("losses[0] (the loss at w0)", losses[0], start_loss):
            failures.append(compare("losses[0] (the loss at w0)", losses[0], start_loss))
        elif (np.diff(losses) > 1e-12).any():
            failures.append(f"losses increased at step {int(np.argmax(np.diff(losses) > 1e-12)) + 1}"
                            " with a learning rate that should descend")
    except StudentCodeError as error:
        failures.append(str(error))
    return Verdict("gradient_descent", failures, 4)
