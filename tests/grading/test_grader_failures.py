"""The grader's own failures are never a score (issue 21).

Before grading, a sandbox that cannot start is one line, exit 2, nothing placed. During
grading, a failure that is not the student's — the sandbox lost under a notebook, an
nbgrader error, the gradebook locked, a full disk, workers that die or cannot start —
leaves that notebook *ungraded*: no row in grades.csv, no score in the gradebook, named
in the table and report.md, exit 3; the scores already recorded stay. A student's own
failure (a notebook that dies) stays a score. Faults are injected at the seams: the
zygote's import, nbgrader's Gradebook, a write, the pool's workers."""

import csv
import errno
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir
from autograder.course.nbgrader_course import completed_notebook, submit
from autograder.course.release import RELEASES
from autograder.grading import grader, pool
from autograder.grading.executor import SandboxedNotebook, SandboxLost, execute_in_sandbox
from autograder.grading.run import GradingRun, Task
from autograder.sandbox.boundary import SandboxGone, bwrap_problem
from autograder.sandbox.wire import RemoteGone

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01_perceptron"
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
LOCKED = "(sqlite3.OperationalError) database is locked"


def locked_error():
    """What SQLAlchemy raises when another process holds the sqlite gradebook."""
    from sqlalchemy.exc import OperationalError
    return OperationalError("INSERT INTO submitted_assignment ...", {},
                            sqlite3.OperationalError("database is locked"))


def no_sandbox_check_cached(monkeypatch):
    monkeypatch.setattr(pool, "_SANDBOX_STARTED", set())


# ---- the sandbox under one notebook (executor) ---------------------------------------

class FakeLink:
    def __init__(self, gone):
        self.gone, self.deadline = gone, None

    def request(self, op, *args):
        if self.gone:
            raise RemoteGone(self.gone)
        return {"outputs": [], "count": 1}


class FakeChild:
    """A notebook process whose wire ends (``gone``); ``lost``: its zygote had ended."""

    def __init__(self, gone, lost):
        self.link, self.lost, self.missing = FakeLink(gone), lost, []

    def close(self, limit=5):
        return "the sandbox stopped answering and was restarted" if self.lost else \
            "the notebook's process exited with status 1"


def two_cells():
    return new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("y = 2")])


def test_a_sandbox_that_cannot_start_a_notebook_is_the_graders_failure():
    def start(*_):
        raise SandboxGone("the sandbox ended: ModuleNotFoundError: No module named 'autograder'")
    with pytest.raises(SandboxLost, match="No module named 'autograder'"):
        execute_in_sandbox(two_cells(), start=start)


def test_a_zygote_lost_under_a_notebook_is_the_graders_a_notebook_that_died_the_students():
    with pytest.raises(SandboxLost, match="for a reason outside it"):
        execute_in_sandbox(two_cells(), start=lambda *_: FakeChild("ended", lost=True))
    notebook = execute_in_sandbox(two_cells(), start=lambda *_: FakeChild("ended", lost=False))
    assert [c.outputs[0]["ename"] for c in notebook.cells] == ["NotebookStopped"] * 2


class FakeProcess:
    def __init__(self, exited):
        self.exited = exited

    def poll(self):
        return 0 if self.exited else None


class FakeSandbox:
    def __init__(self, exited, control, oom_before, oom_now):
        self.process, self.control = FakeProcess(exited), control
        self.oom_seen, self.now = oom_before, oom_now

    def oom_kills(self):
        return self.now


@pytest.mark.parametrize("exited, hung_up, oom_now, lost", [
    (True, True, 0, True),  # the zygote ended, nothing was killed for memory: the grader's
    (False, True, 0, True),  # its socket closed, bubblewrap's exit not seen yet: the same
    (True, True, 1, False),  # the notebook's memory took the whole sandbox: the student's
    (False, False, 0, False),  # the zygote lives: whatever stopped the notebook was the notebook
])
def test_a_zygote_ended_without_an_oom_kill_is_lost(exited, hung_up, oom_now, lost):
    import socket
    grader_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if hung_up:
        zygote_end.close()
    child = SandboxedNotebook.__new__(SandboxedNotebook)
    child.sandbox = FakeSandbox(exited, grader_end, 0, oom_now)
    try:
        assert child.zygote_ended() is lost
    finally:
        grader_end.close()
        zygote_end.close()


@pytest.mark.slow
def test_a_real_zygote_killed_under_a_running_notebook_leaves_it_ungraded():
    """The zygote SIGKILLed from outside while a cell runs: SandboxLost, not a score."""
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    import threading

    from autograder.sandbox.boundary import Sandbox
    box = Sandbox(optional=())  # no optional heavy module: not what this is about
    box.start()
    killer = threading.Timer(1.0, lambda: box.process.kill())
    notebook = new_notebook(cells=[new_code_cell("import time\ntime.sleep(120)"),
                                   new_code_cell("z = 3")])
    try:
        killer.start()
        with pytest.raises(SandboxLost, match="for a reason outside it"):
            execute_in_sandbox(notebook, timeout=300,
                               start=lambda t, limits, readable: SandboxedNotebook(
                                   t, limits, readable, sandbox=box))
    finally:
        killer.cancel()
        box.kill()


# ---- the pre-flight ----------------------------------------------------------------

def test_a_sandbox_that_cannot_start_is_refused_in_one_line_with_the_zygotes_words(monkeypatch):
    no_sandbox_check_cached(monkeypatch)
    said = ("the sandbox ended: /venv/bin/python: Error while finding module specification for "
            "'autograder.sandbox.zygote' (ModuleNotFoundError: No module named 'autograder')")
    monkeypatch.setattr(pool, "sandbox_check", lambda *a, **k: said)
    with pytest.raises(grader.GraderEnvironmentError) as refused:
        pool.check_sandbox(GradingRun(CourseDir(".")))
    message = str(refused.value)
    assert "\n" not in message and said in message and "nothing was graded" in message


def test_the_cli_refuses_before_anything_is_built_when_the_sandbox_cannot_start(
        tmp_path, monkeypatch, capsys):
    """exit 2, one line, no course folder: no gradebook, no grades.csv, nothing placed."""
    from autograder import cli
    no_sandbox_check_cached(monkeypatch)
    monkeypatch.setattr(pool, "sandbox_check", lambda *a, **k: "the sandbox ended: no zygote")
    submitted = tmp_path / "submitted"
    submit(tmp_path, "kim", ASSIGNMENT, two_cells())
    course = tmp_path / "course"
    assert cli.main(["grade", str(submitted), "--course-dir", str(course), "--workers", "1"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("grade: the grading sandbox cannot start here "
                                                   "(the sandbox ended: no zygote)"), err
    assert not course.exists() and out == ""


@pytest.mark.skipif(bool(bwrap_problem()), reason="without bubblewrap the zygote sees the "
                                                  "whole host and imports the installed package")
def test_a_second_checkout_the_sandbox_cannot_import_is_refused_end_to_end(tmp_path):
    """The reproduction of issue 21: the package run from a second checkout while the
    virtualenv's editable install points at this one. Inside bubblewrap the zygote
    finds `autograder` through the editable finder, whose target is not bound: one
    line naming the import and the fix, exit 2, the course folder never made."""
    import shutil
    checkout = tmp_path / "other"
    for part in ("autograder", "course"):
        shutil.copytree(ROOT / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    submit(tmp_path, "kim", ASSIGNMENT, two_cells())
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "submitted").rglob("*"))
    course = tmp_path / "course"
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade",
                           str(tmp_path / "submitted"), "--course-dir", str(course)],
                          cwd=checkout, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == "", done.stderr
    assert "No module named 'autograder'" in done.stderr
    assert f"this checkout is {checkout}: reinstall with pip install -e . from this checkout" \
        in done.stderr
    assert not course.exists()
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "submitted").rglob("*")) == before


# ---- the worker (grade_one) ---------------------------------------------------------

class FakeApi:
    def __init__(self, autograde, feedback=None):
        self.results, self.feedback, self.autograded = autograde, feedback, 0

    def autograde(self, assignment, student, force, create):
        self.autograded += 1
        return self.results

    def generate_feedback(self, assignment, student, force):
        return self.feedback


def failure_of(error):
    """nbgrader's capture_log result for ``error`` raised in a converter."""
    import traceback
    try:
        raise error
    except Exception:
        logged = traceback.format_exc()
    return {"success": False, "log": f"[ERROR] There was an error processing assignment: x\n"
                                     f"[ERROR] {logged}[ERROR] Please see the error log\n",
            "error": "Traceback (most recent call last):\n  File \"x\", line 1\n"
                     "nbgrader.converters.base.NbGraderException: Please see the error log"}


def grade_one_with(tmp_path, monkeypatch, api):
    monkeypatch.setattr(pool, "worker_init", lambda *a: None)
    monkeypatch.setattr(pool, "make_api", lambda run: api)
    monkeypatch.setattr(pool.time, "sleep", lambda s: None)
    return pool.grade_one(GradingRun(CourseDir(tmp_path), secret="secret"),
                          Task("kim", ASSIGNMENT, "digest"))


def test_a_locked_gradebook_leaves_the_notebook_ungraded_after_retries(tmp_path, monkeypatch):
    api = FakeApi(failure_of(locked_error()))
    result = grade_one_with(tmp_path, monkeypatch, api)
    assert result == {"student": "kim", "assignment": ASSIGNMENT,
                      "ungraded": f"OperationalError: {LOCKED}"}
    assert api.autograded == 3 and not CourseDir(tmp_path).done("kim", ASSIGNMENT).exists()


def test_feedback_on_a_full_disk_leaves_the_notebook_ungraded(tmp_path, monkeypatch):
    api = FakeApi({"success": True}, failure_of(ENOSPC))
    result = grade_one_with(tmp_path, monkeypatch, api)
    assert result["ungraded"] == ("its feedback could not be written (OSError: [Errno 28] No "
                                  "space left on device)") and "ok" not in result
    assert not CourseDir(tmp_path).done("kim", ASSIGNMENT).exists()


def test_a_full_disk_writing_the_done_record_leaves_the_notebook_ungraded(tmp_path, monkeypatch):
    written = pool.write_atomically
    done = CourseDir(tmp_path).done("kim", ASSIGNMENT)

    def write(path, text):
        if Path(path) == done:
            raise ENOSPC
        written(path, text)
    monkeypatch.setattr(pool, "write_atomically", write)
    result = grade_one_with(tmp_path, monkeypatch, FakeApi({"success": True}, {"success": True}))
    assert result["ungraded"] == "grading failed (OSError: [Errno 28] No space left on device)"


# ---- the pool (run_pool) ------------------------------------------------------------

class BrokenPool:
    """A pool none of whose workers can start (or all die): every future broken."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, *args):
        future = Future()
        future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future


def run_in(course_dir, workers):
    return GradingRun(CourseDir(course_dir), secret="secret", workers=workers)


def tasks_in(students):
    return [Task(s, ASSIGNMENT, f"digest-{s}") for s in students]


def test_workers_that_cannot_start_leave_every_notebook_ungraded(tmp_path, monkeypatch):
    import concurrent.futures
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", BrokenPool)
    results = []
    pool.run_local(run_in(tmp_path, 2), tasks_in(["kim", "lee"]), results.append)
    assert sorted(r["student"] for r in results) == ["kim", "lee"]
    assert all(r == {"student": r["student"], "assignment": ASSIGNMENT,
                     "ungraded": "the grading workers could not start"} for r in results)


def test_a_worker_crash_loop_leaves_its_notebook_ungraded(tmp_path, monkeypatch):
    """Each try charges an attempt (grading began, then the worker died)."""
    import concurrent.futures

    class DyingPool(BrokenPool):
        def submit(self, function, run, task):
            pool.count_attempt(run.course, task.student, task.assignment, task.digest)
            return super().submit()
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", DyingPool)
    results = []
    pool.run_local(run_in(tmp_path, 1), tasks_in(["kim"]), results.append)
    assert results == [{"student": "kim", "assignment": ASSIGNMENT,
                        "ungraded": pool.worker_died(pool.ATTEMPTS)}]


@pytest.mark.slow
def test_a_sandbox_that_fails_to_start_in_every_real_worker_leaves_all_ungraded(tmp_path,
                                                                              monkeypatch):
    """Real spawned workers whose sandbox cannot even be set up (a broken setting handed
    to them in the run): no grading begins, each notebook is ungraded with the reason."""
    from dataclasses import replace
    results = []
    broken = replace(run_in(tmp_path, 1), memory_mb="not-a-number")
    pool.run_local(broken, tasks_in(["kim", "lee"]), results.append)
    assert sorted(results, key=lambda r: r["student"]) == [
        {"student": s, "assignment": ASSIGNMENT, "ungraded": "the grading workers could not start"}
        for s in ("kim", "lee")]


# ---- a class: earlier scores stay, the failed notebook is ungraded ----------------

def reference_notebook(course_dir):
    release = RELEASES / load_manifest()["version"] / f"{ASSIGNMENT}.ipynb"
    return completed_notebook(release, course_dir / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def csv_rows(course_dir):
    with open(CourseDir(course_dir).grades_csv, newline="") as source:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(source)}


class LockedGradebook:
    """nbgrader's Gradebook while another process holds the sqlite file."""

    def __init__(self, *args, **kwargs):
        raise locked_error()


def in_this_process(run, tasks, progress):
    """run_tasks's seam: the worker's own grade_one, here (so a patch reaches it)."""
    return {(t.student, t.assignment): pool.grade_one(run, t) for t in tasks}


@pytest.mark.slow
def test_a_graders_failure_mid_class_is_ungraded_and_earlier_scores_stay(tmp_path, monkeypatch,
                                                                         capsys, prepared_course):
    """kim is graded (a real run); then lee's notebook meets a locked gradebook inside
    nbgrader's Autograde: lee is ungraded — no row in grades.csv, no submission in the
    gradebook, named in the table and report.md with the reason — kim's score stays,
    exit 3. Then the disk fills as grades.csv is written: one line, exit 3, grades.csv
    as it was. Without the gradebook lock, lee is graded by the next run."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder import cli
    course = tmp_path / "course"
    prepared_course(course)
    submitted = tmp_path / "submitted"
    submit(tmp_path, "kim", ASSIGNMENT, reference_notebook(course))
    (kim,), _, _ = grader.grade(submitted, course, workers=1, progress=False)
    assert kim.score > 0 and not kim.ungraded
    kim_row = csv_rows(course)[("kim", ASSIGNMENT)]

    submit(tmp_path, "lee", ASSIGNMENT, reference_notebook(course))
    monkeypatch.setattr(grader, "run_tasks", in_this_process)
    monkeypatch.setattr(pool, "worker_init", lambda *a: None)
    monkeypatch.setattr(pool.time, "sleep", lambda s: None)
    monkeypatch.setattr("nbgrader.converters.autograde.Gradebook", LockedGradebook)
    command = ["grade", str(submitted), "--course-dir", str(course), "--workers", "1"]
    assert cli.main(command) == 3
    out, err = capsys.readouterr()
    lee_line = next(line for line in out.splitlines() if line.startswith("lee"))
    assert "ungraded" in lee_line and LOCKED in lee_line
    assert err.strip().splitlines()[-1].startswith("grade: 1 notebook left ungraded")
    report = (course / "report.md").read_text().replace("\\", "")  # Markdown escapes
    lee_part = report[report.index("## lee"):]
    assert f"ungraded: OperationalError: {LOCKED}" in lee_part.split("\n## ")[0]
    rows = csv_rows(course)
    assert ("lee", ASSIGNMENT) not in rows and rows[("kim", ASSIGNMENT)]["score"] == kim_row["score"]
    with Gradebook(CourseDir(course).gradebook_url) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "kim").score == kim.score
        with pytest.raises(MissingEntry):
            gradebook.find_submission(ASSIGNMENT, "lee")

    csv_before = CourseDir(course).grades_csv.read_bytes()

    def full_disk(*args, **kwargs):
        raise ENOSPC
    monkeypatch.setattr(grader, "export_grades", full_disk)
    assert cli.main(command) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "it resumes" in err
    assert CourseDir(course).grades_csv.read_bytes() == csv_before
    with Gradebook(CourseDir(course).gradebook_url) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "kim").score == kim.score

    monkeypatch.undo()  # the gradebook free, the disk emptied: the next run grades lee
    outcomes, _, _ = grader.grade(submitted, course, workers=1, progress=False)
    assert sorted((o.student, o.score, o.ungraded) for o in outcomes) == [
        ("kim", kim.score, ""), ("lee", kim.score, "")]
    assert csv_rows(course)[("lee", ASSIGNMENT)]["score"] == kim_row["score"]
