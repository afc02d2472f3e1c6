"""A submission of a whole refused folder (``intake.Submission`` with
``assignment=None``) handed straight to the resume and earlier-work steps: they must
not write or unlink the student's whole folder (``CourseDir.earlier(student, None)``
is that folder). Found by mypy; ``grade()`` itself never hands them one
(``steps.over_scope`` names each refused folder's assignments first): a guard on the
functions' contract, not a bug a run met."""

import json

from autograder.course.course_dir import CourseDir
from autograder.grading.earlier_work import keep_earlier_work
from autograder.grading.intake import Submission


def test_a_refused_folder_leaves_the_students_earlier_work_a_folder(tmp_path):
    tree = CourseDir(tmp_path)
    refused = Submission("kim", None, None, "refused kim/: the student folder is a link")
    handed_in = Submission("kim", "01_perceptron", tmp_path / "copy.ipynb")
    keep_earlier_work(tree, [refused, handed_in], {}, {})
    assert tree.earlier("kim").is_dir()
    assert "error" in json.loads(tree.earlier("kim", "01_perceptron").read_text())


def test_a_refused_folder_alone_leaves_no_file_in_the_way_of_a_later_run(tmp_path):
    tree = CourseDir(tmp_path)
    keep_earlier_work(tree, [Submission("kim", None, None, "refused kim/: a link")], {}, {})
    assert not tree.earlier("kim").is_file()
    keep_earlier_work(tree, [Submission("kim", "01_perceptron", tmp_path / "copy.ipynb")], {}, {})
    assert tree.earlier("kim", "01_perceptron").is_file()


def test_regrade_with_a_refused_folder_leaves_the_students_attempts_alone(tmp_path):
    """--regrade forgets each notebook's attempts; for a refused folder (no assignment)
    that path would be the student's whole folder of attempts."""
    from autograder.grading.resume import poisoned
    tree = CourseDir(tmp_path)
    tree.attempts("kim", "01_perceptron").parent.mkdir(parents=True)
    tree.attempts("kim", "01_perceptron").write_text('{"sha256": "x", "count": 1}')
    refused = Submission("kim", None, None, "refused kim/: the student folder is a link")
    assert poisoned(tree, [refused], {("kim", None): ""}, {}, {("kim", None): "refused"},
                    regrade=True) == {}
    assert tree.attempts("kim", "01_perceptron").is_file()
