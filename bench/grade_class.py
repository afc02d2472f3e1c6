"""Benchmark: grade a class of N submissions with firstmlp's grader and with stock
``nbgrader autograde``, side by side, and print seconds per submission and the ratio.

Three passes: firstmlp with its sandbox, firstmlp without its per-notebook confinement
(``--no-isolation``: the cost of rlimits and Landlock), stock nbgrader. Then the
boundary's own cost per notebook: a notebook process opened, given one cell and
closed, forked by the sandboxed zygote (bubblewrap), by a zygote without bubblewrap,
and, as before this boundary, forked straight from the grading worker. The class
cycles through notebooks 01-04 (05 trains two MNIST models, ~50 s of
student compute each, which would only dilute the comparison) and three kinds of
work: the completed reference, the blank release, and a partial submission (every
other solution cell filled in). Both graders get identical copies of the class.

Then where the seconds go, per notebook, stage by stage (``autograder.grading.stages``:
each stage's own time, an inner stage taken out of the outer one). firstmlp's pass runs
inside ``stages.recording()``: the grader's process records intake and the trusted
notebooks, and each worker records its task (nbgrader's bookkeeping — ``autograde`` less
our stages inside it, its gradebook writes included —, the earlier work, the sandbox's
fork and close, the student's cells, sanitising their outputs, the checks, feedback
HTML, the grading records) and returns the seconds with the task's result; worker stages
are worker-seconds. The grader's once-per-run steps are wall seconds (pre-flight, course
folder, data, scores and grades.csv; the workers' start and idle time is the pool's wall
less their stages over the workers). Stock nbgrader runs as its console script does (``nbgrader
autograde A --force`` per assignment, a fresh interpreter each), but through this file
(``--stock-stages``), whose timers wrap nbconvert's ``Preprocessor.__call__`` (each
preprocessor, SaveAutoGrades as the gradebook written), nbclient's kernel start, client
start and clean-up, and ``ExecutePreprocessor.preprocess_cell`` (a graded test cell is
the checks, any other the student's cells); start-up is the interpreter and nbgrader's
imports (the process's wall time less what ran after them), the rest nbgrader's
bookkeeping. The wrappers cost microseconds per cell; the stock total is that run's.
The physical limit is the student's cells plus the checks.

    MNIST_ROOT=../shared/data/mnist .venv/bin/python bench/grade_class.py [--n 40] [--workers 2]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()  # --stock-stages: nbgrader's start-up is counted from here

ASSIGNMENTS = ["01_perceptron", "02_activations", "03_loss_and_gradient_descent", "04_backprop"]


def make_class(n, course_dir, submitted):
    import nbformat

    from autograder.course.build import load_manifest
    from autograder.course.nbgrader_course import completed_notebook
    from autograder.course.release import RELEASES
    release = RELEASES / load_manifest()["version"]
    for i in range(n):
        assignment, kind = ASSIGNMENTS[i % 4], ("reference", "blank", "partial")[(i // 4) % 3]
        path = release / f"{assignment}.ipynb"
        notebook = nbformat.read(str(path), as_version=4)
        full = completed_notebook(path, course_dir / "source" / assignment / f"{assignment}.ipynb")
        solutions = [j for j, c in enumerate(notebook.cells) if c.metadata["nbgrader"]["solution"]]
        chosen = solutions if kind == "reference" else solutions[::2] if kind == "partial" else []
        for j in chosen:
            notebook.cells[j].source = full.cells[j].source
        folder = submitted / f"student{i:03d}_{kind}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{assignment}.ipynb"))


def boundary_cost(optional, n=30):
    """Seconds per notebook to open a notebook process, run ``1 + 1`` and close it, in
    a process as warm as a grading worker (``pool.WORKER_PRELOAD`` imported: before,
    this process's own first import of torch, 1.3 s in the wire's first encode, which no
    worker pays, was a third of the figure), after one notebook not counted; the
    zygote's optional modules as the class is graded (``optional``) and all of them."""
    import importlib

    from autograder.grading.pool import WORKER_PRELOAD
    from autograder.sandbox.boundary import Sandbox, bwrap_problem, identity_problem
    from autograder.sandbox.limits import Limits, student_readable
    from autograder.sandbox.notebook_process import ForkedNotebook
    from autograder.sandbox.wire import Link
    for module in WORKER_PRELOAD:
        importlib.import_module(module)

    def per_notebook(open_notebook):
        def one():
            link, close = open_notebook()
            link.deadline = time.monotonic() + 60
            link.request("run", "1 + 1")
            close()
        one()  # not counted
        start = time.perf_counter()
        for _ in range(n):
            one()
        return (time.perf_counter() - start) / n

    def zygote(sandbox):
        def open_notebook():
            notebook_id, from_child, to_child, _ = sandbox.open_notebook(
                60, Limits(), student_readable())

            def close():
                os.close(from_child)
                os.close(to_child)
                sandbox.close_notebook(notebook_id)
            return Link(to_child, from_child), close
        return open_notebook

    def forked():
        notebook = ForkedNotebook(60, Limits(), student_readable())
        return notebook.link, notebook.close

    figures = {}
    for label, use_bwrap, modules in (
            (f"zygote in bubblewrap, the class's ({', '.join(optional) or 'no optional modules'})",
             True, optional),
            ("zygote in bubblewrap, every optional module", True, None),
            ("zygote without bubblewrap (the class's)", False, optional)):
        if (use_bwrap and bwrap_problem()) or identity_problem(through_bwrap=use_bwrap):
            continue  # as root without bubblewrap, where the sandbox's user cannot reach Python
        sandbox = Sandbox(use_bwrap=use_bwrap, optional=modules)
        started = time.perf_counter()
        sandbox.start()
        startup = time.perf_counter() - started
        figures[label] = (per_notebook(zygote(sandbox)), startup)
        sandbox.kill()
    figures["fork of the worker (before)"] = (per_notebook(forked), None)
    return figures


def class_modules(course_dir):
    """The optional modules a grading run's zygotes import for this class (the pool's
    ``optional_modules`` of its released notebooks)."""
    from autograder.course.course_dir import CourseDir
    from autograder.grading.pool import optional_modules
    from autograder.grading.run import GradingRun, Task
    run = GradingRun(CourseDir(course_dir))
    return optional_modules(run, [Task("anyone", a, "") for a in ASSIGNMENTS]) or []


STARTUP, KERNEL, GRADEBOOK = "start-up & imports", "kernel start & stop", "gradebook written"


def stock_stages(assignment, out):
    """In a stock course folder (the working directory): ``nbgrader autograde ASSIGNMENT
    --force`` as nbgrader's console script runs it, with stage timers around nbgrader's
    preprocessors, nbclient's kernel and each cell; writes {stage: seconds} to ``out``
    (start-up: the imports here; the caller adds the interpreter's own start)."""
    from nbclient import NotebookClient
    from nbconvert.preprocessors import ExecutePreprocessor
    from nbconvert.preprocessors.base import Preprocessor
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    from autograder.grading.stages import CELLS, CHECKS, NBGRADER, recording, stage
    imported = time.perf_counter()

    def timed(cls, method, name_of):
        plain = getattr(cls, method)

        def wrapper(self, *args, **kwargs):
            with stage(name_of(self, *args)):
                return plain(self, *args, **kwargs)
        setattr(cls, method, wrapper)

    by_class = {"Execute": KERNEL, "SaveAutoGrades": GRADEBOOK}
    timed(Preprocessor, "__call__", lambda self, *a: by_class.get(type(self).__name__, NBGRADER))
    for method in ("start_new_kernel", "start_new_kernel_client", "_cleanup_kernel"):
        timed(NotebookClient, method, lambda self, *a: KERNEL)
    timed(ExecutePreprocessor, "preprocess_cell", lambda self, cell, *a:
          CHECKS if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and
          cell.cell_type == "code" and not cell.metadata["nbgrader"].get("solution") else CELLS)
    sys.argv = ["nbgrader", "autograde", assignment, "--force"]
    with recording() as seconds:
        try:
            with stage(NBGRADER):
                nbgrader_main()
        except SystemExit as stop:
            if stop.code:
                raise
    seconds[STARTUP] = imported - STARTED
    Path(out).write_text(json.dumps(seconds))


def stock_autograde(course, assignment):
    """``stock_stages`` in a fresh interpreter; its stages, start-up counted from the
    launch."""
    out = Path(course) / f".stages-{assignment}.json"
    launched = time.perf_counter()
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--stock-stages",
                           assignment, str(out)], cwd=course, capture_output=True, text=True)
    wall = time.perf_counter() - launched
    if done.returncode:
        raise SystemExit(f"nbgrader autograde {assignment} failed:\n{done.stderr[-2000:]}")
    seconds = json.loads(out.read_text())
    seconds[STARTUP] += wall - sum(seconds.values())  # the interpreter's start and exit
    return seconds


def add(total, seconds):
    for name, value in seconds.items():
        total[name] = total.get(name, 0.0) + value
    return total


def stage_table(title, seconds, n, order):
    """Seconds per notebook by stage, their share of the total; returns the total."""
    total = sum(seconds.values())
    print(f"{title}: seconds per notebook ({n} notebooks)")
    for name in [s for s in order if s in seconds] + sorted(set(seconds) - set(order)):
        print(f"  {name:24s} {seconds[name] / n:7.3f} s  {100 * seconds[name] / total:5.1f} %")
    print(f"  {'total':24s} {total / n:7.3f} s")
    return total / n


def physical_limit(seconds, n):
    """The student's cells plus the checks, and the overhead beside them, per notebook."""
    from autograder.grading.stages import CELLS, CHECKS
    total, cells, checks = (sum(seconds.values()) / n, seconds.get(CELLS, 0.0) / n,
                            seconds.get(CHECKS, 0.0) / n)
    overhead = total - cells - checks
    print(f"  the physical limit is the student's cells plus the checks: {cells + checks:.3f} s "
          f"of {total:.3f} s per notebook ({100 * (cells + checks) / total:.0f} %); overhead "
          f"{overhead:.3f} s = {overhead / checks if checks else float('inf'):.1f}x the checks' "
          f"own {checks:.3f} s (issue 24's target: <= 2x)")


def main():
    if sys.argv[1:2] == ["--stock-stages"]:
        return stock_stages(*sys.argv[2:4])
    from autograder.course.nbgrader_course import gradebook_scores, make_course_dir, use_stock_settings
    from autograder.grading.grader import grade, prepare_course
    from autograder.grading.stages import (
        CELLS,
        CHECKS,
        INTAKE,
        NBGRADER,
        ONCE,
        ORDER,
        TRUSTED,
        WORKERS,
        recording,
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        ours, stock = scratch / "ours", scratch / "stock"
        prepare_course(ours)
        shutil.copytree(ours, stock)  # same sources, same gradebook of assignments
        make_course_dir(stock)  # nbgrader_config.py names this copy as its root
        use_stock_settings(stock)  # the baseline, not the grader's configuration
        make_class(args.n, ours, scratch / "submitted")
        shutil.copytree(scratch / "submitted", stock / "submitted")

        plain = scratch / "plain"
        shutil.copytree(ours, plain)
        start = time.perf_counter()
        with recording() as grader_side:
            outcomes, _, _ = grade(scratch / "submitted", ours, workers=args.workers,
                                   progress=False)
        ours_s = time.perf_counter() - start

        start = time.perf_counter()
        plain_outcomes, _, _ = grade(scratch / "submitted", plain, workers=args.workers,
                                     progress=False, isolate=False)
        plain_s = time.perf_counter() - start

        start = time.perf_counter()
        stock_seconds = {}
        for assignment in ASSIGNMENTS:
            add(stock_seconds, stock_autograde(stock, assignment))
        stock_s = time.perf_counter() - start

        stock_scores = {(s, a): v[0] for a in ASSIGNMENTS
                        for s, v in gradebook_scores(stock, a).items()}
        # the handed-in work (the table adds a flagged zero for each notebook not handed in)
        outcomes, plain_outcomes = ([o for o in found if "missing: no submission" not in o.flags]
                                    for found in (outcomes, plain_outcomes))
        differ = [(o.student, o.assignment, o.score, stock_scores.get((o.student, o.assignment)))
                  for o in outcomes if stock_scores.get((o.student, o.assignment)) != o.score]
        agree = not differ
        agree_plain = sorted((o.student, o.assignment, o.score) for o in plain_outcomes) == \
            sorted((o.student, o.assignment, o.score) for o in outcomes)
    n = len(outcomes)
    print(f"class of {n} submissions (notebooks 01-04; reference, blank, partial), "
          f"{os.cpu_count()} cores")
    print(f"firstmlp grade ({args.workers} warm workers, sandbox, verdicts, feedback): "
          f"{ours_s:6.1f} s, {ours_s / n:.2f} s per submission")
    print(f"firstmlp grade --no-isolation (namespaces only, no rlimits/Landlock): "
          f"{plain_s:6.1f} s, {plain_s / n:.2f} s per submission; same scores: {agree_plain}")
    print(f"rlimits + Landlock cost: {(ours_s - plain_s) / n:+.2f} s per submission")
    print(f"stock nbgrader autograde (no feedback):      {stock_s:6.1f} s, "
          f"{stock_s / n:.2f} s per submission")
    print(f"speed-up: {stock_s / ours_s:.1f}x (target >= 3x); same scores: {agree}")
    for student, assignment, score, stock_score in differ:
        print(f"  differs: {student} {assignment}: firstmlp {score:g}, stock {stock_score}")
    print("boundary cost per notebook (open, run `1 + 1`, close; 30 notebooks each, after "
          "one not counted, in a process as warm as a worker):")
    for label, (seconds, startup) in boundary_cost(class_modules(ours)).items():
        start = f"; zygote start {startup:.1f} s, once per worker" if startup else ""
        print(f"  {label:58s} {1000 * seconds:6.1f} ms per notebook{start}")
    ours_seconds = {name: grader_side.get(name, 0.0) for name in (INTAKE, TRUSTED)}
    for outcome in outcomes:
        add(ours_seconds, outcome.stages)
    print()
    per_notebook = stage_table(f"firstmlp grade, by stage (grader's process: {INTAKE}, "
                               f"{TRUSTED}; the rest worker-seconds)", ours_seconds, n, ORDER)
    physical_limit(ours_seconds, n)
    in_workers = (sum(ours_seconds.values()) - ours_seconds[INTAKE] - ours_seconds[TRUSTED]) \
        / args.workers
    once = {name: grader_side.get(name, 0.0) for name in ONCE}
    once[f"{WORKERS}: started, idle"] = once.pop(WORKERS) - in_workers
    once["the rest"] = ours_s - sum(grader_side.values())
    print(f"  once per run, wall seconds of the {ours_s:.1f} s (the stages above: "
          f"{per_notebook * n:.1f} s, in {args.workers} workers {in_workers:.1f} s of wall):")
    for name, seconds in once.items():
        print(f"    {name:32s} {seconds:6.1f} s  ({seconds / n:.2f} s per notebook)")
    print()
    stock_order = (STARTUP, NBGRADER, KERNEL, CELLS, CHECKS, GRADEBOOK)
    stage_table("stock nbgrader autograde, by stage (checks: its graded test cells, in the "
                "kernel)", stock_seconds, n, stock_order)
    physical_limit(stock_seconds, n)


if __name__ == "__main__":
    main()
