"""autograder/course/course_dir.py on its own: every file of the nbgrader course folder,
named once, in nbgrader's layout (nbgrader reads them there)."""

import os

from autograder.course.course_dir import CourseDir


def test_nbgraders_layout(tmp_path):
    tree = CourseDir(tmp_path)
    relative = lambda path: path.relative_to(tmp_path).as_posix()  # noqa: E731
    assert relative(tree.source("01")) == "source/01/01.ipynb"
    assert relative(tree.release("01")) == "release/01/01.ipynb"
    assert relative(tree.submitted("ada", "01")) == "submitted/ada/01/01.ipynb"
    assert relative(tree.autograded("ada", "01")) == "autograded/ada/01/01.ipynb"
    assert tree.gradebook_url == f"sqlite:///{tmp_path / 'gradebook.db'}"


def test_the_graders_own_records_are_apart_per_kind_and_student(tmp_path):
    tree = CourseDir(tmp_path)
    kept = [tree.verdicts("ada", "01"), tree.earlier("ada", "01"), tree.done("ada", "01"),
            tree.attempts("ada", "01")]
    assert [p.relative_to(tmp_path).as_posix() for p in kept] == [
        "firstmlp/verdicts/ada/01.json", "firstmlp/earlier/ada/01.json",
        "firstmlp/done/ada/01.json", "firstmlp/attempts/ada/01.json"]
    assert tree.earlier("ada") == tree.earlier("ada", "01").parent


def test_a_course_dir_is_a_path_like(tmp_path):
    assert os.fspath(CourseDir(tmp_path)) == str(tmp_path)
    assert CourseDir(CourseDir(tmp_path).root).root == tmp_path
