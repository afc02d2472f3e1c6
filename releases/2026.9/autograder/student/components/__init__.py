"""The course's components and how each is judged against torch, one module per notebook.

``check_<component>(impl, seed=0, device="auto")`` takes an implementation (a class,
or a function for the perceptron pieces) and returns a ``Verdict``. Notebook tests,
the grader and ``tests/`` all call these; a hidden test calls them with another seed.
Each check registers itself where it is defined (``registry.declares``: its component,
notebook, framework, probes, data, judge hook, torch counterpart); this package
re-exports every name of its modules, so ``from autograder.student.components import
check_relu`` and ``components.check_relu`` work as before.
Student-safe: nothing here knows the reference solution.
"""

from autograder.student.components.activations import *
from autograder.student.components.backprop import *
from autograder.student.components.generalisation import *
from autograder.student.components.losses import *
from autograder.student.components.mnist import *
from autograder.student.components.perceptron import *
from autograder.student.components.registry import (
    REGISTRY,
    Component,
    data_needed,
    declares,
    of_notebook,
    probe,
    registered,
)
from autograder.student.components.speech import *
