"""One record, shown alike everywhere (fast: a gradebook made with nbgrader's own API,
no notebook run). A class with a missing notebook, a late one, a refused one, a written
answer waiting for a person and a notebook no grading finished: grades.csv, the grade
table, report.md, formgrader and ``firstmlp export`` give each student the same total
out of the same assignments. The end-to-end run is in test_record_graded.py (slow)."""

import csv
import io
import os
import sys
import warnings
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.course.course_dir import CourseDir
from autograder.grading import export, report, scope, standing
from autograder.grading.grader import Outcome
from autograder.grading.record import GradingRecord

DUE = datetime(2026, 9, 14, 23, 59)
# assignment -> {grade cell: (points, cell type)}
CELLS = {"01_perceptron": {"test_fit": (8, "code"), "q_why": (2, "markdown")},
         "02_activations": {"test_relu": (14, "code")},
         "03_loss_and_gradient_descent": {"test_mse": (8, "code")}}


@pytest.fixture(autouse=True)
def alembic_on_path(monkeypatch):
    """A new gradebook runs ``alembic`` (nbgrader), which lives beside this Python;
    nbgrader's add_submission makes SQLAlchemy warn about its autoflush (as in grading)."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="nbgrader.api")
        yield


def graded(tree, gradebook, student, assignment, scores, timestamp=None, penalty=0.0,
           by_hand=()):
    """A submission as nbgrader's Autograde leaves it: a record with ``scores`` per
    cell (``by_hand``: cells left for a person), the notebook in submitted/ and
    autograded/."""
    gradebook.update_or_create_student(student)
    gradebook.add_submission(assignment, student, timestamp=timestamp)
    for cell, score in scores.items():
        grade = gradebook.find_grade(cell, assignment, assignment, student)
        grade.auto_score = score
        grade.needs_manual_grade = cell in by_hand
    notebook = gradebook.find_submission_notebook(assignment, assignment, student)
    notebook.late_submission_penalty = penalty or None
    gradebook.db.commit()
    for path in (tree.submitted(student, assignment), tree.autograded(student, assignment)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    GradingRecord(tree.root, student, assignment).save()


@pytest.fixture(scope="module")
def settled(tmp_path_factory):
    """kim: 01 late by 1 h, its written answer waiting, 02 full; lee: 01 full, 02
    missing; max: 01 refused this run (an earlier run had graded another file), 02
    handed in and never graded (the grader's failure). Nobody handed in 03."""
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        warnings.filterwarnings("ignore", module="nbgrader.api")
        return settled_course(CourseDir(tmp_path_factory.mktemp("settled") / "course"))


def settled_course(tree):
    from nbgrader.api import Gradebook
    tree.root.mkdir()
    with Gradebook(tree.gradebook_url) as gradebook:
        for assignment, cells in CELLS.items():
            gradebook.add_assignment(assignment, duedate=DUE)
            gradebook.add_notebook(assignment, assignment)
            for cell, (points, kind) in cells.items():
                gradebook.add_grade_cell(cell, assignment, assignment, max_score=points,
                                         cell_type=kind)
        graded(tree, gradebook, "kim", "01_perceptron", {"test_fit": 8, "q_why": None},
               timestamp="2026-09-15 00:59:00 UTC", penalty=0.8, by_hand={"q_why"})
        graded(tree, gradebook, "kim", "02_activations", {"test_relu": 14})
        graded(tree, gradebook, "lee", "01_perceptron", {"test_fit": 8, "q_why": 2})
        graded(tree, gradebook, "max", "01_perceptron", {"test_fit": 8, "q_why": 2})
    max_02 = tree.submitted("max", "02_activations")
    max_02.parent.mkdir(parents=True)
    max_02.write_text("{}")
    found = [SimpleNamespace(student=s, assignment=a) for s, a in (
        ("kim", "01_perceptron"), ("kim", "02_activations"), ("lee", "01_perceptron"),
        ("max", "01_perceptron"), ("max", "02_activations"))]
    refused = {("max", "01_perceptron"): "refused max/01_perceptron/01_perceptron.ipynb: it "
                                          "is a symbolic link (links are never followed)"}
    scope.settle(tree.root, found, refused, {"01_perceptron", "02_activations"})
    outcomes = [Outcome(s.student, s.assignment, ungraded="the sandbox was lost")
                if (s.student, s.assignment) == ("max", "02_activations") else
                Outcome(s.student, s.assignment) for s in found]
    return tree, outcomes


@pytest.fixture
def course(settled, tmp_path):
    """A copy of the settled course folder for one test."""
    import shutil
    tree, outcomes = settled
    shutil.copytree(tree.root, tmp_path / "course")
    return CourseDir(tmp_path / "course"), outcomes


def test_settle_is_one_transaction_a_failure_part_way_leaves_the_gradebook_as_it_was(tmp_path,
                                                                                     monkeypatch):
    """max's refused 01 (an earlier run's graded record replaced by an empty one), then
    lee's missing 02 fails part-way (its status file cannot be written): neither change
    is kept — max's earlier record stands, lee has none for 02 — and the error is raised."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.grading import record
    written = record.note_status

    def disk_full_on_the_second(*args):
        if disk_full_on_the_second.calls == 1:
            raise OSError(28, "No space left on device")
        disk_full_on_the_second.calls += 1
        written(*args)
    disk_full_on_the_second.calls = 0
    monkeypatch.setattr(record, "note_status", disk_full_on_the_second)
    tree = CourseDir(tmp_path / "course")
    with pytest.raises(OSError, match="No space"):
        settled_course(tree)
    with Gradebook(tree.gradebook_url) as gradebook:
        assert gradebook.find_submission("01_perceptron", "max").score == 10
        with pytest.raises(MissingEntry):
            gradebook.find_submission("02_activations", "lee")


# student -> (score, out of, to grade by hand): 01 is 10 points, 02 is 14, 03 counts nowhere
EXPECTED = {"kim": (8 - 0.8 + 14, 24, 2), "lee": (10, 24, 0), "max": (0, 10, 0)}


def test_the_gradebook_holds_the_assignments_graded_so_far_and_a_record_for_each_student(course):
    from nbgrader.api import Gradebook
    tree, _ = course
    with Gradebook(tree.gradebook_url) as gradebook:
        assert sorted(a.name for a in gradebook.assignments) == ["01_perceptron", "02_activations"]
        lee_02 = gradebook.find_submission("02_activations", "lee")
        assert lee_02.score == 0 and lee_02.max_score == 14
        assert gradebook.find_submission("01_perceptron", "max").score == 0
    assert not tree.autograded("max", "01_perceptron").exists()  # the earlier file's grade is gone
    rows = {(r.student, r.assignment): r for r in standing.read_rows(tree.root)}
    assert [rows[k].status for k in sorted(rows)] == ["graded", "graded", "graded", "missing",
                                                      "zero", "ungraded"]
    assert rows[("kim", "01_perceptron")].seconds_late == 3600
    assert rows[("max", "01_perceptron")].reason.startswith("refused max/01_perceptron")


def test_grades_csv_shows_time_lateness_penalty_status_and_the_same_totals(course):
    tree, _ = course
    path = export.write_grades_csv(tree.root)
    rows = list(csv.DictReader(open(path)))
    assert {(r["student_id"], r["assignment"]) for r in rows} == {
        ("kim", "01_perceptron"), ("kim", "02_activations"), ("lee", "01_perceptron"),
        ("lee", "02_activations"), ("max", "01_perceptron")}  # max's 02: ungraded, no row
    kim = next(r for r in rows if (r["student_id"], r["assignment"]) == ("kim", "01_perceptron"))
    assert (kim["duedate"], kim["timestamp"], kim["seconds_late"]) == (
        "2026-09-14T23:59:00Z", "2026-09-15T00:59:00Z", "3600")
    assert (kim["raw_score"], kim["late_submission_penalty"], kim["score"], kim["max_score"],
            kim["to_grade_by_hand"], kim["status"]) == ("8", "0.8", "7.2", "10", "2", "graded")
    assert kim["note"].startswith("late: 1 h 0 min after the due date 2026-09-14 23:59 UTC; "
                                  "penalty 0.8 points")
    statuses = {(r["student_id"], r["assignment"]): (r["status"], r["note"]) for r in rows}
    assert statuses[("lee", "02_activations")] == ("missing", "missing: no submission")
    assert statuses[("max", "01_perceptron")][0] == "zero"
    for student, (score, possible, by_hand) in EXPECTED.items():
        own = [r for r in rows if r["student_id"] == student]
        assert sum(float(r["score"]) for r in own) == pytest.approx(score)
        assert sum(float(r["max_score"]) for r in own) == possible
        assert sum(float(r["to_grade_by_hand"]) for r in own) == by_hand


def test_the_table_and_report_show_the_same_totals(course):
    tree, outcomes = course
    table = report.summary_table(tree.root, outcomes)
    text = report.write_report(tree.root, outcomes).read_text()
    assert "03_loss" not in table and "03_loss" not in text
    for student, (score, possible, by_hand) in EXPECTED.items():
        total = f"{score:g}/{possible:g}" + (f" ({by_hand:g} to grade by hand)" if by_hand else "") \
            + (" + 1 ungraded" if student == "max" else "")
        line = next(line for line in table.splitlines() if line.startswith(student))
        assert f"  {total}  " in line, (line, total)
        assert f"## {student}: {total}\n" in text
    lee = next(line for line in table.splitlines() if line.startswith("lee"))
    assert "02_activations: missing: no submission" in lee
    max_line = next(line for line in table.splitlines() if line.startswith("max"))
    assert "ungraded" in max_line and "01_perceptron: zero: refused" in max_line
    assert "- 02_activations: ungraded" in text


def test_formgrader_totals_the_same_assignments_and_lists_a_missing_notebook(course):
    """Formgrader's student total is nbgrader's: every assignment of the gradebook (also
    one whose grading never finished: max's 02, which counts nowhere else until graded),
    the score before any late penalty (nbgrader applies penalties in its export only)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    tree, _ = course
    api = NbGraderAPI(coursedir=CourseDirectory(root=str(tree.root)))
    students = {s["id"]: s for s in api.get_students()}
    for student, (score, possible, _) in EXPECTED.items():
        late = 0.8 if student == "kim" else 0.0
        ungraded = 14 if student == "max" else 0
        assert students[student]["max_score"] == possible + ungraded
        assert students[student]["score"] == pytest.approx(score + late)
    listed = {s["student"] for s in api.get_submissions("02_activations")}
    assert "lee" in listed  # the missing notebook has a row (its empty record)


@pytest.mark.parametrize("layout", ["csv", "canvas"])
def test_the_export_reads_back_as_the_gradebook(course, layout, tmp_path):
    tree, _ = course
    out = export.export(tree.root, layout, tmp_path / f"grades-{layout}.csv")
    table = list(csv.reader(io.StringIO(out.read_text())))
    header, body = table[0], table[1:]
    rows = {(r.student, r.assignment): r for r in standing.read_rows(tree.root)}
    assignments = ["01_perceptron", "02_activations"]
    if layout == "canvas":
        assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + assignments + [
            "Final Points"]
        possible, body = body[0], body[1:]
        assert possible[0].strip() == "Points Possible"
        assert [float(v) for v in possible[5:7]] == [10, 14] and possible[7] == "(read only)"
        student_of, total_column = (lambda line: line[3]), "Final Points"
    else:
        assert header == ["student_id", "last_name", "first_name"] + assignments + [
            "total", "max_total", "to_grade_by_hand"]
        student_of, total_column = (lambda line: line[0]), "total"
    assert sorted(student_of(line) for line in body) == sorted(EXPECTED)
    for line in body:
        student, cells = student_of(line), dict(zip(header, line, strict=True))
        for assignment in assignments:
            row = rows[(student, assignment)]
            if row.status == "ungraded":
                assert cells[assignment] == ""  # an LMS keeps what it has
            else:
                assert float(cells[assignment]) == pytest.approx(row.score)
        assert float(cells[total_column]) == pytest.approx(EXPECTED[student][0])
        if layout == "csv":
            assert float(cells["max_total"]) == EXPECTED[student][1]
            assert float(cells["to_grade_by_hand"]) == EXPECTED[student][2]


def test_stock_nbgrader_export_writes_the_graders_grades_csv(course):
    """`nbgrader export` in a course folder (its grading config names the plugin)."""
    from autograder.course.nbgrader_course import run_nbgrader
    tree, _ = course
    tree.nbgrader_config.write_text(
        "c = get_config()\nfrom autograder.grading.export import GradesCsvPlugin\n"
        "c.ExportApp.plugin_class = GradesCsvPlugin\n")
    run_nbgrader(tree.root, "export")
    assert tree.grades_csv.read_text() == export.as_csv(*export.long_table(
        tree.root, export.current_policy()))


def test_a_run_puts_its_assignment_in_and_course_toml_due_dates_on_all(course, monkeypatch):
    """``register``: an assignment a run grades comes back into the gradebook
    (generate_assignment), and every due date is course.toml's."""
    from nbgrader.api import Gradebook

    from autograder.course.build import load_manifest
    from autograder.course.schedule import due_dates
    tree, _ = course
    ran = []
    monkeypatch.setattr("autograder.course.nbgrader_course.run_nbgrader",
                        lambda root, *args: ran.append(args))
    scope.register(tree.root, {"02_activations", "03_loss_and_gradient_descent"})
    assert ran == [("generate_assignment", "03_loss_and_gradient_descent", "--force")]
    due = due_dates(load_manifest())
    with Gradebook(tree.gradebook_url) as gradebook:
        assert {a.name: a.duedate for a in gradebook.assignments} == {
            a: due[a] for a in ("01_perceptron", "02_activations")}


@pytest.mark.parametrize("argv, message", [
    (["export", "--format", "xls"], "firstmlp export: argument --format: invalid choice: 'xls'"),
    (["export"], "firstmlp export: the following arguments are required: --format"),
    (["export", "--format", "csv", "--out", "."], "firstmlp export: argument --out: . is a folder"),
    (["export", "--format", "csv", "--out", "no/such/grades.csv"],
     "firstmlp export: argument --out: no/such is not a folder you can write in"),
    (["export", "--format", "canvas", "--course-dir", "empty"],
     "export: no gradebook in empty: grade a class into it first"),
])
def test_export_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, monkeypatch,
                                                         capsys):
    from autograder import cli
    monkeypatch.chdir(tmp_path)
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(message) and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())


def test_export_command_writes_the_file_or_prints_it(course, tmp_path, capsys):
    from autograder import cli
    out = tmp_path / "canvas.csv"
    assert cli.main(["export", "--format", "canvas", "--course-dir", str(tree_of(course)),
                     "--out", str(out)]) == 0
    assert out.read_text() == export.export(tree_of(course), "canvas")
    capsys.readouterr()
    assert cli.main(["export", "--format", "csv", "--course-dir", str(tree_of(course))]) == 0
    assert capsys.readouterr().out == export.export(tree_of(course), "csv")


def tree_of(course):
    return course[0].root
