"""Grades out of the gradebook, from its rows (``standing``), in three layouts:

- ``grades.csv`` (long: a row per student and assignment in scope), nbgrader's export
  columns and what they leave out: the time handed in, seconds late, the penalty,
  the points still to be graded by hand, the status (graded, missing or zero) and
  why. ``nbgrader export`` in a course folder writes the same file
  (``GradesCsvPlugin``, set in the folder's grading config); a notebook no grading
  finished (``ungraded``) has no row.
- ``firstmlp export --format csv``: wide, a row per student, a column per assignment
  and the total and its denominator.
- ``firstmlp export --format canvas``: Canvas's gradebook-import layout: ``Student,
  ID, SIS User ID, SIS Login ID, Section``, a column per assignment (named as it is
  in course.toml: Canvas matches a column to the assignment of that name, or creates
  it, with the points of the ``Points Possible`` row), and ``Final Points``, the total
  — a column Canvas's own export has and its import ignores as read-only, so the
  file imports assignments only. An ungraded notebook is a blank cell (Canvas leaves
  that grade as it is)."""

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbgrader.plugins import ExportPlugin

from autograder.course.course_dir import CourseDir, Folder
from autograder.course.schedule import LatePolicy
from autograder.grading.standing import COUNTED, Row, Total, read_rows, totals

Table = tuple[list[str], list[list[str]]]  # (header, lines)

LONG_COLUMNS = ["assignment", "duedate", "timestamp", "seconds_late", "student_id",
                "last_name", "first_name", "email", "raw_score", "late_submission_penalty",
                "score", "max_score", "to_grade_by_hand", "status", "note"]
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_TOTAL = "Final Points"
POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes the row (its import finds it by name)


def number(value: float | None) -> str:
    return f"{value:g}" if value is not None else ""


def moment(value: Any) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%S}Z" if value is not None else ""


def long_table(course_dir: Folder, policy: LatePolicy | None = None) -> Table:
    """grades.csv's rows: (header, [[cells]]), a row per counted row of the gradebook."""
    lines: list[list[str]] = []
    for row in read_rows(course_dir):
        if row.status not in COUNTED:
            continue
        info = row.student_info
        lines.append([row.assignment, moment(row.duedate), moment(row.timestamp),
                      number(row.seconds_late), row.student, info["last_name"],
                      info["first_name"], info["email"], number(row.raw_score),
                      number(row.penalty), number(row.score), number(row.max_score),
                      number(row.by_hand), row.status, "; ".join(row.flags(policy))])
    return LONG_COLUMNS, lines


def wide_table(course_dir: Folder) -> tuple[list[str], list[tuple[str, dict[str, Row], Total]]]:
    """(assignments, [(row of the student, {assignment: Row}, Total)]) for the wide layouts."""
    rows = read_rows(course_dir)
    assignments = sorted({r.assignment for r in rows})
    students: dict[str, dict[str, Row]] = {}
    for row in rows:
        students.setdefault(row.student, {})[row.assignment] = row
    total = totals(rows)
    return assignments, [(student, own, total[student]) for student, own in sorted(students.items())]


def cell(row: Row | None) -> str:
    return number(row.score) if row is not None and row.status in COUNTED else ""


def plain_csv(course_dir: Folder) -> Table:
    assignments, students = wide_table(course_dir)
    header = ["student_id", "last_name", "first_name"] + assignments + [
        "total", "max_total", "to_grade_by_hand"]
    lines = []
    for student, own, total in students:
        info = next(iter(own.values())).student_info
        lines.append([student, info["last_name"], info["first_name"]]
                     + [cell(own.get(a)) for a in assignments]
                     + [number(total.score), number(total.max_score), number(total.by_hand)])
    return header, lines


def canvas_csv(course_dir: Folder) -> Table:
    assignments, students = wide_table(course_dir)
    header = CANVAS_IDENTITY + assignments + [CANVAS_TOTAL]
    possible = {a: next(own[a].max_score for _, own, _ in students if a in own)
                for a in assignments}
    lines = [[POINTS_POSSIBLE, "", "", "", ""] + [number(possible[a]) for a in assignments]
             + ["(read only)"]]
    for student, own, total in students:
        info = next(iter(own.values())).student_info
        name = ", ".join(n for n in (info["last_name"], info["first_name"]) if n) or student
        lines.append([name, info["lms_user_id"], "", student, ""]
                     + [cell(own.get(a)) for a in assignments] + [number(total.score)])
    return header, lines


def as_csv(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue()


def write_replacing(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all (never a half-written CSV)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def current_policy() -> LatePolicy:
    from autograder.course.build import load_manifest
    from autograder.course.schedule import late_policy
    return late_policy(load_manifest())


def write_grades_csv(course_dir: Folder, to: str | Path | None = None) -> Path:
    """grades.csv (or ``to``) from the gradebook, replaced whole."""
    target = Path(to) if to else CourseDir(course_dir).grades_csv
    return write_replacing(target, as_csv(*long_table(course_dir, current_policy())))


def export(course_dir: Folder, layout: str, out: str | Path | None = None) -> Path | str:
    """The wide export, ``layout`` "canvas" or "csv", to ``out`` (a path) or returned."""
    text = as_csv(*(canvas_csv if layout == "canvas" else plain_csv)(course_dir))
    return write_replacing(out, text) if out else text


class GradesCsvPlugin(ExportPlugin):  # type: ignore[misc]  # nbgrader has no types: its classes are Any
    """``nbgrader export`` in a course folder writes the grader's grades.csv."""

    def export(self, gradebook: Any) -> None:
        root = self.parent.coursedir.root
        write_grades_csv(root, self.to or os.path.join(root, "grades.csv"))
