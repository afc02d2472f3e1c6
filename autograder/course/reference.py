"""Instructor-only: each course component's hidden reference, keyed by the name the
component's check registers (``autograder.student.components.registry``).

Never shipped to students (it imports ``solutions``). The main job and the tests
run every pair; a reference that fails its own check is a bug in one of the two.
A registered component with no reference here fails
``tests/student/test_registry.py`` (unless it is listed there, with its reason).
"""

import solutions as S
from autograder.student.components import REGISTRY
from autograder.course.gradcheck import gradcheck_module
from solutions import descent, gradcheck, speech, torch_mnist

REFERENCES = {  # registered component -> the hidden reference (the order of `make run`'s table)
    "weighted_sum": S.weighted_sum,
    "step": S.step,
    "Perceptron.update": S.Perceptron,
    "Perceptron.fit": S.Perceptron,
    "Perceptron.fit (XOR)": S.Perceptron,
    "stable_sigmoid": S.activations.stable_sigmoid,
    "Sigmoid": S.Sigmoid,
    "Tanh": S.Tanh,
    "ReLU": S.ReLU,
    "LeakyReLU": S.LeakyReLU,
    "ELU": S.ELU,
    "GELU": S.GELU,
    "SiLU": S.SiLU,
    "Maxout": S.Maxout,
    "Linear": S.Linear,
    "MSELoss": S.MSELoss,
    "CrossEntropyLoss": S.CrossEntropyLoss,
    "SGD": S.SGD,
    "Adam": S.Adam,
    "MLP": S.MLP,
    "xavier_uniform": S.xavier_uniform,
    "kaiming_normal": S.kaiming_normal,
    "numerical_gradient": gradcheck.numerical_gradient,
    "gradient_descent": descent.gradient_descent,
    "MNISTDataset": torch_mnist.MNISTDataset,
    "build_model": torch_mnist.build_model,
    "train_one_epoch": torch_mnist.train_one_epoch,
    "predict_loader": torch_mnist.predict_loader,
    "ContextFrames": speech.ContextFrames,
    "build_frame_model": speech.build_frame_model,
    "Dropout": S.Dropout,
    "BatchNorm1d": S.BatchNorm1d,
}

BY_COMPONENT = {entry.component: entry for entry in REGISTRY.values()}
REFERENCE_CHECKS = [  # (component, torch counterpart, check, reference), from the registry
    (name, BY_COMPONENT[name].torch, BY_COMPONENT[name].function, reference)
    for name, reference in REFERENCES.items()]


def finite_difference_check(make, shape):
    def check(impl, seed=0, device="auto"):
        return gradcheck_module(lambda: make(impl), shape, name=f"{impl.__name__} finite differences",
                                seed=seed)
    return check


FINITE_DIFFERENCE_CHECKS = [  # second opinions, first of all for Maxout (no torch op)
    ("Maxout", "finite differences", finite_difference_check(lambda M: M(4, 3, k=3), (5, 4)),
     S.Maxout),
    ("GELU", "finite differences", finite_difference_check(lambda G: G(), (3, 4)), S.GELU),
    ("Linear", "finite differences", finite_difference_check(lambda L: L(4, 3), (5, 4)), S.Linear),
    ("MLP", "finite differences", finite_difference_check(lambda M: M([4, 6, 3]), (3, 4)), S.MLP),
    ("BatchNorm1d", "finite differences", finite_difference_check(lambda B: B(4), (6, 4)),
     S.BatchNorm1d),
]
