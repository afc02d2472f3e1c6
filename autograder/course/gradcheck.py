"""Finite-difference gradient check: a second opinion that needs no torch.

Instructor-side (it uses the reference ``numerical_gradient``, which notebook 04 asks
students to write), so it is not part of a student release.

For L(x, θ) = Σ g·f(x; θ) and each coordinate u of x and of every parameter,
the central difference (L(u + ε) - L(u - ε)) / 2ε must match the analytic
gradient from ``backward`` to |fd - analytic| <= ATOL + RTOL·|fd| (float64, ε = 1e-6).
"""

import numpy as np

from autograder.student.oracle import (StudentCodeError, Verdict, call_student, compare, instantiate,
                                       param_names_of)
from solutions.gradcheck import numerical_gradient

EPSILON = 1e-6
RTOL = 1e-5
ATOL = 1e-7


def gradcheck_module(make, shape, name=None, seed=0, eps=EPSILON, rtol=RTOL, atol=ATOL):
    """Check ``backward`` of a module (forward/backward/parameters/gradients) against
    finite differences at a seeded input of ``shape``; avoid kinks (they have no
    derivative for finite differences to find)."""
    rng = np.random.default_rng(seed)
    name = name or getattr(make, "__name__", type(make).__name__)
    failures, comparisons = [], 0
    try:
        impl = call_student("constructor", instantiate, make)
        x = rng.standard_normal(shape)
        y = call_student("forward", impl.forward, x.copy())
        g = rng.standard_normal(np.shape(y))
        dx = call_student("backward", impl.backward, g.copy())
        params = list(call_student("parameters()", getattr(impl, "parameters", list)))
        grads = [np.array(d, dtype=np.float64)
                 for d in call_student("gradients()", getattr(impl, "gradients", list))]

        def loss():
            return float(np.sum(g * call_student("forward", impl.forward, x.copy())))

        targets = [("dL/dx", x, dx)]
        targets += [(f"dL/d{n}", p, d) for n, p, d in zip(param_names_of(impl), params, grads)]
        for quantity, u, analytic in targets:
            comparisons += 1
            problem = compare(quantity + " vs finite differences", analytic,
                              numerical_gradient(loss, u, eps), rtol, atol)
            if problem:
                failures.append(problem)
    except StudentCodeError as error:
        comparisons += 1
        failures.append(str(error))
    return Verdict(name, failures, comparisons, against="finite differences")
