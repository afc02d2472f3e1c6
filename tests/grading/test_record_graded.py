"""One denominator, end to end (slow: notebooks graded in the sandbox). A class in
nbgrader's submitted/ tree: kim hands in 01 an hour late (nbgrader's timestamp.txt)
and 04, whose written answer waits for a person; lee hands in 01 only. The grade table,
report.md, grades.csv, formgrader and ``firstmlp export`` agree on every student's
total and denominator; grades.csv records the time, the lateness and the penalty that
course.toml's policy gives through nbgrader's late-submission plugin."""

import csv
import io
import re

import nbformat
import pytest

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir
from autograder.course.nbgrader_course import completed_notebook
from autograder.course.release import RELEASES
from autograder.course.schedule import due_dates, late_policy
from autograder.grading.grader import grade

pytestmark = pytest.mark.slow
RELEASE = RELEASES / load_manifest()["version"]
HANDED_IN = "2026-09-15 00:59:00.000000 UTC"  # 01 is due 2026-09-14 23:59 UTC


@pytest.fixture(scope="module")
def graded(tmp_path_factory, prepared_course):
    course = tmp_path_factory.mktemp("record") / "course"
    prepared_course(course)
    submitted = course.parent / "submitted"

    def hand_in(student, assignment, notebook, timestamp=None):
        folder = submitted / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{assignment}.ipynb"))
        if timestamp:
            (folder / "timestamp.txt").write_text(timestamp)

    for assignment in ("01_perceptron", "04_backprop"):
        hand_in("kim", assignment, completed_notebook(
            RELEASE / f"{assignment}.ipynb", CourseDir(course).source(assignment)),
            HANDED_IN if assignment == "01_perceptron" else None)
    hand_in("lee", "01_perceptron", nbformat.read(str(RELEASE / "01_perceptron.ipynb"), 4))
    outcomes, _, csv_path = grade(submitted, course, workers=2, progress=False)
    return course, outcomes, csv_path


def test_grades_csv_records_the_time_the_lateness_and_the_plugins_penalty(graded):
    course, _, csv_path = graded
    rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(open(csv_path))}
    kim = rows[("kim", "01_perceptron")]
    due = due_dates(load_manifest())["01_perceptron"]
    assert kim["timestamp"] == "2026-09-15T00:59:00Z"
    assert kim["duedate"] == f"{due:%Y-%m-%dT%H:%M:%S}Z"
    assert float(kim["seconds_late"]) == 3600
    raw = float(kim["raw_score"])
    assert raw > 0 and float(kim["late_submission_penalty"]) == pytest.approx(
        late_policy(load_manifest()).share(3600) * raw)
    assert float(kim["score"]) == pytest.approx(raw - float(kim["late_submission_penalty"]))
    assert kim["note"].startswith("late: 1 h 0 min after the due date")
    assert float(rows[("kim", "04_backprop")]["to_grade_by_hand"]) > 0
    lee = rows[("lee", "04_backprop")]
    assert (lee["status"], lee["score"], lee["note"]) == ("missing", "0", "missing: no submission")
    assert rows[("lee", "01_perceptron")]["timestamp"] == ""  # no timestamp.txt: no time
    assert set(rows) == {(s, a) for s in ("kim", "lee") for a in ("01_perceptron", "04_backprop")}


def test_table_report_csv_formgrader_and_export_show_one_total(graded):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograder.grading.export import export
    from autograder.grading.report import summary_table, write_report
    course, outcomes, csv_path = graded
    rows = list(csv.DictReader(open(csv_path)))
    table = summary_table(course, outcomes)
    text = write_report(course, outcomes).read_text()
    canvas = list(csv.reader(io.StringIO(export(course, "canvas"))))
    formgrader = {s["id"]: s for s in NbGraderAPI(
        coursedir=CourseDirectory(root=str(course))).get_students()}
    for student in ("kim", "lee"):
        own = [r for r in rows if r["student_id"] == student]
        score = sum(float(r["score"]) for r in own)
        possible = sum(float(r["max_score"]) for r in own)
        by_hand = sum(float(r["to_grade_by_hand"]) for r in own)
        penalty = sum(float(r["late_submission_penalty"]) for r in own)
        points = {a["name"]: a["points"] for a in load_manifest()["assignments"]}
        assert possible == points["01_perceptron"] + points["04_backprop"]  # graded so far
        total = f"{score:g}/{possible:g}" + (f" ({by_hand:g} to grade by hand)" if by_hand else "")
        line = next(line for line in table.splitlines() if line.startswith(student))
        assert re.search(rf"\s{re.escape(total)}\s", line), (line, total)
        assert f"## {student}: {total}\n" in text
        exported = next(line for line in canvas if line[3] == student)
        assert float(exported[canvas[0].index("Final Points")]) == pytest.approx(score)
        assert formgrader[student]["max_score"] == possible
        assert formgrader[student]["score"] == pytest.approx(score + penalty)  # before penalty
    assert "04_backprop: missing: no submission" in next(
        line for line in table.splitlines() if line.startswith("lee"))
