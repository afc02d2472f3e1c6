"""Notebook 1's checks: the weighted sum, the step, the perceptron rule, fit, XOR."""


from typing import Any

import numpy as np
import torch

from autograder.student.components.registry import declares
from autograder.student.oracle import StudentCodeError, Verdict, call_student, check_function, compare

NOTEBOOK = "01_perceptron"


def perceptron_inputs(rng):
    """Small integers, so that z = Xw + b hits the threshold 0 exactly."""
    n, d = rng.integers(1, 6), rng.integers(1, 4)
    return (rng.integers(-2, 3, size=(n, d)).astype(float),
            rng.integers(-2, 3, size=d).astype(float), float(rng.integers(-1, 2)))


@declares(component="weighted_sum", notebook=NOTEBOOK, torch="X @ w + b")
def check_weighted_sum(weighted_sum: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """z = X w + b for X: (N, D), w: (D,), b: scalar."""
    return check_function(weighted_sum, lambda X, w, b: X @ w + b, perceptron_inputs,
                          cases=6, name="weighted_sum", seed=seed, device=device)


@declares(component="step", notebook=NOTEBOOK, torch="torch.heaviside(z, 1)")
def check_step(step: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
    """step(z) = 1 where z >= 0 else 0, as torch.heaviside(z, 1)."""
    return check_function(step, lambda z: torch.heaviside(z, torch.ones_like(z)),
                          lambda rng: (rng.integers(-2, 3, size=rng.integers(1, 9)).astype(float),),
                          cases=6, name="step", seed=seed, device=device)


@declares(component="Perceptron.update", notebook=NOTEBOOK, torch="torch perceptron rule")
def check_perceptron_update(Perceptron: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
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


BOOLEAN_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def separable_problem(rng):
    """Random points labelled by a random hyperplane, with a margin of 0.1."""
    w, b = rng.standard_normal(3), rng.standard_normal()
    X = rng.standard_normal((120, 3))
    margin = X @ w + b
    keep = np.abs(margin) > 0.1
    return X[keep], (margin[keep] > 0).astype(float)


@declares(component="Perceptron.fit", notebook=NOTEBOOK, torch="labels of separable data")
def check_perceptron_fit(Perceptron: Any, seed: int = 0, device: "str | torch.device" = "auto") -> Verdict:
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
        final = np.array_equal(np.asarray(model.w, dtype=np.float64), numbers[stale[-1]][0])
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


@declares(component="Perceptron.fit (XOR)", notebook=NOTEBOOK, torch="reports non-convergence")
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
