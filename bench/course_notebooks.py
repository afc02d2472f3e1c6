"""Benchmark: build the course and execute every reference notebook top to bottom
(fresh kernel each, as a student's "Run all"), printing seconds per notebook and
the total. Target: the whole course within 5 minutes on 2 cores.

    MNIST_ROOT=../shared/data/mnist .venv/bin/python bench/course_notebooks.py [--keep DIR]

``--keep DIR`` writes each executed notebook there, to look at its figures.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course.build import build_course
from autograder.student.execute import cell_errors, execute_notebook, image_outputs
from autograder.student.table import format_table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the executed notebooks into this folder")
    keep = parser.parse_args().keep
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory() as out:
        for path in build_course(Path(out)):
            start = time.perf_counter()
            notebook = execute_notebook(path)
            seconds = time.perf_counter() - start
            total += seconds
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, str(keep / path.name))
            rows.append([path.stem, f"{seconds:.1f}", image_outputs(notebook),
                         len(cell_errors(notebook))])
            print(f"  {path.stem}: {seconds:.1f} s", flush=True)
    print(format_table(["notebook", "seconds", "plots", "errors"], rows))
    print(f"whole course: {total:.1f} s on {os.cpu_count()} cores (target <= 300 s)")


if __name__ == "__main__":
    main()
