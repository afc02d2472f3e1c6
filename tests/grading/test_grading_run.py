"""One grading run, handed explicitly (issue 23): ``GradingRun`` and ``Task`` are frozen
and pickle to a Dask worker; the run's secret and device reach nbgrader's ``WarmExecute``
through its configuration in memory, never a file or the environment; each submission
is read once; no module of the grading steps imports the orchestrator."""

import ast
import hashlib
import os
import pickle
from dataclasses import FrozenInstanceError
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.build import load_manifest
from autograder.course.course_dir import CourseDir
from autograder.course.nbgrader_course import write_grading_config
from autograder.grading import pool, submission
from autograder.grading.judge import grading_seed, probe_seed
from autograder.grading.run import GradingRun, Task

GRADING = Path(__file__).resolve().parents[2] / "autograder" / "grading"


def test_a_run_and_its_tasks_are_frozen_and_pickle_without_the_scheduler(tmp_path):
    run = GradingRun(CourseDir(tmp_path), secret="s3cret", device="cpu", threads=2,
                     manifest={"version": "x"}, scheduler=object())
    shipped = pickle.loads(pickle.dumps(run.for_workers()))
    assert shipped.scheduler is None and (shipped.secret, shipped.device, shipped.threads) == \
        ("s3cret", "cpu", 2) and shipped.course.root == tmp_path
    task = Task("kim", "01_perceptron", "abc")
    assert pickle.loads(pickle.dumps(task)) == task and {task: 1}[Task("kim", "01_perceptron", "abc")]
    with pytest.raises(FrozenInstanceError):
        task.student = "lee"
    with pytest.raises(FrozenInstanceError):
        run.secret = "other"


def test_the_secret_and_device_reach_warm_execute_in_memory_only(tmp_path, monkeypatch):
    from autograder.grading.warm_execute import WarmExecute
    monkeypatch.delenv("FIRSTMLP_GRADING_SECRET", raising=False)
    monkeypatch.delenv("FIRSTMLP_DEVICE", raising=False)
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(tmp_path)!r}\n"
        "c.CourseDirectory.course_id = 'firstmlp'\n")
    write_grading_config(tmp_path)
    run = GradingRun(CourseDir(tmp_path), secret="a-secret-of-this-run", device="cpu")
    api = pool.make_api(run)
    execute = WarmExecute(parent=api)
    assert (execute.secret, execute.device) == ("a-secret-of-this-run", "cpu")
    assert "FIRSTMLP_GRADING_SECRET" not in os.environ and "FIRSTMLP_DEVICE" not in os.environ
    assert not any("a-secret-of-this-run" in p.read_text(errors="replace")
                   for p in tmp_path.rglob("*") if p.is_file())
    stock = WarmExecute()  # formgrader, nbgrader autograde: no run secret, no device
    assert (stock.secret, stock.device) == ("", "")


def test_the_seeds_come_from_the_secret_handed_in_not_the_environment(monkeypatch):
    monkeypatch.setenv("FIRSTMLP_GRADING_SECRET", "from-the-environment")
    assert grading_seed("kim", "01_perceptron") == load_manifest()["hidden_seed"]
    seed = grading_seed("kim", "01_perceptron", "handed-in")
    assert seed != load_manifest()["hidden_seed"]
    assert probe_seed(seed, "handed-in") != probe_seed(seed) != probe_seed(seed, "other")


def test_a_submission_is_read_once_digested_and_parsed_from_the_same_bytes(tmp_path, monkeypatch):
    path = tmp_path / "kim.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), str(path))
    reads = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or read_bytes(self))
    monkeypatch.setattr(nbformat, "read", lambda *a, **k: pytest.fail("read from the file again"))
    reading = submission.read_submission(path)
    assert reads == [path] and reading.reason is None
    assert reading.digest == hashlib.sha256(read_bytes(path)).hexdigest()
    assert reading.notebook.cells[0].source == "x = 1"
    empty = tmp_path / "empty.ipynb"
    empty.write_bytes(b"")
    assert "the file is empty" in submission.read_submission(empty).reason


def test_no_module_of_the_grading_steps_imports_the_orchestrator():
    for path in GRADING.glob("*.py"):
        if path.name == "grader.py":
            continue
        imported = {node.module for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.ImportFrom)} | {
            alias.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import) for alias in node.names}
        assert "autograder.grading.grader" not in imported, path.name


@pytest.mark.parametrize("cores, workers, omp, threads", [
    (8, 2, None, 4), (8, 3, None, 2), (2, 4, None, 1),  # the usable cores shared out
    (8, 2, "1", 1), (8, 2, "2,1", 2), (8, 1, "16", 8),  # OMP_NUM_THREADS caps, never raises
    (8, 2, "many", 4), (8, 2, "0", 4),  # a value OpenMP would not take is ignored
])
def test_each_worker_gets_its_share_of_the_usable_cores_capped_by_omp(monkeypatch, cores, workers,
                                                                       omp, threads):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the machine's, not this process's
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    assert pool.usable_cores() == cores
    assert pool.threads_per_worker(workers) == threads


def needs_the_forkserver():
    if not pool.forkserver_is_safe(True, None):
        pytest.skip("no bubblewrap here: the local workers are spawned")


def test_a_local_worker_takes_the_graders_environment_of_the_run_not_the_servers(monkeypatch):
    """The local pool's workers are forks of a server started once per grader process;
    each takes the grader's environment as it is when its pool starts (a variable set
    after the server started is there, one removed since is gone), as a spawned
    interpreter would have."""
    from concurrent.futures import ProcessPoolExecutor
    needs_the_forkserver()
    monkeypatch.setenv("FIRSTMLP_TEST_REMOVED", "set before the server started")
    pool.start_worker_server(True, None)
    monkeypatch.setenv("FIRSTMLP_TEST_ADDED", "set after the server started")
    monkeypatch.delenv("FIRSTMLP_TEST_REMOVED")
    with ProcessPoolExecutor(1, mp_context=pool.worker_context(True), initializer=pool.adopt_environment,
                             initargs=(dict(os.environ),)) as workers:
        seen = workers.submit(os.getenv, "FIRSTMLP_TEST_ADDED"), workers.submit(
            os.getenv, "FIRSTMLP_TEST_REMOVED")
        assert [future.result() for future in seen] == ["set after the server started", None]


GRADER_KILLED = """
import os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
from autograder.grading import pool

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=pool.worker_context(True),
                             initializer=pool.die_with_the_grader) as workers:
        print(workers.submit(os.getpid).result(), flush=True)
        workers.submit(time.sleep, 600)
        time.sleep(1)
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_a_forked_worker_dies_with_a_grader_killed_by_sigkill(tmp_path):
    """A worker forked by the forkserver is not the grader's child, and the server stays
    up while a worker holds its pipe: SIGKILL to the grader alone still ends both."""
    import subprocess
    import sys
    import time
    needs_the_forkserver()
    script = tmp_path / "grader.py"
    script.write_text(GRADER_KILLED)
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    with out.open("w") as stdout:  # a file, not a pipe: a worker left running would hold it
        subprocess.run([sys.executable, str(script)], stdout=stdout, timeout=120, cwd=root,
                       env=dict(os.environ, PYTHONPATH=str(root)))
    worker = int(out.read_text().split()[0])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
        time.sleep(0.1)
    alive = Path(f"/proc/{worker}").exists()
    if alive:
        os.kill(worker, 9)
    assert not alive, "the worker outlived its grader"
