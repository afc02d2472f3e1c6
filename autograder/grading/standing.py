"""Where each student stands, read from the course folder's gradebook: one ``Row`` per
student and assignment in scope (``scope``), the one source of grades.csv, the grade
table, report.md and ``firstmlp export``, so all of them show the same points out of
the same total.

A row's status:
- ``graded``: nbgrader graded the notebook (an autograded copy and a gradebook record);
- ``zero``: refused or unreadable work, with its reason; ``missing``: none handed in
  (both an empty record: 0 points, counted);
- ``ungraded``: a notebook handed in that no grading finished (the grader's failure,
  never the student's): no score, left out of grades.csv and of the totals, named in
  the report.

Points still to be graded by hand (written answers in formgrader's Manual Grading)
count in ``max_score`` and not yet in ``score``: "72/74 (2 to grade by hand)"."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from autograder.course.course_dir import CourseDir, Folder
from autograder.course.schedule import LatePolicy
from autograder.grading.late import LMS_LATE, duration
from autograder.student.table import points

COUNTED = ("graded", "zero", "missing")


@dataclass
class Row:
    student: str
    assignment: str
    status: str  # graded | zero | missing | ungraded
    max_score: float
    raw_score: float = 0.0  # before the late penalty (what formgrader shows)
    penalty: float = 0.0  # nbgrader's late_submission_penalty
    by_hand: float = 0.0  # points of written answers nobody has graded yet
    duedate: datetime | None = None  # UTC
    timestamp: datetime | None = None  # UTC, when the notebook was handed in
    seconds_late: float | None = None  # None: no time recorded or no due date
    lms_late: bool = False  # an LMS marked the file LATE (no time known)
    reason: str = ""  # why a zero, missing or ungraded
    student_info: dict[str, str] = field(default_factory=dict)  # first_name, last_name, email, lms_user_id

    @property
    def score(self) -> float:
        """The points that count: the raw score less the late penalty (nbgrader's export)."""
        return max(0.0, self.raw_score - self.penalty)

    def flags(self, policy: LatePolicy | None = None) -> list[str]:
        """What this row says beyond its points, each one plain line."""
        if self.status == "missing":
            return ["missing: no submission"]
        if self.status in ("zero", "ungraded"):
            return [f"{self.status}: {self.reason}"]
        said: list[str] = []
        if self.seconds_late:
            cost = (f"penalty {self.penalty:g} point{'s' * (self.penalty != 1)}" if self.penalty
                    else "no penalty")
            rule = f" ({policy.describe()})" if policy else ""
            said.append(f"late: {duration(self.seconds_late)} after the due date "
                        f"{self.duedate:%Y-%m-%d %H:%M} UTC; {cost}{rule}")
        if self.lms_late:
            said.append(LMS_LATE)
        return said


@dataclass
class Total:
    score: float = 0.0
    max_score: float = 0.0
    by_hand: float = 0.0
    ungraded: int = 0  # notebooks no grading finished: outside the total until graded

    def __str__(self) -> str:
        text = points(self.score, self.max_score, self.by_hand)
        return text + (f" + {self.ungraded} ungraded" if self.ungraded else "")


def row_points(row: Row) -> str:
    """A row's points as the table and report.md show them."""
    return points(row.score, row.max_score, row.by_hand) if row.status in COUNTED else "ungraded"


def totals(rows: Iterable[Row]) -> dict[str, Total]:
    """{student: Total} over the rows that count (``ungraded`` ones do not)."""
    result: dict[str, Total] = {}
    for row in rows:
        total = result.setdefault(row.student, Total())
        if row.status in COUNTED:
            total.score += row.score
            total.max_score += row.max_score
            total.by_hand += row.by_hand
        else:
            total.ungraded += 1
    return result


def read_rows(course_dir: Folder, students: Collection[str] | None = None) -> list[Row]:
    """Every row of the gradebook: each student (or those in ``students``) by each
    assignment it holds, in order of student then assignment."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.grading.record import load_record
    tree = CourseDir(course_dir)
    rows: list[Row] = []
    if not tree.gradebook.exists():  # nothing graded here yet (and none made by looking)
        return rows
    with Gradebook(tree.gradebook_url) as gradebook:
        assignments = sorted(gradebook.assignments, key=lambda a: a.name)
        for student in sorted(gradebook.students, key=lambda s: s.id):
            if students is not None and student.id not in students:
                continue
            info = {k: getattr(student, k) or "" for k in
                    ("first_name", "last_name", "email", "lms_user_id")}
            for assignment in assignments:
                record = load_record(course_dir, student.id, assignment.name) or {}
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    submission = None
                row = Row(student.id, assignment.name, "", assignment.max_score,
                          duedate=assignment.duedate, student_info=info,
                          lms_late=bool(record.get("lms_late")))
                place(row, submission, record, tree)
                rows.append(row)
    return rows


def place(row: Row, submission: Any, record: dict[str, Any], tree: CourseDir) -> None:
    """Fill ``row`` from its gradebook record (or None) and grading record."""
    handed_in = tree.submitted(row.student, row.assignment).is_file()
    graded = tree.autograded(row.student, row.assignment).is_file()
    if submission is not None and handed_in and graded and record.get("status") != "ungraded":
        row.status = "graded"
        row.raw_score = float(submission.score or 0.0)
        row.penalty = float(submission.late_submission_penalty or 0.0)
        row.timestamp = submission.timestamp
        row.duedate = submission.duedate
        if submission.timestamp is not None and submission.duedate is not None:
            row.seconds_late = float(submission.total_seconds_late)
        row.by_hand = waiting_for_hand_grading(submission)
    elif handed_in:
        row.status = "ungraded"
        row.reason = record.get("reason") or "handed in, not graded yet (no grading of it finished)"
    elif record.get("status") == "zero":
        row.status, row.reason = "zero", record.get("reason", "")
    else:
        row.status, row.reason = "missing", "no submission"


def waiting_for_hand_grading(submission: Any) -> float:
    """Points of the submission's cells that nbgrader left for manual grading (written
    answers a student changed) and that nobody has graded yet."""
    return float(sum(grade.max_score for notebook in submission.notebooks
                     for grade in notebook.grades
                     if grade.needs_manual_grade and grade.manual_score is None))
