"""A failure names a cause only where the numbers show it (issue 22, "no misleading
diagnosis"). Each rule of ``oracle.diagnose`` has a mistake here that gets the right
cause, and a correct look-alike or near miss that gets no wrong one. The mistakes are
the ones a review of third-party code was misled by."""

import numpy as np
import pytest

import solutions as S
from autograder.student import components as C
from autograder.student.oracle import compare, factor_causes, float32_rounding, same_error_once
from solutions.losses import log_softmax
from tests.fairness.implementations import CORRECT
from tests.mutants import (
    CrossEntropyLabelsOnly,
    ELUNoAlphaInBackward,
    LeakySlope001,
    MSENoFactorTwo,
    MSESum,
    ReLUOneAtZero,
    SigmoidFloat32Inside,
)


def correct(name):
    return next(case.impl for case in CORRECT if case.name == name)


def bullets(verdict):
    return [line for line in str(verdict).splitlines() if line.startswith("  - ")]


# ---- float32 rounding: only float32 numbers, or within a few float32 ulps -------------

class CELogEps(S.CrossEntropyLoss):
    """log(p + 1e-7), in float64: off by an ε, not by float32 rounding."""

    def forward(self, logits, target):
        super().forward(logits, target)
        return -np.sum(self.target * np.log(self.probs + 1e-7)) / len(logits)


class AdamEpsBeforeBiasCorrection(S.Adam):
    """(√v + ε)/√(1 − β₂ᵗ): ε added before v's bias correction (torch: √v̂ + ε)."""

    def step(self, grads):
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            g = g + self.weight_decay * p
            m[...] = self.beta1 * m + (1 - self.beta1) * g
            v[...] = self.beta2 * v + (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.t)
            p -= self.lr * m_hat / ((np.sqrt(v) + self.eps) / np.sqrt(1 - self.beta2**self.t))


class AdamMachineEpsilon(S.Adam):
    """ε fixed at machine epsilon, whatever eps is given."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, betas, np.finfo(float).eps, weight_decay)


def test_an_eps_in_a_float64_loss_is_not_called_float32_rounding():
    text = str(C.check_cross_entropy(CELogEps, device="cpu"))
    assert "float32" not in text.replace("float32 rounding: an ε", "")
    assert "an ε or small offset that torch does not add" in text
    assert "constant factor" not in text  # one number's ratio to another says nothing


def test_eps_mistakes_in_adam_are_named_not_called_float32_rounding():
    text = str(C.check_adam(AdamEpsBeforeBiasCorrection, device="cpu"))
    assert "your parameters match Adam with ε added before the bias correction" in text
    # at lr 0.01 the mistake is only a few tolerances off torch: named because yours
    # reproduces it exactly, not called float32 rounding; three settings, one line
    assert "float32" not in text
    assert len(bullets(text)) == 1 and "in 3 settings (5 parameters):" in text
    text = str(C.check_adam(AdamMachineEpsilon, device="cpu"))
    assert "your parameters match Adam with ε ≈ 0" in text and "float32" not in text
    assert len(bullets(text)) == 1 and "on 3 parameters:" in text  # one cause, one line


def test_adam_folding_eps_correctly_passes():
    """The correct look-alike: α_t folded into the step, ε scaled by √(1 − β₂ᵗ)."""
    for seed in (0, 1):
        assert C.check_adam(correct("Adam/folded-step-size"), seed=seed, device="cpu").passed


def test_float32_arithmetic_is_still_named():
    text = str(C.check_sigmoid(SigmoidFloat32Inside, device="cpu"))
    assert "this looks like float32 rounding (your values are float32 numbers" in text


def test_the_float32_rule_measures_float32_ulps():
    expected = np.linspace(0.3, 3.0, 12)
    ulp = np.spacing(expected.astype(np.float32)).astype(np.float64)
    offsets = np.where(np.arange(12) % 2, 1.0, -1.0)
    close_by = expected + 0.7 * ulp * offsets  # within a float32 ulp, not float32 numbers
    assert "within 1 float32 ulps" in float32_rounding(close_by, expected, None, {})[0]
    assert float32_rounding(expected + 20 * ulp, expected, None, {}) == []
    # a single float64 number a few ulps off is no evidence of float32 arithmetic
    assert float32_rounding(close_by[:1], expected[:1], None, {}) == []
    as_float32 = expected.astype(np.float32).astype(np.float64)
    assert "float32 numbers" in float32_rounding(as_float32, expected, None, {})[0]


# ---- a factor is named for its quantity: sizes first, formulas only where they hold ----

class LinearMeanBias(S.Linear):
    """db as a batch mean (torch: the batch sum)."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.mean(axis=0)
        return dx


def test_a_batch_mean_on_a_batch_of_two_is_named_as_a_mean_not_mses_2():
    text = str(C.check_linear(LinearMeanBias, device="cpu"))
    assert "yours is exactly 1/2 of torch's, 2 = the batch size: a mean (division by 2) too many?" in text
    assert "ŷ" not in text


def test_mses_factor_2_story_is_told_for_the_mse_only():
    assert "a factor 2 missing (d/dŷ (ŷ − y)² = 2(ŷ − y))?" in str(C.check_mse(MSENoFactorTwo, device="cpu"))

    class LinearHalfBias(S.Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = self.db / 2
            return dx
    text = str(C.check_linear(LinearHalfBias, device="cpu"))
    assert "yours is exactly ½ of torch's: a factor 2 missing (or a ½ too many)?" in text
    assert "ŷ" not in text


def test_a_single_number_gets_no_unexplained_constant_factor():
    assert factor_causes(np.array([0.0073]), {}) == []
    assert factor_causes(np.array([3.0, 3.0]), {}) == ["yours is 3 × torch's everywhere: a constant factor"]
    assert factor_causes(np.array([0.0]), {}) == ["yours is 0 where torch's is not"]


# ---- sum versus mean: named with the element count -------------------------------------

class MSEBatchMean(S.MSELoss):
    """Σ over the features, mean over the batch (torch: the mean over every element)."""

    def forward(self, pred, target):
        self.diff = pred - target
        return np.sum(self.diff**2) / len(pred)


def test_sum_instead_of_mean_is_named_with_the_element_count():
    text = str(C.check_mse(MSESum, device="cpu"))
    assert "yours is exactly 15 × torch's, 15 = the number of elements" in text
    assert "yours is exactly 4 × torch's, 4 = the number of elements" in text  # 1-D: not "batch"
    text = str(C.check_mse(MSEBatchMean, device="cpu"))
    assert "yours is exactly 3 × torch's, 3 = the number of elements per sample" in text
    assert "12 = the number of elements per sample" in text and "constant factor" not in text


# ---- targets: labels versus probability rows ----------------------------------------

class CENoLabels(S.CrossEntropyLoss):
    """Multiplies the target into log p as it comes: right for rows, not for labels."""

    def forward(self, logits, target):
        logp = log_softmax(logits)
        self.probs, self.target = np.exp(logp), np.asarray(target, dtype=float)
        return -np.sum(self.target * logp) / len(logits)


def test_a_loss_that_cannot_take_labels_is_told_so():
    text = str(C.check_cross_entropy(CENoLabels, device="cpu"))
    assert "it fails on integer class labels only and passes on one-hot rows and probability rows" in text
    assert "× torch's" not in text and "yours is 0 where torch's is not" in text


def test_a_loss_that_cannot_take_probability_rows_is_told_so():
    text = str(C.check_cross_entropy(CrossEntropyLabelsOnly, device="cpu"))
    assert "it fails on probability rows only" in text


def test_a_loss_wrong_on_every_kind_of_target_gets_no_target_story():
    assert "it fails on" not in str(C.check_cross_entropy(CELogEps, device="cpu"))


# ---- a factor on the negative side of an activation: its slope ----------------------

class LeakySlope03(S.LeakyReLU):
    def __init__(self, slope=0.3):
        super().__init__(slope)


def test_a_wrong_leaky_slope_is_named_as_a_slope():
    verdict = C.check_leaky_relu(LeakySlope03, device="cpu")
    text = str(verdict)
    assert "for x < 0 your slope is 0.3, torch's 0.1" in text and "everywhere" not in text
    assert len(bullets(verdict)) == 1  # one line: the forward, on all 5 inputs

    class BackwardSlope03(S.LeakyReLU):
        def backward(self, dout):
            return np.where(self.positive, dout, 0.3 * dout)
    text = str(C.check_leaky_relu(BackwardSlope03, device="cpu"))
    assert "dL/dx" in text and "for x < 0 your slope is 0.3, torch's 0.1" in text


def test_a_factor_on_the_negative_side_of_a_curve_is_named_as_a_factor():
    text = str(C.check_elu(ELUNoAlphaInBackward, device="cpu"))
    assert "for x < 0 yours is 2 × torch's (right for x > 0)" in text and "slope" not in text


def test_a_known_slope_mistake_and_a_kink_keep_their_own_names():
    assert "your numbers match a slope of 0.01" in str(C.check_leaky_relu(LeakySlope001, device="cpu"))
    text = str(C.check_relu(ReLUOneAtZero, device="cpu"))
    assert "slope" not in text and "x = 0 is a kink" in text


# ---- one cause on several inputs: one line with a count; torch's 0 in words ----------

def test_one_cause_on_several_inputs_is_one_line_with_a_count():
    verdict = C.check_relu(ReLUOneAtZero, device="cpu")
    lines = bullets(verdict)
    assert len(lines) == 1 and lines[0].startswith("  - on 4 of 5 inputs: dL/dx:"), lines
    assert "torch gives 0 there, yours" in lines[0] and "inf" not in lines[0]
    assert "x = 0 is a kink: torch uses f'(0) = 0 there, yours is 1 — e.g. on input" in lines[0]


def test_different_causes_stay_separate_lines():
    verdict = C.check_linear(LinearMeanBias, device="cpu")
    assert len(bullets(verdict)) == len(verdict.failures) == 3  # 1/8, 1/4, 1/2: three batches


def test_grouping_keeps_a_lone_failure_as_it_is():
    failure = "forward: boom on input x of shape (2,) (case 1 of 3, seed 0)"
    assert same_error_once([failure]) == [failure]


def test_a_relative_error_is_not_shown_where_torch_gives_0():
    message = compare("x", np.array([1.0, 0.0]), np.array([0.0, 0.0]))
    assert message.startswith("x: max abs error 1; worst at index (0,): torch gives 0 there, yours 1")


@pytest.mark.parametrize("name, check", [("Linear/float32", "check_linear"),
                                         ("CrossEntropyLoss/float32", "check_cross_entropy"),
                                         ("MSELoss/float32", "check_mse")])
def test_float32_look_alikes_get_no_other_cause(name, check):
    """Correct code in float32 arithmetic: failures (if any) name float32 rounding only."""
    for seed in (0, 1, 2):
        verdict = getattr(C, check)(correct(name), seed=seed, device="cpu")
        assert all("looks like float32 rounding" in f and "ε" not in f for f in verdict.failures), \
            str(verdict)
