"""Find submissions: nbgrader's ``submitted/<student>/<assignment>/`` tree, or a
folder or zip of notebooks named by student as an LMS exports them.

The LMS file-name pattern is a regular expression with the named groups ``student``
and ``assignment``; the default reads Canvas-style names such as
``smithjane_12345_67890_02_activations.ipynb`` or
``smithjane_LATE_12345_67890_02_activations-1.ipynb``.
"""

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

LMS_PATTERN = (r"^(?P<student>[A-Za-z0-9.\-]+)_(?:LATE_)?(?:\d+_)*"
               r"(?P<assignment>\d\d_[A-Za-z0-9_]+?)(?:-\d+)?\.ipynb$")


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str
    path: Path  # the notebook as handed in (never modified)


@dataclass(frozen=True)
class Unmatched:
    path: Path
    reason: str


def from_nbgrader_tree(root, assignments):
    """submitted/<student>/<assignment>/<assignment>.ipynb, for known assignments."""
    found, unmatched = [], []
    for folder in sorted(Path(root).glob("*/*")):
        if not folder.is_dir():
            continue
        student, assignment = folder.parent.name, folder.name
        notebook = folder / f"{assignment}.ipynb"
        if assignment not in assignments:
            unmatched.append(Unmatched(folder, f"unknown assignment '{assignment}'"))
        elif not notebook.is_file():
            others = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
            unmatched.append(Unmatched(folder, f"no {assignment}.ipynb in it (found: {others})"))
        else:
            found.append(Submission(student, assignment, notebook))
    return found, unmatched


def from_lms_files(paths, assignments, pattern=LMS_PATTERN):
    """Notebook files named by student; the latest name wins for a duplicate."""
    regex = re.compile(pattern)
    chosen, unmatched = {}, []
    for path in sorted(paths):
        match = regex.match(path.name)
        if not match:
            unmatched.append(Unmatched(path, "file name does not match the LMS pattern"))
        elif match["assignment"] not in assignments:
            unmatched.append(Unmatched(path, f"unknown assignment '{match['assignment']}'"))
        else:
            chosen[(match["student"], match["assignment"])] = path
    return [Submission(s, a, p) for (s, a), p in sorted(chosen.items())], unmatched


def collect(source, assignments, pattern=LMS_PATTERN, scratch=None):
    """Submissions under ``source``: an nbgrader ``submitted`` tree, a folder of LMS
    files, or a zip of them (extracted into ``scratch``)."""
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        target = Path(scratch) / "lms"
        with zipfile.ZipFile(source) as archive:
            for member in archive.infolist():
                name = Path(member.filename).name
                if not member.is_dir() and name:  # flatten: LMS zips may nest folders
                    target.mkdir(parents=True, exist_ok=True)
                    (target / name).write_bytes(archive.read(member))
        source = target
    if not source.is_dir():
        raise FileNotFoundError(f"no submissions at {source}: give a folder or a zip file")
    if any(p.is_dir() for p in source.iterdir()):
        return from_nbgrader_tree(source, assignments)
    return from_lms_files([p for p in source.iterdir() if p.is_file()], assignments, pattern)
