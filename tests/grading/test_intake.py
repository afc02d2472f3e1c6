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
from autograder.grading.intake import IntakeError, collect, from_lms_files, json_depth_refusal

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
    lee = [s for s in found if s.student == "lee"]
    assert sorted(s.assignment for s in lee) == sorted(ASSIGNMENTS)
    assert {(s.path, s.refused) for s in lee} == {
        (None, "refused lee/: the student folder is a symbolic link (links are never followed)")}
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


def test_hard_link_is_refused(tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    os.link(secret_file(tmp_path), folder / "kim_02_activations.ipynb")
    [found], _ = collect(folder, ASSIGNMENTS, scratch=tmp_path / "scratch")
    assert found.path is None and found.refused.startswith(
        "refused kim_02_activations.ipynb: it is a hard link")
    assert no_secret_under(tmp_path / "scratch")


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
    assert [u.reason for u in unmatched] == ["file name does not match the LMS pattern"]


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


def test_zip_with_too_many_members_is_an_intake_error(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_ZIP_MEMBERS", 3)
    archive = make_zip(tmp_path / "export.zip", [(f"s{i}_01_perceptron.ipynb", "{}")
                                                 for i in range(4)])
    with pytest.raises(IntakeError, match=r"^refused the zip export.zip: it has 4 members, "
                                          r"more than 3$"):
        collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")


def test_zip_total_unpacked_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_ZIP_TOTAL", 2500)
    archive = make_zip(tmp_path / "export.zip", [(f"s{i}_01_perceptron.ipynb", " " * 1000)
                                                 for i in range(3)])
    with pytest.raises(IntakeError, match="^refused the zip export.zip: it unpacks to more than"):
        collect(archive, ASSIGNMENTS, scratch=tmp_path / "scratch")


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
