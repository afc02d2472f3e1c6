"""The main job's component table: every reference component, all passing."""

import json

import pytest

from autograder import cli
from autograder.course.build import load_manifest
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
FILE = "<a file>"  # stands for a regular file that exists (made by the test)
DASK_ADDRESS = "firstmlp grade: argument --scheduler: a Dask scheduler address such as tcp://host:8786"

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
    (["grade", "/tmp", "--course-dir", FILE],
     f"firstmlp grade: argument --course-dir: {FILE} is a file, not a folder: give a folder"),
    (["grade", "/tmp", "--course-dir", f"{FILE}/course"],
     f"firstmlp grade: argument --course-dir: {FILE} is a file, not a folder"),
    (["grade", "/tmp", "--scheduler", "bogus"], f"{DASK_ADDRESS} is needed, not 'bogus'"),
    (["grade", "/tmp", "--scheduler", "tcp://host"], f"{DASK_ADDRESS} is needed, not 'tcp://host'"),
    (["grade", "/tmp", "--scheduler", "foo://host:8786"], f"{DASK_ADDRESS} is needed, not 'foo://"),
    (["grade", "/tmp", "--scheduler", "tcp://host:0"], "firstmlp grade: argument --scheduler: port 0 of"),
    (["build", "--out", FILE], f"firstmlp build: argument --out: {FILE} is a file, not a folder"),
    (["grade-demo", "--workdir", FILE], f"firstmlp grade-demo: argument --workdir: {FILE} is a file"),
    (["release", "--version", "../../evil"], "firstmlp release: argument --version: a version is"),
    (["release", "--version", ".hidden"], "firstmlp release: argument --version: a version is"),
    (["release"], "firstmlp release: the following arguments are required: --version"),
    (["release", "--version", "9.9", "--out", FILE], f"firstmlp release: argument --out: {FILE} is a file"),
    (["scan", "/tmp"], "scan: /tmp is not a release"),
    (["speech-align", "/no/such/audio", "/tmp/out"], "speech-align: no folder /no/such/audio"),
    (["speech-align", "/tmp", FILE], f"firstmlp speech-align: argument out_dir: {FILE} is a file"),
    (["speech-data", "--size", "-1"], "firstmlp speech-data: argument --size: must be more than 0"),
    (["speech-data", "--size", "1e9"], "firstmlp speech-data: argument --size: must be more than 0"),
    (["speech-data", "--seed", "-1"], "firstmlp speech-data: argument --seed: must be 0 or more"),
    (["speech-data", "--bogus"], "firstmlp speech-data: unrecognized arguments: --bogus"),
    (["speech-data", "--out", FILE], f"firstmlp speech-data: {FILE} is a file, not a folder"),
    (["speech-data", "--out", ".", "--force"],  # the test's folder: it holds FILE
     "firstmlp speech-data: . holds files but no speech corpus, and making one would replace them"),
    (["reference", "--epochs", "0"], "firstmlp reference: argument --epochs: must be 1 or more"),
    (["fly"], "firstmlp: argument command: invalid choice: 'fly'"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_a_nonzero_exit(argv, message, tmp_path, monkeypatch, capsys):
    """Run in an empty folder but for FILE: a default output folder (build/grading, …)
    would appear there, so nothing in it afterwards but FILE, unchanged, means nothing
    was written."""
    file = tmp_path / "file"
    file.write_text("kept\n")
    monkeypatch.chdir(tmp_path)
    try:
        status = cli.main([arg.replace(FILE, str(file)) for arg in argv])
    except SystemExit as exit_:  # argparse's own exit
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(message.replace(FILE, str(file))) and len(err.strip().splitlines()) == 1, err
    assert [p.name for p in tmp_path.iterdir()] == ["file"] and file.read_text() == "kept\n"


@pytest.mark.parametrize("argv", [
    ["grade", "/tmp", "--scheduler", "tcp://10.0.0.5:8786"],  # the README's
    ["grade", "/tmp", "--scheduler", "localhost:8786"],
    ["grade", "/tmp", "--course-dir", "new/deeper/course"],
    ["speech-align", "/tmp", "new/aligned"],
])
def test_good_arguments_are_taken_and_nothing_is_made_while_parsing(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli.parse_arguments(argv)
    assert not list(tmp_path.iterdir())


def test_the_speech_corpus_module_answers_in_one_line_under_its_own_name(capsys):
    from autograder.student.speech import corpus
    with pytest.raises(SystemExit) as stopped:
        corpus.main(["--size", "-1"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("python -m autograder.student.speech.corpus: argument --size: must be")


def test_only_a_release_into_releases_edits_the_changelog(tmp_path, monkeypatch):
    """CHANGELOG.md tells the repository's releases: a release cut elsewhere leaves it be."""
    from autograder.course.release import RELEASES
    asked = []

    def build_release(version, out_root, force, changelog, allow_dirty, source):
        asked.append(changelog)
        return out_root / version

    monkeypatch.setattr("autograder.course.release.build_release", build_release)
    monkeypatch.setattr("autograder.course.release.source_commit", lambda: "0" * 40)
    version = load_manifest()["version"]
    for more, changelog in (([], True), (["--out", str(RELEASES)], True),
                            (["--no-changelog"], False), (["--out", str(tmp_path)], False)):
        assert cli.main(["release", "--version", version, *more]) == 0
        assert asked.pop() is changelog, more


@pytest.fixture
def release_spy(monkeypatch):
    """build_release recorded, not run; course.toml's writer recorded, not run."""
    asked, bumped = [], []
    monkeypatch.setattr("autograder.course.release.build_release",
                        lambda version, out_root, force, changelog, allow_dirty, source:
                        asked.append((version, allow_dirty, source)) or out_root / version)
    monkeypatch.setattr(cli, "set_course_version", bumped.append)
    return asked, bumped


def test_a_release_is_cut_from_a_clean_tree_or_says_it_was_not(release_spy, monkeypatch, tmp_path,
                                                                capsys):
    asked, _ = release_spy
    version = load_manifest()["version"]
    monkeypatch.setattr("autograder.course.release.source_commit", lambda: "0" * 40 + "+dirty")
    assert cli.main(["release", "--version", version, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert asked == [] and len(err.strip().splitlines()) == 1 and "--allow-dirty" in err
    assert cli.main(["release", "--version", version, "--out", str(tmp_path), "--allow-dirty"]) == 0
    assert asked == [(version, True, ("0" * 40 + "+dirty", None))]  # recorded in its manifest


def test_a_release_version_is_course_toml_s_or_bumped_saying_so(release_spy, monkeypatch, tmp_path,
                                                                 capsys):
    asked, bumped = release_spy
    monkeypatch.setattr("autograder.course.release.source_commit", lambda: "0" * 40)
    assert cli.main(["release", "--version", "9.9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert asked == [] and bumped == [] and "course.toml says version" in err and "--bump" in err
    assert cli.main(["release", "--version", "9.9", "--out", str(tmp_path), "--bump"]) == 0
    current = load_manifest()["version"]  # the commit's, before the bump: not "+dirty"
    assert bumped == ["9.9"] and asked == [("9.9", False, ("0" * 40, current))]
    assert "version" in capsys.readouterr().out


def test_the_manifest_records_a_release_cut_from_a_dirty_tree(tmp_path):
    from autograder.course.release import write_manifest
    (tmp_path / "a.txt").write_text("a")
    manifest = {"assignments": [{"name": "01", "points": 1}]}
    write_manifest(tmp_path, manifest, "9.9", allow_dirty=True)
    assert json.loads((tmp_path / "manifest.json").read_text())["allow_dirty"] is True
    write_manifest(tmp_path, manifest, "9.9")
    assert "allow_dirty" not in json.loads((tmp_path / "manifest.json").read_text())
    write_manifest(tmp_path, manifest, "9.9", commit="a" * 40, bumped_from="9.8")
    written = json.loads((tmp_path / "manifest.json").read_text())
    assert written["source_commit"] == "a" * 40 and written["version_bumped_from"] == "9.8"


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


def test_report_shows_a_flag_quoting_a_notebook_as_written(tmp_path):
    """report.md rendered (mistune, nbconvert's Markdown renderer): a flag that quotes
    a student's notebook is text, never HTML, a link or emphasis."""
    import mistune

    from autograder.cli import write_report
    from autograder.grading.grader import Outcome
    quoted = "<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) **b**"
    outcome = Outcome("kim_<b>", "02_activations", 3, 14,
                      [f"a cell claims nbgrader metadata it was not given ({quoted})"])
    html = mistune.html(write_report(tmp_path, [outcome]).read_text())
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "<strong>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "**b**" in html and "kim_&lt;b&gt;" in html


# ---- the table of commands, one error base -----------------------------------------

def help_text(capsys, argv=("--help",)):
    with pytest.raises(SystemExit):
        cli.main(list(argv))
    return capsys.readouterr().out


def test_the_usage_lists_every_command_and_flag_of_the_table(capsys):
    usage = help_text(capsys)
    for command in cli.COMMANDS:
        assert f"firstmlp {command.name} " in usage or f"firstmlp {command.name}\n" in usage
        assert command.summary.split()[0] in usage
        for flags, _ in command.arguments:
            assert all(flag in usage for flag in flags if flag.startswith("--")), (command.name, flags)


def test_the_usage_is_generated_a_command_added_to_the_table_is_in_it(monkeypatch, capsys):
    """No hand-written usage beside the parser: a new row of the table is in --help."""
    added = cli.Command("wave", "wave at the class", lambda args: 0,
                        (cli.arg("--hand", choices=("left", "right"), default="left"),))
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, added))
    monkeypatch.setitem(cli.BY_NAME, "wave", added)
    usage = help_text(capsys)
    assert "    firstmlp wave [--hand {left,right}]\n        wave at the class" in usage
    assert cli.main(["wave", "--hand", "right"]) == 0


@pytest.mark.parametrize("error, status", [
    ("FirstmlpError", 2), ("GradingIncomplete", 3), ("NbgraderError", 2), ("SettingsError", 2)])
def test_a_firstmlp_error_is_caught_once_in_main_its_first_line_and_exit_status(
        error, status, monkeypatch, capsys):
    from dataclasses import replace

    from autograder.course.nbgrader_course import NbgraderError
    from autograder.errors import FirstmlpError
    from autograder.grading.run import GradingIncomplete
    from autograder.settings import SettingsError
    kind = {"FirstmlpError": FirstmlpError, "GradingIncomplete": GradingIncomplete,
            "NbgraderError": NbgraderError, "SettingsError": SettingsError}[error]

    def fails(args):
        raise kind("what went wrong, and what to do\nthe tail of some output")
    monkeypatch.setitem(cli.BY_NAME, "scan", replace(cli.BY_NAME["scan"], run=fails))
    assert cli.main(["scan", "/tmp"]) == status
    assert capsys.readouterr().err == "firstmlp scan: what went wrong, and what to do\n"


def test_every_domain_error_has_the_one_base_and_the_student_side_none():
    from autograder.course.build import CourseError
    from autograder.course.nbgrader_course import NbgraderError
    from autograder.course.release import ReleaseError
    from autograder.errors import FirstmlpError
    from autograder.grading.intake import IntakeError
    from autograder.grading.run import GraderEnvironmentError, GradingIncomplete
    from autograder.grading.similarity import SimilarityError
    from autograder.settings import SettingsError
    from autograder.student import errors as student_errors
    for error in (CourseError, NbgraderError, ReleaseError, IntakeError, GraderEnvironmentError,
                  GradingIncomplete, SimilarityError, SettingsError):
        assert issubclass(error, FirstmlpError), error
    assert not issubclass(student_errors.ProcessGone, FirstmlpError)


def test_nbgrader_failing_inside_grade_is_one_line_and_exit_2_not_a_traceback(
        tmp_path, monkeypatch, capsys):
    """Before issue 23, NbgraderError from grade()'s course preparation (generate_assignment)
    escaped main as a traceback; now it is one line naming the command and nbgrader's
    last line."""
    import autograder.course.nbgrader_course as nbgrader_course
    from autograder.grading import grader
    fake = tmp_path / "generate"
    fake.write_text(f"#!/bin/sh\necho '{nbgrader_course.GENERATING}01_perceptron'\n"
                    "echo 'Traceback (most recent call last):' >&2\n"
                    "echo 'sqlite3.OperationalError: database is locked' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(nbgrader_course, "generate_command", lambda: [str(fake)])
    monkeypatch.setattr(grader, "check_sandbox", lambda run: None)  # not what this test is about
    (tmp_path / "submitted").mkdir()
    status = cli.main(["grade", str(tmp_path / "submitted"), "--course-dir", str(tmp_path / "course")])
    err = capsys.readouterr().err
    assert status == 2
    assert err == ("grade: nbgrader generate_assignment 01_perceptron --force failed (1): "
                   "sqlite3.OperationalError: database is locked\n")


def test_train_runs_the_recipe_on_one_blas_thread(monkeypatch, capsys):
    """`firstmlp train` (and `demo`) train on one BLAS/OpenMP thread whatever the
    process started with: a second one spins for a core that other work holds."""
    from types import SimpleNamespace

    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits
    seen = []

    def recipe(data, epochs, on_epoch):
        seen.append({pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()})
        record = {"epoch": 1, "lr": 1e-3, "loss": 0.5, "seconds": 0.1, "test_accuracy": 0.9}
        on_epoch(record)
        return None, [record]

    data = SimpleNamespace(source="a stand-in", X_train=np.zeros((2, 784)), X_test=np.zeros((1, 784)))
    monkeypatch.setattr("autograder.student.data.load_mnist", lambda: data)
    monkeypatch.setattr("solutions.recipe.train_reference", recipe)
    with threadpool_limits(2):
        assert cli.main(["train", "--epochs", "1"]) == 0
    assert seen and seen[0] and set(seen[0].values()) == {1}, seen
    assert "Final test accuracy 90.00 %" in capsys.readouterr().out
