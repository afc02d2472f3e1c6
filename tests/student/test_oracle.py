"""The oracle passes every reference component, fails every mutant with a message
naming the fault, and reports raising / None / non-array / NaN implementations."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import solutions as S
from autograder.course.gradcheck import gradcheck_module
from autograder.course.reference import REFERENCE_CHECKS
from autograder.student import components as C
from autograder.student.oracle import Verdict, check_loss, check_module, check_optimizer, compare
from tests.mutants import MUTANTS


@pytest.mark.parametrize("component, counterpart, check, reference", REFERENCE_CHECKS,
                         ids=[row[0] for row in REFERENCE_CHECKS])
def test_reference_passes(component, counterpart, check, reference):
    verdict = check(reference, device="cpu")
    assert verdict.passed, str(verdict)
    assert verdict.comparisons >= 1


@pytest.mark.parametrize("component, counterpart, check, reference", REFERENCE_CHECKS,
                         ids=[row[0] for row in REFERENCE_CHECKS])
def test_reference_passes_hidden_seed(component, counterpart, check, reference):
    assert check(reference, seed=20261124, device="cpu").passed


@pytest.fixture
def seeded_entropy(monkeypatch):
    """np.random.default_rng() with no seed draws from a fixed seed, not from the OS.
    The reference initialises its weights that way; a mutant's message may depend on
    those weights (an MLP's square layer whose every unit downstream is dead gives a
    zero gradient, whose transpose is torch's: 1 run in 2 000), so a mutant test seeds
    them to be the same on every run. The reference's own tests keep fresh entropy: a
    right implementation passes from any initial weights."""
    default_rng = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng",
                        lambda seed=None: default_rng(20261206 if seed is None else seed))


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_caught(mutant, seeded_entropy):
    verdict = mutant.check(mutant.impl, device="cpu")
    assert not verdict.passed, f"{mutant.name} passed the oracle"
    assert mutant.expect in str(verdict)


def test_every_component_has_a_mutant():
    checked = {m.check for m in MUTANTS}
    assert {row[2] for row in REFERENCE_CHECKS} <= checked


class Raises(S.ReLU):
    def forward(self, x):
        raise ValueError("shapes do not align")


class ReturnsList(S.ReLU):
    def forward(self, x):
        return "not an array"


class ReturnsNaN(S.ReLU):
    def forward(self, x):
        y = super().forward(x)
        y.flat[0] = np.nan
        return y


class BackwardRaises(S.ReLU):
    def backward(self, dout):
        return dout @ np.ones((7, 7))


@pytest.mark.parametrize("impl, expected", [
    (Raises, "your forward raised ValueError: shapes do not align (line"),
    (ReturnsList, "forward: expected a numpy array, got str"),
    (ReturnsNaN, "forward: NaN at index (0, 0) (x = -1000) where torch has 0 (1 such elements)"),
    (BackwardRaises, "your backward raised ValueError"),
])
def test_student_faults_are_named(impl, expected):
    verdict = C.check_relu(impl, device="cpu")
    assert expected in str(verdict)
    with pytest.raises(AssertionError, match="comparisons with torch failed"):
        verdict.assert_passed()


def test_failure_message_names_quantity_shape_errors_and_worst_element():
    yours = np.zeros((2, 3))
    expected = torch.zeros(2, 3, dtype=torch.float64)
    expected[1, 2] = 0.5
    message = compare("dL/dW", yours, expected)
    assert message.startswith("dL/dW: max abs error 0.5, max rel error 1;")
    assert "worst at index (1, 2): yours 0, torch 0.5" in message
    assert compare("dL/dW", yours.T, expected) == (
        "dL/dW: shape (3, 2) != expected (2, 3) — the transpose of torch's shape: a transpose "
        "missing or one too many?")


def test_tolerance_policy_is_rtol_and_atol():
    expected = np.array([1.0, 0.0])
    assert compare("x", expected * (1 + 0.9e-7), expected) is None
    assert compare("x", expected * (1 + 1.1e-7), expected) is not None
    assert compare("x", np.array([1.0, 0.9e-10]), expected) is None
    assert compare("x", np.array([1.0, 1.1e-10]), expected) is not None


def test_matching_infinities_and_nans_agree():
    values = np.array([np.inf, -np.inf, np.nan])
    assert compare("x", values, values.copy()) is None
    assert "inf at index (0,)" in compare("x", np.array([np.inf]), np.array([1.0]))


def test_module_counterpart_with_other_parameter_count_is_reported():
    verdict = check_module(lambda: S.Linear(3, 2), torch.nn.Bilinear(3, 3, 2, bias=False),
                           [(2, 3)], device="cpu")
    assert "your module has 2 parameters, torch's Bilinear has 1" in str(verdict)


def test_loss_that_returns_none_backward_is_reported():
    class NoBackward(S.MSELoss):
        def backward(self):
            pass
    verdict = check_loss(NoBackward, F.mse_loss, [C.regression_case((3, 2))], device="cpu")
    assert "dL/dpred: your code returned None" in str(verdict)


def test_verdict_combine_keeps_the_part_names():
    combined = Verdict.combine("all", [Verdict("part A", ["boom"], 2), Verdict("B", [], 3)])
    assert combined.failures == ["part A: boom"] and combined.comparisons == 5
    assert not combined and str(combined).startswith("all: 1 of 5 comparisons")


@pytest.mark.gpu
@pytest.mark.parametrize("component, counterpart, check, reference", REFERENCE_CHECKS,
                         ids=[row[0] for row in REFERENCE_CHECKS])
def test_reference_passes_on_cuda(component, counterpart, check, reference):
    assert check(reference, device="cuda").passed


@pytest.mark.gpu
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_cuda_verdict_equals_cpu_verdict(mutant):
    assert mutant.check(mutant.impl, device="cuda").passed == mutant.check(
        mutant.impl, device="cpu").passed


def test_self_check_shows_the_advice_of_a_passed_question():
    from autograder.student.selfcheck import PASSED, question_status, report
    from tests.fairness.implementations import CORRECT
    naive = next(case.impl for case in CORRECT if case.name == "Sigmoid/naive")
    verdict = C.check_sigmoid(naive, device="cpu")
    cell = {"outputs": [{"output_type": "execute_result", "data": {"text/plain": repr(verdict)}}]}
    status, message = question_status(cell)
    assert status == PASSED and message.startswith("advice: numpy warned"), message
    text = report("02_activations.ipynb", [("test_sigmoid", 2, status, message)])
    assert "test_sigmoid passed, with advice:" in text and "overflow encountered in exp" in text


def test_self_check_lists_written_answers_as_graded_by_hand(tmp_path):
    import nbformat

    from autograder.student.selfcheck import ANSWERED, UNANSWERED, check_notebook, report

    def written(grade_id, points, source):
        cell = nbformat.v4.new_markdown_cell(source)
        cell.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": grade_id,
                                     "points": points, "locked": False, "schema_version": 3}
        return cell
    path = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        written("q_a", 1, "Because the hidden layer separates them."),
        written("q_b", 2, "YOUR ANSWER HERE")]), str(path))
    results = check_notebook(path)
    assert [(q, s) for q, _, s, _ in results] == [("q_a", ANSWERED), ("q_b", UNANSWERED)]
    assert report(path, results).endswith("Written answers (3 points) are graded by hand.")
    assert "Points from the visible tests: 0/3 (3 to grade by hand)." in report(path, results)


class NotStarted:
    def forward(self, x):
        raise NotImplementedError()

    def backward(self, dout):
        raise NotImplementedError()


class ForwardOnly(S.ReLU):
    def backward(self, dout):
        raise NotImplementedError()


def test_an_unstarted_exercise_is_one_line_naming_where():
    """Not "raised NotImplementedError … case k of 5" five times: one line, with the
    student's own line number."""
    import inspect
    line = inspect.getsourcelines(NotStarted.forward)[1] + 1
    text = str(C.check_relu(NotStarted, device="cpu"))
    assert text == f"ReLU: not attempted yet — your forward (line {line}) still raises " \
                   "NotImplementedError: replace `raise NotImplementedError()` with your code"
    text = str(C.check_relu(ForwardOnly, device="cpu"))
    assert text.startswith("ReLU: not attempted yet — your backward (line") and "\n" not in text


def test_the_same_error_on_every_input_is_said_once():
    class Raises:
        def forward(self, x):
            raise ValueError("shapes do not align")

        def backward(self, dout):
            return dout
    verdict = C.check_relu(Raises, device="cpu")
    lines = [line for line in str(verdict).splitlines() if line.startswith("  - ")]
    assert len(lines) == 1 and lines[0].startswith(
        f"  - on all {len(verdict.failures)} inputs: your forward raised ValueError")


def test_plain_checks_do_not_claim_a_comparison_with_torch():
    verdict = C.check_perceptron_fit(S.Perceptron, device="cpu")
    assert str(verdict) == f"Perceptron.fit: all {verdict.comparisons} checks passed"
    assert str(Verdict("x", [], 1)) == "x: 1 comparison with torch passed"
    assert "with finite differences" in str(
        gradcheck_module(S.Tanh, (3, 4)))


def test_a_finding_of_the_checker_names_no_line_of_the_checker():
    """The check's own wrapper finds x left changed: the message is the finding, not
    "line 242 in yours" (a line of the checker)."""
    from solutions.gradcheck import numerical_gradient

    def leaves_x_changed(f, x):
        grad = numerical_gradient(f, x)
        x += 1e-3
        return grad
    text = str(C.check_numerical_gradient(leaves_x_changed, device="cpu"))
    assert "your numerical_gradient: x was left changed" in text
    assert "in yours" not in text and "components/backprop.py" not in text


def test_a_failed_check_in_a_notebook_shows_its_message_not_the_checkers_frames(tmp_path):
    """IPython shows hidden frames except the one that raised: so the failure renders
    itself (``_render_traceback_``), in the notebook and in the grader's feedback."""
    import nbformat

    from autograder.student.execute import execute_notebook
    path = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from autograder.student.components import check_relu\n"
        "class ReLU:\n    def forward(self, x):\n        raise NotImplementedError()\n"
        "    def backward(self, g):\n        raise NotImplementedError()\n"
        "check_relu(ReLU).assert_passed()")]), str(path))
    output, = execute_notebook(path, cwd=Path(__file__).parents[2]).cells[0].outputs
    shown = "\n".join(output["traceback"])
    assert output["ename"] == "CheckFailed" and "not attempted yet" in shown
    assert "oracle.py" not in shown and "Traceback" not in shown


class AdamFloat32Moments(S.Adam):
    """A near miss: Adam with its moments kept in float32 (right to float32 rounding)."""

    def __init__(self, params, **kw):
        super().__init__(params, **kw)
        self.m = [np.zeros(p.shape, np.float32) for p in self.params]
        self.v = [np.zeros(p.shape, np.float32) for p in self.params]


def test_a_known_mistake_is_named_only_where_it_is_told_apart_from_torch():
    """ε inside the root with Adam's default ε = 1e-8 moves the parameters by about
    1e-8 relative, inside the tolerance: every near miss would "match" it. A mistake is
    named only when it lies far outside the tolerance and yours lies far closer to it."""
    from autograder.student.oracle import ATOL, DISTINCT, RTOL, shows_mistake
    right = np.linspace(-2, 2, 9)
    near_miss = [right * (1 + 3 * RTOL)]  # fails the check, close to both below
    assert not shows_mistake(near_miss, [right * (1 + RTOL / 10)], [right], RTOL, ATOL)
    far = right * (1 + 10 * DISTINCT * RTOL)
    assert shows_mistake([far.copy()], [far], [right], RTOL, ATOL)
    assert not shows_mistake([(far + right) / 2], [far], [right], RTOL, ATOL)
    few = right * (1 + 3 * RTOL)  # a mistake a few tolerances off: named only when reproduced
    assert shows_mistake([few.copy()], [few], [right], RTOL, ATOL)
    assert not shows_mistake([right * (1 + 2.5 * RTOL)], [few], [right], RTOL, ATOL)

    kw = {"lr": 0.01}  # ε = 1e-8
    verdicts = [check_optimizer(lambda p: AdamFloat32Moments(p, **kw),
                                lambda t: torch.optim.Adam(t, **kw), seed=seed, device="cpu",
                                mistakes=C.adam_mistakes(kw)) for seed in range(10)]
    failed = [str(v) for v in verdicts if not v.passed]
    assert failed and all("ε inside" not in text and "float32 rounding" in text for text in failed)

    from tests.mutants import AdamEpsInsideRoot
    eps_inside = C.check_adam(AdamEpsInsideRoot, device="cpu").failures[0]
    assert "'eps': 1e-06" in eps_inside and "match Adam with ε inside the square root" in eps_inside


class SGDFloat32Velocity(S.SGD):
    """Momentum kept in a float32 buffer; the parameters still float64, updated in place."""

    def step(self, grads):
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            g = g + self.weight_decay * p
            if self.momentum:
                b = self.buffers[i]
                self.buffers[i] = (g if b is None else self.momentum * b + g).astype(np.float32)
                g = self.buffers[i]
            p -= self.lr * g


def test_float32_rounding_in_an_optimizer_is_told_to_compute_in_float64():
    """An optimizer updates float64 arrays in place: it cannot return float32."""
    verdict = C.check_sgd(SGDFloat32Velocity, device="cpu")
    assert not verdict.passed and all("looks like float32 rounding" in f for f in verdict.failures)
    assert "keep your state (momentum velocity, Adam's moments) as float64" in str(verdict)
    assert "return float32" not in str(verdict)


def test_a_failure_on_every_case_is_said_once_with_a_count():
    from tests.mutants import weighted_sum_list
    verdict = C.check_weighted_sum(weighted_sum_list, device="cpu")
    lines = [line for line in str(verdict).splitlines() if line.startswith("  - ")]
    assert len(verdict.failures) > 1 and len(lines) == 1
    assert "returned a list" in lines[0]
    assert lines[0].startswith(f"  - on all {len(verdict.failures)} inputs: result:")


def test_floating_point_advice_names_the_input_values_once():
    """Not the input's range on every case: the value(s) the warning comes from, once."""
    from autograder.student.oracle import EXP_OVERFLOW
    from tests.fairness.implementations import CORRECT
    from tests.mutants import UnstableSigmoid
    naive = next(case.impl for case in CORRECT if case.name == "Sigmoid/naive")
    advice = C.check_sigmoid(naive, device="cpu").advice
    assert len(advice) == 1 and "overflow encountered in exp" in advice[0], advice
    assert f" at x = -1000, 1000 (|x| > {EXP_OVERFLOW:.2f}" in advice[0] and "from" not in advice[0]

    failure = C.check_sigmoid(UnstableSigmoid, device="cpu").failures[0]
    assert failure.count("overflow encountered in exp") == 1, failure  # two np.exp, one line
    assert "at x = 1000, where your result is inf or NaN" in failure


@pytest.mark.parametrize("values", ["continuous", "ties"])
def test_the_kolmogorov_smirnov_distance_is_scipys(values):
    """Notebook 4's initialiser checks compare draws by their KS distance: the same
    statistic as scipy's two-sample test, ties between and within the samples too."""
    from scipy.stats import ks_2samp

    from autograder.student.components.backprop import ks_distance
    rng = np.random.default_rng(7)
    for n, m in ((1, 1), (3, 8), (257, 100), (4096, 1024)):
        if values == "ties":
            a, b = rng.integers(0, 6, n).astype(float), rng.integers(0, 6, m).astype(float)
        else:
            a, b = rng.normal(size=n), rng.normal(0.1, 1.2, size=m).reshape(-1, 1)
        assert ks_distance(a, b) == pytest.approx(ks_2samp(a.ravel(), b.ravel()).statistic,
                                                  abs=1e-12)
    assert ks_distance(a, a) == 0.0
