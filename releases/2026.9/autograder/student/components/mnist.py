"""Notebook 5's checks (parts A and C): SGD, Adam, the sanity checks, the torch
pipeline, and test accuracy measured by the grader."""


from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.student import probes
from autograder.student.components.registry import declares, probe
from autograder.student.data import is_withheld
from autograder.student.oracle import (
    CheckFinding,
    StudentCodeError,
    Verdict,
    call_student,
    check_optimizer,
    compare,
    resolve_device,
    to_numpy,
)

NOTEBOOK = "05_mnist_mlp"


SGD_SETTINGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.1, momentum=0.5,
                                                                 weight_decay=0.01)]
ADAM_SETTINGS = [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6),
                 dict(lr=0.01, weight_decay=0.1)]


def sgd_run(initial, history, lr, momentum=0.0, weight_decay=0.0, dampening=0.0,
            decay_after_momentum=False):
    """Parameters after SGD steps on the gradient history (float64), written to
    reproduce known mistakes: the diagnosis of a failed check_sgd."""
    params = [torch.tensor(p) for p in initial]
    buffers = [None if not dampening else torch.zeros_like(p) for p in params]
    for grads in history:
        for i, g in enumerate(torch.tensor(g) for g in grads):
            g = g if decay_after_momentum else g + weight_decay * params[i]
            if momentum:  # torch starts the buffer at g; a dampened one here at 0
                buffers[i] = g if buffers[i] is None else \
                    momentum * buffers[i] + (1 - dampening) * g
                g = buffers[i]
            g = g + weight_decay * params[i] if decay_after_momentum else g
            params[i] = params[i] - lr * g
    return [p.numpy() for p in params]


def adam_run(initial, history, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             bias_step=0, eps_inside=False, decoupled=False, eps_before_correction=False):
    """Parameters after Adam steps on the gradient history (float64), written to
    reproduce known mistakes: bias correction with t + ``bias_step`` (None: none), ε
    inside the square root, ε added before v's bias correction, decoupled (AdamW)
    weight decay."""
    b1, b2 = betas
    params = [torch.tensor(p) for p in initial]
    m, v = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
    for t, grads in enumerate(history, 1):
        for i, g in enumerate(torch.tensor(g) for g in grads):
            g = g if decoupled else g + weight_decay * params[i]
            m[i], v[i] = b1 * m[i] + (1 - b1) * g, b2 * v[i] + (1 - b2) * g * g
            k = None if bias_step is None else t + bias_step
            m_hat = m[i] if k is None else m[i] / (1 - b1 ** k)
            v_hat = v[i] if k is None else v[i] / (1 - b2 ** k)
            step = m_hat / (torch.sqrt(v_hat + eps) if eps_inside else torch.sqrt(v_hat) + eps)
            if eps_before_correction and k is not None:
                step = m_hat / ((torch.sqrt(v[i]) + eps) / (1 - b2 ** k) ** 0.5)
            decayed = params[i] * (1 - lr * weight_decay) if decoupled else params[i]
            params[i] = decayed - lr * step
    return [p.numpy() for p in params]


def sgd_mistakes(kw):
    momentum, decay = kw.get("momentum", 0.0), kw.get("weight_decay", 0.0)
    mistakes = []
    if momentum:
        mistakes.append(("SGD with dampened momentum, buffer = μ·buffer + (1 − μ)·g from 0 "
                         "(torch: buffer = g at the first step, then μ·buffer + g)",
                         dict(dampening=momentum)))
    if decay:
        mistakes.append(("SGD without its weight decay (torch adds weight_decay·p to the "
                         "gradient)", dict(weight_decay=0.0)))
    if decay and momentum:
        mistakes.append(("SGD with the weight decay added after the momentum (torch adds it "
                         "to the gradient first)", dict(decay_after_momentum=True)))
    return [(name, lambda initial, history, c=change: sgd_run(initial, history, **{**kw, **c}))
            for name, change in mistakes]


def adam_mistakes(kw):
    mistakes = [
        ("Adam with its bias correction one step late, 1 − β^(t+1) (torch: 1 − β^t, t = 1 "
         "at the first step)", dict(bias_step=1)),
        ("Adam with ε inside the square root, √(v̂ + ε) (torch: √v̂ + ε)", dict(eps_inside=True)),
        ("Adam with ε added before the bias correction, (√v + ε)/√(1 − β₂^t) (torch: √v̂ + ε)",
         dict(eps_before_correction=True)),
        ("Adam with ε ≈ 0: the eps argument ignored? (torch adds the eps given)", dict(eps=0.0)),
        ("Adam without bias correction (torch divides m by 1 − β₁^t and v by 1 − β₂^t)",
         dict(bias_step=None))]
    if kw.get("weight_decay"):
        mistakes += [("Adam without its weight decay (torch adds weight_decay·p to the "
                      "gradient)", dict(weight_decay=0.0)),
                     ("AdamW's decoupled weight decay (torch.optim.Adam adds weight_decay·p "
                      "to the gradient instead)", dict(decoupled=True))]
    return [(name, lambda initial, history, c=change: adam_run(initial, history, **{**kw, **c}))
            for name, change in mistakes]


@declares(component="SGD", notebook=NOTEBOOK, torch="torch.optim.SGD")
def check_sgd(SGD: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """Six steps of SGD (plain, momentum, weight decay) against torch.optim.SGD."""
    return Verdict.combine("SGD", [
        check_optimizer(lambda p, k=kw: SGD(p, **k), lambda t, k=kw: torch.optim.SGD(t, **k),
                        name=f"SGD({kw})", seed=seed, device=device, mistakes=sgd_mistakes(kw))
        for kw in SGD_SETTINGS])


@declares(component="Adam", notebook=NOTEBOOK, torch="torch.optim.Adam")
def check_adam(Adam: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """Six steps of Adam (bias-corrected; weight decay as L2) against torch.optim.Adam."""
    return Verdict.combine("Adam", [
        check_optimizer(lambda p, k=kw: Adam(p, **k), lambda t, k=kw: torch.optim.Adam(t, **k),
                        name=f"Adam({kw})", seed=seed, device=device, mistakes=adam_mistakes(kw))
        for kw in ADAM_SETTINGS])


# ---- notebook 5: sanity checks ------------------------------------------------------------

INITIAL_LOSS_CASES = [([784, 256, 10], 64), ([784, 128, 64, 3], 64), ([50, 40, 40], 32)]  # sizes, batch
INITIAL_LOSS_TOLERANCE = 0.15  # |loss - ln C| <= 0.15·ln C for a freshly built MLP


@declares(component="initial loss", notebook=NOTEBOOK, torch="F.cross_entropy of the logits ≈ ln C")
def check_initial_loss(MLP, CrossEntropyLoss, seed=0, device="auto"):
    """Before any training, logits near 0 give a near-uniform softmax: the loss of a
    freshly built ``MLP(sizes, rng=…)`` on standard-normal inputs (standardised pixels'
    scale) and random labels must be ln C within 15 %, for several C. Told apart: your
    loss disagreeing with torch's on the same logits (the loss), or torch's own far from
    ln C too (the initialisation)."""
    rng = np.random.default_rng(seed)
    failures = []
    for case, (sizes, n) in enumerate(INITIAL_LOSS_CASES):
        X = rng.standard_normal((n, sizes[0]))
        y = rng.integers(0, sizes[-1], size=n)
        expected = float(np.log(sizes[-1]))
        try:
            model = call_student("MLP", lambda s, r: MLP(s, rng=r), sizes, seed + case)
            logits = np.asarray(call_student("forward", model.forward, X), dtype=np.float64)
            loss = float(call_student("CrossEntropyLoss", lambda z, t: CrossEntropyLoss().forward(z, t),
                                      logits, y))
        except StudentCodeError as error:
            failures.append(str(error))
            continue
        except (TypeError, ValueError):
            failures.append(f"MLP({sizes}): the logits or the loss are not numbers")
            continue
        if logits.shape != (n, sizes[-1]):
            failures.append(f"MLP({sizes}).forward gave logits of shape {logits.shape}, expected "
                            f"{(n, sizes[-1])}")
            continue
        truth = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y)))
        where = f"MLP({sizes}) at initialisation, {n} random inputs"
        if abs(loss - truth) > 1e-6 * max(1.0, abs(truth)):
            ratio = f" ({loss / truth:.3g} × torch's)" if truth else ""
            failures.append(f"{where}: your CrossEntropyLoss gives {loss:.4g} where torch's "
                            f"cross-entropy of the same logits is {truth:.4g}{ratio}, near ln "
                            f"{sizes[-1]} = {expected:.3f} — the loss is off, not the network")
        elif abs(truth - expected) > INITIAL_LOSS_TOLERANCE * expected:
            failures.append(f"{where}: the loss is {truth:.4g}, far from ln {sizes[-1]} = "
                            f"{expected:.3f} (logits' std {logits.std():.3g}; near-uniform "
                            "predictions need logits near 0) — the initialisation is off: "
                            "weights too large?")
    return Verdict("initial loss ≈ ln C", failures, len(INITIAL_LOSS_CASES), against=None)


OVERFIT_SIZES, OVERFIT_SAMPLES = [20, 64, 5], 20  # a network that can learn 20 points by heart
OVERFIT_LOSS = 0.05


@declares(component="overfitting a small batch", notebook=NOTEBOOK,
          torch="F.cross_entropy of the trained logits",
          probes={"run": probe("run_overfit_small_batch")})
def check_overfits_small_batch(MLP, CrossEntropyLoss, Adam, train, seed=0, device="auto", run=None):
    """Your ``train`` with your ``Adam`` must learn a tiny random labelled batch by heart
    (20 points, MLP [20, 64, 5], 100 steps at η = 0.01): every training label right and
    the loss (torch's, on your final logits) below 0.05. It runs in one call
    (``probes.run_overfit_small_batch``; ``run``: the grader's, in the notebook's process)."""
    try:
        found = call_student("train", run or probes.run_overfit_small_batch, MLP, seed,
                             str(resolve_device(device)), CrossEntropyLoss, Adam, train)
        X, y, before, after = (np.asarray(found[key], dtype=np.float64 if key != "y" else np.int64)
                               for key in ("X", "y", "before", "after"))
    except StudentCodeError as error:
        return Verdict("overfitting a small batch", [str(error)], 1, against=None)
    except (TypeError, ValueError, KeyError, IndexError):
        return Verdict("overfitting a small batch", ["the run gave back no logits to judge"], 1,
                       against=None)
    if after.shape != (OVERFIT_SAMPLES, OVERFIT_SIZES[-1]):
        return Verdict("overfitting a small batch", [
            f"the trained MLP's logits have shape {after.shape}, expected "
            f"{(OVERFIT_SAMPLES, OVERFIT_SIZES[-1])}"], 1, against=None)
    loss = float(F.cross_entropy(torch.from_numpy(after), torch.from_numpy(y)))
    right = int(np.sum(after.argmax(axis=1) == y))
    start = (f"{OVERFIT_SAMPLES} random points with random labels, MLP({OVERFIT_SIZES}), 100 "
             "steps of your Adam (η = 0.01) through your train")
    if np.array_equal(before, after):
        failure = (f"{start}: the network's outputs did not change at all — train never "
                   "updates the weights: call optimizer.step(model.gradients()) after each "
                   "backward, and update the arrays in place (p -= …)")
    elif right < OVERFIT_SAMPLES or not loss < OVERFIT_LOSS:
        failure = (f"{start}: {right} of {OVERFIT_SAMPLES} right, loss {loss:.3g} (ln "
                   f"{OVERFIT_SIZES[-1]} = {np.log(OVERFIT_SIZES[-1]):.3f} at the start) — a network "
                   "this size must learn them by heart (100 %, loss below "
                   f"{OVERFIT_LOSS}): the backward pass or the update step is wrong")
    else:
        return Verdict("overfitting a small batch", [], 1, against=None)
    return Verdict("overfitting a small batch", [failure], 1, against=None)


@declares(component="MNISTDataset", notebook=NOTEBOOK, torch="DataLoader batches", framework="torch")
def check_mnist_dataset(MNISTDataset: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """len, items (float32 (784,) image, int64 label equal to the arrays), batching."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 20))
    X, y = rng.standard_normal((n, 784)).astype(np.float32), rng.integers(0, 10, size=n)
    failures = []
    try:
        dataset = call_student("MNISTDataset", MNISTDataset, X, y)
        if call_student("__len__", len, dataset) != n:
            failures.append(f"len(dataset) is {len(dataset)}, expected {n}")
        for i in (0, n - 1, int(rng.integers(n))):
            x_i, y_i = call_student("__getitem__", dataset.__getitem__, i)
            if not (isinstance(x_i, torch.Tensor) and x_i.dtype == torch.float32
                    and tuple(x_i.shape) == (784,)):
                failures.append(f"dataset[{i}][0] must be a float32 tensor of shape (784,), got "
                                f"{getattr(x_i, 'dtype', type(x_i).__name__)} "
                                f"{tuple(getattr(x_i, 'shape', ()))}")
            elif not torch.equal(x_i, torch.from_numpy(X[i])):
                failures.append(f"dataset[{i}][0] is not image {i}")
            if not (isinstance(y_i, torch.Tensor) and y_i.dtype == torch.int64 and int(y_i) == y[i]):
                failures.append(f"dataset[{i}][1] must be the int64 tensor label {y[i]}, got {y_i!r}")
        if not failures:
            xb, yb = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
            if tuple(xb.shape) != (min(4, n), 784) or tuple(yb.shape) != (min(4, n),):
                failures.append(f"a DataLoader batch has shapes {tuple(xb.shape)}, {tuple(yb.shape)}")
    except StudentCodeError as error:
        failures.append(str(error))
    return Verdict("MNISTDataset", failures, 8, against=None)


@declares(component="build_model", notebook=NOTEBOOK, torch="(N, 784) -> (N, 10) logits", framework="torch",
          probes={"run": probe("run_build_model")})
def check_mnist_model(build_model, seed=0, device="auto", run=None):
    """An nn.Module MLP mapping (N, 784) to logits (N, 10), with a hidden layer.
    ``run`` replaces the local probe (the grader runs it in the notebook's process)."""
    device = resolve_device(device)
    try:
        facts = call_student("build_model", run or probes.run_build_model, build_model, seed, device)
    except StudentCodeError as error:
        return Verdict("build_model", [str(error)], 3, against=None)
    if not isinstance(facts, dict) or not facts.get("module"):
        kind = facts.get("type") if isinstance(facts, dict) else type(facts).__name__
        return Verdict("build_model", [f"build_model must return an nn.Module, got {kind}"], 1, against=None)
    failures = []
    if facts.get("linears", 0) < 2:
        failures.append(f"an MLP needs a hidden layer: found {facts.get('linears')} nn.Linear")
    shape = tuple(np.shape(facts.get("output")))
    if shape != (3, 10):
        failures.append(f"model(x) for x of shape (3, 784) has shape {shape}, expected (3, 10)")
    return Verdict("build_model", failures, 3, against=None)


@declares(component="train_one_epoch", notebook=NOTEBOOK, torch="torch's canonical loop", framework="torch",
          probes={"run": probe("run_train_one_epoch")})
def check_train_one_epoch(train_one_epoch, seed=0, device="auto", run=None):
    """One epoch of SGD on a tiny problem (unshuffled loader) must leave the same
    parameters, and return the same mean loss, as torch's canonical loop."""
    device = resolve_device(device)
    model, loader = probes.tiny_classification(seed, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
    failures = []
    try:
        mean_loss, params = call_student("train_one_epoch", run or probes.run_train_one_epoch,
                                         train_one_epoch, seed, device)
        problem = compare("returned mean loss", mean_loss, total / len(loader.dataset), rtol=1e-5,
                          atol=1e-6)
        if problem:
            failures.append(problem)
        for (name, q), p in zip(model.named_parameters(), params, strict=False):
            problem = compare(f"parameter {name} after the epoch", p, q, rtol=1e-5, atol=1e-6)
            if problem:
                failures.append(problem)
    except StudentCodeError as error:
        failures.append(str(error))
    except (TypeError, ValueError):
        failures.append("train_one_epoch: the epoch did not give back a loss and the parameters")
    return Verdict("train_one_epoch", failures, 5)


@declares(component="predict_loader", notebook=NOTEBOOK, torch="argmax of logits", framework="torch",
          probes={"run": probe("run_predict_loader")})
def check_predict_loader(predict_loader, seed=0, device="auto", run=None):
    """predict_loader(model, loader, device) equals the argmax of the model's logits."""
    device = resolve_device(device)
    model, loader = probes.tiny_classification(seed, device)
    with torch.no_grad():
        expected = torch.cat([model(x.to(device)).argmax(dim=1) for x, _ in loader])
    try:
        problem = compare("predictions", call_student(
            "predict_loader", run or probes.run_predict_loader, predict_loader, seed, device),
            expected, rtol=0, atol=0)
    except StudentCodeError as error:
        problem = str(error)
    return Verdict("predict_loader", [problem] if problem else [], 1, against=None)


def measured_accuracy(model, X, y, batch_size=1000, logits=None, classes=10):
    """Test accuracy computed here, from the logits the model gives: argmax == label.
    ``model``: an nn.Module, an object with ``forward``, or a function of a batch."""
    correct = 0
    for i in range(0, len(X), batch_size):
        batch = (logits or probes.logits)(model, X[i:i + batch_size])
        logits_i = np.asarray(to_numpy(batch))
        if logits_i.shape != (len(X[i:i + batch_size]), classes):
            raise CheckFinding(f"logits of shape {logits_i.shape} for a batch of "
                               f"{len(X[i:i + batch_size])} inputs, expected (N, {classes})")
        correct += int((logits_i.argmax(axis=1) == y[i:i + batch_size]).sum())
    return correct / len(X)


def withheld(name):
    """In a graded notebook, whose sandbox withholds the test labels: measured by the
    grader alone, and said so."""
    return Verdict(name, [], 0, ["not measured in this notebook: the test labels are withheld "
                                 "while graded; the grader measures it itself"], against=None)


UNTRAINED = ("your training raised NotImplementedError or stopped: there is no trained model "
             "to measure — finish the cells above and run the training cell")


def required_accuracy(n_train: int) -> dict[str, float]:
    """Targets on full MNIST; lower ones on the 5 000-image offline fallback."""
    return {"numpy": 0.97, "torch": 0.98} if n_train == 60000 else {"numpy": 0.85, "torch": 0.88}


@declares(component="test accuracy", notebook=NOTEBOOK,
          torch="argmax of the logits on the MNIST test set", framework="torch", data=("mnist",),
          measured_here_only=True, judge="autograder.grading.judge:judge_accuracy")
def check_mnist_accuracy(model: Any, X_test: np.ndarray, y_test: np.ndarray, minimum: float,
                         name: str = "test accuracy", logits: Any = None) -> Verdict:
    """The grader measures accuracy itself (a printed number earns nothing). No model
    (None: its training cell did not finish) is work not attempted yet."""
    if model is None:
        return Verdict(name, [UNTRAINED], 1, against=None)
    if is_withheld(y_test):
        return withheld(name)
    try:
        accuracy = call_student("model", measured_accuracy, model, X_test, y_test, 1000, logits)
    except StudentCodeError as error:
        return Verdict(name, [str(error)], 1, against=None)
    if accuracy < minimum:
        return Verdict(name, [f"test accuracy measured by the grader {100 * accuracy:.2f} % < "
                              f"required {100 * minimum:.1f} % on {len(y_test)} test images"], 1,
                   against=None)
    return Verdict(name, [], 1, against=None)
