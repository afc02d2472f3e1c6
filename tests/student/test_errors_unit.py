"""autograder/student/errors.py on its own: an error said in one line, the student's own
frames and where they are, numpy's error state around student code, and a command line
whose errors are one line."""

import traceback
import warnings

import numpy as np
import pytest

from autograder.student.errors import (
    OneLineParser,
    first_line,
    frame_location,
    student_errstate,
    student_frames,
)


def test_first_line_is_the_first_non_blank_line_cut_to_the_limit():
    assert first_line(ValueError("\n  shapes differ\nsecond line")) == "shapes differ"
    assert first_line("abcdef", limit=3) == "abc"
    assert first_line(ValueError()) == ""


def test_only_the_students_frames_are_kept():
    frames = [traceback.FrameSummary("<your notebook 02_activations, cell relu>", 3, "forward"),
              traceback.FrameSummary(np.__file__, 10, "vectorize"),
              traceback.FrameSummary(__import__("autograder.student.oracle").__file__, 5, "check"),
              traceback.FrameSummary(traceback.__file__, 7, "format")]
    kept = student_frames(frames)
    assert [f.name for f in kept] == ["forward"]
    assert frame_location(kept[0]) == " (line 3 in forward, your notebook 02_activations)"
    assert frame_location(traceback.FrameSummary("<cell 4>", 2, "f")) == " (line 2 in f)"


def test_numpy_warns_on_overflow_and_division_but_not_underflow():
    with student_errstate(), pytest.warns(RuntimeWarning):
        np.float32(1e38) * np.float32(10)
    with student_errstate(), warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        np.float64(1e-300) * np.float64(1e-300)
    assert record == []


def test_a_command_lines_error_is_one_line_and_exit_status_2(capsys):
    parser = OneLineParser(prog="firstmlp grade")
    parser.add_argument("--workers", type=int)
    with pytest.raises(SystemExit) as exit:
        parser.parse_args(["--workers", "many"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("firstmlp grade: ") and "--help" in err
