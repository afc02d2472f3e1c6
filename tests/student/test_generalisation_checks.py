"""check_dropout and check_batchnorm beyond the mutants: no flakes for a correct layer
drawing its own masks, the binomial bound's reach, the limits of diagnosis (a mistake is
named only when the numbers show it), and what the checks refuse."""

import numpy as np
import pytest

import solutions as S
from autograder.student import components as C


def test_a_correct_dropout_passes_on_every_seed_whatever_its_generator():
    """Its masks are its own (unseeded): the check must not depend on luck."""
    for seed in range(8):
        verdict = C.check_dropout(S.Dropout, seed=seed, device="cpu")
        assert verdict.passed, str(verdict)


class DropoutOffByFive(S.Dropout):
    """Drops with probability p + 0.05, scaled as torch's p."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        self.scale = (self.rng.random(x.shape) >= self.p + 0.05) / (1 - self.p)
        return x * self.scale


def test_the_binomial_bound_catches_a_rate_five_points_off():
    verdict = C.check_dropout(DropoutOffByFive, device="cpu")
    assert not verdict.passed
    assert "with p = 0.25 about 2560" in str(verdict) and "keep probability" not in str(verdict)


class DropoutInPlace(S.Dropout):
    def forward(self, x):
        y = super().forward(x)
        x[...] = y
        return y


class DropoutReturnsNone(S.Dropout):
    def forward(self, x):
        super().forward(x)


class DropoutFloat32(S.Dropout):
    """The whole layer in float32."""

    def forward(self, x):
        return super().forward(x).astype(np.float32)

    def backward(self, dout):
        return super().backward(dout).astype(np.float32)


@pytest.mark.parametrize("impl, words", [
    (DropoutInPlace, "modified its input x in place"),
    (DropoutReturnsNone, "forward (training): your code returned None"),
])
def test_dropout_says_what_it_cannot_use(impl, words):
    verdict = C.check_dropout(impl, device="cpu")
    assert not verdict.passed and words in str(verdict), str(verdict)


def test_a_float32_dropout_passes_at_float32_tolerance():
    verdict = C.check_dropout(DropoutFloat32, device="cpu")
    assert verdict.passed, str(verdict)


class BatchNormEvalUpdates(S.BatchNorm1d):
    """Right numbers in eval mode, but it moves the running statistics there too."""

    def forward(self, x):
        y = super().forward(x)
        if not self.training:
            self.running_mean = 0.5 * self.running_mean + 0.5 * x.mean(axis=0)
        return y


class BatchNormZeroRunningVar(S.BatchNorm1d):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        super().__init__(num_features, eps, momentum, dtype)
        self.running_var = np.zeros(num_features)


class BatchNormOffset(S.BatchNorm1d):
    """A mistake no known one explains: 1e-3 added to every output."""

    def forward(self, x):
        return super().forward(x) + 1e-3


@pytest.mark.parametrize("impl, words", [
    (BatchNormEvalUpdates, "a forward in eval mode changed running_mean"),
    (BatchNormZeroRunningVar, "running_var before any batch"),
    (BatchNormOffset, "forward (training): max abs error"),
])
def test_batchnorm_failures_say_where(impl, words):
    verdict = C.check_batchnorm(impl, device="cpu")
    assert not verdict.passed and words in str(verdict), str(verdict)


def test_a_mistake_is_named_only_when_the_numbers_show_it():
    assert "your numbers match" not in str(C.check_batchnorm(BatchNormOffset, device="cpu"))


def test_the_checks_judge_against_torch_and_count_their_comparisons():
    for check, impl in ((C.check_dropout, S.Dropout), (C.check_batchnorm, S.BatchNorm1d)):
        verdict = check(impl, device="cpu")
        assert verdict.against == "torch" and verdict.comparisons >= 18, str(verdict)
