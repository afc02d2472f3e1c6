"""An nbgrader course directory built from ``course/`` (its files: ``course_dir``), and
nbgrader's own commands on it: ``source/`` by ``build``, ``release/`` by
``generate_assignment``, ``autograded/`` and the gradebook by ``autograde``."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.course.build import build_course
from autograder.course.course_dir import CourseDir
from autograder.course.markers import CODE_STUB, is_marker_line
from autograder.errors import FirstmlpError

# The settings' lines ({course_settings}, {grading_settings}) are rendered from the schema
# (``autograder.settings``: each with its help); the rest is how the folder is wired.
CONFIG = '''c = get_config()
{course_settings}
c.CourseDirectory.root = {root!r}
c.CourseDirectory.assignment_id = ""
{execute_settings}
c.ClearSolutions.code_stub = {{"python": {code_stub!r}}}
# A deleted test cell is restored from the source instead of "needs manual grade" (#1682).
c.OverwriteCells.add_missing_cells = True
import os
# nbgrader's exchange (formgrader's release/collect buttons), in this folder and made
# here: nbgrader requires it to exist, and formgrader shows a warning on its pages while
# the default one (/usr/local/share/nbgrader/exchange) is missing. firstmlp's own
# release and intake do not use it.
c.Exchange.root = os.path.join({root!r}, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
# Stock nbgrader on this folder (formgrader's buttons, `nbgrader autograde`,
# `generate_feedback`) grades and writes feedback as `firstmlp grade` does: sandboxed
# execution, the grader's verdicts, hidden tests and seeds kept out of feedback,
# outputs sanitised. Every course folder has this file; without it nbgrader stops
# (load_subconfig alone would pass silently, and stock Execute would run hidden tests).
if not os.path.isfile({grading_config!r}):
    raise SystemExit({grading_config!r} + " is missing: run `firstmlp build --out` or "
                     "`firstmlp grade --course-dir` on this folder again")
load_subconfig({grading_config!r})
'''

GRADING_CONFIG = """
# Grading with firstmlp: nbgrader's autograde pipeline, warm execution, no score from stderr.
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from autograder.grading.feedback import (FeedbackExporter, GetGradesForFeedback,
                                         HideTestSources, MathAsMathML, template_basedirs)
from autograder.grading.sanitize import SanitizeOutputs
# WarmExecute by its import path: nbconvert imports it when autograde registers it, so
# the nbgrader commands that never execute (generate_assignment, generate_feedback,
# export, formgrader) do not import torch with this file (2 s each).
c.Autograde.autograde_preprocessors = ["autograder.grading.warm_execute.WarmExecute",
                                       IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SanitizeOutputs, SaveAutoGrades,
                                       AssignLatePenalties, CheckCellMetadata]
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s)."
{grading_settings}
c.WarmExecute.course_root = {course_root!r}
c.OverwriteCells.add_missing_cells = True
c.GenerateFeedback.preprocessors = [GetGradesForFeedback, CSSHTMLHeaderPreprocessor,
                                    HideTestSources, SanitizeOutputs, MathAsMathML]
c.GenerateFeedback.exporter_class = FeedbackExporter  # nbconvert's, its templates compiled once
c.HTMLExporter.sanitize_html = False  # SanitizeOutputs (nh3) instead: bleach escapes tables
# Our templates first: feedback's math as MathML, no script; formgrader's MathJax from this
# Jupyter server (the jupyter_server_mathjax extension), no CDN.
c.HTMLExporter.extra_template_basedirs = template_basedirs()
# Late work: course.toml's [late] policy, applied by nbgrader's AssignLatePenalties to a
# submission whose timestamp.txt is past its due date (set in the gradebook from course.toml).
{late_policy}
# `nbgrader export` writes the grader's grades.csv (status, lateness, points to grade by hand).
from autograder.grading.export import GradesCsvPlugin
c.ExportApp.plugin_class = GradesCsvPlugin
"""


def write_grading_config(course_dir: "str | os.PathLike[str]", timeout: int | None = None,
                         notebook_timeout: int | None = None, isolate: bool | None = None,
                         memory_mb: int | None = None, cpu_seconds: int | None = None) -> None:
    """The grader's additions to the folder's nbgrader config (``GRADING_CONFIG``): the
    grading settings (None: the schema's, or course.toml's [grading]) rendered from the
    schema."""
    from autograder.course.build import load_manifest
    from autograder.course.schedule import late_policy
    from autograder.grading.late import config_lines
    from autograder.settings import grading_settings, nbgrader_lines
    course_dir = Path(course_dir).resolve()
    grading = grading_settings(timeout=timeout, notebook_timeout=notebook_timeout,
                               isolate=isolate, memory_mb=memory_mb, cpu_seconds=cpu_seconds)
    CourseDir(course_dir).grading_config.write_text(GRADING_CONFIG.format(
        grading_settings=nbgrader_lines(grading, "WarmExecute"), course_root=str(course_dir),
        late_policy=config_lines(late_policy(load_manifest()))))


def use_stock_settings(course_dir):
    """Make a folder run stock nbgrader's own settings (Execute in a kernel, hidden tests
    there, stock feedback): a baseline for benchmarks and for testing the notebooks'
    own tests as a student's Jupyter runs them — never a folder to grade a class in."""
    CourseDir(course_dir).grading_config.write_text(
        "# stock nbgrader settings: a baseline, not a folder to grade a class in\n")


class NbgraderError(FirstmlpError):
    """nbgrader exited non-zero; the message's first line names the command and its last
    line of output, the lines below it hold the output's tail."""

    @classmethod
    def of(cls, done: "subprocess.CompletedProcess[str]", named: str) -> "NbgraderError":
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        last = f": {lines[-1].strip()[:200]}" if lines else ""
        return cls(f"{named} failed ({done.returncode}){last}\n" + "\n".join(lines[-25:]))


def venv_bin():
    return Path(sys.executable).parent


def nbgrader_environment() -> dict[str, str]:
    """This environment's ``bin/`` first on PATH: generate_assignment runs ``alembic``."""
    return dict(os.environ, PATH=f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}")


def run_nbgrader(course_dir: "str | os.PathLike[str]", *args: str) -> "subprocess.CompletedProcess[str]":
    """Run the nbgrader CLI of this interpreter's environment in ``course_dir``."""
    done = subprocess.run([str(venv_bin() / "nbgrader"), *args], cwd=course_dir,
                          env=nbgrader_environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise NbgraderError.of(done, f"nbgrader {' '.join(args)}")
    return done


def make_course_dir(course_dir: "str | os.PathLike[str]", version: str | None = None) -> list[str]:
    """Build the source notebooks and write nbgrader_config.py (its settings rendered
    from the schema, course.toml's values); returns the assignment names in manifest
    order."""
    from autograder.settings import load_settings, nbgrader_lines
    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    written = build_course(course_dir, version=version)
    tree = CourseDir(course_dir)
    settings = load_settings(environ={})
    tree.nbgrader_config.write_text(CONFIG.format(
        course_settings=nbgrader_lines(settings.course, "CourseDirectory"), root=str(course_dir),
        execute_settings=nbgrader_lines(settings.grading, "Execute"), code_stub=CODE_STUB,
        grading_config=str(tree.grading_config)))
    if not tree.grading_config.exists():  # `firstmlp grade` writes its own limits over it
        write_grading_config(course_dir)
    return [path.parent.name for path in written]


def generate_assignments(course_dir: "str | os.PathLike[str]", assignments: "list[str]") -> None:
    """``nbgrader generate_assignment A --force`` for each assignment, all in one process
    (``autograder.course.generate``: nbgrader's API, as formgrader calls it); a failure
    is NbgraderError naming the assignment it failed on."""
    if not assignments:
        return
    done = subprocess.run([*generate_command(), *assignments], cwd=course_dir,
                          env=nbgrader_environment(), capture_output=True, text=True)
    if done.returncode != 0:
        started = [line[len(GENERATING):] for line in done.stdout.splitlines()
                   if line.startswith(GENERATING)]
        failed = started[-1] if started else " ".join(assignments)
        raise NbgraderError.of(done, f"nbgrader generate_assignment {failed} --force")


GENERATING = "generating: "  # autograder.course.generate's line as it starts an assignment


def generate_command() -> list[str]:
    return [sys.executable, "-m", "autograder.course.generate"]


def completed_notebook(release_path, source_path):
    """The released notebook with every solution cell filled in from the source
    (markers removed): what a student who solved everything submits."""
    release = nbformat.read(str(release_path), as_version=4)
    source = {c.id: c for c in nbformat.read(str(source_path), as_version=4).cells}
    for cell in release.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            lines = source[cell.id].source.splitlines()
            cell.source = "\n".join(line for line in lines if not is_marker_line(line))
    return release


def submit(course_dir, student, assignment, notebook):
    """Place a notebook (nbformat object) as nbgrader's submitted/<student>/<assignment>."""
    target = CourseDir(course_dir).submitted(student, assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))
    return target


def autograde(course_dir, assignment, student=None):
    args = ["autograde", assignment, "--force"]
    if student:
        args.append(f"--student={student}")
    return run_nbgrader(course_dir, *args)


def gradebook_scores(course_dir, assignment):
    """{student: (score, max_score)} for an assignment, from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(CourseDir(course_dir).gradebook_url) as gradebook:
        return {s.student.id: (s.score, s.max_score)
                for s in gradebook.find_assignment(assignment).submissions}
