"""autograder/grading/resume.py on its own: a killed run skips only what an earlier run
graded from the very same file, and never loops on a notebook whose grading keeps
dying (``ATTEMPTS``), unless ``--regrade``."""

import json
from types import SimpleNamespace

from autograder.course.course_dir import CourseDir
from autograder.grading import resume
from autograder.grading.resume import (
    ATTEMPTS,
    already_graded,
    attempts_of,
    count_attempt,
    graded_before,
    poisoned,
)

KEY = ("ada", "02_activations")
ADA = SimpleNamespace(student="ada", assignment="02_activations")


def graded_earlier(tree, digest):
    tree.done(*KEY).parent.mkdir(parents=True, exist_ok=True)
    tree.done(*KEY).write_text(json.dumps({"sha256": digest, "score": 3}))
    tree.autograded(*KEY).parent.mkdir(parents=True, exist_ok=True)


def test_an_earlier_run_of_the_same_file_is_skipped_and_of_another_file_is_not(tmp_path):
    tree = CourseDir(tmp_path)
    assert already_graded(tree, ADA, "abc") is None
    graded_earlier(tree, "abc")
    assert already_graded(tree, ADA, "abc") == {"sha256": "abc", "score": 3}
    assert already_graded(tree, ADA, "changed") is None
    assert graded_before(tree, [ADA], {KEY: "abc"}) == {KEY: {"sha256": "abc", "score": 3}}
    assert graded_before(tree, [ADA], {KEY: "changed"}) == {}


def test_a_done_mark_without_nbgraders_graded_copy_is_not_taken(tmp_path):
    tree = CourseDir(tmp_path)
    graded_earlier(tree, "abc")
    tree.autograded(*KEY).parent.rmdir()
    assert already_graded(tree, ADA, "abc") is None


def test_an_unreadable_mark_counts_as_nothing(tmp_path):
    tree = CourseDir(tmp_path)
    for path in (tree.done(*KEY), tree.attempts(*KEY)):
        path.parent.mkdir(parents=True)
        path.write_text("{not json")
    assert already_graded(tree, ADA, "abc") is None and attempts_of(tree, *KEY, "abc") == 0


def test_attempts_are_counted_per_file(tmp_path):
    tree = CourseDir(tmp_path)
    assert [count_attempt(tree, *KEY, "abc") for _ in range(2)] == [1, 2]
    assert attempts_of(tree, *KEY, "abc") == 2
    assert attempts_of(tree, *KEY, "a new file") == 0
    assert count_attempt(tree, *KEY, "a new file") == 1


def test_a_notebook_begun_attempts_times_is_refused_until_regrade(tmp_path):
    tree = CourseDir(tmp_path)
    for _ in range(ATTEMPTS - 1):
        count_attempt(tree, *KEY, "abc")
    assert poisoned(tree, [ADA], {KEY: "abc"}, {}, {}, regrade=False) == {}
    count_attempt(tree, *KEY, "abc")
    refused = poisoned(tree, [ADA], {KEY: "abc"}, {}, {}, regrade=False)
    assert list(refused) == [KEY] and f"{ATTEMPTS} times" in refused[KEY] and "--regrade" in refused[KEY]
    # graded already, or refused for another reason: not said twice
    assert poisoned(tree, [ADA], {KEY: "abc"}, {KEY: {}}, {}, regrade=False) == {}
    assert poisoned(tree, [ADA], {KEY: "abc"}, {}, {KEY: "unreadable"}, regrade=False) == {}
    assert poisoned(tree, [ADA], {KEY: "abc"}, {}, {}, regrade=True) == {}
    assert attempts_of(tree, *KEY, "abc") == 0  # --regrade forgot the count


def test_the_worker_died_message_says_how_to_retry():
    assert "3 times" in resume.worker_died(3) and "--regrade" in resume.worker_died(3)
