"""The components' registry (``autograder.student.components.registry``) is complete: every
check a course notebook calls is registered for that notebook, and every registered
component has a hidden reference (``autograder/course/reference.py``), a mutant
(``tests/mutants.py``) and a fairness case (``tests/fairness/implementations.py``) —
or is listed below with the reason it has none. Adding a component without them fails
here, not silently."""

import importlib
import inspect
import re

import pytest

from autograder.course.build import COURSE, load_manifest
from autograder.course.reference import REFERENCES
from autograder.grading.judge import MEASURED_HERE_ONLY, judge_hook
from autograder.student import components
from autograder.student.components import REGISTRY, data_needed, declares, of_notebook
from tests.fairness.implementations import CORRECT
from tests.mutants import MUTANTS, SANITY_MUTANTS

ACCURACY = "a trained model's accuracy on the grader's own data, not code to compare with torch"
SEVERAL_PIECES = ("a run of several pieces (MLP, CrossEntropyLoss, Adam, train); the reference's "
                  "pass it and broken ones fail it in tests/student/test_experiments_nb5.py")
NO_REFERENCE = {  # component -> why no single reference is paired with it
    "test accuracy": ACCURACY + " (the reference's trained models: tests/course/test_course.py)",
    "frame accuracy": ACCURACY + " (the reference's trained model: tests/course/test_course.py)",
    "initial loss": SEVERAL_PIECES,
    "overfitting a small batch": SEVERAL_PIECES,
}
BELOW_TARGET = (" (models below the target score zero: tests/grading/hostile/test_labels.py and "
                "the blank students of tests/course/test_course.py)")
NO_MUTANT = {  # component -> why no mutant in tests/mutants.py
    "test accuracy": ACCURACY + BELOW_TARGET,
    "frame accuracy": ACCURACY + BELOW_TARGET,
}
NO_FAIRNESS = {  # component -> why no correct variant in tests/fairness
    "test accuracy": ACCURACY + ": any model that reaches the target passes",
    "frame accuracy": ACCURACY + ": any model that reaches the target passes",
    "initial loss": SEVERAL_PIECES + ", each with fairness cases of its own; the check "
                    "thresholds torch's loss of the logits, not the student's arithmetic",
    "overfitting a small batch": SEVERAL_PIECES + "; the check thresholds the run's outcome "
                                 "(every label right, torch's loss below 0.05)",
}
NOTEBOOKS = [a["name"] for a in load_manifest()["assignments"]]


def registered_components(exempt):
    return {entry.component for entry in REGISTRY.values()} - set(exempt)


def component_of(check_name):
    return REGISTRY[check_name].component


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_check_a_notebook_calls_is_registered_for_that_notebook(notebook):
    source = (COURSE / notebook / f"{notebook}.py").read_text()
    called = set(re.findall(r"\b(check_\w+)\(", source))
    assert called == {entry.check for entry in of_notebook(notebook)}, \
        "register the check with @declares(notebook=...) in autograder/student/components/"


def test_every_check_of_the_package_is_registered():
    """A check_* function defined in the package is a registered component check, or a
    helper of several (it takes what to check as well as the implementation)."""
    helpers = {"check_activation", "check_initialiser"}
    defined = {name for name, value in vars(components).items()
               if name.startswith("check_") and inspect.isfunction(value)
               and value.__module__.startswith("autograder.student.components.")}
    assert defined - helpers == set(REGISTRY)
    assert helpers <= defined


def test_every_component_has_a_reference():
    assert registered_components(NO_REFERENCE) == set(REFERENCES), \
        "pair the component with its solution in autograder/course/reference.py"
    assert set(NO_REFERENCE) <= registered_components(()) and not set(NO_REFERENCE) & set(REFERENCES)


def test_every_component_has_a_mutant():
    mutated = {component_of(m.check.__name__) for m in MUTANTS + SANITY_MUTANTS}
    assert registered_components(NO_MUTANT) <= mutated, "add a broken variant to tests/mutants.py"
    assert set(NO_MUTANT) <= registered_components(()) and not set(NO_MUTANT) & mutated


def test_every_component_has_a_fairness_case():
    covered = {component_of(case.check_name) for case in CORRECT}
    assert registered_components(NO_FAIRNESS) <= covered, \
        "add correct variants written other ways to tests/fairness/implementations.py"
    assert set(NO_FAIRNESS) <= registered_components(()) and not set(NO_FAIRNESS) & covered


@pytest.mark.parametrize("name", list(REGISTRY))
def test_a_registration_names_what_exists(name):
    """Its probes are functions of ``probes``; its judge hook a function of the grader; a
    check measured by the grader alone has a hook and the data it measures on."""
    entry = REGISTRY[name]
    assert entry.notebook in NOTEBOOKS and entry.framework in ("numpy", "torch") and entry.torch
    assert getattr(components, name) is entry.function
    for probe in entry.probes.values():
        module, function = probe.split(":")
        assert module == "autograder.student.probes"
        assert callable(getattr(importlib.import_module(module), function))
    assert set(entry.probes) <= set(inspect.signature(entry.function).parameters)
    assert entry.measured_here_only == (name in MEASURED_HERE_ONLY)
    if entry.measured_here_only:
        assert callable(judge_hook(entry)) and entry.data
    assert set(entry.data) <= {"mnist", "corpus"}


def test_the_grader_holds_the_data_of_the_notebooks_that_need_it():
    assert data_needed("05_mnist_mlp") == {"mnist"}
    assert data_needed("06_speech_frames") == {"corpus"}
    assert not any(data_needed(n) for n in NOTEBOOKS[:4])


def test_course_toml_names_the_data_each_notebooks_checks_declare():
    """The grader's data step reads course.toml's ``data`` (no torch imported to learn
    it); it must say what the registered checks declare, no more, no less."""
    for assignment in load_manifest()["assignments"]:
        assert set(assignment["data"]) == data_needed(assignment["name"]), assignment["name"]


def test_a_worker_refuses_an_assignment_whose_data_course_toml_leaves_out():
    """An edited course.toml that drops a notebook's data: the data step skipped it, so
    the worker leaves the notebook ungraded (the grader's failure), saying what to add."""
    from autograder.grading.pool import unlisted_data
    manifest = load_manifest()
    assert not any(unlisted_data(manifest, a["name"]) for a in manifest["assignments"])
    for entry in manifest["assignments"]:
        if entry["name"] == "05_mnist_mlp":
            entry["data"] = []
    said = unlisted_data(manifest, "05_mnist_mlp")
    assert said == ("its checks need mnist, which course.toml's data for 05_mnist_mlp leaves "
                    'out: add it (data = ["mnist"]) and grade again')


def test_a_component_registered_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        declares(component="ReLU", notebook="02_activations")(lambda impl: None)
    assert REGISTRY["check_relu"].function is components.check_relu
