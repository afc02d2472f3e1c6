"""Benchmark: a class at scale. S students, each handing in notebooks 01-04 (a third
the reference, a third the blank release, a third partial, as ``grade_class.py`` makes
them), graded twice from the command line as an instructor runs it: ``firstmlp grade
--workers 2`` (the local pool), and ``firstmlp grade --scheduler`` on a two-worker Dask
cluster (``dask scheduler`` and ``dask worker --nworkers 2 --nthreads 1`` on 127.0.0.1,
started before the run). Prints each run's wall seconds, seconds per notebook, peak
memory of every process the run used (the sum of their proportional set sizes — PSS
counts a page shared by N processes as 1/N to each, so forked zygotes are not counted
twice — sampled every half second; the Dask cluster's processes included in its run),
and whether the two runs' grades.csv agree row for row.

    MNIST_ROOT=../shared/data/mnist .venv/bin/python bench/grade_scale.py [--students 200]
"""

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from grade_class import ASSIGNMENTS, make_class  # noqa: E402

BIN = Path(sys.executable).parent


def tree_pss_mb(root_pid):
    """The PSS of ``root_pid``'s descendants, in MB (processes gone mid-read are skipped)."""
    total = 0
    for process in psutil.Process(root_pid).children(recursive=True):
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return total / 2**20


class PeakMemory:
    """Samples the bench's descendants' PSS every ``every`` seconds while in use."""

    def __init__(self, every=0.5):
        self.every, self.peak, self._stop = every, 0.0, threading.Event()

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_pss_mb(os.getpid()))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def grades(course_dir):
    with open(Path(course_dir) / "grades.csv", newline="") as file:
        return sorted(tuple(row.items()) for row in csv.DictReader(file))


def grade_cli(submitted, course_dir, *options):
    """``firstmlp grade`` as a process; (wall seconds, peak PSS MB of the bench's tree)."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        done = subprocess.run([str(BIN / "firstmlp"), "grade", str(submitted), "--course-dir",
                               str(course_dir), *options], capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"firstmlp grade {' '.join(options)} exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, memory.peak


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_cluster(workers):
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1; (address, processes)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--dashboard-address", "127.0.0.1:0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([str(BIN / "dask"), "worker", address, "--nworkers", str(workers),
                               "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from distributed import Client
    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, (worker, scheduler)


def stop(processes):
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from autograder.grading.grader import prepare_course
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        pool_course, dask_course = scratch / "pool", scratch / "dask"
        prepare_course(pool_course)
        n = args.students * len(ASSIGNMENTS)
        make_class(n, pool_course, scratch / "made")
        for made in sorted((scratch / "made").iterdir()):  # submission i: notebook i % 4 of
            number, kind = made.name.removeprefix("student").split("_")  # its kind (i // 4) % 3
            student = scratch / "submitted" / f"student{int(number) // 4:03d}_{kind}"
            for notebook in made.iterdir():
                student.mkdir(parents=True, exist_ok=True)
                notebook.rename(student / notebook.name)
        shutil.copytree(pool_course, dask_course)
        prepare_course(dask_course)  # the copy's configs name its own folder
        print(f"{args.students} students x notebooks 01-04 = {n} notebooks "
              f"(reference, blank, partial), {os.cpu_count()} cores, load before: "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        pool_s, pool_mb = grade_cli(scratch / "submitted", pool_course,
                                    "--workers", str(args.workers))
        print(f"firstmlp grade --workers {args.workers}: {pool_s:7.1f} s "
              f"({pool_s / n:.3f} s per notebook), peak memory {pool_mb:,.0f} MB PSS", flush=True)
        address, cluster = dask_cluster(args.workers)
        try:
            with PeakMemory() as idle:
                time.sleep(2)
            dask_s, dask_mb = grade_cli(scratch / "submitted", dask_course,
                                        "--scheduler", address)
        finally:
            stop(cluster)
        print(f"firstmlp grade --scheduler (Dask, {args.workers} workers x 1 thread): "
              f"{dask_s:7.1f} s ({dask_s / n:.3f} s per notebook), peak memory {dask_mb:,.0f} MB "
              f"PSS (the idle cluster: {idle.peak:,.0f} MB)")
        pool_rows, dask_rows = grades(pool_course), grades(dask_course)
        print(f"grades.csv rows: {len(pool_rows)} and {len(dask_rows)}; identical: "
              f"{pool_rows == dask_rows}")
        if pool_rows != dask_rows:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
