"""Grade a class: ``firstmlp grade SUBMISSIONS [--course-dir D] [--workers N]
[--scheduler tcp://host:port] [--student S] [--assignment A] [--device cuda]``.

Steps (``grade`` calls them in this order, handing each the ``GradingRun`` or its course
folder, a ``CourseDir`` built once; they live in ``steps``, ``pool`` — the workers, their
signals and the pre-flight of the sandbox —, ``resume``, ``earlier_work``, ``submission``
and ``run``; none imports this module):
  0. ``check_sandbox``: the sandbox started as grading starts it, one trivial notebook
     run through it, before anything is built or placed (else one line, nothing graded);
     ``prepare_course``: build the sources; ``generate_assignment`` when they changed,
     which registers assignments and test cells in the gradebook;
  1. ``take_in``: collect submissions (``intake``: sizes, depth, links refused); the
     originals are never modified; ``check_data``: the corpus and MNIST the graded
     notebooks need, and the sandbox, checked before anything is placed (the device was
     checked before step 0): the grader's own failure is one line, never a score;
  2. ``keep_earlier_work``: the code cells later notebooks import, as data;
  3. ``graded_before`` / ``poisoned``: resume where a killed run stopped, never looping
     on a notebook whose grading keeps dying;
  4. ``place_and_list``: the trusted notebook of each into ``submitted/``;
  5. ``run_tasks``: nbgrader's own ``Autograde`` converter and ``generate_feedback`` per
     (student, assignment) in parallel workers (a local pool, forked from a preloaded
     forkserver started as the run begins where the sandbox is bubblewrap, or Dask with
     ``--scheduler``); execution is ``WarmExecute``: a fresh fork of a sandboxed zygote
     per notebook, judged from outside;
  6. ``gather_outcomes``: scores from the gradebook, flags from each record;
     ``scope.settle``: a refused or missing notebook an empty record (formgrader lists
     it), assignments nobody handed in out of the gradebook (``register``, before step
     4, puts the run's in, with course.toml's due dates): one denominator everywhere;
  7. ``export_grades``: grades.csv (the file ``nbgrader export`` writes with
     ``export.GradesCsvPlugin``, written in this process), replaced whole.

Whose failure: the student's (a refused or unreadable file: ``take_in``) is a zero
with the reason; the grader's (the sandbox lost under a notebook, an nbgrader or
gradebook error, a full disk, a worker that dies or cannot start) leaves the notebook
*ungraded* (``Outcome.ungraded``, a worker result's ``"ungraded"``): no score, no row
in grades.csv, named in the report, and ``firstmlp grade`` exits 3. A failure of the
run's own steps after grading began is ``GradingIncomplete``: what was recorded stays.

Re-grading is idempotent: a submission's autograded notebook, grades and feedback are
replaced, never added to.
"""

import os
import secrets
import shutil
from dataclasses import replace
from pathlib import Path

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir
from autograder.grading.earlier_work import earlier_work, keep_earlier_work
from autograder.grading.intake import Unmatched, named
from autograder.grading.pool import (
    check_sandbox,
    check_scheduler,
    run_tasks,
    start_worker_server,
    threads_per_worker,
    ungraded_result,
    usable_cores,
    workers_stop_with_the_grader,
)
from autograder.grading.resume import ATTEMPTS, graded_before, poisoned
from autograder.grading.run import GraderEnvironmentError, GradingIncomplete, GradingRun, Outcome
from autograder.grading.scope import register, settle
from autograder.grading.steps import (
    check_data,
    check_device,
    export_grades,
    forget_ungraded,
    gather_outcomes,
    missing_work,
    place_and_list,
    prepare_course,
    read_in,
    take_in,
)
from autograder.grading.submission import Unrecorded, make_trusted, unreadable_reason
from autograder.student.errors import first_line

__all__ = ["ATTEMPTS", "GraderEnvironmentError", "GradingIncomplete", "GradingRun", "Outcome",
           "Unrecorded", "check_data", "earlier_work", "grade", "missing_work", "prepare_course",
           "take_in", "unreadable_reason"]


def grade(submissions_source: str | Path, course_dir: str | Path, workers: int | None = None,
          scheduler: object = None, student: str | None = None, assignment: str | None = None,
          device: str | None = None, pattern: str | None = None, progress: bool = True,
          timeout: int | None = None, regrade: bool = False, isolate: bool | None = None,
          memory_mb: int | None = None, notebook_timeout: int | None = None,
          secret: str | None = None) -> tuple[list[Outcome], list[Unmatched], Path]:
    """Grade every matching submission; returns (outcomes, unmatched, csv_path).

    A submission graded by an earlier run (same file, autograded notebook present) is
    skipped unless ``regrade``: a run that was killed resumes where it stopped. A
    notebook the grader failed to grade is an outcome with ``ungraded`` set, absent
    from grades.csv; a failure of the run's own steps is ``GradingIncomplete``. The
    run's secret: ``secret``, else $FIRSTMLP_GRADING_SECRET (to repeat a run's hidden
    inputs), else drawn here; it travels in the ``GradingRun`` only. A setting left None
    is course.toml's [grading], else the schema's default (``autograder.settings``)."""
    from autograder.settings import grading_settings
    settings = grading_settings(timeout=timeout, notebook_timeout=notebook_timeout,
                                isolate=isolate, memory_mb=memory_mb, workers=workers,
                                device=device)
    timeout, notebook_timeout, isolate, memory_mb, workers = (
        settings.timeout, settings.notebook_timeout, settings.isolate, settings.memory_mb,
        settings.workers)
    device = None if settings.device in ("", "auto") else settings.device  # torch's default
    check_device(device)  # before anything is built, copied or graded
    check_scheduler(scheduler)
    from autograder.sandbox.boundary import remove_stale_groups
    remove_stale_groups()
    run = GradingRun(CourseDir(Path(course_dir).resolve()), device=device, workers=workers,
                     threads=threads_per_worker(workers or usable_cores()), memory_mb=memory_mb,
                     isolate=isolate, timeout=timeout, notebook_timeout=notebook_timeout,
                     manifest=load_manifest(), scheduler=scheduler)
    if scheduler is None:
        start_worker_server(isolate, device)  # the workers' imports, beside the pre-flight
    with workers_stop_with_the_grader():  # a stop during the pre-flight is a stop, said so
        check_sandbox(run)
    tree = run.course
    assignments = prepare_course(tree, timeout=timeout, isolate=isolate, memory_mb=memory_mb,
                                 notebook_timeout=notebook_timeout)
    run = replace(run, secret=secret or os.environ.get("FIRSTMLP_GRADING_SECRET")
                  or secrets.token_hex(16))

    found, unmatched, broken, scope, readings = read_in(submissions_source, tree, assignments,
                                                        pattern, student, assignment)
    in_scope = [s for s in found if assignment is None or s.assignment == assignment]
    notes = check_data(tree.root, {s.assignment for s in in_scope if (s.student, s.assignment)
                              not in broken}, isolate, device)
    from sqlalchemy.exc import SQLAlchemyError

    from autograder.course.nbgrader_course import NbgraderError
    try:
        trusted = {named(s): make_trusted(tree, s, readings[named(s)])
                   for s in found if named(s) not in broken}
        keep_earlier_work(tree, found, broken, trusted)
        found = in_scope
        register(tree.root, scope)  # in the gradebook, with course.toml's due dates
        digests = {named(s): readings[named(s)].digest for s in found}
        done = {} if regrade else graded_before(tree, found, digests)
        stuck = poisoned(tree, found, digests, done, broken, regrade)
        tasks = place_and_list(tree, found, digests, done, broken | stuck, trusted)
        results = dict(done) | {key: ungraded_result(*key, reason) for key, reason in stuck.items()} \
            | run_tasks(run, tasks, progress)
        shutil.rmtree(tree.intake, ignore_errors=True)
        outcomes = gather_outcomes(tree, found, results, broken, scope, notes,
                                   run.manifest["version"])
        ungraded = {(o.student, o.assignment): o.ungraded for o in outcomes if o.ungraded}
        forget_ungraded(tree, ungraded)
        settle(tree.root, found, broken, scope)  # zeros and missing work as empty records
        return outcomes, unmatched, export_grades(tree, leave_out=ungraded)
    except (OSError, SQLAlchemyError, NbgraderError) as error:  # the disk, the gradebook
        raise GradingIncomplete(
            f"the grader failed after grading began ({type(error).__name__}: "
            f"{first_line(error, 200)}); what it recorded stays, grades.csv is as it was — fix "
            "the cause and run the same command again: it resumes") from error
