"""The torch oracle: judge a numpy implementation against its PyTorch counterpart.

Student-safe: it imports torch and numpy only. Every check draws seeded float64
inputs, runs forward and backward on both sides (torch on CUDA when available),
and compares outputs, input gradients and parameter gradients under one policy:

    |yours - torch| <= ATOL + RTOL·|torch|   elementwise, with RTOL = 1e-7, ATOL = 1e-10.

The implementation runs with numpy's floating-point errors raised (overflow, invalid,
divide-by-zero), so an unstable formula fails even where it happens to return the
right number. A check returns a ``Verdict``; ``verdict.assert_passed()`` raises an
``AssertionError`` whose message says what to fix.
"""

import os
import traceback

import numpy as np
import torch

RTOL = 1e-7
ATOL = 1e-10
EDGE_VALUES = (-1000.0, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 1000.0)


def resolve_device(device="auto"):
    """"auto": $FIRSTMLP_DEVICE when the grader set it, else CUDA when torch sees a
    GPU, else CPU."""
    if device == "auto":
        forced = os.environ.get("FIRSTMLP_DEVICE")
        if forced:
            return torch.device(forced)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Verdict:
    """The outcome of one check: ``failures`` lists a message per failed comparison."""

    def __init__(self, name, failures=(), comparisons=0):
        self.name, self.failures, self.comparisons = name, list(failures), comparisons

    @property
    def passed(self):
        return not self.failures

    def __bool__(self):
        return self.passed

    def __str__(self):
        if self.passed:
            return f"{self.name}: all {self.comparisons} comparisons with torch passed"
        lines = [f"{self.name}: {len(self.failures)} of {self.comparisons} comparisons "
                 "with torch failed"]
        return "\n".join(lines + ["  - " + f.replace("\n", "\n    ") for f in self.failures])

    __repr__ = __str__

    def assert_passed(self):
        __tracebackhide__ = True  # IPython and pytest show the message, not this frame
        if not self.passed:
            raise AssertionError(str(self))
        return self

    @classmethod
    def combine(cls, name, verdicts):
        verdicts = list(verdicts)
        return cls(name, [f"{v.name}: {f}" for v in verdicts for f in v.failures],
                   sum(v.comparisons for v in verdicts))


class StudentCodeError(Exception):
    """The implementation raised, or returned something that cannot be compared."""


def describe_exception(where, error):
    """ "your forward raised ValueError: msg (line 12 in forward)" """
    if type(error).__name__ == "RemoteGone":  # the graded process died or hung
        return f"your {where} did not return: the notebook's process {error}"
    frames = traceback.extract_tb(error.__traceback__)
    at = f" (line {frames[-1].lineno} in {frames[-1].name})" if len(frames) > 1 else ""
    at = error.location if hasattr(error, "location") else at  # raised in the graded process
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"your {where} raised {type(error).__name__}{': ' + message if message else ''}{at}"


def call_student(where, fn, *args):
    """Run student code with numpy's floating-point errors raised."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return fn(*args)
    except FloatingPointError as error:
        raise StudentCodeError(
            describe_exception(where, error) + " — use a numerically stable formula "
            "(e.g. exp of a non-positive number only)") from None
    except Exception as error:
        raise StudentCodeError(describe_exception(where, error)) from None


def to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def compare(quantity, yours, expected, rtol=RTOL, atol=ATOL):
    """None when ``yours`` matches ``expected`` (a tensor or array), else a message
    naming the quantity, the shapes, the errors and the worst element."""
    expected = np.asarray(to_numpy(expected), dtype=np.float64)
    if yours is None:
        return f"{quantity}: your code returned None (is a `return` missing?)"
    try:
        yours = np.asarray(to_numpy(yours), dtype=np.float64)
    except (TypeError, ValueError):
        return f"{quantity}: expected a numpy array, got {type(yours).__name__}"
    if yours.shape != expected.shape:
        return f"{quantity}: shape {yours.shape} != expected {expected.shape}"
    for bad, label in ((np.isnan, "NaN"), (np.isinf, "inf")):
        where = bad(yours) & ~bad(expected)
        if where.any():
            index = tuple(int(i) for i in np.argwhere(where)[0])
            return (f"{quantity}: {label} at index {index} where torch has "
                    f"{float(expected[index]):.10g} ({int(where.sum())} such elements)")
    agree = (np.isnan(yours) & np.isnan(expected)) | (np.isinf(yours) & (yours == expected))
    with np.errstate(invalid="ignore"):
        error = np.where(agree, 0.0, np.abs(yours - expected))
    allowed = np.where(agree, np.inf, atol + rtol * np.abs(expected))
    if (error <= allowed).all():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error <= allowed, 0.0, error / allowed)
    index = np.unravel_index(int(np.nanargmax(ratio)), ratio.shape)
    index = tuple(int(i) for i in index)
    magnitude = np.abs(expected)
    rel = np.divide(error, magnitude, out=np.where(error > 0, np.inf, 0.0),
                    where=magnitude > 0)
    return (f"{quantity}: max abs error {error.max():.3g}, max rel error {rel.max():.3g}; "
            f"worst at index {index}: yours {yours[index]:.10g}, torch {expected[index]:.10g} "
            f"(allowed |yours - torch| <= {atol:g} + {rtol:g}·|torch|)")


def instantiate(make):
    """A class or zero-argument factory is called; an instance is used as it is."""
    if isinstance(make, type) or getattr(make, "is_remote_class", False) or (
            callable(make) and not hasattr(make, "forward")):
        return make()
    return make


def param_names_of(impl):
    names = getattr(impl, "param_names", ())
    return tuple(names) if names else tuple(f"param{i}" for i in range(len(impl.parameters())))


def draw_input(rng, shape, edge_values):
    """Standard normal entries; with ``edge_values`` the first entries are the kinks
    and large magnitudes every activation must survive."""
    x = rng.standard_normal(shape)
    if edge_values:
        flat = x.reshape(-1)
        n = min(flat.size, len(EDGE_VALUES))
        flat[:n] = EDGE_VALUES[:n]
    return x


def torch_forward(torch_fn, x, params, device):
    """Run the counterpart on float64 tensors; returns (y, x tensor, param tensors).
    ``torch_fn`` is a function f(x, *params) or an nn.Module whose parameters are
    overwritten, in order, with ``params``."""
    xt = torch.tensor(x, dtype=torch.float64, device=device, requires_grad=True)
    if isinstance(torch_fn, torch.nn.Module):
        module = torch_fn.to(device=device, dtype=torch.float64)
        tensors = list(module.parameters())
        if len(tensors) != len(params):
            raise StudentCodeError(f"your module has {len(params)} parameters, "
                                   f"torch's {type(module).__name__} has {len(tensors)}")
        with torch.no_grad():
            for t, p in zip(tensors, params):
                if tuple(t.shape) != np.shape(p):
                    raise StudentCodeError(f"parameter shape {np.shape(p)} != torch's "
                                           f"{tuple(t.shape)}")
                t.copy_(torch.as_tensor(np.asarray(p, dtype=np.float64)))
                t.grad = None
        return module(xt), xt, tensors
    tensors = [torch.tensor(np.asarray(p, dtype=np.float64), device=device, requires_grad=True)
               for p in params]
    return torch_fn(xt, *tensors), xt, tensors


def check_module(make, torch_fn, shapes, name=None, seed=0, device="auto",
                 edge_values=False, rtol=RTOL, atol=ATOL):
    """Compare forward, dL/dx and dL/dθ of a module with ``torch_fn`` on inputs of
    each shape in ``shapes``, with upstream gradient g drawn per case (L = Σ g·y).

    make: the implementation (instance, class, or zero-argument factory) with
    ``forward(x)``, ``backward(dout) -> dx`` and, if it has parameters,
    ``parameters()``/``gradients()``.
    """
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or getattr(make, "__name__", type(make).__name__)
    failures, comparisons = [], 0
    for case, shape in enumerate(shapes, 1):
        x = draw_input(rng, shape, edge_values)
        where = f"on input x of shape {tuple(shape)} (case {case} of {len(shapes)}, seed {seed})"
        try:
            impl = call_student("constructor", instantiate, make)
            params = [np.array(p, dtype=np.float64) for p in call_student(
                "parameters()", getattr(impl, "parameters", list))]
            y_t, x_t, params_t = torch_forward(torch_fn, x, params, device)
            g = rng.standard_normal(tuple(y_t.shape))
            x_in = x.copy()
            y = call_student("forward", impl.forward, x_in)
            comparisons += 1
            problem = compare("forward", y, y_t, rtol, atol)
            if problem is None and not np.array_equal(x_in, x):
                problem = "forward: your code modified its input x in place"
            if problem:
                failures.append(f"{problem} {where}")
                continue
            y_t.backward(torch.tensor(g, device=device))
            dx = call_student("backward", impl.backward, g.copy())
            checks = [("dL/dx", dx, x_t.grad)]
            if params:
                names = param_names_of(impl)
                grads = call_student("gradients()", impl.gradients)
                checks += [(f"dL/d{n}", gr, t.grad) for n, gr, t in zip(names, grads, params_t)]
            for quantity, yours, expected in checks:
                comparisons += 1
                problem = compare(quantity, yours, expected, rtol, atol)
                if problem:
                    failures.append(f"{problem} {where}")
        except StudentCodeError as error:
            comparisons += 1
            failures.append(f"{error} {where}")
    return Verdict(name, failures, comparisons)


def check_function(fn, torch_fn, make_args, cases=4, name=None, seed=0, device="auto",
                   rtol=RTOL, atol=ATOL):
    """Forward-only check of a plain function: for each case, ``make_args(rng)``
    returns a tuple of numpy arrays; fn(*args) must equal torch_fn(*tensors)."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or getattr(fn, "__name__", "function")
    failures = []
    for case in range(1, cases + 1):
        args = make_args(rng)
        shapes = ", ".join(str(np.shape(a)) for a in args)
        where = f"on arguments of shapes {shapes} (case {case} of {cases}, seed {seed})"
        tensors = [torch.tensor(np.asarray(a, dtype=np.float64), device=device) for a in args]
        try:
            yours = call_student(name, fn, *[np.array(a, copy=True) for a in args])
            problem = compare("result", yours, torch_fn(*tensors), rtol, atol)
        except StudentCodeError as error:
            problem = str(error)
        if problem:
            failures.append(f"{problem} {where}")
    return Verdict(name, failures, cases)


def check_loss(make, torch_fn, cases, name=None, seed=0, device="auto", rtol=RTOL, atol=ATOL):
    """Compare a loss's value and dL/dpred with ``torch_fn(pred, target)``.

    cases: a list of ``make_case(rng) -> (pred, target)``; the loss implementation
    has ``forward(pred, target) -> scalar`` and ``backward() -> dL/dpred``.
    """
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or getattr(make, "__name__", type(make).__name__)
    failures, comparisons = [], 0
    for case, make_case in enumerate(cases, 1):
        pred, target = make_case(rng)
        where = (f"on predictions of shape {pred.shape}, targets of shape {np.shape(target)} "
                 f"(case {case} of {len(cases)}, seed {seed})")
        pred_t = torch.tensor(pred, dtype=torch.float64, device=device, requires_grad=True)
        target_t = torch.as_tensor(target, device=device)
        if target_t.is_floating_point():
            target_t = target_t.to(torch.float64)
        loss_t = torch_fn(pred_t, target_t)
        loss_t.backward()
        try:
            loss = call_student("constructor", instantiate, make)
            value = call_student("forward", loss.forward, pred.copy(), np.array(target, copy=True))
            comparisons += 1
            problem = compare("loss value", value, loss_t, rtol, atol)
            if problem is None:
                comparisons += 1
                problem = compare("dL/dpred", call_student("backward", loss.backward),
                                  pred_t.grad, rtol, atol)
        except StudentCodeError as error:
            comparisons += 1
            problem = str(error)
        if problem:
            failures.append(f"{problem} {where}")
    return Verdict(name, failures, comparisons)


def check_optimizer(make, make_torch, shapes=((4, 3), (3,), (1, 5)), steps=6, name=None,
                    seed=0, device="auto", rtol=RTOL, atol=ATOL):
    """Run ``steps`` updates of ``make(params)`` (numpy arrays, updated in place by
    ``step(grads)``) and ``make_torch(tensors)`` on the same seeded gradients; compare
    every parameter after every step."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or getattr(make, "__name__", "optimizer")
    params = [rng.standard_normal(s) for s in shapes]
    tensors = [torch.tensor(p, device=device, requires_grad=True) for p in params]
    reference = make_torch(tensors)
    failures, comparisons = [], 0
    try:
        optimizer = call_student("constructor", make, params)
        for step in range(1, steps + 1):
            grads = [rng.standard_normal(s) for s in shapes]
            for t, g in zip(tensors, grads):
                t.grad = torch.tensor(g, device=device)
            reference.step()
            before = [p.copy() for p in params]
            call_student(f"step (call {step})", optimizer.step, [g.copy() for g in grads])
            for i, (p, t) in enumerate(zip(params, tensors)):
                comparisons += 1
                problem = compare(f"parameter {i} {p.shape} after step {step}", p,
                                  t.detach(), rtol, atol)
                if problem and np.array_equal(before[i], p):
                    problem += " — it did not change: update the arrays in place (p -= ...)"
                if problem:
                    failures.append(problem)
            if failures:
                break
    except StudentCodeError as error:
        comparisons += 1
        failures.append(str(error))
    return Verdict(name, failures, comparisons)
