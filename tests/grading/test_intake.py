"""Finding submissions: nbgrader trees and LMS-named files."""

import json
import os
import re
import stat
import struct
import tempfile
import threading
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from autograder.grading import intake as submissions
from autograder.grading.intake import (
    LMS_PATTERN,
    IntakeError,
    Submission,
    choose,
    collect,
    json_depth_refusal,
)

ASSIGNMENTS = ["01_perceptron", "02_activations"]


def from_lms_files(paths, assignments, pattern=LMS_PATTERN):
    """``intake.choose`` on file names only (nothing is read): the Submissions it keeps,
    each with its path as named, and what it did not match."""
    chosen, unmatched = choose([(p.name, p, p) for p in sorted(paths)], assignments, pattern)
    return [Submission(s, a, p, late=late) for (s, a), (_, p, late) in chosen.items()], unmatched


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


def test_nbgrader_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the scratch folder made for us
    (tmp_path / "kim" / "01_perceptron").mkdir(parents=True)
    (tmp_path / "kim" / "01_perceptron" / "01_perceptron.ipynb").write_text("{}")
    (tmp_path / "lee" / "01_perceptron").mkdir(parents=True)
    found, unmatched = collect(tmp_path, ASSIGNMENTS)
    assert [(s.student, s.assignment) for s in found] == [("kim", "01_perceptron")]
    assert unmatched[0].reason.startswith("no 01_perceptron.ipynb in it (found: ")


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(IntakeError, match="no submissions at"):
        collect(tmp_path / "nope", ASSIGNMENTS)


# --- hostile intake ---------------------------------------------------------------

SECRET = "SECRET SOLUTION"


def nbgrader_tree(root, **notebooks):
    """root/<student>/<assignment>/<assignment>.ipynb for each student=assignment given."""
    for student, assignment in notebooks.items():
        (root / student / assignment).mkdir(parents=True)
        (root / student / assignment / f"{assignment}.ipynb").write_text('{"cells": []}')
    return root


def secret_file(tmp_path):
    path = tmp_path / "source" / "02_activations.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps({"cells": [{"source": SECRET}]}))
    return path


def no_secret_under(folder):
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    return all(SECRET.encode() not in p.read_bytes() for p in files)


def test_accepted_notebooks_are_private_copies(tmp_path):
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron")
    [found], _ = collect(root, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert found.refused is None and found.path.is_relative_to(tmp_path / "scratch")
    assert found.path.read_text() == '{"cells": []}'


def test_symlinked_notebook_is_refused_and_never_read(tmp_path):
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron")
    (root / "lee" / "02_activations").mkdir(parents=True)
    (root / "lee" / "02_activations" / "02_activations.ipynb").symlink_to(secret_file(tmp_path))
    found, _ = collect(root, ASSIGNMENTS, scratch=tmp_path / "scratch")
    lee = next(s for s in found if s.student == "lee")
    assert lee.path is None and lee.refused == (
        "refused lee/02_activations/02_activations.ipynb: it is a symbolic link "
        "(links are never followed)")
    assert no_secret_under(tmp_path / "scratch")


def test_symlinked_student_folder_is_not_walked_and_scores_zero(tmp_path):
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron")
    elsewhere = nbgrader_tree(tmp_path / "elsewhere", lee="02_activations")
    (elsewhere / "lee" / "02_activations" / "02_activations.ipynb").write_text(SECRET)
    (root / "lee").symlink_to(elsewhere / "lee")
    found, unmatched = collect(root, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [s.student for s in found if s.refused is None] == ["kim"]
    # one refusal for the whole folder: the grader gives it a zero per assignment in scope
    assert [(s.assignment, s.path, s.refused) for s in found if s.student == "lee"] == [
        (None, None, "refused lee/: the student folder is a symbolic link (links are never followed)")]
    assert unmatched == []
    assert no_secret_under(tmp_path / "scratch")


def test_symlinked_assignment_folder_is_refused(tmp_path):
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron")
    secret = secret_file(tmp_path)
    (root / "kim" / "02_activations").symlink_to(secret.parent)
    found, _ = collect(root, ASSIGNMENTS, scratch=tmp_path / "scratch")
    refused = {s.assignment: s.refused for s in found}
    assert refused == {"01_perceptron": None, "02_activations": (
        "refused kim/02_activations: the assignment folder is a symbolic link "
        "(links are never followed)")}
    assert no_secret_under(tmp_path / "scratch")


def test_hard_link_between_students_is_read_for_both(tmp_path):
    """A hard link is read as bytes: the honest student whose notebook another linked is
    graded as handed in (nobody can tell which name is the original); both are noted."""
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron")
    honest = root / "kim" / "01_perceptron" / "01_perceptron.ipynb"
    honest.write_text('{"cells": ["kim wrote this"]}')
    (root / "mallory" / "01_perceptron").mkdir(parents=True)
    os.link(honest, root / "mallory" / "01_perceptron" / "01_perceptron.ipynb")
    found, _ = collect(root, ASSIGNMENTS, scratch=tmp_path / "scratch")
    by_student = {s.student: s for s in found}
    for student, other in (("kim", "mallory"), ("mallory", "kim")):
        assert by_student[student].refused is None
        assert by_student[student].path.read_text() == '{"cells": ["kim wrote this"]}'
        assert by_student[student].notes == (
            f"the same file as {other}'s 01_perceptron (a hard link): both graded as handed in",)
    assert by_student["kim"].path != by_student["mallory"].path  # a private copy each


def test_hard_link_to_a_file_of_the_grader_is_refused_for_its_holder_only(tmp_path):
    from autograder.grading.grader import take_in
    course = tmp_path / "course"
    source = course / "source" / "02_activations" / "02_activations.ipynb"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps({"cells": [{"source": SECRET}]}))
    root = nbgrader_tree(tmp_path / "submitted", kim="02_activations")
    (root / "mallory" / "02_activations").mkdir(parents=True)
    os.link(source, root / "mallory" / "02_activations" / "02_activations.ipynb")
    found, _, broken, _ = take_in(root, course, ASSIGNMENTS)
    assert broken[("mallory", "02_activations")] == (
        "refused mallory/02_activations/02_activations.ipynb: it is one of the course's own "
        "files (a hard link into the grader's folders), never read as a submission")
    assert [s.student for s in found if s.refused is None] == ["kim"]
    assert no_secret_under(course / ".intake")


def test_refused_student_folder_never_widens_the_runs_scope(tmp_path):
    """Only 01 was handed in: a symlinked student folder is a zero for 01 (its owner's),
    and adds no assignment that every other student would be 'missing'."""
    from autograder.grading.grader import missing_work, take_in
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron")
    (root / "lee").symlink_to(tmp_path)
    course = tmp_path / "course"
    found, unmatched, broken, scope = take_in(root, course, ASSIGNMENTS)
    assert scope == {"01_perceptron"} and unmatched == []
    assert sorted((s.student, s.assignment) for s in found) == [
        ("kim", "01_perceptron"), ("lee", "01_perceptron")]
    assert broken[("lee", "01_perceptron")].startswith("refused lee/: the student folder is a "
                                                       "symbolic link")
    assert missing_work(FakeGradebook(), found, scope) == []
    found, _, _, scope = take_in(root, course, ASSIGNMENTS, assignment="02_activations")
    assert scope == {"02_activations"}
    assert [(s.student, s.assignment) for s in found if s.student == "lee"] == [
        ("lee", "02_activations")]


def test_refused_notebook_never_widens_the_runs_scope(tmp_path):
    from autograder.grading.grader import missing_work, take_in
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron", lee="01_perceptron")
    (root / "lee" / "02_activations").mkdir()
    os.mkfifo(root / "lee" / "02_activations" / "02_activations.ipynb")
    found, _, broken, scope = take_in(root, tmp_path / "course", ASSIGNMENTS)
    assert scope == {"01_perceptron"}
    assert broken == {("lee", "02_activations"): "refused lee/02_activations/02_activations.ipynb: "
                                                 "it is a FIFO (named pipe), not a file"}
    assert missing_work(FakeGradebook(), found, scope) == []  # kim is not 'missing' 02


def test_a_refused_folder_alone_is_listed_not_lost(tmp_path):
    from autograder.grading.grader import take_in
    root = tmp_path / "submitted"
    (root / "kim" / "homework").mkdir(parents=True)
    (root / "lee").symlink_to(tmp_path)
    found, unmatched, _, scope = take_in(root, tmp_path / "course", ASSIGNMENTS)
    assert (found, scope) == ([], set())
    assert [(u.path.name, u.reason) for u in unmatched] == [
        ("homework", "unknown assignment 'homework'"),
        ("lee", "refused lee/: the student folder is a symbolic link (links are never followed)")]


def test_students_a_case_blind_course_folder_would_merge_stop_the_run(tmp_path, monkeypatch):
    """'Kim' and 'kim' share one folder where the course folder's filesystem ignores case
    (macOS, SMB): one's notebook would be graded for the other. The grader says so in one
    line and grades nothing; where the filesystem keeps them apart, both are graded."""
    from autograder.grading import grader
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron", Kim="01_perceptron")
    found, *_ = grader.take_in(root, tmp_path / "course", ASSIGNMENTS)
    assert sorted(s.student for s in found) == ["Kim", "kim"]

    def case_blind(path):
        path = Path(path)
        return any(p.name.casefold() == path.name.casefold() for p in path.parent.iterdir())
    monkeypatch.setattr(grader.os.path, "lexists", case_blind)
    with pytest.raises(grader.GraderEnvironmentError, match=(
            r"^students 'Kim', 'kim' would share one folder in .*course \(its filesystem does "
            r"not tell their names apart\); nothing was graded")):
        grader.take_in(root, tmp_path / "course", ASSIGNMENTS)


class FakeGradebook:
    def find_assignment(self, name):
        return type("Assignment", (), {"max_score": 10.0})


def collect_within(seconds, *args, **kwargs):
    """collect() in a daemon thread: a reader blocked on a FIFO fails the test, not hangs it."""
    result = []
    worker = threading.Thread(target=lambda: result.append(collect(*args, **kwargs)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"collect() did not return within {seconds} s"
    return result[0]


def test_fifo_is_refused_without_blocking(tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    os.mkfifo(folder / "kim_01_perceptron.ipynb")
    [found], _ = collect_within(10, folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert found.path is None
    assert found.refused == "refused kim_01_perceptron.ipynb: it is a FIFO (named pipe), not a file"


def test_device_file_is_refused(tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    try:
        os.mknod(folder / "kim_01_perceptron.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot make a device file here: {error}")
    [found], _ = collect_within(10, folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert found.refused == "refused kim_01_perceptron.ipynb: it is a device file"


def test_oversized_notebook_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_BYTES", 1000)
    folder = tmp_path / "lms"
    folder.mkdir()
    (folder / "kim_01_perceptron.ipynb").write_bytes(b" " * 1000)
    (folder / "lee_01_perceptron.ipynb").write_bytes(b" " * 1001)
    found, _ = collect(folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.refused) for s in found] == [
        ("kim", None),
        ("lee", "refused lee_01_perceptron.ipynb: it is larger than the 0.000954 MB limit")]


def test_deeply_nested_json_is_refused(tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    (folder / "kim_01_perceptron.ipynb").write_text("[" * 101 + "]" * 101)
    (folder / "lee_01_perceptron.ipynb").write_text("[" * 100 + "]" * 100)
    found, _ = collect(folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.refused) for s in found] == [
        ("kim", "refused kim_01_perceptron.ipynb: its JSON is nested more than 100 levels deep"),
        ("lee", None)]


@pytest.mark.parametrize("text", [
    json.dumps({"cells": [{"source": "[" * 500 + "{" * 500}]}),
    json.dumps({"cells": [{"source": '"' + "[" * 500 + '\\"'}]}),  # escaped quotes and backslashes
    json.dumps({"a\\": ["[" * 500, {"b": "]" * 3}]}),
])
def test_json_depth_ignores_brackets_in_strings(text):
    assert json_depth_refusal(text.encode()) is None  # each text nests 3 levels deep
    assert json_depth_refusal(("[" * 97 + text + "]" * 97).encode()) is None
    assert json_depth_refusal(("[" * 98 + text + "]" * 98).encode()) == (
        "refused the notebook: its JSON is nested more than 100 levels deep")


def test_unusable_student_name_is_unmatched(tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    (folder / ".._01_perceptron.ipynb").write_text("{}")
    found, unmatched = collect(folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert not found and [u.reason for u in unmatched] == ["unusable student name '..'"]


@pytest.mark.parametrize("name", ["*", "k?m", "[kl]im", "kim\x1b[2J", "ki\u202em"])
def test_student_names_nbgrader_would_glob_or_a_terminal_would_run_are_unmatched(tmp_path, name):
    """nbgrader finds a student's folder with a glob: a student '*' (or 'k?m') would be
    graded as every student (kim among them). Such a folder or file is unmatched, and
    the other students are taken in as usual."""
    root = nbgrader_tree(tmp_path / "submitted", kim="01_perceptron")
    (root / name / "01_perceptron").mkdir(parents=True)
    (root / name / "01_perceptron" / "01_perceptron.ipynb").write_text("{}")
    found, unmatched = collect(root, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [s.student for s in found] == ["kim"]
    assert [u.reason for u in unmatched] == [
        f"unusable student name '{name.replace(chr(27), '?').replace(chr(0x202e), '?')}'"]
    found, unmatched = collect(root, ASSIGNMENTS, pattern=r"(?P<student>.+)_(?P<assignment>\d\d_\w+)",
                               scratch=tmp_path / "scratch2")
    assert [s.student for s in found] == ["kim"]


def test_a_stray_folder_hides_no_lms_file_beside_it(tmp_path):
    """A folder of LMS files unpacked with a __MACOSX folder (or any other): every file is
    still matched, the folder is a student folder with nothing in it."""
    folder = tmp_path / "lms"
    (folder / "__MACOSX").mkdir(parents=True)
    (folder / "__MACOSX" / "._kim_01_perceptron.ipynb").write_text("resource fork")
    (folder / "kim_01_perceptron.ipynb").write_text("{}")
    (folder / "lee_02_activations.ipynb").write_text("{}")
    found, unmatched = collect(folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.assignment, s.refused) for s in found] == [
        ("kim", "01_perceptron", None), ("lee", "02_activations", None)]
    assert unmatched == []


def test_a_link_among_lms_files_is_a_file_not_a_student(tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    (folder / "kim_01_perceptron.ipynb").write_text("{}")
    (folder / "notes").symlink_to(tmp_path)
    found, unmatched = collect(folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.refused) for s in found] == [("kim", None)]
    assert [(u.path.name, u.reason) for u in unmatched] == [
        ("notes", "file name does not match the LMS pattern")]


def test_two_files_for_one_student_grade_one_and_name_the_other(tmp_path):
    folder = nbgrader_tree(tmp_path / "lms", kim="01_perceptron")
    (folder / "kim_01_perceptron.ipynb").write_text('{"from": "file"}')  # and a folder
    (folder / "lee_02_activations.ipynb").write_text('{"first": 1}')
    (folder / "lee_LATE_02_activations.ipynb").write_text('{"second": 2}')
    found, unmatched = collect(folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.path.read_text()) for s in found] == [
        ("kim", '{"cells": []}'), ("lee", '{"second": 2}')]
    assert sorted((u.path.name, u.reason) for u in unmatched) == [
        ("kim_01_perceptron.ipynb", "kim's 01_perceptron is also in the folder kim/, which is graded"),
        ("lee_02_activations.ipynb", "another file for lee's 02_activations is graded: "
                                     "lee_LATE_02_activations.ipynb")]


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def test_zip_of_lms_files_is_flattened_and_the_latest_wins(tmp_path):
    archive = make_zip(tmp_path / "export.zip", [
        ("a/kim_01_perceptron.ipynb", "old"), ("b/kim_LATE_1_01_perceptron-1.ipynb", "new"),
        ("a/", ""), ("notes.txt", "x")])
    found, unmatched = collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.path.read_text(), s.refused) for s in found] == [("kim", "new", None)]
    assert [u.reason for u in unmatched] == [
        "another file for kim's 01_perceptron is graded: kim_LATE_1_01_perceptron-1.ipynb",
        "file name does not match the LMS pattern"]


def test_zip_bomb_is_refused_in_little_memory(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("kim_01_perceptron.ipynb", "w") as member:
        zeros = bytes(1 << 20)
        for _ in range(200):  # 200 MB of zeros, about 200 kB zipped
            member.write(zeros)
    assert archive.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        [found], _ = collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found.path is None and found.refused == (
        "refused kim_01_perceptron.ipynb: it is larger than the 50 MB limit")
    assert peak < 100 << 20, f"peak {peak >> 20} MB"


def test_zip_member_with_a_forged_size_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_BYTES", 1000)
    data = make_zip(tmp_path / "real.zip", [("kim_01_perceptron.ipynb", "[" * 5000)]).read_bytes()
    size = struct.pack("<I", 5000)
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    assert data[local + 22:local + 26] == size and data[central + 24:central + 28] == size
    forged = bytearray(data)
    forged[local + 22:local + 26] = forged[central + 24:central + 28] = struct.pack("<I", 10)
    (tmp_path / "forged.zip").write_bytes(forged)
    [found], _ = collect(tmp_path / "forged.zip", ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert found.path is None and found.refused.startswith(
        "refused kim_01_perceptron.ipynb: it cannot be read from the zip (BadZipFile")


@pytest.mark.parametrize("name, mode, reason", [
    ("kim_01_perceptron.ipynb", 0o120777, "it is a symbolic link (links are never followed)"),
    ("kim_01_perceptron.ipynb", 0o010644, "it is a FIFO (named pipe), not a file"),
    ("../../kim_01_perceptron.ipynb", 0o100644, "its path in the zip climbs out with '..'"),
    ("/tmp/kim_01_perceptron.ipynb", 0o100644, "its path in the zip is absolute"),
])
def test_special_zip_members_are_refused(tmp_path, name, mode, reason):
    member = zipfile.ZipInfo(name)
    member.external_attr = mode << 16
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr(member, str(secret_file(tmp_path)))
    [found], _ = collect(tmp_path / "export.zip", ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert (found.path, found.refused) == (None, f"refused {name}: {reason}")
    assert no_secret_under(tmp_path / "scratch")


def test_zip_compressed_other_than_deflate_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "export.zip", "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("kim_01_perceptron.ipynb", "{}")
    [found], _ = collect(tmp_path / "export.zip", ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert found.refused == ("refused kim_01_perceptron.ipynb: it is compressed with a method "
                             "other than stored or deflated")


def test_zip_over_its_member_cap_grades_what_it_can(tmp_path, monkeypatch):
    """Over the cap of notebooks read from one zip: the smallest are read and graded,
    each one left is refused with the cap named; the class is not refused."""
    monkeypatch.setattr(submissions, "MAX_ZIP_MEMBERS", 3)
    archive = make_zip(tmp_path / "export.zip", [(f"s{i}_01_perceptron.ipynb", "{}" + " " * i)
                                                 for i in reversed(range(4))])
    found, _ = collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.refused) for s in found] == [("s0", None), ("s1", None), ("s2", None), (
        "s3", "refused s3_01_perceptron.ipynb: the zip holds 4 notebooks, over its cap of 3 read "
              "from one zip (read smallest first): this one was not read")]


def test_zip_over_its_total_cap_grades_what_it_can_bombs_last(tmp_path, monkeypatch):
    """Members are unpacked smallest (declared) first, so a member that eats the zip's
    total is read after the honest ones and refused alone, the cap named."""
    monkeypatch.setattr(submissions, "MAX_ZIP_TOTAL", 2500)
    archive = make_zip(tmp_path / "export.zip", [
        ("aaa-mallory_01_perceptron.ipynb", " " * 2000), ("kim_01_perceptron.ipynb", " " * 1000),
        ("lee_01_perceptron.ipynb", " " * 1000)])
    found, _ = collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert [(s.student, s.refused) for s in found] == [(
        "aaa-mallory", "refused aaa-mallory_01_perceptron.ipynb: the zip's notebooks unpack to "
                       "more than its cap of 0.00238 MB in all (read smallest first): this one "
                       "was not read"), ("kim", None), ("lee", None)]


def test_zip_member_declared_over_the_notebook_cap_is_never_unpacked(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_BYTES", 1000)
    archive = make_zip(tmp_path / "export.zip", [("kim_01_perceptron.ipynb", " " * 1001)])
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a))
    [found], _ = collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert found.refused == "refused kim_01_perceptron.ipynb: it is larger than the 0.000954 MB limit"
    assert opened == []


def broken_central_directory(path):
    data = make_zip(path, [("kim_01_perceptron.ipynb", "{}")]).read_bytes()
    return data.replace(b"PK\x01\x02", b"PK\x09\x09")


@pytest.mark.parametrize("content, message", [
    (lambda path: b"not a zip at all", "it is neither a folder nor a readable zip file"),
    (broken_central_directory, "cannot read the zip export.zip: "),
])
def test_corrupt_zip_is_an_intake_error(tmp_path, content, message):
    archive = tmp_path / "export.zip"
    archive.write_bytes(content(archive))
    with pytest.raises(IntakeError, match=re.escape(message)):
        collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")
