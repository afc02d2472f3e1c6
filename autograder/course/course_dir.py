"""The nbgrader course folder: every file the build, the release and the grader read
or write there, named once.

    <root>/nbgrader_config.py             nbgrader's config (course id, root, stub); loads:
    <root>/firstmlp_grading_config.py     the grader's additions (sandboxed Execute, limits,
                                          feedback without hidden tests), in every folder:
                                          stock nbgrader refuses to run without it
    <root>/gradebook.db                   nbgrader's gradebook
    <root>/.generated                     the assignments generate_assignment last saw
    <root>/source/<a>/<a>.ipynb           built sources: solutions and hidden tests (instructor)
    <root>/release/<a>/<a>.ipynb          the student's notebooks: the trusted cells
    <root>/submitted/<s>/<a>/<a>.ipynb    the trusted notebook nbgrader grades
    <root>/autograded/<s>/<a>/<a>.ipynb   nbgrader's graded copy
    <root>/feedback/<s>/<a>/<a>.html      feedback pages
    <root>/grades.csv                     nbgrader export, replaced whole (never half-written)
    <root>/.intake/                       scratch while a class zip is read
    <root>/firstmlp/verdicts/<s>/<a>.json the grading record: cell verdicts and flags
    <root>/firstmlp/earlier/<s>/<a>.json  code cells a later notebook may import (data)
    <root>/firstmlp/done/<s>/<a>.json     this file (sha256) was graded: resume skips it
    <root>/firstmlp/attempts/<s>/<a>.json grading of this file began this often
"""

import os
from pathlib import Path

Folder = str | os.PathLike[str]  # a course folder's path, or a CourseDir (it has __fspath__)


class CourseDir:
    def __init__(self, root: Folder) -> None:
        self.root = Path(root)

    def __fspath__(self) -> str:
        return str(self.root)

    def __repr__(self) -> str:
        return f"CourseDir({str(self.root)!r})"

    @property
    def nbgrader_config(self) -> Path:
        return self.root / "nbgrader_config.py"

    @property
    def grading_config(self) -> Path:
        return self.root / "firstmlp_grading_config.py"

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def generated(self) -> Path:
        return self.root / ".generated"

    @property
    def grades_csv(self) -> Path:
        return self.root / "grades.csv"

    @property
    def intake(self) -> Path:
        return self.root / ".intake"

    def source(self, assignment: str) -> Path:
        return self.root / "source" / str(assignment) / f"{assignment}.ipynb"

    def release(self, assignment: str) -> Path:
        return self.root / "release" / str(assignment) / f"{assignment}.ipynb"

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / str(student) / str(assignment) / f"{assignment}.ipynb"

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / str(student) / str(assignment) / f"{assignment}.ipynb"

    def _kept(self, kind: str, student: str, assignment: str | None = None) -> Path:
        folder = self.root / "firstmlp" / kind / str(student)
        return folder / f"{assignment}.json" if assignment else folder

    def verdicts(self, student: str, assignment: str) -> Path:
        return self._kept("verdicts", student, assignment)

    def earlier(self, student: str, assignment: str | None = None) -> Path:
        """One notebook's stored cells, or (no ``assignment``) the student's folder."""
        return self._kept("earlier", student, assignment)

    def done(self, student: str, assignment: str) -> Path:
        return self._kept("done", student, assignment)

    def attempts(self, student: str, assignment: str) -> Path:
        return self._kept("attempts", student, assignment)
