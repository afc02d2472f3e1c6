"""autograder/course/generate.py: the release notebooks and the gradebook made by
nbgrader's generate_assignment for several assignments in one process are byte for byte
and row for row what `nbgrader generate_assignment A --force` makes, one process each; a
failure names its assignment; the course folder's config imports no torch until a
notebook is executed."""

import sqlite3
import subprocess
import sys

import pytest

from autograder.course.nbgrader_course import (NbgraderError, generate_assignments,
                                               make_course_dir, run_nbgrader)

ASSIGNMENTS = ["01_perceptron", "02_activations"]


def gradebook_rows(course_dir):
    """Every row of every table, without its generated ids."""
    ids = {"id", "assignment_id", "notebook_id", "cell_id"}
    with sqlite3.connect(course_dir / "gradebook.db") as book:
        tables = [t for (t,) in book.execute("select name from sqlite_master where type='table'")]
        rows = {}
        for table in tables:
            columns = [c[1] for c in book.execute(f"pragma table_info({table})") if c[1] not in ids]
            if columns:
                rows[table] = sorted(map(repr, book.execute(
                    f"select {','.join(columns)} from {table}")))
    return rows


@pytest.mark.slow  # two nbgrader processes and one more: about 10 s
def test_one_process_makes_what_the_cli_makes_one_assignment_at_a_time(tmp_path):
    by_cli, in_one = tmp_path / "cli", tmp_path / "one"
    make_course_dir(by_cli)
    make_course_dir(in_one)
    for assignment in ASSIGNMENTS:
        run_nbgrader(by_cli, "generate_assignment", assignment, "--force")
    generate_assignments(in_one, ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        path = f"release/{assignment}/{assignment}.ipynb"
        assert (in_one / path).read_bytes() == (by_cli / path).read_bytes(), path
    rows = gradebook_rows(by_cli)
    assert rows["grade_cells"] and gradebook_rows(in_one) == rows


def test_a_failure_names_the_assignment_it_failed_on(tmp_path):
    make_course_dir(tmp_path)
    with pytest.raises(NbgraderError) as failed:
        generate_assignments(tmp_path, ["01_perceptron", "no_such_assignment"])
    assert str(failed.value).startswith("nbgrader generate_assignment no_such_assignment --force "
                                        "failed (1): "), str(failed.value)
    assert (tmp_path / "release" / "01_perceptron" / "01_perceptron.ipynb").is_file()


def test_the_course_config_imports_no_torch(tmp_path):
    """generate_assignment, generate_feedback, export and formgrader load the folder's
    config and execute nothing: the grader's WarmExecute (torch) is named, not imported."""
    make_course_dir(tmp_path)
    loaded = subprocess.run([sys.executable, "-c",
                             "import sys\n"
                             "from traitlets.config.loader import PyFileConfigLoader\n"
                             "c = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
                             "assert c.Autograde.autograde_preprocessors\n"
                             "print('torch' in sys.modules)"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == "False"
