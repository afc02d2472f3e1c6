"""``firstmlp``: the course's command line, a table of commands (``COMMANDS``).

Each ``Command`` holds its name, a one-line summary, its arguments and the function
that runs it; the parser and the usage text (``firstmlp --help``, ``usage_text``) are
generated from the table, the arguments' types come from ``autograder.arguments`` and
the grading flags' help from the settings schema (``autograder.settings``). The
course's own errors (``autograder.errors.FirstmlpError``) are caught once, in ``main``:
one line on stderr, a non-zero exit, no traceback.
"""

import argparse
import re
import sys
import textwrap
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.arguments import (
    lms_pattern,
    output_file,
    output_folder,
    positive_int,
    release_folder,
    release_version,
    scheduler_address,
    score_fraction,
)
from autograder.errors import FirstmlpError
from autograder.settings import Grading
from autograder.student.errors import OneLineParser, first_line
from autograder.student.table import format_table


def check_reference(device="auto"):
    """Run every reference component through the oracle; True when all pass."""
    from autograder.course.reference import FINITE_DIFFERENCE_CHECKS, REFERENCE_CHECKS
    from autograder.student.oracle import resolve_device

    rows, all_passed = [], True
    for component, counterpart, check, reference in REFERENCE_CHECKS + FINITE_DIFFERENCE_CHECKS:
        start = time.perf_counter()
        verdict = check(reference, device=device)
        all_passed &= verdict.passed
        rows.append([component, counterpart, verdict.comparisons,
                     "pass" if verdict.passed else "FAIL", f"{time.perf_counter() - start:.2f}"])
    print(f"Reference components against torch (float64, {resolve_device(device)}):")
    print(format_table(["component", "torch counterpart", "comparisons", "verdict", "s"], rows))
    if not all_passed:
        print("Some reference components FAILED their oracle checks.", file=sys.stderr)
    return all_passed


def train_reference(epochs):
    """The reference recipe on MNIST, on one BLAS/OpenMP thread: as fast as two on this
    2-core machine when idle (24.1 s against 23.0 s), 3.5x faster beside two busy loops
    (38.3 s against 134.1 s): a second thread spins at each barrier for a core that
    other work holds."""
    from threadpoolctl import threadpool_limits

    from autograder.student.data import load_mnist
    from solutions.recipe import SIZES, train_reference

    data = load_mnist()
    print(f"\nReference MLP {SIZES} on {data.source} "
          f"({len(data.X_train)} train / {len(data.X_test)} test), numpy float32, Adam:")
    rows = []

    def show(record):
        rows.append([record["epoch"], f"{record['lr']:.1e}", f"{record['loss']:.4f}",
                     f"{record['seconds']:.2f}", f"{100 * record['test_accuracy']:.2f}"])
        print(f"  epoch {record['epoch']}: loss {record['loss']:.4f}, "
              f"test accuracy {100 * record['test_accuracy']:.2f} %", flush=True)

    with threadpool_limits(1):
        _, history = train_reference(data, epochs=epochs, on_epoch=show)
    print(format_table(["epoch", "lr", "train loss", "seconds", "test acc %"], rows))
    total = sum(r["seconds"] for r in history)
    print(f"Final test accuracy {100 * history[-1]['test_accuracy']:.2f} % "
          f"after {total:.1f} s of training.")
    return history


def build(out):
    from autograder.course.nbgrader_course import make_course_dir

    for assignment in make_course_dir(out):
        print(f"built {out}/source/{assignment}/{assignment}.ipynb")


def grade_demo(workdir=None, workers=None):
    """Cut a release into a temporary folder, submit the completed reference and the
    untouched release as two students, grade them, print the grade table."""
    import tempfile
    from pathlib import Path

    import nbformat

    from autograder.course.build import load_manifest
    from autograder.course.course_dir import CourseDir
    from autograder.course.nbgrader_course import completed_notebook
    from autograder.course.release import build_release
    from autograder.grading.grader import grade, prepare_course
    from autograder.grading.report import summary_table

    workdir = Path(workdir or tempfile.mkdtemp(prefix="firstmlp-grading-"))
    version = load_manifest()["version"]
    print(f"\nRelease {version} into {workdir}/releases, then grade two students:")
    release = build_release(version, out_root=workdir / "releases", force=True, changelog=False,
                            report=lambda _: None)
    course_dir = workdir / "course"
    prepare_course(course_dir)
    submitted = workdir / "submitted"
    for path in sorted(release.glob("*.ipynb")):
        source = CourseDir(course_dir).source(path.stem)
        for student, notebook in (("reference", completed_notebook(path, source)),
                                  ("blank", nbformat.read(str(path), as_version=4))):
            (submitted / student / path.stem).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, str(submitted / student / path.stem / path.name))
    outcomes, _, csv_path = grade(submitted, course_dir, workers=workers, regrade=True)
    print(summary_table(course_dir, outcomes))
    print(sandbox_summary())
    print(f"grades: {csv_path}; feedback: {course_dir / 'feedback'}")
    return all(not o.ungraded and ((o.score + o.by_hand == o.max_score) if o.student == "reference"
                                   else o.score == o.by_hand == 0) for o in outcomes)


UNGRADED_EXIT = 3  # the grader failed on some notebooks (or its own steps): see report.md


def grade_class(args):
    """Exit 0: every notebook graded; 2: refused before anything was graded (one line);
    3: the grader's own failure left notebooks ungraded (named in the table and
    report.md, absent from grades.csv) or stopped its steps after grading began
    (``GradingIncomplete``, said by ``main``)."""
    from autograder.course.build import load_manifest
    from autograder.grading.grader import grade
    from autograder.grading.report import summary_table
    from autograder.settings import grading_settings

    if not Path(args.submissions).exists():  # before the course is built: a minute saved
        print(f"grade: no submissions at {args.submissions}: give a folder or a zip file",
              file=sys.stderr)
        return 2
    if Path(args.submissions).is_file() and not zipfile.is_zipfile(args.submissions):
        print(f"grade: {args.submissions} is neither a folder nor a readable zip file",
              file=sys.stderr)
        return 2
    names = [a["name"] for a in load_manifest()["assignments"]]
    if args.assignment is not None and args.assignment not in names:
        print(f"grade: --assignment {args.assignment}: the course has no such assignment "
              f"(it has {', '.join(names)})", file=sys.stderr)
        return 2
    settings = grading_settings(**given_settings(args))
    device = None if settings.device == "auto" else settings.device
    try:
        outcomes, unmatched, csv_path = grade(
            args.submissions, args.course_dir, workers=settings.workers, scheduler=args.scheduler,
            student=args.student, assignment=args.assignment, device=device,
            pattern=args.pattern, timeout=settings.timeout, regrade=args.regrade,
            isolate=settings.isolate)
    except KeyboardInterrupt as stop:
        print(f"grade: stopped ({stop or 'SIGINT'}); what was graded is kept: run the same "
              "command again to resume", file=sys.stderr)
        return 130
    for item in unmatched:
        print(f"skipped {item.path}: {item.reason}")
    if not outcomes:
        chosen = " and ".join(f"{flag} {value}" for flag, value in
                              (("--student", args.student), ("--assignment", args.assignment))
                              if value is not None)
        print(f"grade: nothing graded: no submission in {args.submissions} matched"
              f"{' ' + chosen if chosen else ''} ({len(unmatched)} files skipped"
              f"{', listed above' if unmatched else ''})", file=sys.stderr)
        return 1
    print(summary_table(args.course_dir, outcomes))
    print(sandbox_summary(device, settings.isolate))
    try:
        report = write_report(args.course_dir, outcomes)
    except OSError as error:  # a full disk: the grades are recorded, the report is not
        print(f"grade: report.md could not be written ({error.strerror or error}); the grades "
              f"are in {csv_path} — fix it and run the same command again", file=sys.stderr)
        return UNGRADED_EXIT
    print(f"report (flags per student): {report}")
    print(f"grades: {csv_path}; feedback: {args.course_dir}/feedback/<student>/<assignment>/")
    if ungraded := [o for o in outcomes if o.ungraded]:
        print(f"grade: {len(ungraded)} notebook{'s' * (len(ungraded) != 1)} left ungraded by the "
              f"grader's own failure (named in {report}, no row in grades.csv): fix the cause "
              "and run the same command again", file=sys.stderr)
        return UNGRADED_EXIT
    return 0


def export_grades(args):
    """Write the gradebook's grades in an LMS's layout (``grading.export``)."""
    from autograder.course.course_dir import CourseDir
    from autograder.grading.export import export

    if not CourseDir(args.course_dir).gradebook.is_file():
        print(f"export: no gradebook in {args.course_dir}: grade a class into it first "
              "(firstmlp grade SUBMISSIONS --course-dir DIR)", file=sys.stderr)
        return 2
    written = export(args.course_dir, args.format, args.out)
    if args.out:
        print(f"exported {args.course_dir}'s gradebook ({args.format}) to {written}")
    else:
        sys.stdout.write(written)
    return 0


def similarity(args):
    """Print the ranked pairs of alike answers and write the HTML report."""
    from autograder.course.build import load_manifest
    from autograder.course.release import RELEASES
    from autograder.grading.similarity import MIN_SCORE, find_similar, ranked_lines, write_report

    release = args.release or RELEASES / load_manifest()["version"]
    min_score = MIN_SCORE if args.min_score is None else args.min_score
    comparison = find_similar(args.submissions, release, args.pattern)  # IntakeError: main's
    for line in comparison.skipped:
        print(line)
    listed = [p for p in comparison.pairs if p.score >= min_score]
    print(ranked_lines(listed) if listed else f"no pair scores {min_score:.0%} or more")
    print(f"{comparison.notebooks} notebooks compared in {comparison.seconds:.1f} s; "
          f"{len(comparison.pairs)} pair{'s' * (len(comparison.pairs) != 1)} sharing code, "
          f"{len(listed)} listed "
          f"(--min-score {min_score:g})")
    print(f"report: {write_report(comparison, args.out, min_score)}")
    return 0


def sandbox_summary(device=None, isolate=True):
    """One line: what the notebooks ran in."""
    from autograder.sandbox.boundary import bwrap_problem
    if not isolate:
        return "sandbox incomplete: --no-isolation (namespaces only: no rlimits, Landlock or capability drop)"
    problem = bwrap_problem(device)
    if problem:
        return (f"sandbox incomplete: no bubblewrap sandbox ({problem}); notebooks ran with "
                "rlimits, Landlock and a pids cgroup only (see every notebook's flags)")
    from autograder.sandbox.boundary import sandbox_identity
    who = "an unprivileged uid of its own" if sandbox_identity() is not None else "your uid as nobody"
    return (f"sandbox: bubblewrap (mount, PID, network, IPC namespaces; {who}; a fresh fork of "
            "a clean zygote per notebook, in namespaces and a tmpfs of its own)")


def write_report(course_dir, outcomes):
    """report.md: per student, the total, each assignment's points, every flag."""
    from autograder.grading.report import write_report as report
    return report(course_dir, outcomes)


def cut_release(version, force, out=None, changelog=True, bump=False, allow_dirty=False):
    """What students get is what the repository says: the version is course.toml's
    (``--bump`` sets it there first, saying so), and the tree is clean
    (``--allow-dirty`` to try things: its manifest then says so)."""
    from autograder.course.build import load_manifest
    from autograder.course.release import RELEASES, ReleaseError, build_release, source_commit

    commit = source_commit()  # before a bump, which is the command's own change
    dirty, bumped_from = commit.endswith("+dirty"), None
    if dirty and not allow_dirty:
        print(f"release {version}: uncommitted changes in what a release is made of (course/, "
              "solutions/, autograder/, pyproject.toml): commit them, or pass --allow-dirty to "
              "try (its manifest records it)", file=sys.stderr)
        return 2
    current = load_manifest()["version"]
    if current != version:
        if not bump:
            print(f"release {version}: course/course.toml says version {current}; set it there, "
                  f"or pass --bump to set it to {version}", file=sys.stderr)
            return 2
        set_course_version(version)
        bumped_from = current
        print(f"course/course.toml: version {current} -> {version} (commit it with the release)")
    out = Path(out or RELEASES)
    # CHANGELOG.md tells the repository's own releases; a cut elsewhere (a try) leaves it be
    changelog = changelog and out.resolve() == RELEASES.resolve()
    try:
        target = build_release(version, out_root=out, force=force, changelog=changelog,
                               allow_dirty=dirty, source=(commit, bumped_from))
    except ReleaseError as error:
        print(f"release {version}: {error}", file=sys.stderr)
        return 1
    print(f"released {version} into {target} (leak scan clean)")
    return 0


def set_course_version(version):
    """course.toml's ``version = "…"`` line set to ``version`` (nothing else changes)."""
    import re

    from autograder.course.build import COURSE
    toml = COURSE / "course.toml"
    text, count = re.subn(r'(?m)^version = ".*"$', f'version = "{version}"', toml.read_text(), count=1)
    if count != 1:
        raise SystemExit(f"firstmlp release: {toml} has no version line to set")
    toml.write_text(text)


def scan(folder):
    import json
    from pathlib import Path

    from autograder.course.leaks import scan_release

    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        print(f"scan: {folder} is not a release (its manifest.json cannot be read: "
              f"{getattr(error, 'strerror', None) or error})", file=sys.stderr)
        return 2
    findings = scan_release(folder, list(manifest["points"]))
    print("\n".join(findings) if findings else f"{folder}: leak scan clean")
    return 1 if findings else 0


def speech_align(audio_dir, out_dir):
    from autograder.student.speech.alignment import align_folder

    if not Path(audio_dir).is_dir():
        print(f"speech-align: no folder {audio_dir} (it should hold <id>.wav and <id>.txt)",
              file=sys.stderr)
        return 2
    skipped = align_folder(audio_dir, out_dir)
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    written = len(list(Path(out_dir).glob("mfcc/*.npy")))
    print(f"{written} utterances aligned into {out_dir}")
    return 0 if written else 1


def show_config(args):
    """``firstmlp config``: the effective settings and where each came from."""
    from autograder.settings import describe, load_settings
    given = given_settings(args)
    if args.course_dir is not None:
        given["course_dir"] = args.course_dir
    print(describe(load_settings(course_dir=args.course_dir, given=given)))
    return 0


# ---- the table of commands ---------------------------------------------------------


def arg(*flags, **options):
    """One argument of a command, as ``add_argument`` takes it."""
    return flags, options


def setting(name, *flags, **options):
    """A flag that sets the grading setting ``name``: its help is the schema's, and it
    defaults to None (not given: course.toml's, else the schema's default)."""
    options.setdefault("default", None)
    options.setdefault("help", Grading.class_traits()[name].help)
    return arg(*flags, dest=name, **options)


def given_settings(args):
    """{setting: value} of the grading flags on the command line (None: not given)."""
    return {name: getattr(args, name) for name in SETTING_FLAGS if hasattr(args, name)}


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Callable  # args -> exit status (``passthrough``: the raw argv after the name)
    arguments: tuple = ()
    epilog: str | None = None
    prefix: str | None = None  # how its one-line errors begin (default: "firstmlp NAME")
    synopsis: str | None = None  # a passthrough command's flags (its own parser's)
    passthrough: bool = False


def run_demo(args):
    from solutions.recipe import EPOCHS
    ok = check_reference(args.device)
    train_reference(args.epochs or EPOCHS)
    ok &= grade_demo()
    return 0 if ok else 1


def run_train(args):
    from solutions.recipe import EPOCHS
    train_reference(args.epochs or EPOCHS)
    return 0


def run_build(args):
    build(args.out)
    return 0


def run_speech_data(argv):
    from autograder.student.speech.corpus import main as speech_data
    return speech_data(argv, prog="firstmlp speech-data")


TORCH_SIDE = (arg("--device", default="auto", help="torch side: auto, cpu or cuda"),
              arg("--epochs", type=positive_int, default=None, metavar="N"))
GRADING_FLAGS = (
    setting("workers", "--workers", type=positive_int, metavar="N"),
    setting("device", "--device", metavar="DEVICE"),
    setting("timeout", "--timeout", type=positive_int, metavar="SECONDS"),
    setting("isolate", "--no-isolation", action="store_false",
            help="run notebooks without the sandbox (for comparison only)"),
)
SETTING_FLAGS = tuple(options["dest"] for _, options in GRADING_FLAGS)  # the settings they set
COURSE_DIR = arg("--course-dir", type=output_folder, metavar="D",
                 default=Grading.class_traits()["course_dir"].default_value,
                 help=Grading.class_traits()["course_dir"].help)
LMS_NAMES = arg("--pattern", type=lms_pattern, default=None, metavar="REGEX",
                help="regex with (?P<student>) (?P<assignment>), optionally (?P<late>)")
SUBMISSIONS = arg("submissions", help="submitted/ tree, folder or zip of LMS files")

COMMANDS = (
    Command("demo", "check every reference component against torch, train the reference "
            "MLP on MNIST, then build the course and let nbgrader grade the reference and a "
            "blank submission; prints the tables", run_demo, TORCH_SIDE),
    Command("reference", "only the component table (the reference against torch; a "
            "student's self-check is `python -m autograder check NB`)",
            lambda args: 0 if check_reference(args.device) else 1, TORCH_SIDE),
    Command("train", "only the MNIST training run", run_train, TORCH_SIDE),
    Command("build", "build the nbgrader source notebooks (course/ + solutions/)", run_build,
            (arg("--out", type=output_folder, default="build/course", metavar="DIR"),)),
    Command("grade-demo", "only the course build and the nbgrader grade table",
            lambda args: 0 if grade_demo(args.workdir) else 1,
            (arg("--workdir", type=output_folder, default=None, metavar="DIR"),)),
    Command("release", "cut the student release releases/V (leak-scanned)",
            lambda args: cut_release(args.version, args.force, args.out, args.changelog,
                                     args.bump, args.allow_dirty), (
        arg("--version", required=True, type=release_version, metavar="V"),
        arg("--force", action="store_true", help="rebuild an existing version"),
        arg("--out", type=output_folder, default=None, metavar="DIR",
            help="folder of releases (default: releases/)"),
        arg("--bump", action="store_true", help="set course.toml's version to --version first"),
        arg("--allow-dirty", action="store_true",
            help="cut from uncommitted changes (to try things; the manifest says so)"),
        arg("--no-changelog", dest="changelog", action="store_false",
            help="leave CHANGELOG.md alone (default: Unreleased becomes this release, when "
                 "it is cut into releases/)"))),
    Command("scan", "leak-scan a release folder", lambda args: scan(args.folder),
            (arg("folder"),)),
    Command("speech-data", "make notebook 6's speech corpus with Festival", run_speech_data,
            synopsis="[--size MINUTES] [--seed S] [--out DIR] [--force] [--held-out-voice V]",
            passthrough=True),
    Command("speech-align", "label your own recordings (<id>.wav + <id>.txt) with "
            "pocketsphinx, written in the same layout",
            lambda args: speech_align(args.audio_dir, args.out_dir),
            (arg("audio_dir"), arg("out_dir", type=output_folder))),
    Command("grade", "grade an nbgrader submitted/ tree, or a folder or zip of LMS-named "
            "notebooks; feedback, gradebook, grades.csv", grade_class, (
        SUBMISSIONS, COURSE_DIR, *GRADING_FLAGS,
        arg("--scheduler", type=scheduler_address, default=None, metavar="tcp://h:p",
            help="Dask scheduler, e.g. tcp://host:8786 (default: a local pool)"),
        arg("--student", default=None, metavar="S"),
        arg("--assignment", default=None, metavar="A"),
        LMS_NAMES,
        arg("--regrade", action="store_true",
            help="grade again what an earlier run graded (default: resume)")),
            epilog="exit status: 0 all graded; 2 refused before grading, nothing placed; 3 "
                   "the grader's own failure left notebooks ungraded (see report.md; no row "
                   "in grades.csv)", prefix="grade"),
    Command("export", "the gradebook, a row per student: Canvas's gradebook-import layout, "
            "or a plain wide CSV (stdout without --out)", export_grades, (
        arg("--format", required=True, choices=("canvas", "csv"),
            help="canvas: Canvas's gradebook import; csv: a plain wide table"),
        arg("--out", type=output_file, default=None, metavar="FILE",
            help="file to write (default: standard output)"),
        COURSE_DIR)),
    Command("similarity", "rank pairs of students by how alike their answer cells are (per "
            "assignment, the release's stubs removed); HTML report", similarity, (
        SUBMISSIONS,
        arg("--out", type=output_folder, default="build/similarity", metavar="DIR",
            help="folder for index.html and pairs/ (default: build/similarity)"),
        arg("--release", type=release_folder, default=None, metavar="DIR",
            help="the release the students started from (default: the current one)"),
        arg("--min-score", type=score_fraction, default=None, metavar="F",
            help="list pairs scoring this or more, 0 to 1 (default: 0.5)"),
        arg("--pattern", type=lms_pattern, default=None, metavar="REGEX",
            help="regex with (?P<student>) (?P<assignment>), for LMS file names")),
            prefix="similarity"),
    Command("config", "print the effective settings and where each came from (default, "
            "course.toml, the course folder's nbgrader_config, environment, command line)",
            show_config, (
        arg("--course-dir", type=output_folder, default=None, metavar="D",
            help="also read this course folder's nbgrader config"),
        *GRADING_FLAGS)),
)
BY_NAME = {command.name: command for command in COMMANDS}


def make_parser():
    """The parser, made from ``COMMANDS``; its description is ``usage_text``."""
    parser = OneLineParser(prog="firstmlp", formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    synopses = []
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, epilog=command.epilog,
                                    add_help=not command.passthrough)
        for flags, options in command.arguments:
            sub.add_argument(*flags, **options)
        usage = command.synopsis if command.passthrough else " ".join(
            word for word in sub.format_usage().split()[3:] if word != "[-h]")
        synopses.append((f"firstmlp {command.name} {usage}".rstrip(), command.summary))
    parser.description = usage_text(synopses)
    return parser


def usage_text(synopses):
    """Each command's synopsis and what it does, as ``firstmlp --help`` shows them."""
    lines = ["firstmlp: the course's command line.", ""]
    for synopsis, summary in synopses:  # an option's brackets stay on one line
        words = re.sub(r"\[[^\]]*\]", lambda m: m[0].replace(" ", "\0"), synopsis)
        lines += [line.replace("\0", " ") for line in textwrap.wrap(
            words, 88, initial_indent="    ", subsequent_indent=" " * 15,
            break_on_hyphens=False)]
        lines += textwrap.wrap(summary, 88, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return "\n".join(lines)


def parse_arguments(argv):
    return make_parser().parse_args(argv)


def main(argv=None):
    """Run one command; the course's own errors (``FirstmlpError``: a broken source, a
    refused release or intake, nbgrader failing, a grader that cannot work here, a bad
    setting) are caught here, once: their first line on stderr, their exit status."""
    argv = sys.argv[1:] if argv is None else argv
    command = BY_NAME.get(argv[0]) if argv else None
    if command is not None and command.passthrough:
        return command.run(argv[1:])
    args = parse_arguments(argv)
    command = BY_NAME[args.command]
    try:
        return command.run(args)
    except FirstmlpError as error:
        print(f"{command.prefix or 'firstmlp ' + command.name}: {first_line(error)}",
              file=sys.stderr)
        return error.exit_status


if __name__ == "__main__":
    sys.exit(main())
