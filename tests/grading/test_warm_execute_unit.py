"""autograder/grading/warm_execute.py on its own (no sandbox, no grading run): what
nbgrader's stand-in for ``Execute`` hands the executor — the limits built from its
configuration, the readable set from the sandbox policy, and, in a course folder, the
judge with this run's seed, the record's flag and the student's earlier work — and
that it saves the grading record."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.course.course_dir import CourseDir
from autograder.grading import warm_execute
from autograder.grading.judge import grading_seed
from autograder.grading.warm_execute import WarmExecute
from autograder.sandbox.limits import Limits


@pytest.fixture
def sent(monkeypatch):
    """What ``preprocess`` hands ``execute_in_sandbox`` (which then does nothing)."""
    calls = []

    def fake(nb, timeout, notebook_timeout, **kwargs):
        calls.append(dict(kwargs, nb=nb, timeout=timeout, notebook_timeout=notebook_timeout))
        return nb
    monkeypatch.setattr(warm_execute, "execute_in_sandbox", fake)
    monkeypatch.setattr("autograder.sandbox.policy.landlock_read",
                        lambda bubblewrap=True: ["/from/the/policy"])
    return calls


def configured(**settings):
    return WarmExecute(config=Config({"WarmExecute": settings}))


def test_the_limits_come_from_the_configuration_and_isolate_false_has_none():
    execute = configured(cpu_seconds=7, memory_mb=3, processes=5, output_kb=2)
    assert execute.limits() == Limits(cpu_seconds=7, memory_bytes=3 << 20, processes=5,
                                      output_bytes=2 << 10)
    assert configured(isolate=False).limits() is None


def test_outside_a_course_folder_the_notebook_runs_with_the_limits_and_the_policys_readable_set(sent):
    notebook = new_notebook(cells=[new_code_cell("x = 1")])
    resources = {"nbgrader": {"assignment": "02_activations", "student": "ada"}}
    out, kept = configured(timeout=11, notebook_timeout=22, cpu_seconds=9).preprocess(notebook, resources)
    (call,) = sent
    assert out is notebook and kept is resources
    assert (call["timeout"], call["notebook_timeout"]) == (11, 22)
    assert call["readable"] == ["/from/the/policy"]
    assert call["limits"].cpu_seconds == 9
    assert "judge" not in call  # no course folder: nothing to judge against


def test_in_a_course_folder_the_judge_gets_the_runs_seed_and_the_record_is_saved(
        tmp_path, sent, monkeypatch):
    tree = CourseDir(tmp_path)
    tree.release("02_activations").parent.mkdir(parents=True)
    nbformat.write(new_notebook(), str(tree.release("02_activations")))
    judged = []
    monkeypatch.setattr("autograder.grading.judge.judge_test_cell",
                        lambda cell, link, seed, record, secret, device:
                        judged.append((seed, secret, device)) or record.flag("judged"))
    execute = configured(course_root=str(tmp_path), secret="s3cret", device="cpu")
    resources = {"nbgrader": {"assignment": "02_activations", "student": "ada"}}
    execute.preprocess(new_notebook(cells=[new_code_cell("x = 1")]), resources)
    (call,) = sent
    names, assignment, earlier = call["earlier"]
    assert assignment == "02_activations" and names[names.index(assignment) - 1] == "01_perceptron"
    assert earlier == {}  # ada handed nothing else in
    call["judge"](new_code_cell("t"), link=None)
    assert judged == [(grading_seed("ada", "02_activations", "s3cret"), "s3cret", "cpu")]
    # the record is saved after the run: what the run flagged is in it
    monkeypatch.setattr(warm_execute, "execute_in_sandbox",
                        lambda nb, *a, flag=None, **k: flag("sandbox incomplete: x") or nb)
    execute.preprocess(new_notebook(), resources)
    assert "sandbox incomplete: x" in json.loads(tree.verdicts("ada", "02_activations").read_text())["flags"]
