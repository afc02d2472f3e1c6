"""The grader never hands student code an object it keeps: every check, checked once on
a vandal (``tests/vandal.py``: correct, then overwrites every array it was given or can
reach), leaves nothing behind — the reference checked next gets full marks, here and
through the wire in the same process. The checks come from the components' registry,
so a new check is covered without a hand list (``tests/student/test_registry.py``
fails when it has no reference)."""

import time

import numpy as np
import pytest

from autograder.course.build import load_manifest
from autograder.course.reference import REFERENCES as REFERENCE_OF
from autograder.grading.judge import probes_of, remote_probe
from autograder.sandbox.notebook_process import ForkedNotebook, warm_up
from autograder.student import components
from tests.vandal import SCRAWL, vandalised

SEEDS = (0, load_manifest()["hidden_seed"])
ACCURACY_CHECKS = tuple(name for name, entry in components.REGISTRY.items()  # a model, the grader's data
                        if entry.measured_here_only)
REFERENCES = {name: (entry.component, REFERENCE_OF[entry.component])
              for name, entry in components.REGISTRY.items() if entry.component in REFERENCE_OF}
CHECKS = list(REFERENCES)  # every check of one component with a reference


def test_the_accuracy_checks_are_the_two_measured_by_the_grader():
    assert sorted(ACCURACY_CHECKS) == ["check_frame_accuracy", "check_mnist_accuracy"]


def verdicts_of(check, impl, options=None):
    return [check(impl, seed=seed, **(options or {})) for seed in SEEDS]


@pytest.mark.parametrize("name", CHECKS)
def test_a_vandal_leaves_nothing_for_the_next_student_here(name):
    check = getattr(components, name)
    reference = REFERENCES[name][1]
    verdicts_of(check, vandalised(reference))  # its own merits: either
    for verdict in verdicts_of(check, reference):
        assert verdict.passed, f"after a vandal, the reference fails {name}:\n{verdict}"


# ---- the accuracy checks: a model, judged on data the grader keeps (a cache) ------------

def kept_data(classes):
    """A labelled set the grader keeps between checks (as ``judge.grader_mnist`` does)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 12)).astype(np.float32)
    y = rng.integers(0, classes, len(X))
    return X, y


MNIST_SET, FRAME_SET = kept_data(10), kept_data(components.FRAME_CLASSES)


class Lookup:
    """A perfect model of one labelled set: the logits put each known input's label first."""

    def __init__(self, X, y, classes):
        self.labels, self.classes = {row.tobytes(): label for row, label in zip(X, y, strict=True)}, classes

    def forward(self, X):
        logits = np.zeros((len(X), self.classes), dtype=np.float32)
        for i, row in enumerate(np.asarray(X, dtype=np.float32)):
            logits[i, self.labels.get(row.tobytes(), 0)] = 1
        return logits


class VandalLookup(Lookup):
    def forward(self, X):
        logits = super().forward(X)
        X[...] = SCRAWL
        return logits


def accuracy_check(name, model, monkeypatch, logits=None):
    options = {} if logits is None else {"logits": logits}
    if name == "check_mnist_accuracy":
        X, y = MNIST_SET
        return components.check_mnist_accuracy(model, X, y, 0.99, **options)
    monkeypatch.setattr(components.speech, "frame_test_set", lambda context, root=None: FRAME_SET)
    return components.check_frame_accuracy(model, 2, minimum=0.99, **options)


def models(name):
    X, y = MNIST_SET if name == "check_mnist_accuracy" else FRAME_SET
    classes = 10 if name == "check_mnist_accuracy" else components.FRAME_CLASSES
    return VandalLookup(X, y, classes), Lookup(X, y, classes)


@pytest.mark.parametrize("name", ACCURACY_CHECKS)
def test_a_vandal_model_leaves_the_grader_s_data_as_it_was_here(name, monkeypatch):
    vandal, honest = models(name)
    assert accuracy_check(name, vandal, monkeypatch).passed  # it read first, then wrote
    verdict = accuracy_check(name, honest, monkeypatch)
    assert verdict.passed, str(verdict)


# ---- through the wire: the student's code in a notebook's process ------------------

@pytest.fixture(scope="module")
def notebook():
    shell = warm_up()
    shell.user_ns.update(
        vandals={name: vandalised(REFERENCES[name][1]) for name in CHECKS},
        references={name: REFERENCES[name][1] for name in CHECKS},
        models={name: models(name) for name in ACCURACY_CHECKS})
    forked = ForkedNotebook(timeout=120)  # forked now: the namespace above goes with it
    yield forked.link
    forked.close()


def remote(link, table, name):
    link.deadline = time.monotonic() + 120  # a hung child fails this case, not the run
    link.request("reset")
    return link.request("lookup", table)[name]


@pytest.mark.parametrize("name", CHECKS)
def test_a_vandal_leaves_nothing_for_the_next_student_through_the_wire(notebook, name):
    check = getattr(components, name)
    options = {option: remote_probe(notebook, probe) for option, probe in probes_of(name).items()}
    verdicts_of(check, remote(notebook, "vandals", name), options)
    for verdict in verdicts_of(check, remote(notebook, "references", name), options):
        assert verdict.passed, f"after a vandal, the reference fails {name} through the wire:\n{verdict}"


@pytest.mark.parametrize("name", ACCURACY_CHECKS)
def test_a_vandal_model_leaves_the_grader_s_data_as_it_was_through_the_wire(notebook, name,
                                                                             monkeypatch):
    logits = remote_probe(notebook, "autograder.student.probes:logits")
    vandal, honest = remote(notebook, "models", name)
    accuracy_check(name, vandal, monkeypatch, logits)
    verdict = accuracy_check(name, honest, monkeypatch, logits)
    assert verdict.passed, str(verdict)
