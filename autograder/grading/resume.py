"""Resume: a run that was killed skips what an earlier run graded from the same file
(``firstmlp/done/``) and never loops on a notebook whose grading keeps dying
(``firstmlp/attempts/``)."""

import json
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from autograder.grading.record import write_atomically

if TYPE_CHECKING:
    from autograder.course.course_dir import CourseDir
    from autograder.grading.intake import Submission

Key = tuple[str, str]  # (student, assignment)


ATTEMPTS = 3  # a notebook whose grading never finished this often is not tried again


def graded_before(tree: "CourseDir", found: Iterable["Submission"],
                  digests: Mapping[Key, str]) -> dict[Key, dict[str, Any]]:
    """Step 3a, resume: {key: record} of what an earlier run graded from the same file."""
    return {(s.student, s.assignment): record for s in found if s.assignment is not None
            and (record := already_graded(tree, s, digests[(s.student, s.assignment)]))}


def already_graded(tree: "CourseDir", submission: "Submission", digest: str) -> dict[str, Any] | None:
    """The record of an earlier run that graded this very file, or None."""
    if submission.assignment is None:  # a whole folder refused: never graded
        return None
    try:
        done = json.loads(tree.done(submission.student, submission.assignment).read_text())
    except (OSError, ValueError):
        return None
    graded = tree.autograded(submission.student, submission.assignment).parent
    return done if done.get("sha256") == digest and graded.is_dir() else None


def poisoned(tree: "CourseDir", found: Iterable["Submission"], digests: Mapping[Key, str],
             done: Collection[Key], broken: Collection[Key], regrade: bool) -> dict[Key, str]:
    """Step 3b: {key: reason} for the notebooks whose grading began ``ATTEMPTS`` times
    and never finished (a run or worker killed in it): resume never loops on them, and
    they stay ungraded (a worker that dies is the grader's failure, never a score).
    ``regrade`` forgets the count."""
    refused: dict[Key, str] = {}
    for s in found:
        if s.assignment is None:  # a whole folder refused (read_in's over_scope names each; a
            continue  # guard for other callers): its path would be the student's folder of attempts
        key = (s.student, s.assignment)
        if regrade:
            tree.attempts(s.student, s.assignment).unlink(missing_ok=True)
        elif key not in done and key not in broken and \
                (n := attempts_of(tree, s.student, s.assignment, digests[key])) >= ATTEMPTS:
            refused[key] = (f"grading this notebook began {n} times and never finished (the "
                            "run or its worker was killed in it); not tried again (--regrade "
                            "retries)")
    return refused


def attempts_of(tree: "CourseDir", student: str, assignment: str, digest: str) -> int:
    """How often grading of this very file began without finishing."""
    try:
        record = json.loads(tree.attempts(student, assignment).read_text())
    except (OSError, ValueError):
        return 0
    return int(record.get("count", 0)) if record.get("sha256") == digest else 0


def count_attempt(tree: "CourseDir", student: str, assignment: str, digest: str) -> int:
    """Called as grading of a notebook begins (so a run killed in it, or a worker that
    dies in it, leaves a trace): resume never loops on a poisoned submission."""
    count = attempts_of(tree, student, assignment, digest) + 1
    write_atomically(tree.attempts(student, assignment),
                     json.dumps({"sha256": digest, "count": count}))
    return count


def worker_died(count: int) -> str:
    return (f"the grading worker died {count} times while grading this notebook; not tried "
            "again (--regrade retries)")
