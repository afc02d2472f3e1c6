"""Finding submissions: nbgrader trees and LMS-named files."""

from pathlib import Path

import pytest

from autograder.submissions import collect, from_lms_files

ASSIGNMENTS = ["01_perceptron", "02_activations"]


@pytest.mark.parametrize("name, student, assignment", [
    ("smithjane_12345_67890_02_activations.ipynb", "smithjane", "02_activations"),
    ("smithjane_LATE_12345_67890_01_perceptron-1.ipynb", "smithjane", "01_perceptron"),
    ("j.doe-2_01_perceptron.ipynb", "j.doe-2", "01_perceptron"),
])
def test_lms_names(name, student, assignment):
    [found], unmatched = from_lms_files([Path(name)], ASSIGNMENTS)
    assert (found.student, found.assignment) == (student, assignment) and not unmatched


def test_unknown_assignment_and_bad_names_are_reported():
    found, unmatched = from_lms_files(
        [Path("a_09_other.ipynb"), Path("readme.txt"), Path("b_01_perceptron.ipynb")], ASSIGNMENTS)
    assert [s.student for s in found] == ["b"]
    assert sorted(u.reason for u in unmatched) == ["file name does not match the LMS pattern",
                                                  "unknown assignment '09_other'"]


def test_custom_pattern():
    [found], _ = from_lms_files([Path("01_perceptron--kim.ipynb")], ASSIGNMENTS,
                                pattern=r"(?P<assignment>\d\d_\w+?)--(?P<student>\w+)\.ipynb")
    assert found.student == "kim"


def test_nbgrader_tree(tmp_path):
    (tmp_path / "kim" / "01_perceptron").mkdir(parents=True)
    (tmp_path / "kim" / "01_perceptron" / "01_perceptron.ipynb").write_text("{}")
    (tmp_path / "lee" / "01_perceptron").mkdir(parents=True)
    found, unmatched = collect(tmp_path, ASSIGNMENTS)
    assert [(s.student, s.assignment) for s in found] == [("kim", "01_perceptron")]
    assert unmatched[0].reason.startswith("no 01_perceptron.ipynb in it (found: ")


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no submissions at"):
        collect(tmp_path / "nope", ASSIGNMENTS)
