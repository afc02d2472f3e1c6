"""``firstmlp``: the course's command line.

    firstmlp demo          check every reference component against torch, train the
                           reference MLP on MNIST, then build the course and let nbgrader
                           grade the reference and a blank submission; prints the tables
    firstmlp reference     only the component table (the reference against torch; a
                           student's self-check is `python -m autograder check NB`)
    firstmlp train         only the MNIST training run
    firstmlp build         build the nbgrader source notebooks (course/ + solutions/)
    firstmlp grade-demo    only the course build and the nbgrader grade table
    firstmlp release --version V [--force]
                           cut the student release releases/V (leak-scanned)
    firstmlp scan DIR      leak-scan a release folder
    firstmlp speech-data [--size MINUTES] [--seed S] [--out DIR] [--force]
                           make notebook 6's speech corpus with Festival
    firstmlp speech-align AUDIO_DIR OUT_DIR
                           label your own recordings (<id>.wav + <id>.txt) with
                           pocketsphinx, written in the same layout
    firstmlp grade SUBMISSIONS [--course-dir D] [--workers N] [--scheduler tcp://h:p]
                   [--student S] [--assignment A] [--device cuda] [--pattern REGEX]
                           grade an nbgrader submitted/ tree, or a folder or zip of
                           LMS-named notebooks; feedback, gradebook, grades.csv
    firstmlp export --format canvas|csv [--out FILE] [--course-dir D]
                           the gradebook, a row per student: Canvas's gradebook-import
                           layout, or a plain wide CSV (stdout without --out)
    firstmlp similarity SUBMISSIONS [--out DIR] [--release DIR] [--min-score F]
                           [--pattern REGEX]
                           rank pairs of students by how alike their answer cells are
                           (per assignment, the release's stubs removed); HTML report
"""

import argparse
import os
import sys
import time
import zipfile
from pathlib import Path

from autograder.student.errors import OneLineParser
from autograder.student.table import format_table


def check_reference(device="auto"):
    """Run every reference component through the oracle; True when all pass."""
    from autograder.student.oracle import resolve_device
    from autograder.course.reference import FINITE_DIFFERENCE_CHECKS, REFERENCE_CHECKS

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
    from autograder.grading.grader import grade, prepare_course
    from autograder.grading.report import summary_table
    from autograder.course.nbgrader_course import completed_notebook
    from autograder.course.release import build_release

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
    report.md, absent from grades.csv) or stopped its steps after grading began."""
    from autograder.grading.grader import GraderEnvironmentError, GradingIncomplete, grade
    from autograder.grading.report import summary_table
    from autograder.grading.intake import IntakeError

    from autograder.course.build import load_manifest

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
    try:
        outcomes, unmatched, csv_path = grade(
            args.submissions, args.course_dir, workers=args.workers, scheduler=args.scheduler,
            student=args.student, assignment=args.assignment, device=args.device,
            pattern=args.pattern, timeout=args.timeout, regrade=args.regrade,
            isolate=args.isolate)
    except (IntakeError, GraderEnvironmentError) as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    except GradingIncomplete as error:
        print(f"grade: {error}", file=sys.stderr)
        return UNGRADED_EXIT
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
    print(sandbox_summary(args.device, args.isolate))
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
    from autograder.grading.intake import IntakeError
    from autograder.grading.similarity import (MIN_SCORE, SimilarityError, find_similar,
                                               ranked_lines, write_report)
    from autograder.course.build import load_manifest
    from autograder.course.release import RELEASES

    release = args.release or RELEASES / load_manifest()["version"]
    min_score = MIN_SCORE if args.min_score is None else args.min_score
    try:
        comparison = find_similar(args.submissions, release, args.pattern)
    except (IntakeError, SimilarityError) as error:
        print(f"similarity: {error}", file=sys.stderr)
        return 2
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


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number is needed, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def lms_pattern(text):
    """A regular expression with the groups ``student`` and ``assignment``."""
    import re
    try:
        groups = re.compile(text).groupindex
    except re.error as error:
        raise argparse.ArgumentTypeError(f"not a regular expression ({error})") from None
    missing = [g for g in ("student", "assignment") if g not in groups]
    if missing:
        raise argparse.ArgumentTypeError(
            "needs the named groups " + " and ".join(f"(?P<{g}>…)" for g in missing))
    return text


def output_folder(text):
    """A folder to write into: one that exists, or one that can be made (no file in
    the way, the nearest existing folder writable)."""
    path = Path(text)
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder: give a folder "
                                         "that exists or can be made")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{existing} is not writable here: give a folder "
                                         "you can write in")
    return text


def output_file(text):
    """A file to write: its folder exists and is writable, and it is not a folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{folder} is not a folder you can write in")
    return text


def score_fraction(text):
    """A similarity score from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number from 0 to 1 is needed, not {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {value:g}")
    return value


def scheduler_address(text):
    """A Dask scheduler's address as ``distributed.Client`` takes it: [tcp://]host:port."""
    from distributed.comm import get_address_host_port
    try:
        port = get_address_host_port(text)[1]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"a Dask scheduler address such as tcp://host:8786 "
                                         f"is needed, not {text!r} ({error})") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port {port} of {text!r} is not a port (1 to 65535)")
    return text


def release_folder(text):
    """A release folder: one that holds the assignments' notebooks."""
    if not any(Path(text).glob("*.ipynb")):
        raise argparse.ArgumentTypeError(f"{text} is not a release folder (it holds no "
                                         "<assignment>.ipynb)")
    return Path(text)


def release_version(text):
    from autograder.course.release import ReleaseError, check_version
    try:
        check_version(text)
    except ReleaseError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def parse_arguments(argv):
    parser = OneLineParser(prog="firstmlp", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name in ("demo", "reference", "train"):
        command = commands.add_parser(name)
        command.add_argument("--device", default="auto", help="torch side: auto, cpu or cuda")
        command.add_argument("--epochs", type=positive_int, default=None)
    commands.add_parser("build").add_argument("--out", type=output_folder, default="build/course")
    commands.add_parser("grade-demo").add_argument("--workdir", type=output_folder, default=None)
    release = commands.add_parser("release")
    release.add_argument("--version", required=True, type=release_version)
    release.add_argument("--force", action="store_true", help="rebuild an existing version")
    release.add_argument("--out", type=output_folder, default=None,
                         help="folder of releases (default: releases/)")
    release.add_argument("--bump", action="store_true",
                         help="set course.toml's version to --version first")
    release.add_argument("--allow-dirty", action="store_true",
                         help="cut from uncommitted changes (to try things; the manifest says so)")
    release.add_argument("--no-changelog", dest="changelog", action="store_false",
                         help="leave CHANGELOG.md alone (default: Unreleased becomes this "
                              "release, when it is cut into releases/)")
    commands.add_parser("scan").add_argument("folder")
    grade = commands.add_parser("grade", epilog="exit status: 0 all graded; 2 refused before "
                                "grading, nothing placed; 3 the grader's own failure left "
                                "notebooks ungraded (see report.md; no row in grades.csv)")
    grade.add_argument("submissions", help="submitted/ tree, folder or zip of LMS files")
    grade.add_argument("--course-dir", type=output_folder, default="build/grading")
    grade.add_argument("--workers", type=positive_int, default=None,
                       help="default: the machine's cores")
    grade.add_argument("--scheduler", type=scheduler_address, default=None,
                       help="Dask scheduler, e.g. tcp://host:8786 (default: a local pool)")
    grade.add_argument("--student", default=None)
    grade.add_argument("--assignment", default=None)
    grade.add_argument("--device", default=None, help="torch device for the checks (cpu, cuda)")
    grade.add_argument("--pattern", type=lms_pattern, default=None,
                       help="regex with (?P<student>) (?P<assignment>), optionally (?P<late>)")
    grade.add_argument("--timeout", type=positive_int, default=600, help="seconds per cell")
    grade.add_argument("--regrade", action="store_true",
                       help="grade again what an earlier run graded (default: resume)")
    grade.add_argument("--no-isolation", dest="isolate", action="store_false",
                       help="run notebooks without the sandbox (for comparison only)")
    exporting = commands.add_parser("export")
    exporting.add_argument("--format", required=True, choices=("canvas", "csv"),
                           help="canvas: Canvas's gradebook import; csv: a plain wide table")
    exporting.add_argument("--out", type=output_file, default=None,
                           help="file to write (default: standard output)")
    exporting.add_argument("--course-dir", type=output_folder, default="build/grading")
    similar = commands.add_parser("similarity")
    similar.add_argument("submissions", help="submitted/ tree, folder or zip of LMS files")
    similar.add_argument("--out", type=output_folder, default="build/similarity",
                         help="folder for index.html and pairs/ (default: build/similarity)")
    similar.add_argument("--release", type=release_folder, default=None,
                         help="the release the students started from (default: the current one)")
    similar.add_argument("--min-score", type=score_fraction, default=None,
                         help="list pairs scoring this or more, 0 to 1 (default: 0.5)")
    similar.add_argument("--pattern", type=lms_pattern, default=None,
                         help="regex with (?P<student>) (?P<assignment>), for LMS file names")
    commands.add_parser("speech-data", add_help=False)
    align = commands.add_parser("speech-align")
    align.add_argument("audio_dir")
    align.add_argument("out_dir", type=output_folder)
    return parser.parse_args(argv)


def main(argv=None):
    """Run one command; the course's own errors (a broken source, a refused release or
    intake, a grader that cannot work here) end in one line and exit 2."""
    from autograder.course.build import CourseError
    from autograder.grading.grader import GraderEnvironmentError, GradingIncomplete
    from autograder.grading.intake import IntakeError

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["speech-data"]:
        from autograder.student.speech.corpus import main as speech_data
        return speech_data(argv[1:], prog="firstmlp speech-data")
    args = parse_arguments(argv)
    try:
        return run_command(args)
    except (CourseError, IntakeError, GraderEnvironmentError) as error:
        print(f"firstmlp {args.command}: {error}", file=sys.stderr)
        return 2
    except GradingIncomplete as error:  # grade-demo's run
        print(f"firstmlp {args.command}: {error}", file=sys.stderr)
        return UNGRADED_EXIT


def run_command(args):
    if args.command == "speech-align":
        return speech_align(args.audio_dir, args.out_dir)
    if args.command == "grade":
        return grade_class(args)
    if args.command == "similarity":
        return similarity(args)
    if args.command == "export":
        return export_grades(args)
    if args.command == "release":
        return cut_release(args.version, args.force, args.out, args.changelog, args.bump,
                           args.allow_dirty)
    if args.command == "scan":
        return scan(args.folder)
    if args.command == "build":
        build(args.out)
        return 0
    ok = True
    if args.command in ("demo", "reference"):
        ok = check_reference(args.device)
    if args.command in ("demo", "train"):
        from solutions.recipe import EPOCHS
        train_reference(args.epochs or EPOCHS)
    if args.command in ("demo", "grade-demo"):
        ok &= grade_demo(getattr(args, "workdir", None))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
