"""Late work (fast): course.toml's due dates and policy, checked where they are read;
the policy as nbgrader's late-submission plugin; nbgrader's timestamp.txt read by
intake as hostile input; an LMS's LATE mark flagged, never penalised here."""

import os
from datetime import UTC, datetime

import pytest

from autograder.course.build import CourseError, load_manifest
from autograder.course.schedule import DAY_SECONDS, LatePolicy, due_dates, late_policy
from autograder.grading.intake import collect
from autograder.grading.late import LMS_LATE, config_lines, read_timestamp
from autograder.grading.late import LatePolicy as Plugin

ASSIGNMENTS = ["01_perceptron", "02_activations"]


def manifest(late=None, **due):
    return {"assignments": [{"name": name} | ({"due": due[name]} if name in due else {})
                            for name in ASSIGNMENTS]} | ({"late": late} if late is not None else {})


def test_course_toml_gives_every_assignment_a_due_date_and_a_policy():
    course = load_manifest()
    assert set(due_dates(course)) == {a["name"] for a in course["assignments"]}
    assert late_policy(course).policy in ("none", "zero", "per_day")


def test_a_due_date_with_an_offset_is_kept_in_utc():
    due = datetime(2026, 9, 14, 19, 59, tzinfo=UTC).astimezone()
    assert due_dates(manifest(**{"01_perceptron": due})) == {
        "01_perceptron": datetime(2026, 9, 14, 19, 59)}


@pytest.mark.parametrize("entry, message", [
    (manifest(**{"01_perceptron": datetime(2026, 9, 14, 23, 59)}),
     "01_perceptron's due = datetime.datetime(2026, 9, 14, 23, 59) is not a date and time "
     "with a UTC offset"),
    (manifest(**{"01_perceptron": "2026-09-14"}), "01_perceptron's due = '2026-09-14' is not"),
    (manifest({"policy": "half"}), "[late] policy = 'half' is not one of none, zero, per_day"),
    (manifest({"policy": "per_day", "per_day": 1.5}), "[late] per_day = 1.5 is not a number from 0 to 1"),
    (manifest({"policy": "per_day"}), "[late] policy = \"per_day\" needs per_day"),
    (manifest({"policy": "none", "grace_minutes": -1}), "[late] grace_minutes = -1 is not a number"),
    (manifest({"policy": "none", "grace": 5}), "[late] has no key 'grace'"),
])
def test_a_wrong_schedule_is_one_line_naming_it(entry, message):
    with pytest.raises(CourseError) as error:
        due_dates(entry, "course.toml")
        late_policy(entry, "course.toml")
    assert str(error.value).startswith("course.toml: ") and message in str(error.value)


def test_a_course_toml_with_a_local_due_date_does_not_load(tmp_path):
    (tmp_path / "course.toml").write_text('version = "v"\n[[assignments]]\nname = "01_demo"\n'
                                          'points = 3\ndue = 2026-09-14T23:59:00\n')
    with pytest.raises(CourseError, match="01_demo's due = .* is not a date and time with a UTC"):
        load_manifest(tmp_path)


@pytest.mark.parametrize("policy, seconds, share", [
    (LatePolicy("per_day", 0.1, 15), 15 * 60, 0.0),  # within the grace period
    (LatePolicy("per_day", 0.1, 15), 15 * 60 + 1, 0.1),
    (LatePolicy("per_day", 0.1, 0), DAY_SECONDS, 0.1),
    (LatePolicy("per_day", 0.1, 0), DAY_SECONDS + 1, 0.2),  # a part of a day counts as a day
    (LatePolicy("per_day", 0.3, 0), 5 * DAY_SECONDS, 1.0),  # never more than the score
    (LatePolicy("zero"), 1, 1.0),
    (LatePolicy("none"), 10 * DAY_SECONDS, 0.0),
])
def test_the_policy_takes_a_share_of_the_score(policy, seconds, share):
    assert policy.share(seconds) == pytest.approx(share)
    plugin = Plugin(policy=policy.policy, per_day=policy.per_day, grace_minutes=policy.grace_minutes)
    assert plugin.late_submission_penalty("kim", 7.0, seconds) == pytest.approx(7.0 * share)


def test_the_course_folder_config_names_the_plugin_with_course_tomls_policy():
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config
    policy = LatePolicy("per_day", 0.25, 5)
    namespace = {"c": Config()}
    exec(config_lines(policy), namespace)
    applied = AssignLatePenalties(config=namespace["c"])
    applied.init_plugin()
    assert isinstance(applied.plugin_inst, Plugin)
    assert applied.plugin_inst.late_submission_penalty("kim", 8.0, 2 * DAY_SECONDS) == 4.0


@pytest.mark.parametrize("data, timestamp, problem", [
    (b"2026-09-15 00:59:00.000000 UTC\n", "2026-09-15 00:59:00.000000 UTC", None),
    (b"2026-09-15T02:59:00+02:00", "2026-09-15 00:59:00.000000 UTC", None),
    (b"yesterday", None, "timestamp.txt ignored: 'yesterday' is not a date and time"),
    (b"", None, "timestamp.txt ignored: '' is not a date and time"),
    (b"\xff\xfe", None, "timestamp.txt ignored: it is not text"),
    (b"2026-09-15 \x1b[2J" + b"9" * 200, None, "timestamp.txt ignored: '2026-09-15 ?[2J99999"),
    (b"9999999-99-99", None, "timestamp.txt ignored: '9999999-99-99' is not a date and time"),
])
def test_a_timestamp_file_is_a_time_or_a_note(data, timestamp, problem):
    found, why = read_timestamp(data)
    assert found == timestamp
    assert (why or "").startswith(problem or "")
    assert (why is None) == (problem is None)


def test_intake_reads_nbgraders_timestamp_beside_the_notebook(tmp_path):
    root = tmp_path / "submitted"
    for student, stamp in (("kim", "2026-09-15 00:59:00 UTC"), ("lee", None), ("max", "soon")):
        folder = root / student / "01_perceptron"
        folder.mkdir(parents=True)
        (folder / "01_perceptron.ipynb").write_text('{"cells": []}')
        if stamp:
            (folder / "timestamp.txt").write_text(stamp)
    fifo = root / "ann" / "01_perceptron"
    fifo.mkdir(parents=True)
    (fifo / "01_perceptron.ipynb").write_text('{"cells": []}')
    os.mkfifo(fifo / "timestamp.txt")  # a reader would block forever: refused, as a notebook is
    found, _ = collect(root, ASSIGNMENTS, scratch=tmp_path / "scratch")
    got = {s.student: (s.timestamp, s.notes) for s in found}
    assert got["kim"] == ("2026-09-15 00:59:00.000000 UTC", ())
    assert got["lee"] == (None, ())
    assert got["max"] == (None, ("timestamp.txt ignored: 'soon' is not a date and time",))
    assert got["ann"] == (None, ("timestamp.txt ignored: it is a FIFO (named pipe), not a file",))


def test_an_lms_late_mark_is_recorded_and_flagged_without_a_penalty(tmp_path):
    from autograder.grading.standing import Row
    found, _ = collect(_lms_folder(tmp_path), ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.late, s.timestamp) for s in found] == [("kim", True, None)]
    row = Row("kim", "01_perceptron", "graded", 10.0, raw_score=9.0, lms_late=True)
    assert row.flags() == [LMS_LATE] and row.score == 9.0 and "no penalty here" in LMS_LATE


def _lms_folder(tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    (folder / "kim_LATE_123_456_01_perceptron.ipynb").write_text('{"cells": []}')
    return folder
