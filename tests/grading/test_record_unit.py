"""autograder/grading/record.py on its own: what the grading record holds, where it is
written, that a write that fails leaves the earlier file whole (never half-written, no
scratch file left), and what it flags."""

import json
import os

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.course_dir import CourseDir
from autograder.grading import record as record_module
from autograder.grading.record import (
    GradingRecord,
    framework_names,
    load_record,
    note_status,
    plain_line,
    write_atomically,
)


def test_a_record_is_saved_where_the_course_folder_names_it_and_loads_back(tmp_path):
    record = GradingRecord(tmp_path, "ada", "02_activations")
    record.cell("test_relu", "failed", False, "ReLU is off")
    record.save()
    path = CourseDir(tmp_path).verdicts("ada", "02_activations")
    saved = json.loads(path.read_text())
    assert saved == load_record(tmp_path, "ada", "02_activations")
    assert saved["cells"] == {"test_relu": {"in_kernel": "failed", "verdict": False,
                                            "message": "ReLU is off"}}
    assert (saved["student"], saved["assignment"], saved["flags"]) == ("ada", "02_activations", [])


def test_load_keeps_what_placing_flagged_but_not_an_earlier_runs_cells(tmp_path):
    first = GradingRecord(tmp_path, "ada", "02_activations")
    first.flag("cell test_relu was edited")
    first.cell("test_relu", "passed", True, "ok")
    first.save()
    again = GradingRecord.load(tmp_path, "ada", "02_activations")
    assert again.data["flags"] == ["cell test_relu was edited"] and again.data["cells"] == {}
    assert GradingRecord.load(tmp_path, "bob", "02_activations").data["flags"] == []


def test_a_failed_write_leaves_the_earlier_record_whole_and_no_scratch_file(tmp_path, monkeypatch):
    path = tmp_path / "firstmlp" / "verdicts" / "ada" / "02.json"
    write_atomically(path, '{"old": true}')

    def broken_fsync(fd):
        raise OSError("disk full")
    monkeypatch.setattr(record_module.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, '{"new": tr')
    assert json.loads(path.read_text()) == {"old": True}
    leftovers = sorted(p.name for p in path.parent.iterdir())
    assert leftovers == ["02.json"], leftovers


def test_an_unreadable_record_is_none(tmp_path):
    assert load_record(tmp_path, "ada", "02_activations") is None
    path = CourseDir(tmp_path).verdicts("ada", "02_activations")
    path.parent.mkdir(parents=True)
    path.write_text('{"cells": ')
    assert load_record(tmp_path, "ada", "02_activations") is None


def test_work_with_no_graded_notebook_records_its_status_and_reason(tmp_path):
    note_status(tmp_path, "ada", "03_loss", "zero", "not a readable notebook")
    saved = load_record(tmp_path, "ada", "03_loss")
    assert (saved["status"], saved["reason"], saved["cells"]) == ("zero", "not a readable notebook", {})


@pytest.mark.parametrize("in_kernel, verdict, flagged", [
    ("passed", False, True), ("failed", True, True), ("passed", True, False),
    ("failed", False, False), ("passed", None, False), ("not run", False, False)])
def test_a_disagreement_between_the_notebook_and_the_grader_is_flagged(tmp_path, in_kernel,
                                                                       verdict, flagged):
    record = GradingRecord(tmp_path, "ada", "02")
    record.cell("t", in_kernel, verdict, "")
    assert bool(record.data["flags"]) == flagged


@pytest.mark.parametrize("source, found", [
    ("import torch", {"torch"}), ("from jax import numpy", {"jax"}),
    ("m = __import__('torch')", {"torch"}), ("importlib.import_module('tensorflow.nn')", {"tensorflow"}),
    ("from autograder.student import oracle", {"autograder"}),
    ("torchvision = 1\n'torches'", set()), ("# torch in a comment", set()),
    ("def f(:\n  (", set()),  # not Python: nothing, never an error
])
def test_framework_names(source, found):
    assert framework_names(source) == found


def test_torch_is_flagged_only_in_an_exercise_whose_stub_uses_none(tmp_path):
    stub = new_code_cell("def relu(x):\n    raise NotImplementedError()")
    stub.metadata["nbgrader"] = {"grade_id": "relu"}
    torch_stub = new_code_cell("import torch\nclass Net(torch.nn.Module): pass")
    torch_stub.metadata["nbgrader"] = {"grade_id": "net"}
    record = GradingRecord(tmp_path, "ada", "02")
    record.numpy_only_torch({"relu": "import torch", "net": "import torch"},
                            new_notebook(cells=[stub, torch_stub]))
    assert record.data["flags"] == ["relu: uses torch in a numpy exercise — review"]


def test_a_flag_is_one_plain_line():
    line = plain_line("a\x1b[31mred\rline\nnext\u202e", limit=12)
    assert "\x1b" not in line and "\r" not in line and "\n" not in line and "\u202e" not in line
    assert len(line) == 12 and line.endswith("…")
    assert os.linesep not in plain_line("x\ny")
