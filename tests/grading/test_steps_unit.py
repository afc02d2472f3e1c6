"""autograder/grading/steps.py on its own (no nbgrader run, no notebook executed): the
run's scope, a refused folder's zeros, the outcomes gathered from a (fake) gradebook —
a score, a student's zero with its reason, the grader's failure as ungraded, never a
score — the flags read back, and grades.csv's rows left out."""

import csv
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.course.course_dir import CourseDir
from autograder.grading import steps
from autograder.grading.intake import Submission
from autograder.grading.late import LMS_LATE
from autograder.grading.pool import ungraded_result
from autograder.grading.record import GradingRecord
from autograder.grading.run import GraderEnvironmentError


def handed(student, assignment, refused=None, late=False, notes=()):
    return Submission(student, assignment, None if refused else Path(f"/{student}.ipynb"),
                      refused, late, notes)


def test_the_scope_is_the_assignment_asked_for_or_what_was_taken_in_never_a_refusal():
    found = [handed("ada", "01"), handed("bob", "02", refused="refused x: a link"),
             handed("cy", None, refused="refused cy/: a link")]
    assert steps.run_scope(found) == {"01"}
    assert steps.run_scope(found, "03") == {"03"}


def test_a_refused_folder_is_a_zero_for_each_assignment_in_scope_not_handed_in_otherwise():
    folder = handed("ada", None, refused="refused ada/: a link")
    unmatched = []
    kept = steps.over_scope([handed("ada", "01"), folder], {"01", "02"}, unmatched, "/in")
    assert [(s.student, s.assignment, s.refused) for s in kept] == [
        ("ada", "01", None), ("ada", "02", "refused ada/: a link")]
    assert unmatched == []
    assert steps.over_scope([folder], set(), unmatched, "/in") == []
    assert [(str(u.path), u.reason) for u in unmatched] == [("/in/ada", "refused ada/: a link")]


def test_a_device_that_cannot_be_used_stops_the_run_in_one_line():
    assert steps.check_device(None) is None and steps.check_device("cpu") is None
    with pytest.raises(GraderEnvironmentError, match="--device nonsense0 cannot be used here") as error:
        steps.check_device("nonsense0")
    assert "\n" not in str(error.value)


def test_students_whose_names_the_filesystem_would_merge_stop_the_run(tmp_path, monkeypatch):
    steps.kept_apart(CourseDir(tmp_path), {"Kim", "kim", "ada"})  # this filesystem tells them apart
    monkeypatch.setattr(steps.os.path, "lexists", lambda path: True)  # one that does not
    with pytest.raises(GraderEnvironmentError, match="'Kim', 'kim' would share one folder"):
        steps.kept_apart(CourseDir(tmp_path), {"Kim", "kim", "ada"})
    steps.kept_apart(CourseDir(tmp_path), {"ada", "bob"})  # nothing alike: nothing tried


def test_the_graders_own_folders_are_kept_out_of_intake(tmp_path):
    folders = steps.grader_files(tmp_path)
    assert folders[0] == tmp_path and {f.name for f in folders[1:]} == {"solutions", "course", "build"}


class FakeGradebook:
    """nbgrader's Gradebook as gather_outcomes reads it."""
    scores = {("ada", "01"): (3.0, 4.0)}

    def __init__(self, url):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def find_submission(self, assignment, student):
        from nbgrader.api import MissingEntry
        if (student, assignment) not in self.scores:
            raise MissingEntry()
        score, max_score = self.scores[(student, assignment)]
        return SimpleNamespace(score=score, max_score=max_score, notebooks=[])

    def find_assignment(self, assignment):
        return SimpleNamespace(max_score=4.0)


@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.setattr("nbgrader.api.Gradebook", FakeGradebook)
    return CourseDir(tmp_path)


def test_outcomes_a_score_a_students_zero_and_the_graders_failure(course):
    found = [handed("ada", "01", late=True, notes=("shared file",)),
             handed("bob", "01", refused="refused bob.ipynb: a link"),
             handed("cy", "01"), handed("dee", "01")]
    results = {("ada", "01"): {"ok": True}, ("cy", "01"): ungraded_result("cy", "01", "worker died"),
               ("dee", "01"): {"ok": True}}  # "done", yet the gradebook holds nothing
    broken = {("bob", "01"): "refused bob.ipynb: a link"}
    outcomes = steps.gather_outcomes(course, found, results, broken, scope={"01", "02"}, version="v1")
    ada, bob, cy, dee = (o for o in outcomes if o.assignment == "01")
    assert (ada.score, ada.max_score, ada.ungraded) == (3.0, 4.0, "")
    assert LMS_LATE in ada.flags and "shared file" in ada.flags
    assert (bob.score, bob.max_score, bob.flags) == (0.0, 4.0, ["zero: refused bob.ipynb: a link"])
    assert cy.ungraded == "worker died" and cy.score == 0.0
    assert dee.ungraded == "the gradebook holds no grades for it"
    missing = [(o.student, o.assignment, o.flags) for o in outcomes if o.assignment == "02"]
    assert missing == [(s, "02", ["missing: no submission"]) for s in ("ada", "bob", "cy", "dee")]


def test_outcome_flags_are_one_plain_line_each(course):
    record = GradingRecord(course, "ada", "01")
    record.flag("cell \x1b[2Jx\nwas edited")
    record.save()
    (outcome,) = steps.gather_outcomes(course, [handed("ada", "01")], {("ada", "01"): {"ok": True}},
                                       {}, scope={"01"}, version="v1")
    assert "cell ?[2Jx was edited" in outcome.flags


def test_flags_of_names_an_old_release_and_a_notebook_that_stopped(tmp_path):
    tree = CourseDir(tmp_path)
    submitted = new_notebook(metadata={"firstmlp": {"course_version": "2026.8"}})
    stopped = new_code_cell("x")
    stopped.outputs = [new_output("error", ename="NotebookStopped", evalue="a cell ran too long",
                                  traceback=[])]
    for path, notebook in ((tree.submitted("ada", "01"), submitted),
                           (tree.autograded("ada", "01"), new_notebook(cells=[stopped]))):
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, str(path))
    assert steps.flags_of(tree, "ada", "01", "2026.9") == [
        "release 2026.8 (current 2026.9)", "stopped: a cell ran too long"]
    assert steps.flags_of(tree, "bob", "01", "2026.9") == ["release unknown (current 2026.9)"]


def test_without_rows_leaves_out_only_the_ungraded_rows(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("assignment,student_id,score\n01,ada,3\n01,bob,0\n02,bob,1\n")
    steps.without_rows(path, {("bob", "01")})
    with open(path, newline="") as rows:
        assert [(r["assignment"], r["student_id"]) for r in csv.DictReader(rows)] == [
            ("01", "ada"), ("02", "bob")]
