"""The oracle passes every reference component, fails every mutant with a message
naming the fault, and reports raising / None / non-array / NaN implementations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import solutions as S
from autograder import components as C
from autograder.oracle import Verdict, check_loss, check_module, compare
from autograder.reference import REFERENCE_CHECKS
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


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_caught(mutant):
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
    from autograder.selfcheck import PASSED, question_status, report
    from tests.fairness.implementations import CORRECT
    naive = next(case.impl for case in CORRECT if case.name == "Sigmoid/naive")
    verdict = C.check_sigmoid(naive, device="cpu")
    cell = {"outputs": [{"output_type": "execute_result", "data": {"text/plain": repr(verdict)}}]}
    status, message = question_status(cell)
    assert status == PASSED and message.startswith("advice: numpy warned"), message
    text = report("02_activations.ipynb", [("test_sigmoid", 2, status, message)])
    assert "test_sigmoid passed, with advice:" in text and "overflow encountered in exp" in text
