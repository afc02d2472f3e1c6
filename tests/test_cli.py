"""The main job's component table: every reference component, all passing."""

import pytest

from autograder import cli
from autograder.reference import REFERENCE_CHECKS


def test_check_prints_every_component_and_exits_zero(capsys):
    status = cli.main(["check", "--device", "cpu"])
    out = capsys.readouterr().out
    assert status == 0, out
    for component, counterpart, *_ in REFERENCE_CHECKS:
        assert component in out and counterpart in out
    assert "FAIL" not in out, out


def test_check_exits_nonzero_when_a_reference_fails(monkeypatch, capsys):
    from tests.mutants import LinearSignError
    broken = [row if row[0] != "Linear" else (*row[:3], LinearSignError) for row in REFERENCE_CHECKS]
    monkeypatch.setattr("autograder.reference.REFERENCE_CHECKS", broken)
    assert cli.main(["check", "--device", "cpu"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_unknown_command_is_refused():
    with pytest.raises(SystemExit):
        cli.main(["fly"])


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_grading_on_cuda_without_a_gpu_grades_nothing_and_says_why(tmp_path, capsys):
    """The grader's own failure never becomes a student's score: no course built, no
    notebook graded, one line, exit 2."""
    submitted = tmp_path / "submitted" / "kim" / "01_perceptron"
    submitted.mkdir(parents=True)
    (submitted / "01_perceptron.ipynb").write_text("{}")
    course = tmp_path / "course"
    status = cli.main(["grade", str(tmp_path / "submitted"), "--course-dir", str(course),
                       "--device", "cuda"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("grade: --device cuda cannot be used here") and len(err.splitlines()) == 1
    assert not (course / "autograded").exists() and not (course / "gradebook.db").exists()


@pytest.mark.parametrize("argv, message", [
    (["grade", "/no/such/folder"], "grade: no submissions at /no/such/folder"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
