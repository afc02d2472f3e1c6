"""autograder/arguments.py on its own: each argument type turns a string into its value
or refuses it with what was expected (argparse says that in one line)."""

import argparse

import pytest

from autograder import arguments


def refused(kind, text):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        kind(text)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_positive_int():
    assert arguments.positive_int("3") == 3
    assert "must be 1 or more, not 0" in refused(arguments.positive_int, "0")
    assert "whole number" in refused(arguments.positive_int, "2.5")


def test_an_lms_pattern_names_student_and_assignment():
    pattern = r"(?P<student>\w+)_(?P<assignment>\d\d_\w+)\.ipynb"
    assert arguments.lms_pattern(pattern) == pattern
    assert "(?P<assignment>…)" in refused(arguments.lms_pattern, r"(?P<student>\w+)")
    assert "not a regular expression" in refused(arguments.lms_pattern, "(")


def test_output_folder_and_file(tmp_path):
    a_file = tmp_path / "grades.csv"
    a_file.write_text("")
    assert arguments.output_folder(str(tmp_path / "new" / "deeper")) == str(tmp_path / "new" / "deeper")
    assert "is a file, not a folder" in refused(arguments.output_folder, str(a_file / "sub"))
    assert arguments.output_file(str(a_file)) == str(a_file)
    assert "is a folder" in refused(arguments.output_file, str(tmp_path))
    assert "not a folder you can write in" in refused(arguments.output_file, str(tmp_path / "no" / "x.csv"))


def test_score_fraction():
    assert arguments.score_fraction("0.8") == 0.8
    assert "from 0 to 1, not 1.5" in refused(arguments.score_fraction, "1.5")
    assert "a number from 0 to 1" in refused(arguments.score_fraction, "high")


def test_scheduler_address():
    assert arguments.scheduler_address("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    assert "tcp://host:8786" in refused(arguments.scheduler_address, "no port here")
    assert "not a port" in refused(arguments.scheduler_address, "tcp://host:70000")


def test_a_release_folder_holds_notebooks(tmp_path):
    assert "not a release folder" in refused(arguments.release_folder, str(tmp_path))
    (tmp_path / "01_perceptron.ipynb").write_text("{}")
    assert arguments.release_folder(str(tmp_path)) == tmp_path
