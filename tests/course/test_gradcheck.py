"""Finite differences agree with every reference backward and catch a wrong one."""

import pytest

import solutions as S
from autograder.course.gradcheck import gradcheck_module
from tests.mutants import LinearMeanDW, SiLUMissingTerm


@pytest.mark.parametrize("make, shape", [
    (lambda: S.Linear(4, 3), (5, 4)),
    (lambda: S.Maxout(4, 3, k=3), (5, 4)),
    (lambda: S.MLP([4, 6, 3], activation=S.Tanh), (3, 4)),
    (S.Sigmoid, (3, 4)), (S.Tanh, (3, 4)), (S.ELU, (3, 4)), (S.GELU, (3, 4)),
    (lambda: S.GELU("tanh"), (3, 4)), (S.SiLU, (3, 4)),
])
def test_reference_backward_matches_finite_differences(make, shape):
    verdict = gradcheck_module(make, shape)
    assert verdict.passed, str(verdict)


@pytest.mark.parametrize("make, quantity", [
    (lambda: LinearMeanDW(4, 3), "dL/dW vs finite differences"),
    (SiLUMissingTerm, "dL/dx vs finite differences"),
])
def test_wrong_backward_fails_finite_differences(make, quantity):
    verdict = gradcheck_module(make, (5, 4))
    assert not verdict.passed and quantity in str(verdict)
