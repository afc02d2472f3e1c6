"""Leak scan: a student release must hold no solution code, no hidden test, no
grading marker, no import of ``solutions`` and no instructor-only file.

Solution code is what the build put between ``### BEGIN/END SOLUTION`` in the source
notebooks; hidden tests are what sits between the hidden-test markers. Both are
compared whitespace- and comment-insensitively, region by region (regions shorter
than 20 characters, such as ``return self.y``, are too generic to call a leak).
"""

import json
import re
import tempfile
from pathlib import Path

import nbformat

from autograder import shipped_files
from autograder.course.markers import ALL, HIDDEN_REGION, SOLUTION_REGION

MARKERS = tuple(marker.lstrip("# ") for marker in ALL)  # "BEGIN SOLUTION", … however prefixed
RELEASE_FILES = ("README.md", "environment.yml", "manifest.json", ".github/workflows/classroom.yml")
SOLUTIONS_IMPORT = re.compile(r"^\s*(from|import)\s+solutions\b", re.M)
MIN_REGION = 20


def normalise(text):
    """Lines stripped of indentation; blank lines and comments dropped."""
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))




def secret_regions(source_dir):
    """(kind, normalised text) of every solution and hidden-test region of the
    source notebooks under ``source_dir``."""
    secrets = []
    for path in sorted(Path(source_dir).glob("*/*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            for kind, pattern in (("solution code", SOLUTION_REGION), ("hidden test", HIDDEN_REGION)):
                for match in pattern.finditer(cell.source):
                    text = normalise(match.group(1))
                    if len(text) >= MIN_REGION:
                        secrets.append((f"{kind} from {path.stem}", text))
    return secrets


def readable_text(path):
    """A notebook's cell sources (outputs too), or a text file's contents."""
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text())
        return "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list)
                         else c.get("source", "") for c in notebook.get("cells", [])) + \
            "\n" + json.dumps([c.get("outputs", []) for c in notebook.get("cells", [])])
    return path.read_text(errors="replace")


def unexpected_files(release_dir, assignments):
    allowed = set(RELEASE_FILES) | {f"{a}.ipynb" for a in assignments} | {
        f"autograder/{name}" for name in shipped_files()}
    files = [p.relative_to(release_dir).as_posix() for p in Path(release_dir).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    return [f for f in sorted(files) if f not in allowed]


def scan_release(release_dir, assignments, source_dir=None):
    """A list of findings, each naming the file and what leaked; empty when clean.
    ``source_dir`` holds built source notebooks; without it they are built afresh."""
    from autograder.course.build import build_course

    release_dir = Path(release_dir)
    findings = [f"{f}: not a student file (instructor-only or unexpected)"
                for f in unexpected_files(release_dir, assignments)]
    with tempfile.TemporaryDirectory() as scratch:
        if source_dir is None:
            build_course(scratch)
            source_dir = Path(scratch) / "source"
        secrets = secret_regions(source_dir)
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        name, text = path.relative_to(release_dir).as_posix(), readable_text(path)
        flat = normalise(text)
        findings += [f"{name}: grading marker '{m}'" for m in MARKERS if m in text]
        if SOLUTIONS_IMPORT.search(text):
            findings.append(f"{name}: imports the hidden 'solutions' package")
        findings += [f"{name}: contains {kind}: {secret.splitlines()[0][:60]!r}…"
                     for kind, secret in secrets if secret in flat]
    return findings
