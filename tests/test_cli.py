"""The main job's component table: every reference component, all passing."""

import pytest

from autograder import cli
from autograder.course.reference import REFERENCE_CHECKS


def test_check_prints_every_component_and_exits_zero(capsys):
    status = cli.main(["reference", "--device", "cpu"])
    out = capsys.readouterr().out
    assert status == 0, out
    for component, counterpart, *_ in REFERENCE_CHECKS:
        assert component in out and counterpart in out
    assert "FAIL" not in out, out


def test_check_exits_nonzero_when_a_reference_fails(monkeypatch, capsys):
    from tests.mutants import LinearSignError
    broken = [row if row[0] != "Linear" else (*row[:3], LinearSignError) for row in REFERENCE_CHECKS]
    monkeypatch.setattr("autograder.course.reference.REFERENCE_CHECKS", broken)
    assert cli.main(["reference", "--device", "cpu"]) == 1
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


NOT_A_ZIP = __file__  # a file that exists and is no zip

# Bad input and the one line it gets (exit 2, nothing built, graded or written).
BAD_INPUT = [
    (["grade", "/no/such/folder"], "grade: no submissions at /no/such/folder"),
    (["grade", NOT_A_ZIP], f"grade: {NOT_A_ZIP} is neither a folder nor a readable zip file"),
    (["grade", "/tmp", "--workers", "0"], "firstmlp grade: argument --workers: must be 1 or more, not 0"),
    (["grade", "/tmp", "--workers", "-3"], "firstmlp grade: argument --workers: must be 1 or more"),
    (["grade", "/tmp", "--workers", "two"], "firstmlp grade: argument --workers: a whole number"),
    (["grade", "/tmp", "--timeout", "0"], "firstmlp grade: argument --timeout: must be 1 or more"),
    (["grade", "/tmp", "--pattern", "(?P<student>"], "firstmlp grade: argument --pattern: not a regular"),
    (["grade", "/tmp", "--pattern", r"(?P<student>\w+)\.ipynb"],
     "firstmlp grade: argument --pattern: needs the named groups (?P<assignment>"),
    (["grade", "/tmp", "--assignment", "99_nothing"],
     "grade: --assignment 99_nothing: the course has no such assignment (it has 01_perceptron"),
    (["release", "--version", "../../evil"], "firstmlp release: argument --version: a version is"),
    (["release", "--version", ".hidden"], "firstmlp release: argument --version: a version is"),
    (["release"], "firstmlp release: the following arguments are required: --version"),
    (["scan", "/tmp"], "scan: /tmp is not a release"),
    (["speech-align", "/no/such/audio", "/tmp/out"], "speech-align: no folder /no/such/audio"),
    (["reference", "--epochs", "0"], "firstmlp reference: argument --epochs: must be 1 or more"),
    (["fly"], "firstmlp: argument command: invalid choice: 'fly'"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_a_nonzero_exit(argv, message, capsys):
    try:
        status = cli.main(argv)
    except SystemExit as exit_:  # argparse's own exit
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(message) and len(err.strip().splitlines()) == 1, err


def test_a_broken_course_source_is_one_line_naming_file_and_line(tmp_path, monkeypatch, capsys):
    """A course source an author broke (text before the first cell header) is a
    CourseError: file and line in one line, exit 2, no traceback."""
    import functools
    import shutil

    import autograder.course.nbgrader_course as nbgrader_course
    from autograder.course.build import COURSE, build_course, load_manifest
    course = tmp_path / "course"
    shutil.copytree(COURSE, course)
    source = course / load_manifest()["assignments"][0]["source"]
    source.write_text("stray text\n" + source.read_text())
    monkeypatch.setattr(nbgrader_course, "build_course", functools.partial(build_course, course=course))
    assert cli.main(["build", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"firstmlp build: {source}:1: text before the first") and \
        len(err.strip().splitlines()) == 1


def test_python_m_autograder_check_is_the_self_check_here_as_in_a_release(tmp_path):
    """One meaning per command: in the repository too, `python -m autograder check` is
    the student's self-check; the reference table is `firstmlp reference`."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "autograder", "check", "missing.ipynb"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "No notebook at missing.ipynb: give the path of an .ipynb file."
    with pytest.raises(SystemExit) as stopped:  # no such firstmlp command any more
        cli.main(["check"])
    assert stopped.value.code == 2
