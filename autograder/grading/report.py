"""What ``firstmlp grade`` shows a person: the grade table on the terminal and
report.md, both from the gradebook's rows (``standing``), as grades.csv and ``firstmlp
export`` are, so a student's total and its denominator are the same in all of them;
the flags are the run's (``Outcome.flags``) and the rows' own (late, missing, zero)."""

import re
from collections.abc import Sequence
from pathlib import Path

from autograder.course.course_dir import Folder
from autograder.course.schedule import LatePolicy
from autograder.grading.record import plain_line, write_atomically
from autograder.grading.run import Outcome
from autograder.grading.standing import Row, Total, read_rows, row_points, totals
from autograder.student.table import format_table


def standing_of(course_dir: Folder, outcomes: Sequence[Outcome],
                ) -> tuple[list[str], dict[str, dict[str, Row]], dict[str, Total], LatePolicy]:
    """(assignments, {student: {assignment: Row}}, {student: Total}, policy) for the
    students of ``outcomes``, read from the gradebook."""
    from autograder.grading.export import current_policy
    rows = read_rows(course_dir, {o.student for o in outcomes})
    own: dict[str, dict[str, Row]] = {o.student: {} for o in outcomes}
    for row in rows:
        own[row.student][row.assignment] = row
    total = {student: Total() for student in own} | totals(rows)
    assignments = sorted({r.assignment for r in rows} | {o.assignment for o in outcomes})
    return assignments, own, total, current_policy()


def flags_of(student: str, assignments: Sequence[str], own: dict[str, Row], outcomes: Sequence[Outcome],
             policy: LatePolicy) -> list[tuple[str, str]]:
    """[(assignment, flag)]: the run's flags, then the rows' own not said yet."""
    said = [(o.assignment, f) for o in outcomes if o.student == student for f in o.flags]
    for assignment in assignments:
        row = own.get(assignment)
        for flag in (row.flags(policy) if row else []):
            flag = plain_line(flag)
            assert row is not None  # a row's flags only
            if (assignment, flag) not in said and not (
                    row.status == "ungraded" and any(a == assignment and f.startswith("ungraded")
                                                     for a, f in said)):
                said.append((assignment, flag))
    return said


def summary_table(course_dir: Folder, outcomes: Sequence[Outcome]) -> str:
    """Rows: the run's students; columns: each assignment in scope (its points, as
    ``standing.row_points``), the total, flags."""
    assignments, own, total, policy = standing_of(course_dir, outcomes)
    rows = []
    for student in sorted(own):
        flags = "; ".join(f"{a}: {f}" for a, f in flags_of(student, assignments, own[student],
                                                         outcomes, policy))
        rows.append([student] + [row_points(own[student][a]) if a in own[student] else "—"
                                 for a in assignments] + [str(total[student]), flags])
    return format_table(["student"] + assignments + ["total", "flags"], rows)


def as_markdown_text(text: str) -> str:
    """``text`` (one plain line: ``record.plain_line``) shown as written in rendered
    Markdown: a flag may quote a student's notebook, so HTML, links and emphasis are
    escaped (CommonMark: a backslash before ASCII punctuation makes it literal)."""
    return re.sub(r"([\\`*_\[\]<>&#|!])", r"\\\1", text)


def write_report(course_dir: Folder, outcomes: Sequence[Outcome]) -> Path:
    """report.md: per student, the total, each assignment's points and every flag with
    its reason."""
    assignments, own, total, policy = standing_of(course_dir, outcomes)
    lines = ["# Grading report", "",
             "Totals are over the assignments graded so far in this course folder; points "
             "of written answers no person has graded yet count in the denominator and are "
             "named beside it. An ungraded notebook (the grader's failure) counts nowhere.", ""]
    for student in sorted(own):
        lines.append(f"## {as_markdown_text(student)}: {total[student]}")
        flags = flags_of(student, assignments, own[student], outcomes, policy)
        for assignment in assignments:
            row = own[student].get(assignment)
            lines.append(f"- {assignment}: {row_points(row) if row else '—'}")
            lines += [f"  - {as_markdown_text(flag)}" for a, flag in flags if a == assignment]
        lines.append("")
    path = Path(course_dir) / "report.md"
    write_atomically(path, "\n".join(lines))
    return path
