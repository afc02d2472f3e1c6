"""The grading workers: a local pool (forked from a preloaded forkserver, or spawned)
or a Dask cluster, each worker with its own sandbox, grading one ``Task`` at a time with
nbgrader's ``Autograde`` under the ``GradingRun`` it is handed; the grader's signals
stop them; the sandbox and the scheduler are checked before anything is built."""

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from autograder.grading.record import plain_line, write_atomically
from autograder.grading.resume import ATTEMPTS, attempts_of, count_attempt, worker_died
from autograder.grading.run import GraderEnvironmentError, GradingRun, Task
from autograder.grading.stages import (
    FEEDBACK,
    NBGRADER,
    PREFLIGHT,
    RECORDS,
    WORKERS,
    recording,
    recording_now,
    stage,
)
from autograder.sandbox.limits import MEMORY_MB
from autograder.student.errors import first_line

if TYPE_CHECKING:
    from nbgrader.apps import NbGraderAPI

Result = dict[str, Any]  # a worker's result: student, assignment, and "ok" or "ungraded" (JSON)
OnDone = Callable[[Result], None]


@stage(WORKERS)
def run_tasks(run: GradingRun, tasks: Sequence[Task], progress: bool) -> dict[tuple[str, str], Result]:
    """Step 5: grade in parallel (a local pool, ``worker_context``, or Dask); {key: result}. When the
    grader records its stages (``stages.recording``), each worker records its task's
    and returns them in the result's "stages"."""
    import threading

    from tqdm import tqdm
    tqdm.set_lock(threading.RLock())  # no multiprocessing semaphore to leak
    results: dict[tuple[str, str], Result] = {}
    bar = tqdm(total=len(tasks), desc="grading", unit="notebook", disable=not (progress and tasks),
               file=sys.stderr)

    def on_done(result: Result) -> None:
        results[(result["student"], result["assignment"])] = result
        bar.update()

    if recording_now():
        run = replace(run, timings=True)
    tasks = later_first(tasks, run.manifest)
    if tasks and run.scheduler:
        run_dask(run, tasks, on_done)
    elif tasks:
        run_local(run, tasks, on_done)
    bar.close()
    return results


def later_first(tasks: Sequence[Task], manifest: dict[str, Any] | None) -> list[Task]:
    """The tasks with the course's later notebooks first (each grows on the ones before
    it: notebook 04's cells take several times notebook 01's), in their order otherwise:
    a long notebook taken last would keep one worker busy while the others sit idle.
    Only the order changes; no notebook's grading depends on another's."""
    order = {a["name"]: i for i, a in enumerate((manifest or {}).get("assignments", []))}
    return sorted(tasks, key=lambda task: -order.get(task.assignment, -1))


def run_local(run: GradingRun, tasks: Sequence[Task], on_done: OnDone) -> None:
    """A pool (``worker_context``: no state of the grader's own process) of
    ``run.workers`` (default: one per usable core, ``usable_cores``). A worker that dies
    breaks the pool: a new one takes the notebooks left; one whose grading began
    ``ATTEMPTS`` times and never finished is left ungraded, with the reason, as are all
    when no worker could start."""
    workers = run.workers or usable_cores()
    run = replace(run.for_workers(), threads=threads_per_worker(workers))
    pending = list(tasks)
    with workers_stop_with_the_grader():
        run_pool(run, pending, workers, on_done)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (a container's cpuset,
    ``taskset``), not every core of the machine."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """The torch/OpenMP threads each of ``workers`` local grading workers gets: the
    usable cores shared out, at most the ``OMP_NUM_THREADS`` the grader was started with
    (two graders, or two test workers, on one machine). More threads than cores cost
    more than they give: an OpenMP thread waits at each barrier, spinning, for a partner
    that another process keeps off the cores."""
    share = max(1, usable_cores() // max(1, workers))
    cap = omp_num_threads()
    return min(share, cap) if cap else share


def omp_num_threads() -> int | None:
    """The threads OMP_NUM_THREADS asks for (its outer level: "2,1" is 2); None where it
    is unset or not a positive number."""
    try:
        threads = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        return None
    return threads if threads > 0 else None


# The third-party modules every grading worker imports: 4-5 s of a fresh interpreter
# here (nbformat alone 1.8 s: jsonschema builds its format grammars), paid once per
# grader process by the forkserver instead of once per worker and run.
WORKER_PRELOAD = ("torch", "nbformat", "nbclient", "nbconvert", "nbgrader.api", "nbgrader.apps")


def forkserver_is_safe(isolate: bool, device: str | None) -> bool:
    """Whether the local workers may come from a forkserver: only where notebooks run in
    bubblewrap, whose private /tmp and network namespace keep them from its socket (a
    path in a 0700 folder of the grader's temp dir, which any client of the grader's
    uid may ask, unauthenticated before Python 3.14, to run code as the grader; an
    abstract socket, open to every uid, on Python 3.11.0). Without bubblewrap a
    notebook may share the grader's uid and /tmp: the workers are spawned."""
    if sys.version_info < (3, 11, 1) or not isolate or not sys.platform.startswith("linux"):
        return False
    from autograder.sandbox.boundary import bwrap_problem
    return bwrap_problem(device) is None


def worker_context(forkserver: bool) -> Any:
    """How the local pool starts a worker: with ``forkserver``, forked from
    multiprocessing's forkserver, a fresh interpreter started once per grader process
    (``start_worker_server``) that has imported ``WORKER_PRELOAD`` and nothing of the
    grader's (its threads, signal handlers, open files, the run's objects); else
    spawned, a fresh interpreter each. ``local_worker_init`` sets either up."""
    import multiprocessing
    if not forkserver:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return context


def start_worker_server(isolate: bool, device: str | None) -> bool:
    """Start the forkserver (if it is not running) where the local workers will come
    from it (``forkserver_is_safe``), so that its imports run beside the pre-flight;
    with PYTHONSAFEPATH, so that its interpreter does not put the working folder first
    on sys.path while it imports (a ``torch.py`` there). Returns whether they will."""
    if not forkserver_is_safe(isolate, device):
        return False
    from multiprocessing import forkserver
    worker_context(True)  # its preload
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before
    return True


def run_pool(run: GradingRun, pending: list[Task], workers: int, on_done: OnDone) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from autograder.sandbox.boundary import identity_answers

    def attempts(task: Task) -> int:
        return attempts_of(run.course, task.student, task.assignment, task.digest)

    while pending:
        before = {task: attempts(task) for task in pending}
        broken: list[Task] = []
        forkserver = start_worker_server(run.isolate, run.device)  # again if it died
        with ProcessPoolExecutor(workers, mp_context=worker_context(forkserver),
                                 initializer=local_worker_init,
                                 initargs=(dict(os.environ), run.device, run.threads, run.memory_mb,
                                           optional_modules(run, pending),
                                           identity_answers())) as pool:
            try:
                futures = {pool.submit(grade_one, run, task): task for task in pending}
            except (OSError, EOFError) as error:  # a worker could not even be started
                for task in pending:
                    on_done(not_finished(task, "the grading workers could not start "
                                               f"({type(error).__name__}: {first_line(error, 120)})"))
                return
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
def workers_stop_with_the_grader() -> Iterator[None]:
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

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in multiprocessing.active_children():
            child.kill()
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


_READY: tuple[str | None, int | None] | None = None  # (device, threads) this worker process was set up for


def optional_modules(run: GradingRun, tasks: Sequence[Task]) -> list[str] | None:
    """The optional heavy modules (``notebook_process.OPTIONAL_MODULES``) the zygotes
    import for this run's notebooks: those the course's released notebooks of the
    tasks name (the course's own code, never a student's); None (all) where one cannot
    be read."""
    import nbformat

    from autograder.sandbox.notebook_process import needed_modules
    sources = []
    for assignment in sorted({task.assignment for task in tasks}):
        try:
            notebook = nbformat.read(str(run.course.release(assignment)), as_version=4)
        except Exception:  # noqa: BLE001 - unreadable: warm everything, as before
            return None
        sources += [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return needed_modules(sources)


def local_worker_init(environ: dict[str, str], device: str | None = None, threads: int | None = None,
                      memory_mb: int | None = None, optional: list[str] | None = None,
                      identity: dict[tuple[str | None, bool], str | None] | None = None) -> None:
    """The local pool's initializer: the grader's environment as it is at this run (a
    forked worker has the forkserver's), this worker's life tied to the grader's
    (``die_with_the_grader``), the BLAS and OpenMP libraries the forkserver loaded
    capped at ``threads`` (they read their defaults from its environment), the
    grader's answers on what the sandbox's user can read (``identity``, from its data
    check's walk: the same host and files; a Dask worker, maybe another machine, walks
    them itself), then ``worker_init``."""
    adopt_environment(environ)
    if identity:
        from autograder.sandbox.boundary import adopt_identity_answers
        adopt_identity_answers(identity)
    die_with_the_grader()
    if threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    worker_init(device, threads, memory_mb, optional)


def worker_init(device: str | None = None, threads: int | None = None, memory_mb: int | None = None,
                optional: list[str] | None = None) -> None:
    """Once per worker process: die with the grader, pin the thread count, start this
    worker's sandbox on the run's device (its zygote warms up while the worker imports
    torch for the judge). The local pool runs it from its initializer; ``grade_one``
    calls it too (a Dask worker has no initializer): after the first call it does
    nothing (a zygote that died is restarted by ``Sandbox.open_notebook``)."""
    global _READY
    if _READY == (device, threads):
        return
    import warnings
    die_with_parent()
    warnings.filterwarnings("ignore", module="nbgrader.api")  # SQLAlchemy autoflush chatter
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    from autograder.sandbox.boundary import worker_sandbox
    sandbox = worker_sandbox(device, threads, memory_mb, optional)  # the run's, handed here
    launched = not sandbox.alive()
    if launched:
        sandbox.launch()  # its zygote imports while this worker does
    import torch  # noqa: F401  (the judge's)

    import autograder.student.components  # noqa: F401
    from autograder.grading.warm_nbgrader import warm_nbgrader
    warm_nbgrader()  # nbgrader, nbconvert and the grader's preprocessors imported here too
    if threads:
        torch.set_num_threads(threads)
    if launched:
        sandbox.wait_ready()
    _READY = (device, threads)


def adopt_environment(environ: dict[str, str]) -> None:
    """This process's environment becomes ``environ``, whole."""
    os.environ.clear()
    os.environ.update(environ)


def die_with_the_grader() -> None:
    """A local worker dies with the grader even when it is not the grader's child: a
    forked worker's parent is the forkserver, which stays up while any worker holds its
    pipe, so PR_SET_PDEATHSIG alone would leave both running. A thread waits on this
    worker's start pipe, whose other end only the grader holds (the
    ``parent_process().sentinel``: readable once the grader is gone), and kills this
    process; its sandbox dies with it (bwrap's --die-with-parent)."""
    import multiprocessing
    from multiprocessing.connection import wait
    grader = multiprocessing.parent_process()
    if grader is None or grader.sentinel is None:
        return
    sentinel = grader.sentinel

    def watch() -> None:
        wait([sentinel])
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=watch, name="die-with-the-grader", daemon=True).start()


def die_with_parent() -> None:
    """A worker is killed with the grader that started it (PR_SET_PDEATHSIG), never
    left orphaned; its sandbox dies with it (bwrap's --die-with-parent)."""
    import ctypes
    if not sys.platform.startswith("linux") or getattr(die_with_parent, "done", False):
        return
    parent = os.getppid()
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the grader died before the prctl
        os._exit(1)
    die_with_parent.done = True  # type: ignore[attr-defined]  # a function's own flag


def make_api(run: GradingRun) -> "NbGraderAPI":
    """nbgrader's API on the course folder's configuration, with the run's secret and
    device handed to ``WarmExecute`` in memory (never a file, never the environment)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = str(run.course.root)
    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    config.merge(PyFileConfigLoader(run.course.grading_config.name, path=root).load_config())
    config.WarmExecute.secret = run.secret
    config.WarmExecute.device = run.device or ""
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def grade_one(run: GradingRun, task: Task, attempts: int = 3) -> Result:
    """Autograde and write feedback for one submission (runs in a worker); on
    success, record it as done (atomically) so that a resumed run skips it. With
    ``run.timings``, the result's "stages" holds the seconds of each stage (``stages``)."""
    if not run.timings:
        return grade_task(run, task, attempts)
    with recording() as seconds:
        result = grade_task(run, task, attempts)
    return dict(result, stages=seconds)


def grade_task(run: GradingRun, task: Task, attempts: int = 3) -> Result:
    student, assignment, digest = task.student, task.assignment, task.digest
    worker_init(run.device, run.threads, run.memory_mb)
    if unlisted := unlisted_data(run.manifest, assignment):
        return ungraded_result(student, assignment, unlisted)
    with stage(RECORDS):
        count_attempt(run.course, student, assignment, digest)
    try:
        with stage(NBGRADER):
            api = make_api(run)
        for attempt in range(attempts):
            with stage(NBGRADER):  # less the stages of ours inside it (WarmExecute's)
                result = api.autograde(assignment, student, force=True, create=True)
            text = f"{result.get('log')}{result.get('error')}"
            if result["success"] or not any(s in text for s in ("sqlite3", "IntegrityError",
                                                               "locked")):
                break
            time.sleep(0.5 * (attempt + 1))  # another worker held the gradebook: try again
        if not result["success"]:  # the student's code failing is cells with errors, not this
            return ungraded_result(student, assignment, nbgrader_failure(result))
        with stage(FEEDBACK):
            feedback = api.generate_feedback(assignment, student, force=True)
        if not feedback["success"]:
            return ungraded_result(student, assignment, "its feedback could not be written "
                                                        f"({nbgrader_failure(feedback)})")
        outcome = {"student": student, "assignment": assignment, "ok": True}
        with stage(RECORDS):
            write_atomically(run.course.done(student, assignment),
                             json.dumps(dict(outcome, sha256=digest)))
    except Exception as error:  # noqa: BLE001 - the disk, the gradebook: the grader's own
        return ungraded_result(student, assignment, f"grading failed ({type(error).__name__}: "
                                                    f"{first_line(error, 200)})")
    return outcome


def unlisted_data(manifest: dict[str, Any], assignment: str) -> str | None:
    """Why ``assignment`` cannot be graded when its checks declare data (``data=``) that
    course.toml's ``data`` leaves out (the grader's data step, which reads course.toml,
    then neither made nor checked it), in words; None. Checked here, where the checks are
    imported anyway."""
    from autograder.student.components import data_needed
    listed = next((set(a.get("data", [])) for a in manifest.get("assignments", [])
                   if a["name"] == assignment), None)
    missing = sorted(data_needed(assignment) - listed) if listed is not None else []
    if listed is None or not missing:
        return None
    return (f"its checks need {', '.join(missing)}, which course.toml's data for {assignment} "
            f"leaves out: add it (data = {json.dumps(sorted(listed | set(missing)))}) and "
            "grade again")


def ungraded_result(student: str, assignment: str, reason: str) -> Result:
    """A worker's result for a notebook the grader failed to grade (its own failure,
    never the student's): no score is read for it, ``gather_outcomes`` marks it ungraded."""
    return {"student": student, "assignment": assignment, "ungraded": plain_line(reason, 300)}


def nbgrader_failure(result: dict[str, Any]) -> str:
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


def not_finished(task: Task, reason: str) -> Result:
    return ungraded_result(task.student, task.assignment, reason)


def last_line(text: object) -> str:
    lines = [line for line in str(text or "").strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown error"


DASK_CONNECT_SECONDS = 10  # an unreachable scheduler is said after this, before any work


_DASK_LOCK = threading.Lock()  # one notebook at a time per Dask worker process


def check_scheduler(scheduler: object) -> None:
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


def run_dask(run: GradingRun, tasks: Sequence[Task], on_done: OnDone) -> None:
    """Grade on a Dask cluster as the local pool does (``grade_on_dask``). A worker that
    dies is started again by its nanny and the scheduler runs its task elsewhere; a task
    the scheduler gives up on (``KilledWorker``: its workers died past
    ``allowed-failures``) is submitted again here, until its grading began ``ATTEMPTS``
    times or it was lost ``ATTEMPTS`` times over; then it ends with the reason."""
    from distributed import Client, KilledWorker, as_completed

    scheduler = run.scheduler
    owned = isinstance(scheduler, str)
    client: Client = Client(scheduler, timeout=DASK_CONNECT_SECONDS, set_as_default=False) \
        if owned else scheduler  # type: ignore[assignment]  # not a str: the caller's Client
    shipped = run.for_workers()  # the run's settings, secret included, travel in the task only
    optional = optional_modules(run, tasks)  # read here: the course folder is the grader's
    futures: dict[Any, Task] = {}  # a distributed Future -> its task
    lost: dict[Task, int] = {}

    def submit(task: Task) -> Any:
        future = client.submit(grade_on_dask, shipped, task, optional, pure=False)
        futures[future] = task
        return future

    running = as_completed([submit(task) for task in tasks], loop=client.loop)  # not the default client's
    try:
        for future in running:
            task = futures.pop(future)
            try:
                on_done(future.result())
            except KilledWorker:
                count = attempts_of(run.course, task.student, task.assignment, task.digest)
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


def grade_on_dask(run: GradingRun, task: Task, optional: list[str] | None = None) -> Result:
    """``grade_one`` on a Dask worker, set up as a pool worker is (``dask_worker_setup``):
    one notebook at a time per worker process, whatever its thread count (one sandbox
    each); a notebook whose grading began ``ATTEMPTS`` times is not begun again (the
    scheduler itself runs a task again when its worker died); the run's secret comes
    in ``run`` and goes to nbgrader's configuration only (the worker outlives the run)."""
    with _DASK_LOCK:
        if (count := attempts_of(run.course, task.student, task.assignment, task.digest)) \
                >= ATTEMPTS:
            return not_finished(task, worker_died(count))
        threads = dask_worker_setup(run.device, run.memory_mb, optional)
        return grade_one(replace(run, threads=threads), task)


def dask_worker_setup(device: str | None, memory_mb: int, optional: list[str] | None = None) -> int:
    """This run's device, sandbox memory and optional heavy modules (``optional_modules``,
    as the local pool's zygotes import them; None: all) on a Dask worker, which may have
    graded another run: its sandbox is started again when they changed, or when its
    zygote lacks a module this run's notebooks name; returns its threads
    (``dask_worker_threads``). The worker is not tied to the grader's life
    (``die_with_parent``): its nanny's it is."""
    from autograder.sandbox.boundary import worker_sandbox
    die_with_parent.done = True  # type: ignore[attr-defined]  # a function's own flag
    threads = dask_worker_threads()
    sandbox = worker_sandbox(device, threads, memory_mb, optional)
    has = sandbox.optional
    lacks = has is not None and (optional is None or not set(optional) <= set(has))
    if (sandbox.device, sandbox.threads, sandbox.memory_mb) != (device, threads, memory_mb) or lacks:
        sandbox.kill()
        sandbox.device, sandbox.threads, sandbox.memory_mb = device, threads, memory_mb
        sandbox.optional = None if optional is None else tuple(optional)
    return threads


def dask_worker_threads() -> int:
    """A Dask worker's threads: the OMP_NUM_THREADS its nanny gave it (Dask's default:
    1; a cluster sets more with ``distributed.nanny.pre-spawn-environ``), else its share
    of the usable cores."""
    from distributed import get_worker
    return omp_num_threads() or max(1, usable_cores() // get_worker().state.nthreads)


# settings a sandbox started with in this process (as bwrap_problem)
_SANDBOX_STARTED: set[tuple[object, ...]] = set()


@stage(PREFLIGHT)
def check_sandbox(run: GradingRun) -> None:
    """Before anything is built or placed: start a sandbox as a grading worker will
    (here, or on a Dask worker with ``--scheduler``) and run one trivial notebook
    through it (``sandbox_check``), else GraderEnvironmentError in one line with the
    zygote's own words and what to do: a sandbox that cannot start must not turn into
    every student's zero."""
    scheduler, device, memory_mb, isolate = run.scheduler, run.device, run.memory_mb, run.isolate
    where = scheduler if scheduler is None or isinstance(scheduler, str) else id(scheduler)
    key = where, device, run.threads, memory_mb, isolate
    if key in _SANDBOX_STARTED:
        return
    if scheduler is None:
        problem = sandbox_check(device, run.threads, memory_mb, isolate)
    else:
        problem = on_a_dask_worker(scheduler, device, memory_mb, isolate)
    if problem:
        raise GraderEnvironmentError(f"the grading sandbox cannot start here ({problem}); "
                                     f"nothing was graded — {sandbox_hint()}")
    _SANDBOX_STARTED.add(key)


def sandbox_check(device: str | None = None, threads: int | None = None, memory_mb: int = MEMORY_MB,
                  isolate: bool = True) -> str | None:
    """``executor.sandbox_problem`` with the limits and readable paths a grading
    worker gives its notebooks (``WarmExecute``'s)."""
    from autograder.grading.executor import sandbox_problem
    from autograder.grading.warm_execute import WarmExecute
    execute = WarmExecute(isolate=isolate, memory_mb=memory_mb, device=device or "")
    return sandbox_problem(execute.limits(), execute.readable(), device, threads, memory_mb)


def on_a_dask_worker(scheduler: Any, device: str | None, memory_mb: int, isolate: bool) -> str | None:
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


def dask_sandbox_check(device: str | None, memory_mb: int, isolate: bool) -> str | None:
    return sandbox_check(device, dask_worker_threads(), memory_mb, isolate)


def sandbox_hint() -> str:
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
