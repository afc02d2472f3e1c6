"""Fairness: every correct implementation in the corpus (``tests/fairness``) passes its
check, on the visible seed and on another one, here and through the grader's
out-of-process path (the implementation in a notebook's process, the check in the
grader's). A check
that rejects one of these rejects a correct student.

The ``float32_arithmetic`` cases compute in float32 and hand back float64 (right to
float32 rounding only). The rule (``autograder.student.oracle``): a float64 result is compared
at float64's tolerance, so these may fail, but only with a failure that names float32
rounding; a result returned *as* float32 is compared at torch's float32 tolerance and
passes (``test_a_float32_result_passes_at_float32_tolerance``).
"""

import time

import pytest

from autograder.course.build import load_manifest
from autograder.grading.judge import probes_of, remote_probe
from autograder.sandbox.notebook_process import ForkedNotebook, warm_up
from autograder.student import components
from tests.fairness.implementations import CORRECT

SEEDS = (0, load_manifest()["hidden_seed"])  # visible, hidden
CASES = [pytest.param(index, case.float32, id=case.name + ("[float32]" if case.float32 else ""))
         for index, case in enumerate(CORRECT)]


def describe(case):
    return f"{case.name} ({case.impl.__doc__.strip().splitlines()[0] if case.impl.__doc__ else ''}" \
           f"{'; ' + case.note if case.note else ''})"


def test_the_corpus_is_broad():
    checks = {case.check_name for case in CORRECT}
    assert len(CORRECT) >= 45 and len(checks) >= 12
    assert all(hasattr(components, name) for name in checks)
    assert len({case.name for case in CORRECT}) == len(CORRECT)
    assert all(case.impl.__doc__ for case in CORRECT)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("index, float32_arithmetic", CASES)
def test_correct_implementation_passes(index, float32_arithmetic, seed):
    case = CORRECT[index]
    verdict = getattr(components, case.check_name)(case.impl, seed=seed)
    assert passes_by_the_rule(verdict, float32_arithmetic), f"{describe(case)}, seed {seed}:\n{verdict}"


def passes_by_the_rule(verdict, float32_arithmetic):
    """Passed; or, for float32 arithmetic in a float64 result, failed only with words
    that name float32 rounding."""
    if verdict.passed:
        return True
    return float32_arithmetic and all("looks like float32 rounding" in f for f in verdict.failures)


def test_a_float32_result_passes_at_float32_tolerance():
    import numpy as np

    class Float32Sigmoid:
        """A stable sigmoid in float32 that returns float32."""

        def forward(self, x):
            x = x.astype(np.float32)
            e = np.exp(-np.abs(x))
            self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
            return self.y

        def backward(self, dout):
            return dout.astype(np.float32) * self.y * (1 - self.y)

    verdict = components.check_sigmoid(Float32Sigmoid)
    assert verdict.passed, str(verdict)
    assert any("compared at float32's tolerance" in advice for advice in verdict.advice)


@pytest.fixture(scope="module")
def notebook():
    shell = warm_up()
    shell.user_ns["fairness_corpus"] = [case.impl for case in CORRECT]
    forked = ForkedNotebook(timeout=60)  # forked now: the namespace above goes with it
    yield forked.link
    forked.close()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("index, float32_arithmetic", CASES)
def test_correct_implementation_passes_through_the_wire(notebook, index, float32_arithmetic, seed):
    case = CORRECT[index]
    notebook.deadline = time.monotonic() + 120  # a hung child fails this case, not the run
    notebook.request("reset")  # a fresh time budget in the notebook's process for this check
    remote = notebook.request("lookup", "fairness_corpus")[index]
    options = {option: remote_probe(notebook, probe)
               for option, probe in probes_of(case.check_name).items()}
    verdict = getattr(components, case.check_name)(remote, seed=seed, **options)
    assert passes_by_the_rule(verdict, float32_arithmetic), \
        f"{describe(case)}, seed {seed}, through the wire:\n{verdict}"


def corpus_case(name):
    return next(index for index, case in enumerate(CORRECT) if case.name == name)


@pytest.mark.parametrize("where", ["here", "through the wire"])
@pytest.mark.parametrize("name, operation, rewrite", [
    ("Sigmoid/naive", "overflow encountered in exp", "exp of non-positive numbers only"),
    ("ELU/where-exp", "overflow encountered in exp", "np.where evaluates both branches"),
])
def test_a_warning_on_the_way_to_right_numbers_is_advice(notebook, where, name, operation,
                                                        rewrite):
    """The rule: numbers are judged; numpy's warning is advice that names the operation,
    the student's line, the input values it came from and a stable rewrite — locally and
    in the grader."""
    case = CORRECT[corpus_case(name)]
    impl = case.impl
    if where != "here":
        notebook.deadline = time.monotonic() + 120
        notebook.request("reset")
        impl = notebook.request("lookup", "fairness_corpus")[corpus_case(name)]
    verdict = getattr(components, case.check_name)(impl)
    assert verdict.passed, str(verdict)
    advice = "\n".join(verdict.advice)
    assert f'numpy warned "{operation}"' in advice and "np.exp(" in advice, advice
    assert "at x = -1000, 1000" in advice and "x from" not in advice, advice  # where it warned
    assert rewrite in advice and "cost nothing" in advice, advice
    assert "advice:" in str(verdict)  # what the notebook and the feedback show
