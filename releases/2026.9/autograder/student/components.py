"""The course's components and how each is judged against torch.

``check_<component>(impl, seed=0, device="auto")`` takes an implementation (a class,
or a function for the perceptron pieces) and returns a ``Verdict``. Notebook tests,
the grader and ``tests/`` all call these; a hidden test calls them with another seed.
Student-safe: nothing here knows the reference solution.
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autograder.student import probes
from autograder.student.data import LabelsWithheld, is_withheld
from autograder.student.lending import lend
from autograder.student.oracle import (ATOL, FLOAT32_ATOL, FLOAT32_RTOL, RTOL, CheckFinding,
                                       StudentCodeError, Verdict, call_student, check_function,
                                       check_loss, check_module, check_optimizer, compare, resolve_device,
                                       to_numpy)


def declares(*, framework="numpy", probes=None):
    """What the grader needs to know of a check, stated where the check is defined:
    the ``framework`` the exercise is written in (a numpy exercise that calls torch is
    flagged), and ``probes``, {option: "module:function"} that the notebook's process
    runs for this check when graded (torch objects cannot cross the sandbox's wire)."""
    def declare(check):
        check.framework, check.probes = framework, dict(probes or {})
        return check
    return declare


def probe(name):
    return f"autograder.student.probes:{name}"


ELEMENTWISE_SHAPES = [(1, 1), (1, 9), (4, 3), (3, 4), (2, 3, 5)]


def check_activation(make, torch_fn, name, seed=0, device="auto", mistakes=()):
    """An elementwise activation on several shapes, kinks and |x| = 1000 included."""
    return check_module(make, torch_fn, ELEMENTWISE_SHAPES, name=name, seed=seed,
                        device=device, edge_values=True, mistakes=mistakes)


def check_sigmoid(Sigmoid, seed=0, device="auto"):
    return check_activation(Sigmoid, torch.sigmoid, "Sigmoid", seed, device)


def check_tanh(Tanh, seed=0, device="auto"):
    return check_activation(Tanh, torch.tanh, "Tanh", seed, device)


def check_relu(ReLU, seed=0, device="auto"):
    return check_activation(ReLU, F.relu, "ReLU", seed, device)


def check_leaky_relu(LeakyReLU, seed=0, device="auto"):
    """Slope 0.1, the seed's max(0.1x, x): the class's default must be 0.1."""
    return check_activation(LeakyReLU, lambda x: F.leaky_relu(x, 0.1), "LeakyReLU(0.1)",
                            seed, device, mistakes=[
                                ("a slope of 0.01 (torch's default) where the course uses 0.1",
                                 lambda x: F.leaky_relu(x, 0.01))])


def check_elu(ELU, seed=0, device="auto"):
    return Verdict.combine("ELU", [
        check_activation(lambda: ELU(alpha=alpha), lambda x, a=alpha: F.elu(x, alpha=a),
                         f"ELU(alpha={alpha})", seed, device)
        for alpha in (1.0, 0.5)])


def check_gelu(GELU, seed=0, device="auto"):
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


def check_silu(SiLU, seed=0, device="auto"):
    return check_activation(SiLU, F.silu, "SiLU", seed, device)


def torch_maxout(x, W, b):
    """The maxout oracle: k nn.Linear pieces, then torch.max over the pieces."""
    return torch.stack([F.linear(x, W[j], b[j]) for j in range(W.shape[0])]).max(dim=0).values


MAXOUT_CASES = [  # (in_features, out_features, k, batch)
    (5, 3, 2, 1), (4, 7, 3, 6), (3, 3, 2, 5)]


def check_maxout(Maxout, seed=0, device="auto"):
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


def check_sgd(SGD, seed=0, device="auto"):
    """Six steps of SGD (plain, momentum, weight decay) against torch.optim.SGD."""
    return Verdict.combine("SGD", [
        check_optimizer(lambda p, k=kw: SGD(p, **k), lambda t, k=kw: torch.optim.SGD(t, **k),
                        name=f"SGD({kw})", seed=seed, device=device, mistakes=sgd_mistakes(kw))
        for kw in SGD_SETTINGS])


def check_adam(Adam, seed=0, device="auto"):
    """Six steps of Adam (bias-corrected; weight decay as L2) against torch.optim.Adam."""
    return Verdict.combine("Adam", [
        check_optimizer(lambda p, k=kw: Adam(p, **k), lambda t, k=kw: torch.optim.Adam(t, **k),
                        name=f"Adam({kw})", seed=seed, device=device, mistakes=adam_mistakes(kw))
        for kw in ADAM_SETTINGS])


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


def check_stable_sigmoid(stable_sigmoid, seed=0, device="auto"):
    """σ(z) elementwise, right and finite for |z| up to 1e4 (a numpy warning on the
    way is advice, not a failure: a check judges numbers)."""
    def make_args(rng):
        z = rng.standard_normal(rng.integers(1, 12)) * rng.choice([1.0, 30.0])
        return (np.concatenate([z, [-1e4, -1000.0, 0.0, 1000.0, 1e4]]),)
    return check_function(stable_sigmoid, torch.sigmoid, make_args, cases=5,
                          name="stable_sigmoid", seed=seed, device=device)


FD_TARGETS = [  # (numpy f(x), torch f(t)): smooth functions with known gradients
    (lambda x: np.sum(np.sin(x) * x**2), lambda t: torch.sum(torch.sin(t) * t**2)),
    (lambda x: np.log(np.sum(np.exp(x))), lambda t: torch.logsumexp(t, dim=0)),
    (lambda x: np.sum(np.tanh(x @ x.T)), lambda t: torch.sum(torch.tanh(t @ t.T))),
]


def check_numerical_gradient(numerical_gradient, seed=0, device="auto"):
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


def check_gradient_descent(gradient_descent, seed=0, device="auto"):
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


@declares(framework="torch")
def check_mnist_dataset(MNISTDataset, seed=0, device="auto"):
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


@declares(framework="torch", probes={"run": probe("run_build_model")})
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


@declares(framework="torch", probes={"run": probe("run_train_one_epoch")})
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
        for (name, q), p in zip(model.named_parameters(), params):
            problem = compare(f"parameter {name} after the epoch", p, q, rtol=1e-5, atol=1e-6)
            if problem:
                failures.append(problem)
    except StudentCodeError as error:
        failures.append(str(error))
    except (TypeError, ValueError):
        failures.append("train_one_epoch: the epoch did not give back a loss and the parameters")
    return Verdict("train_one_epoch", failures, 5)


@declares(framework="torch", probes={"run": probe("run_predict_loader")})
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


def required_accuracy(n_train):
    """Targets on full MNIST; lower ones on the 5 000-image offline fallback."""
    return {"numpy": 0.97, "torch": 0.98} if n_train == 60000 else {"numpy": 0.85, "torch": 0.88}


@declares(framework="torch")
def check_mnist_accuracy(model, X_test, y_test, minimum, name="test accuracy", logits=None):
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


BOOLEAN_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def separable_problem(rng):
    """Random points labelled by a random hyperplane, with a margin of 0.1."""
    w, b = rng.standard_normal(3), rng.standard_normal()
    X = rng.standard_normal((120, 3))
    margin = X @ w + b
    keep = np.abs(margin) > 0.1
    return X[keep], (margin[keep] > 0).astype(float)


def check_perceptron_fit(Perceptron, seed=0, device="auto"):
    """fit converges on AND, OR and seeded linearly separable data, and then
    predicts every label."""
    rng = np.random.default_rng(seed)
    problems = [("AND", BOOLEAN_INPUTS, np.array([0, 0, 0, 1.0])),
                ("OR", BOOLEAN_INPUTS, np.array([0, 1, 1, 1.0])),
                ("random separable data", *separable_problem(rng))]
    failures = []
    for name, X, y in problems:
        try:
            model = call_student("constructor", Perceptron, X.shape[1])
            result = call_student("fit", model.fit, X, y, 1000)
            predicted = call_student("predict", model.predict, X)
            aliased = aliased_history(result, model, w_alone=name == "random separable data")
            if aliased:
                failures.append(f"fit on {name}: {aliased}")
            elif not getattr(result, "converged", False):
                failures.append(f"fit on {name} (linearly separable) did not report converged=True")
            elif compare("predictions", predicted, y, rtol=0, atol=0):
                failures.append(f"after fit on {name}, predict is wrong on "
                                f"{int(np.sum(np.asarray(predicted) != y))} of {len(y)} samples")
        except StudentCodeError as error:
            failures.append(f"{error} (on {name})")
    return Verdict("Perceptron.fit", failures, len(problems), against=None)


def aliased_history(result, model=None, w_alone=False):
    """None, or why ``result.history`` cannot be (w, b) after each epoch, naming what is
    shared. Where the objects are here, by identity (``shared_entries``). Through the
    grader's wire the entries are copies, so by the numbers too: on linearly separable
    data an epoch with mistakes always changes (w, b), and w alone where ``w_alone``
    (inputs with no zero row whose updates could cancel: the random problem)."""
    history, mistakes = getattr(result, "history", None), getattr(result, "mistakes", None)
    try:
        entries = list(history)
        mistakes = [float(m) for m in mistakes]
        numbers = [(np.asarray(e[0], dtype=np.float64), np.asarray(e[1], dtype=np.float64))
                   for e in entries]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    offset = len(entries) - len(mistakes)  # 1 when history starts with the initial w
    if offset not in (0, 1) or len(entries) < 2:
        return None

    def mistakes_between(i, j):  # made in the epochs after entry i, up to entry j's
        return sum(mistakes[max(i + 1 - offset, 0):max(j + 1 - offset, 0)])

    def same_numbers(i, j, with_b):
        return np.array_equal(numbers[i][0], numbers[j][0]) and (
            not with_b or np.array_equal(numbers[i][1], numbers[j][1]))

    shared = shared_entries(entries, model, mistakes_between)
    if shared:
        return shared
    unchanged = [j for j in range(len(entries) - 1) if mistakes_between(j, j + 1) > 0
                 and same_numbers(j, j + 1, not w_alone)]
    if not unchanged:
        return None
    first = unchanged[0]
    whole = isinstance(entries[first], (list, dict)) and same_numbers(first, first + 1, True)
    stale = [k for k in range(len(entries)) if same_numbers(k, first, whole)]  # all showing it
    span = entry_span(stale, len(entries))
    if whole:
        return (f"{span} of result.history are one {object_kind(entries[first])}, refilled in "
                f"place each epoch (they hold the same w and b although the epochs between them "
                f"made mistakes): append a new tuple each epoch, (self.w.copy(), self.b)")
    kind = object_kind(entries[first][0])
    try:
        final = np.array_equal(np.asarray(getattr(model, "w"), dtype=np.float64), numbers[stale[-1]][0])
    except Exception:  # no self.w, or one that is not numbers: say less
        final = False
    final = " as self.w (its final value)" if final else ""
    view = ", or self.w[:], a view of it" if kind == "array" else ""
    return (f"{span} of result.history hold the same {kind}{final}, although the epochs between "
            f"them made mistakes: one {kind} appended each epoch and changed in place later "
            f"(self.w itself{view}): append a copy (self.w.copy()) each epoch")


def shared_entries(entries, model, mistakes_between):
    """Why entries of the history show a later epoch's values, by identity, or None:
    entries that are one list refilled each epoch, or whose w (b) is the model's own
    self.w (self.b), a view of it, or one object shared with a later entry — with
    mistakes made after them, so in-place updates changed what they hold."""
    n = len(entries)

    def same(a, b):
        return a is b or (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                          and np.shares_memory(a, b))

    def first_stale(objects, mine):
        for i, held in enumerate(objects):
            if isinstance(held, (np.ndarray, list, dict)):
                later = [j for j in range(i + 1, n) if same(held, objects[j])]
                if any(mistakes_between(i, j) > 0 for j in later + ([n] if same(held, mine) else [])):
                    return i
        return None

    i = first_stale(entries, None)
    if i is not None:
        group = [k for k in range(n) if entries[k] is entries[i]]
        return (f"{entry_span(group, n)} of result.history are one {object_kind(entries[i])}, "
                f"refilled in place each epoch (one object appended again and again), so each "
                f"shows the last epoch's values: append a new tuple each epoch, (self.w.copy(), self.b)")
    for slot, name in ((0, "w"), (1, "b")):
        try:
            held, mine = [entry[slot] for entry in entries], getattr(model, name, None)
        except Exception:  # an entry without a second item, a property that raises
            return None
        i = first_stale(held, mine)
        if i is None:
            continue
        group, kind = [k for k in range(n) if same(held[k], held[i])], object_kind(held[i])
        if not same(held[i], mine):
            what = f"one and the same {kind} as their {name}"
        elif all(held[k] is mine for k in group):
            what = f"the same {kind} as self.{name} (one object, not copies)"
        else:
            what = (f"the same {kind} as self.{name} (views of it: self.{name}[:] of an array is "
                    f"a view, not a copy)")
        return (f"{entry_span(group, n)} of result.history hold {what}, which later updates "
                f"change in place, so each shows the final {name}: append a copy "
                f"(self.{name}.copy()) each epoch")
    return None


def object_kind(value):
    return "array" if isinstance(value, np.ndarray) else type(value).__name__


def entry_span(indices, n):
    """The entries at ``indices``, as a slice where they run on."""
    indices = sorted(indices)
    if len(indices) > 1 and indices == list(range(indices[0], indices[-1] + 1)):
        start, end = indices[0] or "", "" if indices[-1] == n - 1 else indices[-1] + 1
        return f"entries [{start}:{end}]"
    return "entries " + ", ".join(str(i) for i in indices)


def check_perceptron_xor(Perceptron, max_epochs=25, seed=0, device="auto"):
    """On XOR (not linearly separable) fit stops after max_epochs, converged False."""
    try:
        model = call_student("constructor", Perceptron, 2)
        result = call_student("fit", model.fit, BOOLEAN_INPUTS, np.array([0, 1, 1, 0.0]), max_epochs)
    except StudentCodeError as error:
        return Verdict("Perceptron.fit on XOR", [str(error)], 1, against=None)
    converged, epochs = getattr(result, "converged", None), getattr(result, "epochs", None)
    if converged is None or bool(converged) or epochs != max_epochs:  # numpy bools count
        return Verdict("Perceptron.fit on XOR", [
            f"fit on XOR must stop after max_epochs={max_epochs} with converged=False, got "
            f"converged={converged}, epochs={epochs}"], 1, against=None)
    return Verdict("Perceptron.fit on XOR", [], 1, against=None)


# ---- notebook 4: initialisation ------------------------------------------------------

INIT_SHAPES = ((256, 1024), (1024, 256), (384, 640))  # (out, in): fan_in ≠ fan_out, both ways
INIT_DEFAULTS_SHAPE = (512, 128)  # the case that leaves gain and rng to their defaults
INIT_GAINS = (("tanh",), ("relu",), ("leaky_relu", 0.1), ("selu",))  # calculate_gain's; none is 1
INIT_ALPHA = 1e-9  # the chance that a right draw fails one comparison (no flakes, hidden seeds too)
INIT_Z = 6.1  # P(|N(0, 1)| > 6.1) ≈ INIT_ALPHA


def ks_distance(a, b):
    """Two-sample Kolmogorov–Smirnov distance: the largest gap between the empirical
    CDFs of the entries of ``a`` and of ``b``."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    both = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, both, "right") / a.size
                               - np.searchsorted(b, both, "right") / b.size)))


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
    cases = [(shape, INIT_GAINS[i]) for shape, i in zip(INIT_SHAPES, rng.permutation(len(INIT_GAINS)))]
    cases.append((INIT_DEFAULTS_SHAPE, None))
    failures = []
    for case, (shape, nonlinearity) in enumerate(cases, 1):
        draw_seed, torch_seed = (int(s) for s in rng.integers(1, 2**31, size=2))
        torch_draw = torch_init(lambda t, g: torch_fill(t, g, nonlinearity), shape, torch_seed, device)
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


torch_xavier_uniform.default = ("linear",)  # gain 1


def torch_kaiming_normal(tensor, generator, nonlinearity):
    """torch.nn.init.kaiming_normal_ (mode 'fan_in') for ``nonlinearity`` (name, negative
    slope); None: its defaults, leaky_relu with slope 0, i.e. ReLU's gain √2."""
    name, *slope = nonlinearity or torch_kaiming_normal.default
    return torch.nn.init.kaiming_normal_(tensor, a=slope[0] if slope else 0.0, mode="fan_in",
                                         nonlinearity=name, generator=generator)


torch_kaiming_normal.default = ("leaky_relu", 0.0)  # gain √2


def check_xavier_uniform(xavier_uniform, seed=0, device="auto"):
    """W ~ U(−a, a), a = gain·√(6/(fan_in + fan_out)), W of shape (out, in), against
    torch.nn.init.xavier_uniform_ (default gain 1)."""
    return check_initialiser(xavier_uniform, "xavier_uniform", torch_xavier_uniform,
                             xavier_findings, xavier_mistakes, seed, device)


def check_kaiming_normal(kaiming_normal, seed=0, device="auto"):
    """W ~ N(0, std²), std = gain/√fan_in, W of shape (out, in), against
    torch.nn.init.kaiming_normal_ (mode 'fan_in'; default gain √2, ReLU's)."""
    return check_initialiser(kaiming_normal, "kaiming_normal", torch_kaiming_normal,
                             kaiming_findings, kaiming_mistakes, seed, device)


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


def check_dropout(Dropout, seed=0, device="auto"):
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


# ---- notebook 5: sanity checks ------------------------------------------------------------

INITIAL_LOSS_CASES = [([784, 256, 10], 64), ([784, 128, 64, 3], 64), ([50, 40, 40], 32)]  # sizes, batch
INITIAL_LOSS_TOLERANCE = 0.15  # |loss - ln C| <= 0.15·ln C for a freshly built MLP


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


@declares(probes={"run": probe("run_overfit_small_batch")})
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


# ---- notebook 6: speech frames -------------------------------------------------------

FRAME_CLASSES = 40
FRAME_ACCURACY = 0.70  # on the test speakers of the default corpus; chance is about 0.1


def context_windows(mfccs, context):
    """torch's answer: each utterance minus its mean frame, zero-padded by k frames,
    cut into windows of 2k+1 frames by ``Tensor.unfold``, flattened frame-major:
    ((ΣTᵢ), (2k+1)·d) float64."""
    windows = []
    for x in mfccs:
        x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
        padded = F.pad(x - x.mean(dim=0), (0, 0, context, context))
        windows.append(padded.unfold(0, 2 * context + 1, 1).transpose(1, 2).reshape(len(x), -1))
    return torch.cat(windows)


def speech_case(rng, lengths, d=28):
    """Utterances of the given lengths: MFCC-like frames with an offset per utterance
    (so a missing mean normalisation shows) and labels in 0..39."""
    mfccs = [(rng.normal(0, 3, d) + rng.normal(0, 1, (t, d))).astype(np.float32) for t in lengths]
    return mfccs, [rng.integers(0, FRAME_CLASSES, size=t) for t in lengths]


@declares(framework="torch", probes={"held": probe("held_bytes")})
def check_context_frames(ContextFrames, seed=0, device="auto", held=None):
    """ContextFrames(mfccs, labels, k): len = all frames; item i = (float32 window of
    (2k+1)·28, int64 label) equal to torch's unfold of the mean-normalised, zero-padded
    utterance; -1 labels without transcripts; batches through a DataLoader; and it holds
    one copy of the features, not one per window (``held`` measures that remotely)."""
    rng = np.random.default_rng(seed)
    failures, comparisons = [], 0
    cases = [(0, [int(rng.integers(3, 12)), 1]), (2, [int(rng.integers(4, 15)), 2, 1]),
             (5, [3, int(rng.integers(10, 25)), int(rng.integers(6, 12))])]
    try:
        for context, lengths in cases:
            mfccs, labels = speech_case(rng, lengths)
            expected, flat = context_windows(mfccs, context), np.concatenate(labels)
            dataset = call_student("ContextFrames", ContextFrames, mfccs, labels, context)
            length = call_student("__len__", len, dataset)
            if length != len(flat):
                failures.append(f"k={context}: len(dataset) is {length}, expected {len(flat)}")
                continue
            for i in range(len(flat)):
                x_i, y_i = call_student("__getitem__", dataset.__getitem__, i)
                comparisons += 1
                if not (isinstance(x_i, torch.Tensor) and x_i.dtype == torch.float32):
                    failures.append(f"k={context}: dataset[{i}][0] must be a float32 tensor, got "
                                    f"{getattr(x_i, 'dtype', type(x_i).__name__)}")
                    break
                problem = compare(f"k={context}: window of frame {i} (utterances of {lengths} frames)",
                                  x_i, expected[i], rtol=1e-5, atol=1e-5)
                if problem:
                    failures.append(problem)
                    break
                if not (isinstance(y_i, torch.Tensor) and y_i.dtype == torch.int64 and int(y_i) == flat[i]):
                    failures.append(f"k={context}: dataset[{i}][1] must be the int64 tensor label "
                                    f"{flat[i]}, got {y_i!r}")
                    break
        mfccs, _ = speech_case(rng, [4, 3])
        unlabelled = call_student("ContextFrames", ContextFrames, mfccs, None, 1)
        label = call_student("__getitem__", unlabelled.__getitem__, 5)[1]
        if not (isinstance(label, torch.Tensor) and int(label) == -1):
            failures.append(f"without labels (labels=None) every label must be -1, got {label!r}")
        mfccs, labels = speech_case(rng, [int(rng.integers(400, 600)) for _ in range(4)])
        dataset = call_student("ContextFrames", ContextFrames, mfccs, labels, 5)
        xb, yb = next(iter(torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)))
        problem = compare("a DataLoader batch of 16 windows (k=5)", xb, context_windows(mfccs, 5)[:16],
                          rtol=1e-5, atol=1e-5)
        if problem:
            failures.append(problem)
        features = sum(len(x) + 10 for x in mfccs) * 28 * 4
        budget = 4 * features + 3 * 8 * sum(len(x) for x in mfccs) + 16384
        used = call_student("memory", held or probes.held_bytes, dataset)
        if used > budget:
            failures.append(f"the dataset holds {used / 1e6:.1f} MB for {features / 1e6:.2f} MB of "
                            f"padded features: keep one copy of the frames and cut each window "
                            f"in __getitem__, not a copy of every window")
    except StudentCodeError as error:
        failures.append(str(error))
    return Verdict("ContextFrames", failures, comparisons + 3, against=None)


@declares(framework="torch", probes={"run": probe("run_build_frame_model")})
def check_frame_model(build_frame_model, seed=0, device="auto", run=None):
    """build_frame_model(k) is an nn.Module MLP taking (N, (2k+1)·28) windows to
    (N, 40) logits, with a hidden layer, for k = 0 and k = 4."""
    device = resolve_device(device)
    try:
        facts = call_student("build_frame_model", run or probes.run_build_frame_model,
                             build_frame_model, seed, device)
    except StudentCodeError as error:
        return Verdict("build_frame_model", [str(error)], 2, against=None)
    failures = []
    for fact in facts if isinstance(facts, list) else [{"module": False, "type": type(facts).__name__}]:
        if not fact.get("module"):
            return Verdict("build_frame_model",
                           [f"build_frame_model must return an nn.Module, got {fact.get('type')}"], 1,
                           against=None)
        k = fact["context"]
        if fact.get("linears", 0) < 2:
            failures.append(f"an MLP needs a hidden layer: found {fact.get('linears')} nn.Linear (k={k})")
        shape = tuple(np.shape(fact.get("output")))
        if shape != (5, FRAME_CLASSES):
            failures.append(f"build_frame_model({k})(x) for x of shape (5, {(2 * k + 1) * 28}) has "
                            f"shape {shape}, expected (5, {FRAME_CLASSES})")
    return Verdict("build_frame_model", failures, 2, against=None)


def frame_test_set(context, root=None):
    """Windows and labels of the corpus's test speakers, built by ``context_windows``."""
    from autograder.student.speech.corpus import ensure_corpus, read_split

    mfccs, labels = read_split(Path(root or ensure_corpus()) / "test")
    return context_windows(mfccs, context).float().numpy(), np.concatenate(labels)


@declares(framework="torch")
def check_frame_accuracy(model, context, minimum=FRAME_ACCURACY, root=None, logits=None):
    """Frame accuracy on the test speakers, measured here from the model's logits on
    windows built here (a printed number earns nothing)."""
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or not 0 <= context <= 50:
        return Verdict("frame accuracy", [f"the context must be a whole number of frames from 0 "
                                          f"to 50, got {context!r}"], 1, against=None)
    try:
        X, y = frame_test_set(int(context), root)
    except LabelsWithheld:
        return withheld("frame accuracy")
    try:
        accuracy = call_student("model", measured_accuracy, model, X, y, 4096, logits, FRAME_CLASSES)
    except StudentCodeError as error:
        return Verdict("frame accuracy", [str(error)], 1, against=None)
    if accuracy < minimum:
        return Verdict("frame accuracy", [
            f"frame accuracy measured by the grader {100 * accuracy:.2f} % < required "
            f"{100 * minimum:.0f} % on the {len(y)} frames of the test speakers"], 1, against=None)
    return Verdict("frame accuracy", [], 1, against=None)
