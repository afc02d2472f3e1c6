"""The grader stopped in the middle of a class (split from test_hostile so that pytest-xdist
can run it beside the hostile class): killed with SIGKILL, it finishes the class when run
again, with no grade lost or recorded twice; stopped with SIGKILL, SIGTERM or Ctrl-C's
SIGINT in the middle of a notebook, it leaves no worker, sandbox or notebook running, says
so in one line, and the next run resumes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.course.course_dir import CourseDir
from autograder.grading.grader import grade
from tests.grading.hostile.cases import HONEST

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def test_killed_grader_resumes_without_lost_or_duplicated_grades(tmp_path, prepared_course):
    course = tmp_path / "course"
    prepared_course(course)  # built and generated beforehand: the kill lands mid-class
    folder = tmp_path / "submitted"
    students = [f"s{i}" for i in range(6)]
    for student in students:
        target = folder / student / "01_perceptron"
        target.mkdir(parents=True)
        (target / "01_perceptron.ipynb").write_bytes(HONEST[1][2](course, ROOT))
    command = [sys.executable, "-m", "autograder.cli", "grade", str(folder), "--course-dir",
               str(course), "--workers", "1"]
    done = course / "firstmlp" / "done"
    grader = subprocess.Popen(command, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(done.rglob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()
    finished_before = len(list(done.rglob("*.json")))
    assert 2 <= finished_before < len(students), "kill the grader in the middle of the class"
    assert_the_next_run_grades_all(folder, course)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission("01_perceptron", s).score for s in students}
    assert scores == {s: 10 for s in students}
    rows = (course / "grades.csv").read_text().strip().splitlines()[1:]
    assert len([r for r in rows if "01_perceptron" in r]) == len(students)


def assert_the_next_run_grades_all(folder, course):
    """The next run, here (``grade()``, what the command line runs; this process's
    sandbox pre-flight is made once for the module): every notebook graded, none left
    ungraded, whatever the stopped run left behind."""
    outcomes, _, _ = grade(folder, course, workers=1, progress=False)
    assert outcomes and not [(o.student, o.ungraded) for o in outcomes if o.ungraded]


def process_tree(root):
    """(pid, start time, command line) of every process below ``root``, found by
    parent links in /proc (the sandbox's processes included: bubblewrap's namespaces
    hide them from each other, not from here)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append((int(stat.parent.name), fields[19], command))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def still_running(pid, started):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] != "Z"


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_a_stopped_grader_leaves_no_process_behind(tmp_path, how, prepared_course):
    """Killed (SIGKILL to its own PID only) or stopped (SIGTERM, Ctrl-C's SIGINT) in the
    middle of a notebook, the grader leaves no worker, sandbox or notebook running; a
    stop is said in one line, with no leaked-semaphore warning, and the next run resumes."""
    course, errors = tmp_path / "course", tmp_path / "stderr"
    prepared_course(course)  # built and generated beforehand: the stop lands mid-notebook
    folder = tmp_path / "submitted"
    for student in ("a", "b"):
        target = folder / student / "01_perceptron"
        target.mkdir(parents=True)
        (target / "01_perceptron.ipynb").write_bytes(HONEST[1][2](course, ROOT))
    command = [sys.executable, "-m", "autograder.cli", "grade", str(folder), "--course-dir",
               str(course), "--workers", "1"]
    with errors.open("w") as stderr:
        grader = subprocess.Popen(command, cwd=ROOT, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=stderr)
        began = [CourseDir(course).attempts(s, "01_perceptron") for s in ("a", "b")]
        deadline, tree = time.monotonic() + 300, []
        while time.monotonic() < deadline and grader.poll() is None and not (
                any(p.exists() for p in began)  # a worker's, not the pre-flight's
                and any("autograder.sandbox.zygote" in c for _, _, c in tree)):
            time.sleep(0.2)
            tree = process_tree(grader.pid)
        assert grader.poll() is None, "the grader ended before it could be stopped"
        time.sleep(1)
        tree = process_tree(grader.pid)
        os.kill(grader.pid, getattr(signal, how))
        status = grader.wait(timeout=120)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(still_running(p, s) for p, s, _ in tree):
        time.sleep(0.2)
    left = [c for p, s, c in tree if still_running(p, s)]
    if left:
        os.killpg(grader.pid, signal.SIGKILL)
    assert not left, f"left running after {how}: {left}"
    said = errors.read_text()
    if how != "SIGKILL":
        assert status == 130 and f"stopped ({how})" in said, said[-2000:]
        assert "leaked semaphore" not in said and "Traceback" not in said, said[-2000:]
    assert_the_next_run_grades_all(folder, course)
