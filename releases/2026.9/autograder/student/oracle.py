"""The torch oracle: judge a numpy implementation against its PyTorch counterpart.

Student-safe: it imports torch and numpy only. Every check draws seeded float64
inputs, runs forward and backward on both sides (torch on CUDA when available),
and compares outputs, input gradients and parameter gradients under one policy:

    |yours - torch| <= ATOL + RTOL·|torch|   elementwise, with RTOL = 1e-7, ATOL = 1e-10.

The rule: **a check judges numbers.** The implementation runs with numpy's
floating-point warnings recorded, not raised: an overflow on the way to a right answer
(``1/(1+np.exp(-x))`` at x = -1000, both branches of an ``np.where``) does not fail a
check; the verdict carries it as advice, once (the operation, the line, the input values
it can be put down to, a stable rewrite). A wrong or non-finite number fails, and when
a warning came with it the failure says so. float32: a result returned as float32 is
compared at torch's own float32 tolerance (``torch.testing``: rtol 1.3e-6, atol 1e-5),
with advice to keep float64; a float64 result is compared at float64's, and one that
shows float32 rounding (its values are float32 numbers, or an array within FLOAT32_ULPS
float32 ulps of torch's) fails with words that say so (the course's convention is
float64; for arrays updated in place: compute in float64). A failure names its likely
cause only where the numbers show it (``diagnose``, one small rule per cause): a known
mistake that reproduces the numbers and is told apart from the right answer
(``shows_mistake``), float32 rounding, a kink at 0, a flipped sign, a transpose, a
slope or factor on the negative side of an activation, a constant factor — what the
check says it means for its quantity (MSE's 2), a size (a sum where torch takes the
mean, named with the count), 2 or ½ —, a small offset (an ε), and for a loss the kind
of target it fails on. Failures of one cause on several inputs are one line with a
count ("on 4 of 5 inputs: …"); where torch's value is 0 the message says so in words.
A check returns a ``Verdict``; ``verdict.assert_passed()`` raises an
``AssertionError`` whose message says what to fix.
"""

import linecache
import re
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from autograder.student.errors import (
    ProcessGone,
    first_line,
    frame_location,
    student_errstate,
    student_frames,
)
from autograder.student.lending import fresh, lend

RTOL = 1e-7
ATOL = 1e-10
FLOAT32_RTOL, FLOAT32_ATOL = 1.3e-6, 1e-5  # torch.testing.assert_close's, for float32
FLOAT32_ROUNDING = 4e-7  # a few float32 ulps (2⁻²³ ≈ 1.2e-7), relative to max(1, |x|)
FLOAT32_ULPS = 8  # a float64 array off by float32 rounding along the way: at most this many
SMALL_OFFSET = 1e-4  # closer than this (relative), not rounding: an ε or offset
EDGE_VALUES = (-1000.0, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 1000.0)
DISTINCT = 100  # a known mistake is named only when it is this many tolerances off torch
EXP_OVERFLOW = float(np.log(np.finfo(np.float64).max))  # ≈ 709.78: exp(t) is inf beyond


def resolve_device(device: "str | torch.device" = "auto") -> torch.device:
    """"auto": CUDA when torch sees a GPU, else CPU. (The grader hands its run's device
    to every check it calls; nothing is read from the environment.)"""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Verdict:
    """The outcome of one check: ``failures`` lists a message per failed comparison;
    ``advice`` what the student's code did that did not cost points (by default, what
    ``call_student`` recorded since the last verdict was made)."""

    def __init__(self, name: str, failures: Iterable[str] = (), comparisons: int = 0,
                 advice: Iterable[str] | None = None, against: str | None = "torch") -> None:
        self.name, self.failures, self.comparisons = name, list(failures), comparisons
        self.advice = list(dict.fromkeys(take_advice() if advice is None else advice))
        self.against = against  # what the numbers were compared with; None: plain checks

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.passed

    def counted(self, how_many: int) -> str:
        """ "3 comparisons with torch", "1 check" """
        noun = "comparison" if self.against else "check"
        return (f"{how_many} {noun}{'' if how_many == 1 else 's'}"
                + (f" with {self.against}" if self.against else ""))

    def __str__(self) -> str:
        unstarted = not_attempted(self.failures)
        if self.passed:
            lines = [f"{self.name}: " + (f"all {self.counted(self.comparisons)} passed"
                                         if self.comparisons != 1 else f"{self.counted(1)} passed")]
        elif unstarted:
            lines = [f"{self.name}: not attempted yet — {unstarted}"]
        else:
            lines = [f"{self.name}: {len(self.failures)} of {self.counted(self.comparisons)} failed"]
            lines += ["  - " + f.replace("\n", "\n    ") for f in same_error_once(self.failures)]
        return "\n".join(lines + ["  advice: " + a.replace("\n", "\n    ") for a in self.advice])

    __repr__ = __str__

    def assert_passed(self) -> "Verdict":
        __tracebackhide__ = True  # pytest shows the message, not this frame
        if not self.passed:
            raise CheckFailed(str(self))
        return self

    @classmethod
    def combine(cls, name: str, verdicts: Iterable["Verdict"]) -> "Verdict":
        verdicts = list(verdicts)
        return cls(name, [f"{v.name}: {f}" for v in verdicts for f in v.failures],
                   sum(v.comparisons for v in verdicts),
                   [a for v in verdicts for a in v.advice] + take_advice(),
                   verdicts[0].against if verdicts else "torch")


class CheckFailed(AssertionError):
    """A check that did not pass. In a notebook it shows as its message alone
    (IPython's ``_render_traceback_``): the checker's own frames say nothing to the
    student, the message says what to fix."""

    def _render_traceback_(self) -> list[str]:
        first, *rest = str(self).splitlines() or [""]
        return [f"\x1b[0;31mCheck failed\x1b[0m: {first}", *rest]


class CheckFinding(ValueError):
    """Raised by a check's own wrapper around student code: what that code did wrong,
    in words (reported as "your <function>: <message>", with no line of the checker)."""


NOT_IMPLEMENTED = re.compile(r"your ([\w.()\[\]]+) raised NotImplementedError[^(]*"
                             r"(?:\(line (\d+) in [\w.<>]+(, your notebook \w+)?\))?")

CASE = re.compile(r" on (?:input|arguments|predictions) .*?\(case \d+ of \d+(?:, [^)]*)?\)")


def not_attempted(failures: Sequence[str]) -> str | None:
    """When every failure is student code still raising NotImplementedError: one
    phrase naming where ("your forward (line 6) still raises …"); else None."""
    found = [NOT_IMPLEMENTED.search(f) for f in failures]
    if not failures or not all(found):
        return None
    matches = [m for m in found if m]  # all of them, as checked (typed for mypy)
    places = list(dict.fromkeys(f"{m[1]}{f' (line {m[2]}{m[3] or str()})' if m[2] else ''}"
                                for m in matches))
    verb = "raises" if len(places) == 1 else "raise"
    earlier = [m[3].removeprefix(", your ") for m in matches if m[3]]
    fix = (f"finish {earlier[0]} first: this one imports your work from it (as saved; when "
           "graded, as handed in)"
           if earlier else "replace `raise NotImplementedError()` with your code")
    return f"your {' and '.join(places)} still {verb} NotImplementedError: {fix}"


NUMBERS = re.compile(r"max abs error .*?\(allowed \|yours - torch\| <= [^)]*\)")
PARAMETER = re.compile(r"parameter \d+ \([\d, ]*\)")
SETTING = re.compile(r"\w+\(\{[^{}]*\}\): ")  # a combined check's part, e.g. "Adam({'lr': 0.01}): "


def same_error_once(failures: Sequence[str]) -> list[str]:
    """Failures that say the same on several inputs (an exception, a list returned, one
    cause: the words without the input's description and the numbers of the worst
    element), said once with a count: "on 4 of 5 inputs: …", the first one shown."""
    groups: dict[str, list[str]] = {}
    for failure in failures:
        key = PARAMETER.sub("parameter", NUMBERS.sub("", CASE.sub("", SETTING.sub("", failure))))
        groups.setdefault(key, []).append(failure)
    return [group[0] if len(group) == 1 else counted_once(group) for group in groups.values()]


def counted_once(group):
    """ "on 4 of 5 inputs: <the first failure>, e.g. on input …"; failures of one cause in
    several settings of a combined check: "in 3 settings (5 parameters): <the first>" """
    settings = list(dict.fromkeys(m.group() for m in map(SETTING.match, group) if m))
    if len(settings) > 1:
        what = "parameters" if PARAMETER.search(group[0]) else "comparisons"
        return f"in {len(settings)} settings ({len(group)} {what}): {group[0]}"
    case = CASE.search(group[0])
    if case:
        total = re.search(r"\(case \d+ of (\d+)", case.group()).group(1)
        count = f"all {total}" if int(total) == len(group) else f"{len(group)} of {total}"
        return (f"on {count} inputs: " + group[0][:case.start()]
                + " — e.g." + case.group() + group[0][case.end():])
    if PARAMETER.search(group[0]):
        return f"on {len(group)} parameters: {group[0]}"
    return f"{group[0]} — {len(group)} times"


class StudentCodeError(Exception):
    """The implementation raised, or returned something that cannot be compared."""


def describe_exception(where: str, error: BaseException) -> str:
    """ "your forward raised ValueError: msg (line 12 in forward)" """
    if isinstance(error, ProcessGone):  # the graded process died or hung
        return f"your {where} did not return: the notebook's process {error}"
    if isinstance(error, CheckFinding):
        return f"your {where}: {error}"
    frames = student_frames(traceback.extract_tb(error.__traceback__)[1:])
    at = frame_location(frames[-1]) if frames else ""
    at = error.location if hasattr(error, "location") else at  # raised in the graded process
    message = first_line(error)
    text = f"your {where} raised {type(error).__name__}{': ' + message if message else ''}{at}"
    line = getattr(error, "line", None) or (frames[-1].line if frames else "")
    if isinstance(error, ArithmeticError) and "where(" in (line or ""):
        text += (" — np.where evaluates both branches on every element, so the branch "
                 "you do not choose still runs: clamp its argument first (e.g. "
                 "np.exp(np.minimum(x, 0)))")
    elif isinstance(error, ArithmeticError):
        text += " — use a numerically stable formula (e.g. exp of a non-positive number only)"
    return text


_ADVICE: list[tuple[object, ...]] = []  # (note, rewrite, input values, why there): recorded by call_student


def gathered(records):
    """(note, rewrite) pairs, each note once, with the input values it was put down to
    in every case gathered into one " at x = …"."""
    groups = {}
    for note, rewrite, values, why in records:
        seen = groups.setdefault((note, why), (rewrite, []))[1]
        seen += [v for v in values if v not in seen]
    return [(note + at_inputs(values, why), rewrite)
            for (note, why), (rewrite, values) in groups.items()]


def at_inputs(values, why):
    """ " at x = -1000, 1000<why>": the largest |x| first, three of them named at most."""
    if not values:
        return ""
    values = sorted(values, key=lambda v: (-abs(v), v))  # the largest first
    more = f" and {len(values) - 3} more" if len(values) > 3 else ""
    return f" at x = {', '.join(f'{v:g}' for v in values[:3])}{more}{why}"


def take_advice() -> list[str]:
    """The warnings recorded since the last verdict, as advice: they cost nothing."""
    advice = [f"{note} — the numbers were still right, so it cost nothing"
              + (f"; to avoid it: {rewrite}" if rewrite else "")
              for note, rewrite in gathered(_ADVICE)]
    _ADVICE[:] = []
    return advice


def warned_since(mark):
    """The warnings recorded since ``mark`` (a length of the record), as words for a
    failure they came with; they are no longer advice."""
    records, _ADVICE[mark:] = _ADVICE[mark:], []
    return "".join(f" — {note}" + (f": {rewrite}" if rewrite else "")
                   for note, rewrite in gathered(records))


def advice_mark():
    return len(_ADVICE)


STABLE_REWRITES = {  # numpy's words → how to avoid them
    "overflow encountered in exp": "exp of non-positive numbers only, e.g. "
                                   "np.exp(-np.abs(x)), or scipy.special.expit for σ",
    "divide by zero encountered in log": "log of a positive number only, e.g. "
                                         "log-sum-exp: m + log Σ exp(x - m) with m = max x",
    "overflow encountered in": "keep the arguments small: shift by the maximum, or clip",
    "invalid value encountered in": "an inf - inf or 0 · inf on the way: compute the "
                                    "stable form instead",
    "divide by zero encountered in": "keep the divisor away from 0",
}


def warned_inputs(x, value):
    """The values of the input x a floating-point warning can be put down to, and why
    there: where the result (of x's shape) is inf or NaN; else where |x| > 709.78,
    beyond which exp(x) or exp(-x) leaves float64's range."""
    if isinstance(value, np.ndarray) and value.shape == x.shape and value.dtype.kind == "f":
        at = ~np.isfinite(value) & np.isfinite(x)
        if at.any():
            return tuple(x[at].tolist()), ", where your result is inf or NaN"
    return (tuple(x[np.abs(x) > EXP_OVERFLOW].tolist()),
            f" (|x| > {EXP_OVERFLOW:.2f}: exp(x) or exp(-x) is out of float64's range there)")


def floating_point_advice(where, caught, args, value=None):
    """Advice from numpy's floating-point warnings: the operation, the line, the input
    values it can be put down to (``warned_inputs``) and a stable rewrite."""
    records = [r for r in caught if issubclass(r.category, RuntimeWarning)
               and "encountered" in str(r.message)]
    arrays = [a for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size]
    values, why = ((), "")
    if records and arrays and where != "backward":  # backward's argument is the upstream gradient
        values, why = warned_inputs(arrays[0], value)
    notes = []
    for record in records:
        message = str(record.message)
        line = getattr(record.message, "line", "") or linecache.getline(
            record.filename, record.lineno).strip()
        rewrite = next((v for k, v in STABLE_REWRITES.items() if message.startswith(k)), "")
        if "where(" in line:
            rewrite = ("np.where evaluates both branches on every element, so the branch you "
                       "do not choose still runs: clamp its argument first, e.g. "
                       "np.exp(np.minimum(x, 0))")
        notes.append((f"numpy warned \"{message}\" in your {where}"
                      + (f" (`{line}`)" if line else ""), rewrite, values, why))
    return notes


def call_student(where, fn, *args):
    """Run student code on arguments made for this call (``lending.fresh``: arrays
    copied, lent ones as they are); numpy's floating-point warnings are recorded as
    advice, never raised (a check judges numbers)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with student_errstate():
                value = fn(*[fresh(a) for a in args])
        except Exception as error:
            _ADVICE.extend(floating_point_advice(where, caught, args))
            raise StudentCodeError(describe_exception(where, error)) from None
    _ADVICE.extend(floating_point_advice(where, caught, args, value))
    return value


def to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def compare(quantity, yours, expected, rtol=RTOL, atol=ATOL, context=None):
    """None when ``yours`` matches ``expected`` (a tensor or array), else a message
    naming the quantity, the shapes, the errors, the worst element and, where the
    arrays show one, the likely cause (``diagnose``; ``context`` may hold the input
    ``x``, the upstream gradient ``g``, ``sizes`` such as the batch size,
    ``hypotheses``: (mistake, what it would give), and ``in_place``: true for arrays the
    student updates in place, which cannot come back as float32)."""
    context = context or {}
    expected = np.asarray(to_numpy(expected), dtype=np.float64)
    if yours is None:
        return f"{quantity}: your code returned None (is a `return` missing?)"
    if isinstance(yours, (list, tuple)) and expected.ndim:
        return (f"{quantity}: your code returned a {type(yours).__name__}, not a numpy array "
                "(wrap it in np.asarray, or compute with numpy operations)")
    dtype = getattr(to_numpy(yours), "dtype", None)
    single = dtype in (np.float32, np.float16)
    if single:  # torch's own float32 result passes here (torch.testing's tolerances)
        rtol, atol = max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_ATOL)
    try:
        yours = np.asarray(to_numpy(yours), dtype=np.float64)
    except (TypeError, ValueError):
        return f"{quantity}: expected a numpy array, got {type(yours).__name__}"
    if yours.shape != expected.shape:
        problem = f"{quantity}: shape {yours.shape} != expected {expected.shape}"
        if yours.ndim == 2 and yours.shape == expected.shape[::-1]:
            problem += " — the transpose of torch's shape: a transpose missing or one too many?"
        return problem
    for bad, label in ((np.isnan, "NaN"), (np.isinf, "inf")):
        where = bad(yours) & ~bad(expected)
        if where.any():
            index = tuple(int(i) for i in np.argwhere(where)[0])
            return (f"{quantity}: {label} at index {index}{input_at(context, index)} where "
                    f"torch has {float(expected[index]):.10g} ({int(where.sum())} such elements)")
    agree = (np.isnan(yours) & np.isnan(expected)) | (np.isinf(yours) & (yours == expected))
    with np.errstate(invalid="ignore"):
        error = np.where(agree, 0.0, np.abs(yours - expected))
    allowed = np.where(agree, np.inf, atol + rtol * np.abs(expected))
    if (error <= allowed).all():
        if single:
            _ADVICE.append((f"your {quantity} came back as {dtype} and was compared at "
                            f"float32's tolerance (rtol {rtol:g}, atol {atol:g}, as "
                            "torch.testing)", "keep float64, the course's convention, for "
                            "the full float64 comparison", (), ""))
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error <= allowed, 0.0, error / allowed)
    index = np.unravel_index(int(np.nanargmax(ratio)), ratio.shape)
    index = tuple(int(i) for i in index)
    message = (f"{quantity}: {error_sizes(error, expected)}; worst at index {index}"
               f"{input_at(context, index)}: {yours_and_torch(yours[index], expected[index])} "
               f"(allowed |yours - torch| <= {atol:g} + {rtol:g}·|torch|)")
    causes = diagnose(yours, expected, dtype, index, context, rtol, atol)
    return message + "".join(f" — {cause}" for cause in causes)


def error_sizes(error, expected):
    """ "max abs error 0.5, max rel error 1": the relative error over the elements where
    torch's value is not 0 (where it is, a relative error says nothing: inf)."""
    nonzero = np.abs(expected) > 0
    relative = np.max(error[nonzero] / np.abs(expected[nonzero]), initial=0.0)
    return f"max abs error {error.max():.3g}" + (f", max rel error {relative:.3g}" if relative else "")


def yours_and_torch(yours, torch_value):
    """ "yours 1.5, torch 2", or where torch's value is 0: "torch gives 0 there, yours 1"."""
    if torch_value == 0:
        return f"torch gives 0 there, yours {yours:.10g}"
    return f"yours {yours:.10g}, torch {torch_value:.10g}"


def input_at(context, index):
    """" (x = …)" for an elementwise result whose input the context holds."""
    x = context.get("x")
    if x is None or len(index) != np.ndim(x):
        return ""
    try:
        return f" (x = {float(np.asarray(x)[index]):g})"
    except (IndexError, TypeError, ValueError):
        return ""


def close(a, b):
    return bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def tolerances_apart(a, b, expected, rtol, atol):
    """max |a - b| / (atol + rtol·|torch|) over the arrays of ``a`` and ``b``: how many
    of the comparison's tolerances (at torch's ``expected``) lie between them."""
    def apart(x, y, e):
        with np.errstate(invalid="ignore", divide="ignore"):
            error = np.where(x == y, 0.0, np.abs(x - y))  # equal infinities: 0 apart
            return np.divide(error, atol + rtol * np.abs(e), out=np.zeros_like(error),
                             where=error != 0)  # a NaN stays NaN: never "apart enough"
    return float(np.max([np.max(apart(*arrays), initial=0.0) for arrays in zip(a, b, expected, strict=False)],
                        initial=0.0))


def shows_mistake(yours, mistake, expected, rtol, atol):
    """Whether ``yours`` (a list of arrays) shows a known mistake, ``mistake`` being what
    it gives: the mistake is told apart from the right answer (it lies DISTINCT or more
    tolerances from torch's ``expected``) and yours matches it (to 1e-6), DISTINCT
    times closer to it than it is to torch's. A mistake that changes the numbers by
    less (2 to DISTINCT tolerances) is named only when yours reproduces it to 1e-3 of a
    tolerance; one within 2 tolerances of torch (ε inside the root with ε = 1e-8) never."""
    apart = tolerances_apart(mistake, expected, expected, rtol, atol)
    if not all(map(close, yours, mistake)):
        return False
    yours_apart = tolerances_apart(yours, mistake, expected, rtol, atol)
    if apart >= DISTINCT:
        return DISTINCT * yours_apart <= apart
    # A mistake only a few tolerances off torch is named when yours reproduces it to a
    # thousandth of a tolerance: float32 state or another near miss lands a tolerance away.
    return apart >= 2 and yours_apart <= 1e-3


def diagnose(yours, expected, dtype, index, context, rtol=RTOL, atol=ATOL):
    """Likely causes of a mismatch, in words: the ones the arrays show. Each rule is a
    small function that tests the numbers; the first that fits names the cause
    (``known``: causes the check already established, e.g. a known mistake)."""
    if context.get("known"):
        return list(context["known"])
    causes = []
    hypotheses = [(name, np.asarray(to_numpy(value), dtype=np.float64))
                  for name, value in context.get("hypotheses", ())]
    for name, value in hypotheses:
        if value.shape == yours.shape and shows_mistake([yours], [value], [expected], rtol, atol):
            causes.append(f"your numbers match {name}")
    if not causes:
        causes += float32_rounding(yours, expected, dtype, context)
    causes += kink(yours, expected, index, context)
    significant = np.abs(expected) > 1e-8
    if not causes and significant.any():
        if close(-yours, expected):
            causes.append("the sign is flipped: yours = −torch")
        elif yours.ndim == 2 and yours.shape[0] == yours.shape[1] and close(yours.T, expected):
            causes.append("yours is the transpose of torch's")
        else:
            causes += (negative_side(yours, expected, context)
                       or factor_causes(yours[significant] / expected[significant],
                                        context.get("sizes", {}), context.get("factors", {}))
                       or small_offset(yours[significant], expected[significant]))
    return causes


def float32_ulps(yours, expected):
    """|yours − torch| in float32 ulps at torch's value, elementwise (finite ones)."""
    finite = np.isfinite(yours) & np.isfinite(expected)
    spacing = np.spacing(np.abs(expected[finite]).astype(np.float32)).astype(np.float64)
    return np.abs(yours[finite] - expected[finite]) / spacing


def is_float32_valued(values):
    """Whether every finite value is a float32 number (float32 arithmetic, cast back)."""
    finite = values[np.isfinite(values)]
    return bool(np.array_equal(finite.astype(np.float32).astype(np.float64), finite))


def float32_rounding(yours, expected, dtype, context):
    """"float32 rounding", named only where the numbers show it: a float32 result; a
    float64 one whose values are all float32 numbers (and torch's are not), off by
    float32 rounding; or an array (not one number) within FLOAT32_ULPS float32 ulps of
    torch's everywhere, most elements within one ulp, as rounding is."""
    if dtype is not None and dtype in (np.float32, np.float16):
        return [f"your result is {dtype}, compared at float32's tolerance: it is off "
                "by more than float32 rounding"]
    ulps = float32_ulps(yours, expected)
    if not ulps.size:
        return []
    if is_float32_valued(yours) and not is_float32_valued(expected):
        small = (np.abs(yours - expected) <= FLOAT32_ROUNDING * np.maximum(1, np.abs(expected)))
        if not small.all():
            return []
        evidence = "your values are float32 numbers, off by float32 rounding"
    elif yours.size > 1 and ulps.max() <= FLOAT32_ULPS and np.median(ulps) <= 1:
        evidence = f"within {max(1, round(float(ulps.max())))} float32 ulps of torch's everywhere"
    else:
        return []
    fix = ("the arrays you update in place are float64 and compared at float64's "
           "tolerance — compute the update in float64: keep your state (momentum "
           "velocity, Adam's moments) as float64 arrays, e.g. np.zeros_like(p)"
           if context.get("in_place") else
           "a float64 result is compared at float64's tolerance — keep float64 "
           "throughout, or return float32 to be compared at float32's")
    return [f"this looks like float32 rounding ({evidence}): {fix}"]


def kink(yours, expected, index, context):
    """The worst element's input is 0, a kink: torch's subgradient there, and yours."""
    x, g = context.get("x"), context.get("g")
    if x is None or np.shape(x) != yours.shape or float(np.asarray(x)[index]) != 0.0:
        return []
    if g is not None and np.shape(g) == yours.shape and g[index] != 0:
        return [f"x = 0 is a kink: torch uses f'(0) = {expected[index] / g[index] + 0.0:g} "
                f"there, yours is {yours[index] / g[index] + 0.0:g}"]
    return ["x = 0 is a kink: use torch's value there (see the conventions)"]


def negative_side(yours, expected, context):
    """An elementwise result right for x > 0 and a constant factor off for x < 0: a
    slope where torch's is linear there (y/x, or dL/dx over g, constant), else the
    factor."""
    x, g = context.get("x"), context.get("g")
    if x is None or np.shape(x) != yours.shape:
        return []
    x = np.asarray(x)
    positive, negative = x > 0, (x < 0) & (np.abs(expected) > 1e-8)
    if not negative.any() or not close(yours[positive], expected[positive]):
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = yours[negative] / expected[negative]
        base = g if g is not None and np.shape(g) == yours.shape else x
        slopes = expected[negative] / np.asarray(base)[negative]
    if not (np.isfinite(ratios).all() and close(ratios, ratios[0])) or close(ratios[0], 1):
        return []
    if np.isfinite(slopes).all() and close(slopes, slopes[0]):
        return [f"for x < 0 your slope is {ratios[0] * slopes[0]:.6g}, torch's {slopes[0]:.6g}"]
    return [f"for x < 0 yours is {ratios[0]:.6g} × torch's (right for x > 0)"]


def factor_causes(ratios, sizes, factors=None):
    """A constant factor between yours and torch's, named: first what the check says
    it means for this quantity (``factors``: {ratio: words}, e.g. MSE's 2), then a size
    (a mean missing or one too many), then 2 or ½; any other constant only on several
    elements (one number's ratio to another is always "constant")."""
    if not (np.isfinite(ratios).all() and close(ratios, ratios[0])):
        return []
    r = float(ratios[0])
    if close(r, 0):
        return ["yours is 0 where torch's is not"]
    for ratio, words in (factors or {}).items():
        if close(r, ratio):
            return [words]
    for label, n in sizes.items():
        two = " (or a factor 2 too many)" if n == 2 else ""
        if n >= 2 and close(r, n):
            return [f"yours is exactly {n} × torch's, {n} = {label}: a mean missing "
                    f"(divide by {n})?{two}"]
        half = " (or a factor 2 missing)" if n == 2 else ""
        if n >= 2 and close(r, 1 / n):
            return [f"yours is exactly 1/{n} of torch's, {n} = {label}: a mean (division "
                    f"by {n}) too many?{half}"]
    if close(r, 2):
        return ["yours is exactly 2 × torch's: a factor 2 too many (or a ½ missing)?"]
    if close(r, 0.5):
        return ["yours is exactly ½ of torch's: a factor 2 missing (or a ½ too many)?"]
    if len(ratios) > 1 and not close(r, 1):
        return [f"yours is {r:.6g} × torch's everywhere: a constant factor"]
    return []


def small_offset(yours, expected):
    """Close to torch's (relative error below SMALL_OFFSET) but not by rounding (the
    float32 rule did not fit): an ε or offset of its own."""
    relative = float(np.max(np.abs(yours - expected) / np.abs(expected)))
    if not relative < SMALL_OFFSET:
        return []
    return ["close to torch's, but off by more than float64 or float32 rounding: an ε or "
            "small offset that torch does not add, or adds elsewhere?"]


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
            for t, p in zip(tensors, params, strict=False):
                if tuple(t.shape) != np.shape(p):
                    raise StudentCodeError(f"parameter shape {np.shape(p)} != torch's "
                                           f"{tuple(t.shape)}")
                t.copy_(torch.as_tensor(np.asarray(p, dtype=np.float64)))
                t.grad = None
        return module(xt), xt, tensors
    tensors = [torch.tensor(np.asarray(p, dtype=np.float64), device=device, requires_grad=True)
               for p in params]
    return torch_fn(xt, *tensors), xt, tensors


def check_module(make: Callable[..., Any], torch_fn: Callable[..., Any], shapes: Sequence[tuple[int, ...]],
                 name: str | None = None, seed: int = 0, device: "str | torch.device" = "auto",
                 edge_values: bool = False, rtol: float = RTOL, atol: float = ATOL,
                 mistakes: Sequence[Any] = ()) -> Verdict:
    """Compare forward, dL/dx and dL/dθ of a module with ``torch_fn`` on inputs of
    each shape in ``shapes``, with upstream gradient g drawn per case (L = Σ g·y).

    make: the implementation (instance, class, or zero-argument factory) with
    ``forward(x)``, ``backward(dout) -> dx`` and, if it has parameters,
    ``parameters()``/``gradients()``. mistakes: (name, torch function) pairs of known
    wrong versions; a forward that matches one is told so.
    """
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or str(getattr(make, "__name__", type(make).__name__))
    failures, comparisons = [], 0
    for case, shape in enumerate(shapes, 1):
        x = draw_input(rng, shape, edge_values)
        where = f"on input x of shape {tuple(shape)} (case {case} of {len(shapes)}, seed {seed})"
        mark = advice_mark()
        try:
            impl = call_student("constructor", instantiate, make)
            params = [np.array(p, dtype=np.float64) for p in call_student(
                "parameters()", getattr(impl, "parameters", list))]
            y_t, x_t, params_t = torch_forward(torch_fn, x, params, device)
            g = rng.standard_normal(tuple(y_t.shape))
            x_in = lend(x.copy())  # lent: a forward that writes into x is told so
            y = call_student("forward", impl.forward, x_in)
            comparisons += 1
            elementwise = edge_values and tuple(y_t.shape) == tuple(shape)
            context = {"x": x if elementwise else None, "hypotheses": [
                (mistake, torch_forward(wrong, x, params, device)[0].detach())
                for mistake, wrong in mistakes]}
            problem = compare("forward", y, y_t, rtol, atol, context)
            if problem is None and not np.array_equal(x_in, x):
                problem = "forward: your code modified its input x in place"
            if problem:
                failures.append(f"{problem} {where}{warned_since(mark)}")
                continue
            y_t.backward(torch.tensor(g, device=device))
            dx = call_student("backward", impl.backward, g.copy())
            sizes = {"the batch size": shape[0]} if len(shape) > 1 else {}
            checks = [("dL/dx", dx, x_t.grad, dict(x=x if elementwise else None,
                                                   g=g if elementwise else None, sizes=sizes))]
            if params:
                names = param_names_of(impl)
                grads = call_student("gradients()", impl.gradients)
                checks += [(f"dL/d{n}", gr, t.grad, {"sizes": sizes})
                           for n, gr, t in zip(names, grads, params_t, strict=False)]
            for quantity, yours, expected, context in checks:
                comparisons += 1
                problem = compare(quantity, yours, expected, rtol, atol, context)
                if problem:
                    failures.append(f"{problem} {where}{warned_since(mark)}")
        except StudentCodeError as error:
            comparisons += 1
            failures.append(f"{error} {where}{warned_since(mark)}")
    return Verdict(name, failures, comparisons)


def check_function(fn: Callable[..., Any], torch_fn: Callable[..., Any], make_args: Callable[..., Any],
                   cases: int = 4, name: str | None = None, seed: int = 0,
                   device: "str | torch.device" = "auto", rtol: float = RTOL, atol: float = ATOL) -> Verdict:
    """Forward-only check of a plain function: for each case, ``make_args(rng)``
    returns a tuple of numpy arrays; fn(*args) must equal torch_fn(*tensors)."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or str(getattr(fn, "__name__", "function"))
    failures = []
    for case in range(1, cases + 1):
        args = make_args(rng)
        shapes = ", ".join(str(np.shape(a)) for a in args)
        where = f"on arguments of shapes {shapes} (case {case} of {cases}, seed {seed})"
        tensors = [torch.tensor(np.asarray(a, dtype=np.float64), device=device) for a in args]
        mark = advice_mark()
        try:  # the student's own copies; a 0-d argument as a scalar, as the API says
            yours = call_student(name, fn, *[np.array(a, copy=True) if np.ndim(a) else
                                             np.asarray(a)[()] for a in args])
            expected = torch_fn(*tensors)
            elementwise = len(args) == 1 and np.shape(args[0]) == tuple(expected.shape)
            problem = compare("result", yours, expected, rtol, atol,
                              {"x": args[0] if elementwise else None})
        except StudentCodeError as error:
            problem = str(error)
        if problem:
            failures.append(f"{problem} {where}{warned_since(mark)}")
    return Verdict(name, failures, cases)


def check_loss(make: Callable[..., Any], torch_fn: Callable[..., Any], cases: Sequence[Any],
               name: str | None = None, seed: int = 0, device: "str | torch.device" = "auto",
               rtol: float = RTOL, atol: float = ATOL, factors: Any = None) -> Verdict:
    """Compare a loss's value and dL/dpred with ``torch_fn(pred, target)``.

    cases: a list of ``make_case(rng) -> (pred, target)``; the loss implementation
    has ``forward(pred, target) -> scalar`` and ``backward() -> dL/dpred``.
    factors: {quantity: {ratio: words}}, what a constant factor means for this loss
    (``factor_causes``). A loss that fails on one kind of target only (integer labels,
    one-hot or probability rows) and passes on the others is told so (``target_kinds``).
    """
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or str(getattr(make, "__name__", type(make).__name__))
    failures, comparisons, kinds = [], 0, []
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
        sizes = {"the number of elements": pred.size,
                 "the batch size": pred.shape[0] if pred.ndim > 1 else pred.size}
        if pred.ndim > 1 and 1 < pred.size // pred.shape[0] < pred.size:
            sizes["the number of elements per sample"] = pred.size // pred.shape[0]
        factors = factors or {}
        mark = advice_mark()
        try:
            loss = call_student("constructor", instantiate, make)
            value = call_student("forward", loss.forward, pred.copy(), np.array(target, copy=True))
            comparisons += 1
            problem = compare("loss value", value, loss_t, rtol, atol,
                              {"sizes": sizes, "factors": factors.get("loss value")})
            if problem is None:
                comparisons += 1
                problem = compare("dL/dpred", call_student("backward", loss.backward),
                                  pred_t.grad, rtol, atol,
                                  {"sizes": sizes, "factors": factors.get("dL/dpred")})
        except StudentCodeError as error:
            comparisons += 1
            problem = str(error)
        kinds.append((target_kind(target), problem))
        if problem:
            failures.append(f"{problem} {where}{warned_since(mark)}")
    return Verdict(name, target_kinds(failures, kinds), comparisons)


def target_kind(target):
    """ "integer class labels", "one-hot rows", "probability rows" or "real targets"."""
    target = np.asarray(target)
    if target.dtype.kind in "iub":
        return "integer class labels"
    if target.ndim == 2 and np.isin(target, (0.0, 1.0)).all() and (target.sum(axis=1) == 1).all():
        return "one-hot rows"
    if target.ndim == 2 and (target >= 0).all() and np.allclose(target.sum(axis=1), 1):
        return "probability rows"
    return "real targets"


def target_kinds(failures, kinds):
    """Failures on one kind of target only, where every case of the others passed:
    each is told which kind it fails on and which it passes."""
    failed = {kind for kind, problem in kinds if problem}
    passed = {kind for kind, _ in kinds} - failed
    if not failed or not passed:
        return failures
    note = (f" — it fails on {' and '.join(sorted(failed))} only and passes on "
            f"{' and '.join(sorted(passed))}: your loss must take "
            f"{' and '.join(sorted(failed))} too")
    return [failure + note for failure in failures]


def check_optimizer(make: Callable[..., Any], make_torch: Callable[..., Any],
                    shapes: Sequence[tuple[int, ...]] = ((4, 3), (3,), (1, 5)), steps: int = 6,
                    name: str | None = None, seed: int = 0, device: "str | torch.device" = "auto",
                    rtol: float = RTOL, atol: float = ATOL, mistakes: Sequence[Any] = ()) -> Verdict:
    """Run ``steps`` updates of ``make(params)`` (numpy arrays, updated in place by
    ``step(grads)``) and ``make_torch(tensors)`` on the same seeded gradients; compare
    every parameter after every step. mistakes: (name, run(initial params, gradients
    so far) -> parameters) of known wrong optimizers; a student whose parameters
    match one (``shows_mistake``) is told which."""
    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    name = name or str(getattr(make, "__name__", "optimizer"))
    params = lend([rng.standard_normal(s) for s in shapes])  # state updated in place
    initial = [p.copy() for p in params]
    tensors = [torch.tensor(p, device=device, requires_grad=True) for p in params]
    reference = make_torch(tensors)
    failures, comparisons, history = [], 0, []
    mark = advice_mark()
    try:
        optimizer = call_student("constructor", make, params)
        for step in range(1, steps + 1):
            grads = [rng.standard_normal(s) for s in shapes]
            history.append(grads)
            for t, g in zip(tensors, grads, strict=False):
                t.grad = torch.tensor(g, device=device)
            reference.step()
            before = [p.copy() for p in params]
            call_student(f"step (call {step})", optimizer.step, [g.copy() for g in grads])
            expected = [t.detach().cpu().numpy() for t in tensors]
            known = None  # the known mistakes the parameters show, once one of them fails
            for i, (p, t) in enumerate(zip(params, tensors, strict=False)):
                comparisons += 1
                context = {"in_place": True, "known": known}
                problem = compare(f"parameter {i} {p.shape} after step {step}", p,
                                  t.detach(), rtol, atol, context)
                if problem and known is None:
                    known = [f"your parameters match {mistake}" for mistake, run in mistakes
                             if shows_mistake(params, run(initial, history), expected, rtol, atol)]
                    if known:
                        problem = compare(f"parameter {i} {p.shape} after step {step}", p,
                                          t.detach(), rtol, atol, {**context, "known": known})
                if problem and np.array_equal(before[i], p):
                    problem += " — it did not change: update the arrays in place (p -= ...)"
                if problem:
                    failures.append(problem + warned_since(mark))
            if failures:
                break
    except StudentCodeError as error:
        comparisons += 1
        failures.append(str(error) + warned_since(mark))
    return Verdict(name, failures, comparisons)
