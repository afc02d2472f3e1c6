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

    MNIST_ROOT=../shared/data/mnist .venv/bin/python bench/grade_class.py [--n 40] [--workers 2]
"""

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course.build import load_manifest
from autograder.grading.grader import grade, prepare_course
from autograder.course.nbgrader_course import (autograde, completed_notebook, gradebook_scores,
                                               make_course_dir, use_stock_settings)
from autograder.course.release import RELEASES

ASSIGNMENTS = ["01_perceptron", "02_activations", "03_loss_and_gradient_descent", "04_backprop"]


def make_class(n, course_dir, submitted):
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


def boundary_cost(n=30):
    """Seconds per notebook to open a notebook process, run ``1 + 1`` and close it."""
    from autograder.sandbox.boundary import Sandbox, bwrap_problem, identity_problem
    from autograder.sandbox.notebook_process import ForkedNotebook
    from autograder.sandbox.limits import Limits, student_readable
    from autograder.sandbox.wire import Link

    def per_notebook(open_notebook):
        start = time.perf_counter()
        for _ in range(n):
            link, close = open_notebook()
            link.deadline = time.monotonic() + 60
            link.request("run", "1 + 1")
            close()
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
    for label, use_bwrap in (("zygote in bubblewrap", True), ("zygote without bubblewrap", False)):
        if (use_bwrap and bwrap_problem()) or identity_problem(through_bwrap=use_bwrap):
            continue  # as root without bubblewrap, where the sandbox's user cannot reach Python
        sandbox = Sandbox(use_bwrap=use_bwrap)
        started = time.perf_counter()
        sandbox.start()
        startup = time.perf_counter() - started
        figures[label] = (per_notebook(zygote(sandbox)), startup)
        sandbox.kill()
    figures["fork of the worker (before)"] = (per_notebook(forked), None)
    return figures


def main():
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
        outcomes, _, _ = grade(scratch / "submitted", ours, workers=args.workers, progress=False)
        ours_s = time.perf_counter() - start

        start = time.perf_counter()
        plain_outcomes, _, _ = grade(scratch / "submitted", plain, workers=args.workers,
                                     progress=False, isolate=False)
        plain_s = time.perf_counter() - start

        start = time.perf_counter()
        for assignment in ASSIGNMENTS:
            autograde(stock, assignment)
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
    print("boundary cost per notebook (open, run `1 + 1`, close; 30 notebooks each):")
    for label, (seconds, startup) in boundary_cost().items():
        start = f"; zygote start {startup:.1f} s, once per worker" if startup else ""
        print(f"  {label:30s} {1000 * seconds:6.1f} ms per notebook{start}")


if __name__ == "__main__":
    main()
