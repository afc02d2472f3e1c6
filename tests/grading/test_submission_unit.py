"""autograder/grading/submission.py on its own: a file is read once — digested and parsed
from the same bytes, with a one-line reason when it is no notebook — its trusted
notebook made once (a failure kept, not raised, until it is placed), and placed where
nbgrader grades it with its timestamp and the LMS's late mark."""

import hashlib
import json
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.course_dir import CourseDir
from autograder.grading.record import GradingRecord, load_record
from autograder.grading.submission import make_trusted, place_submission, read_submission

ADA = SimpleNamespace(student="ada", assignment="02_activations", timestamp=None, late=False)


def test_the_digest_is_of_the_bytes_read(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), str(path))
    reading = read_submission(path)
    assert reading.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reading.reason is None and reading.notebook.cells[0].source == "x = 1"


@pytest.mark.parametrize("data, reason", [
    (b"", "the file is empty"),
    (b"{not json", "not a readable notebook ("),
    (b"\xff\xfe", "not a readable notebook (UnicodeDecodeError"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_a_file_that_is_no_notebook_has_a_one_line_reason_and_a_digest(tmp_path, data, reason):
    path = tmp_path / "a.ipynb"
    path.write_bytes(data)
    reading = read_submission(path)
    assert reading.notebook is None and reason in reading.reason and "\n" not in reading.reason
    assert reading.digest == hashlib.sha256(data).hexdigest()


def test_a_lone_surrogate_is_refused_before_it_can_break_a_later_write(tmp_path):
    notebook = json.loads(nbformat.writes(new_notebook(cells=[new_code_cell("x")])))
    notebook["cells"][0]["source"] = "\ud800"
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(notebook))  # ASCII JSON with the escape "\ud800"
    assert "not valid UTF-8" in read_submission(path).reason


def test_a_trusted_notebook_that_cannot_be_made_is_kept_as_the_error_and_raised_when_placed(tmp_path):
    tree = CourseDir(tmp_path)  # no release: trusted_notebook cannot read it
    notebook, record = make_trusted(tree, ADA, read_submission_of(tmp_path, new_notebook()))
    assert isinstance(notebook, Exception) and isinstance(record, GradingRecord)
    with pytest.raises(type(notebook)):
        place_submission(tree, ADA, (notebook, record))
    assert not tree.submitted("ada", "02_activations").exists()


def read_submission_of(folder, notebook):
    path = folder / "handed_in.ipynb"
    nbformat.write(notebook, str(path))
    return read_submission(path)


def test_placing_replaces_the_folder_and_saves_the_timestamp_late_mark_and_record(tmp_path):
    tree = CourseDir(tmp_path)
    tree.release("02_activations").parent.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[new_code_cell("given = 1")]), str(tree.release("02_activations")))
    target = tree.submitted("ada", "02_activations")
    target.parent.mkdir(parents=True)
    (target.parent / "stale.txt").write_text("an older run's")
    submission = SimpleNamespace(student="ada", assignment="02_activations",
                                 timestamp="2026-09-01 10:00:00 UTC", late=True)
    trusted = make_trusted(tree, submission, read_submission_of(tmp_path, new_notebook()))
    trusted[1].flag("a flag made while trusting")
    place_submission(tree, submission, trusted)
    assert sorted(p.name for p in target.parent.iterdir()) == ["02_activations.ipynb", "timestamp.txt"]
    assert (target.parent / "timestamp.txt").read_text() == "2026-09-01 10:00:00 UTC\n"
    assert nbformat.read(str(target), as_version=4).cells[0].source == "given = 1"
    saved = load_record(tree, "ada", "02_activations")
    assert saved["lms_late"] is True and saved["flags"] == ["a flag made while trusting"]
