"""Which assignments count, kept in the course folder's gradebook, so that every view
of it — formgrader, ``nbgrader export``, grades.csv, the table, report.md, ``firstmlp
export`` — totals the same assignments for every student.

The denominator is **the assignments graded so far in this course folder**: those
its gradebook holds a submission for (any student, any run), plus the one a run
names with ``--assignment``. Mid-term, after 01 and 02, a student's total is out of
24, not 74: what an instructor asks mid-term is how a student stands on the work set
so far (Canvas's "current score"); the course's total is the LMS's to weigh. That is
also nbgrader's own model (an assignment enters formgrader when it is created), and
formgrader sums every assignment in the gradebook: so ``register`` puts an assignment
in the gradebook when a run grades it, and ``settle`` takes out again those nobody
handed in (``generate_assignment`` registers them all when the sources change).

Within it, each student has a submission record for each assignment: graded ones
from nbgrader's ``Autograde``; a missing notebook or a refused one gets an empty
record (no notebook, score 0), as nbgrader's gradebook represents a submission with
nothing graded, so formgrader lists it; its reason is in the grading record
(``record.note_status``)."""

import shutil
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from autograder.course.course_dir import CourseDir, Folder

if TYPE_CHECKING:
    from autograder.grading.intake import Submission


def register(course_dir: Folder, assignments: Iterable[str]) -> None:
    """Before grading: each of ``assignments`` in the gradebook (``generate_assignment``
    for one that ``settle`` took out), and every assignment's due date from course.toml
    (nbgrader's ``Assignment.duedate``: nbgrader computes lateness from it)."""
    from nbgrader.api import Gradebook

    from autograder.course.build import load_manifest
    from autograder.course.nbgrader_course import run_nbgrader
    from autograder.course.schedule import due_dates
    tree = CourseDir(course_dir)
    with Gradebook(tree.gradebook_url) as gradebook:
        known = {a.name for a in gradebook.assignments}
    for name in sorted(set(assignments) - known):
        run_nbgrader(course_dir, "generate_assignment", name, "--force")
    due = due_dates(load_manifest())
    with Gradebook(tree.gradebook_url) as gradebook:
        for assignment in gradebook.assignments:
            if assignment.duedate != due.get(assignment.name):
                gradebook.update_or_create_assignment(assignment.name,
                                                      duedate=due.get(assignment.name))


def settle(course_dir: Folder, found: Iterable["Submission"], zeros: Mapping[tuple[str, str], str],
           scope: Iterable[str]) -> None:
    """After grading: ``zeros`` ({(student, assignment): reason}: refused or unreadable
    work) of ``found`` (the run's) recorded as empty submissions with their reason,
    replacing what an earlier run graded from another file; an empty record, "missing",
    for each student of the gradebook and each assignment in scope (``scope`` ∪ those
    with a submission) that the student has no record and no notebook of (none handed
    in, to this run or before); and every assignment without a submission out of the
    gradebook, in one transaction (``one_transaction``): a failure part-way leaves the
    gradebook as it was."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.grading.record import note_status
    tree = CourseDir(course_dir)
    handed_in = {(s.student, s.assignment) for s in found}
    with warnings.catch_warnings(), Gradebook(tree.gradebook_url) as gradebook, \
            one_transaction(gradebook):
        warnings.filterwarnings("ignore", module="nbgrader.api")  # SQLAlchemy autoflush chatter
        for (student, assignment), reason in sorted(zeros.items()):
            if (student, assignment) not in handed_in:  # refused, but not graded by this run
                continue
            try:
                gradebook.remove_submission(assignment, student)
            except MissingEntry:
                pass
            for folder in (tree.submitted(student, assignment).parent,
                           tree.autograded(student, assignment).parent,
                           tree.root / "feedback" / student / assignment):
                shutil.rmtree(folder, ignore_errors=True)
            tree.done(student, assignment).unlink(missing_ok=True)
            gradebook.update_or_create_student(student)
            gradebook.add_submission(assignment, student)
            note_status(course_dir, student, assignment, "zero", reason)
        counted = set(scope) | {a.name for a in gradebook.assignments if a.submissions}
        for assignment in sorted(counted):
            recorded = {s.student.id for s in gradebook.find_assignment(assignment).submissions}
            for student in sorted(s.id for s in gradebook.students):
                if student not in recorded and (student, assignment) not in handed_in \
                        and not tree.submitted(student, assignment).exists():  # not yet graded
                    gradebook.add_submission(assignment, student)
                    note_status(course_dir, student, assignment, "missing", "no submission")
        for assignment in [a.name for a in gradebook.assignments if not a.submissions]:
            gradebook.remove_assignment(assignment)


@contextmanager
def one_transaction(gradebook: Any) -> Iterator[None]:
    """nbgrader's ``Gradebook`` commits after every change it makes (an empty record for
    each missing notebook: 8 ms each here, the session's objects expired and read again
    after each commit); inside this block each of those commits is a flush (the same
    SQL, in order, constraints checked as before) and the block's end commits them all
    at once, or rolls them all back when it raises: 120 records 1.0 -> 0.5 s."""
    session = gradebook.db
    session.commit = session.flush  # this object only; nbgrader calls self.db.commit()
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    finally:
        del session.commit
    session.commit()
