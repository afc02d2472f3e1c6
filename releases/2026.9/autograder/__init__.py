"""firstmlp's engine, one folder per subsystem:

    student/   what a student's notebook imports: the torch oracle and the checks of
               every notebook, data, plots, earlier work, the self-check, and speech/
               (corpus, Festival, MFCC, phones, alignment). Ships to every release
               whole, with this file and __main__.py; the only helpers the sandbox
               lets a notebook read. Imports nothing from the other folders.
    sandbox/   the isolation boundary (bubblewrap, zygote, notebook process, limits,
               the data-only wire); runs on both sides of it.
    course/    build of the nbgrader sources, release, leak scan, reference table.
    grading/   the class grader: intake, trusted notebook, execution, judge, record,
               feedback, report.

This file ships to students: it holds paths only.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STUDENT = PACKAGE / "student"
SANDBOX = PACKAGE / "sandbox"
ENTRY_FILES = ("__init__.py", "__main__.py")  # shipped beside student/


def shipped_files():
    """The package's files a release ships, as paths relative to ``autograder/``."""
    student = (p.relative_to(PACKAGE).as_posix() for p in STUDENT.rglob("*.py"))
    return [*ENTRY_FILES, *sorted(student)]
