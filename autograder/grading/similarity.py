"""``firstmlp similarity``: which students handed in the same code, per assignment.

What is compared: each notebook's code answer cells only, the cells the release marks
as nbgrader solution cells, taken by grade_id exactly as grading takes them
(``trusted.merge``) and joined in the release's order, each under a ``# ── <grade_id>``
line. Given cells, tests, markdown (written answers) and cells a student added are not
compared. The release's stub of every answer cell is boilerplate: its fingerprints are
removed before any comparison (the stubs of every release beside it too, a folder with a
``manifest.json``, for a notebook started on an older release), so two untouched stubs
share nothing and are never a pair. Notebooks are read by ``intake`` (links refused,
sizes capped), never executed.

The detector is copydetect 0.5.0 (MIT, on PyPI): MOSS's winnowing (Schleimer, Wilkerson
and Aiken, SIGMOD 2003) over code tokenised by pygments, where every name becomes V, F
or O and every string S, and whitespace and comments are dropped: renamed identifiers,
reformatting and comments change nothing, and since matching is by k-grams of those
tokens (k = 25 characters), reordered lines and blocks still match. It is chosen over
Dolos (``@dodona/dolos-lib``: tree-sitter tokens and actively developed, but a Node
toolchain with native parser builds in ``make test``) and MOSS itself (a web service:
students' code would leave the machine) because it is pure Python on dependencies the
course already has (numpy, pygments, jinja2, matplotlib, tqdm), takes code as text
(``CodeFingerprint(fp=…)``: copydetect's own directory walk, which follows links, is
never used) and removes boilerplate by fingerprint. Its own HTML report is not used: it
loads Bootstrap from a CDN and prints file names unescaped. With copydetect's default
thresholds (guarantee = noise) every k-gram is kept, so scores do not depend on
Python's per-process string hashing.

A pair's score is the share of both notebooks' own (non-boilerplate) code that matches
the other, ``(matched₁ + matched₂) / (own₁ + own₂)`` (Dolos's similarity): a student who
wrote little is not 100 % alike everyone who wrote the same few lines. The report
(``index.html``, one page per pair with the matched regions side by side) is written
with autoescaping, every code fragment cleaned again by ``sanitize.clean_html`` (the
feedback's allowlist), and a Content-Security-Policy that runs no script.
"""

import copy
import io
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import numpy as np

from autograder.errors import FirstmlpError

if TYPE_CHECKING:
    from markupsafe import Markup
    from nbformat import NotebookNode

    from autograder.grading.intake import Submission

MAX_ANSWER_CHARS = 200_000  # per notebook: the course's longest answers are a few thousand
MIN_SCORE = 0.5  # pairs below it are counted, not listed (independent solutions: ~0.2-0.3)
CELL_HEADER = "# ── {} ──"
TEMPLATES = Path(__file__).parent / "templates" / "similarity"


class SimilarityError(FirstmlpError):
    """The comparison cannot start (no release, no submissions); the message is one line."""


@dataclass(frozen=True)
class Answers:
    student: str
    assignment: str
    text: str  # the code answer cells, in the release's order


@dataclass(frozen=True)
class Pair:
    assignment: str
    students: tuple[str, str]  # (first, second), sorted
    score: float
    shares: tuple[float, ...]  # each one's share of its own code found in the other
    texts: tuple[str, str]  # each one's Answers.text
    slices: Any  # each one's matched regions (copydetect's arrays): a 2 × M array of [start, end) in its text


@dataclass
class Comparison:
    pairs: list[Pair]  # every pair that shares code, most similar first
    skipped: list[str] = field(default_factory=list)  # one line each: what was not compared, why
    notebooks: int = 0
    seconds: float = 0.0


def answer_ids(release: "NotebookNode") -> list[str]:
    """The grade_ids of the release's code answer cells, in order."""
    return [c.metadata["nbgrader"]["grade_id"] for c in release.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("solution")]


def answers_text(notebook: "NotebookNode", release: "NotebookNode") -> str:
    """The student's code answer cells (by grade_id, as grading takes them), joined."""
    from autograder.grading.submission import Unrecorded
    from autograder.grading.trusted import merge

    _, answers = merge(notebook, copy.deepcopy(release), Unrecorded())
    return "\n\n".join(CELL_HEADER.format(grade_id) + "\n" + answers[grade_id]
                       for grade_id in answer_ids(release) if grade_id in answers)


def fingerprint(text: str, boilerplate: Any = ()) -> Any:
    """copydetect's fingerprint of Python code (window 1: every k-gram kept)."""
    from copydetect import CodeFingerprint
    from copydetect.defaults import NOISE_THRESHOLD
    return CodeFingerprint("answers.py", NOISE_THRESHOLD, 1, np.asarray(boilerplate),
                           language="python", fp=io.StringIO(text))


def boilerplate_of(releases: Iterable["NotebookNode"]) -> np.ndarray:
    """Every k-gram hash of the release notebooks' answer cells as given (the stubs)."""
    hashes = [h for release in releases for h in fingerprint(answers_text(release, release)).hashes]
    return np.unique(np.array(hashes, dtype=np.int64))


def compare(answers: Sequence[Answers], boilerplate: np.ndarray) -> list[Pair]:
    """Every pair of ``answers`` (one assignment) that shares code, as Pairs."""
    from copydetect import compare_files
    prints = [fingerprint(a.text, boilerplate) for a in answers]
    pairs: list[Pair] = []
    for (a, fa), (b, fb) in combinations(zip(answers, prints, strict=False), 2):
        _, shares, slices = compare_files(fa, fb)
        own = fa.token_coverage + fb.token_coverage
        matched = shares[0] * fa.token_coverage + shares[1] * fb.token_coverage
        if matched > 0:
            pairs.append(Pair(a.assignment, (a.student, b.student), float(matched / own),
                              tuple(map(float, shares)), (a.text, b.text), slices))
    return pairs


def read_answers(submission: "Submission", release: "NotebookNode", skipped: list[str]) -> Answers | None:
    """One intake Submission's Answers, or None with the reason added to ``skipped``."""
    from autograder.grading.record import plain_line
    from autograder.grading.submission import unreadable_reason

    whose = f"{submission.student}'s {submission.assignment}"
    problem = submission.refused or unreadable_reason(submission.path)  # type: ignore[arg-type]  # set unless refused
    if problem:
        skipped.append(f"skipped {whose}: {plain_line(problem)}")
        return None
    try:  # hostile JSON (metadata of the wrong type…) costs only its own notebook
        text = answers_text(nbformat.read(str(submission.path), as_version=4), release)
    except Exception as error:
        skipped.append(f"skipped {whose}: its cells cannot be read ({type(error).__name__})")
        return None
    if len(text) > MAX_ANSWER_CHARS:
        skipped.append(f"{whose}: only the first {MAX_ANSWER_CHARS} of its {len(text)} "
                       "characters of answers were compared")
        text = text[:MAX_ANSWER_CHARS]
    return Answers(submission.student, submission.assignment, text)  # type: ignore[arg-type]  # named by the caller


def find_similar(source: str | Path, release: str | Path, pattern: str | None = None) -> Comparison:
    """Compare every assignment's submissions in ``source`` (a submitted/ tree, a folder
    or zip of LMS files) against the release folder ``release``; a Comparison."""
    from autograder.grading import intake

    start, release = time.perf_counter(), Path(release)
    notebooks = {p.stem: p for p in sorted(release.glob("*.ipynb"))}
    if not notebooks:
        raise SimilarityError(f"no release at {release}: give the release folder the students "
                              "started from (it holds <assignment>.ipynb)")
    with tempfile.TemporaryDirectory(prefix="firstmlp-similarity-") as scratch:
        found, unmatched = intake.collect(source, list(notebooks), pattern or intake.LMS_PATTERN,
                                          scratch)
        skipped = [f"skipped {u.path}: {u.reason}" for u in unmatched]
        if not any(s.path for s in found):
            raise SimilarityError(f"no submissions in {source} ({len(unmatched)} files matched no "
                                  f"student and assignment, {len(found)} refused): give a "
                                  "submitted/ tree or a folder or zip of LMS-named notebooks")
        skipped += [f"skipped {s.student}'s work: {s.refused}" for s in found if not s.assignment]
        pairs: list[Pair] = []
        count = 0
        for assignment, path in notebooks.items():
            given = nbformat.read(str(path), as_version=4)
            answers = [a for s in found if s.assignment == assignment
                       if (a := read_answers(s, given, skipped))]
            count += len(answers)
            releases = [given] + [nbformat.read(str(p), as_version=4) for p in
                                  sorted(release.parent.glob(f"*/{assignment}.ipynb"))
                                  if p != path and (p.parent / "manifest.json").is_file()]
            pairs += compare(answers, boilerplate_of(releases))
    pairs.sort(key=lambda p: (-p.score, p.assignment, p.students))
    return Comparison(pairs, skipped, count, time.perf_counter() - start)


def ranked_lines(pairs: Sequence[Pair]) -> str:
    """The pairs as a terminal table, one line each, most similar first."""
    from autograder.student.table import format_table
    return format_table(["student", "student", "assignment", "score"],
                        [[*p.students, p.assignment, f"{100 * p.score:.0f}%"] for p in pairs])


def highlighted(text: str, slices: Any) -> "Markup":
    """``text`` as HTML, its matched regions in ``<span class="match">``, escaped and
    then cleaned by the feedback's allowlist (a student's code is hostile)."""
    from markupsafe import Markup, escape

    from autograder.grading.sanitize import clean_html
    parts: list[str] = []
    at = 0
    for start, end in sorted(zip(*(np.asarray(s, dtype=int) for s in slices), strict=False)):
        parts += [escape(text[at:start]), Markup('<span class="match">'),
                  escape(text[max(start, at):end]), Markup("</span>")]
        at = max(at, end)
    parts.append(escape(text[at:]))
    return Markup(clean_html("".join(map(str, parts)), link_rel=None))


def write_report(comparison: Comparison, out: str | Path, min_score: float = MIN_SCORE) -> Path:
    """``out/index.html`` (the ranked pairs at or above ``min_score``) and one page per
    listed pair, ``out/pairs/<rank>.html``; earlier pair pages are removed. Returns the
    index's path."""
    from jinja2 import Environment, FileSystemLoader

    from autograder.grading.record import write_atomically
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    listed = [p for p in comparison.pairs if p.score >= min_score]
    folder = Path(out) / "pairs"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.html"):
        old.unlink()
    for rank, pair in enumerate(listed, 1):
        sides = [(student, share, highlighted(text, slices)) for student, share, text, slices
                 in zip(pair.students, pair.shares, pair.texts, pair.slices, strict=False)]
        write_atomically(folder / f"{rank}.html", pages.get_template("pair.html.j2").render(
            rank=rank, pair=pair, sides=sides))
    index = Path(out) / "index.html"
    write_atomically(index, pages.get_template("index.html.j2").render(
        listed=listed, comparison=comparison, min_score=min_score))
    return index
