"""Cut a student release: ``firstmlp release --version 2026.1 [--force]``.

Steps, in order (each a function below):
  1. build the nbgrader course and run ``nbgrader generate_assignment`` for all;
  2. copy the student notebooks, flat: ``<assignment>.ipynb``;
  3. copy the student-safe helper package (``autograder/``: oracle, checks, data,
     plots, self-check) and its student entry point;
  4. write the student README, environment.yml and the self-check CI workflow;
  5. write manifest.json: version, source commit, points, sha256 of every file;
  6. scan for leaks (``autograder.course.leaks``); any finding aborts the release;
  7. move the finished folder into place in one rename, and note it in CHANGELOG.md.

Nothing is half-written: the release is assembled in a scratch folder beside its
target and renamed at the end. Every file is deterministic (no timestamps), so the
same inputs give byte-identical releases.
"""

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import nbformat

from autograder.course.build import ROOT, load_manifest
from autograder.course.course_dir import CourseDir
from autograder import PACKAGE, shipped_files
from autograder.course.leaks import scan_release
from autograder.course.nbgrader_course import generate_assignments, make_course_dir
from autograder.errors import FirstmlpError

RELEASES = ROOT / "releases"
INSTRUCTOR_ONLY_DEPENDENCIES = ("nbgrader", "jupytext", "latex2mathml", "nh3", "distributed",
                                "jupyter-server-mathjax",  # formgrader's MathJax, offline
                                "copydetect")  # firstmlp similarity


class ReleaseError(FirstmlpError):
    """The release was refused or failed; nothing was written in its place."""


def source_commit():
    """HEAD's commit, "+dirty" when what a release is made of has uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "course", "solutions", "autograder", "pyproject.toml")
    return commit + ("+dirty" if dirty else "")


def generate_notebooks(scratch, version):
    course_dir = Path(scratch) / "nbgrader"
    assignments = make_course_dir(course_dir, version=version)
    generate_assignments(course_dir, assignments)
    return course_dir, assignments


def copy_notebooks(course_dir, assignments, out):
    for assignment in assignments:
        notebook = nbformat.read(str(CourseDir(course_dir).release(assignment)), 4)
        (out / f"{assignment}.ipynb").write_text(nbformat.writes(notebook) + "\n")


def copy_helpers(out):
    """``autograder/student/`` whole, with the package's ``__init__`` and ``__main__``
    (the self-check, as in the repository)."""
    for name in shipped_files():
        (out / "autograder" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / name, out / "autograder" / name)


def student_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [d for d in project["dependencies"]
            if not d.startswith(INSTRUCTOR_ONLY_DEPENDENCIES)]


def copy_classroom_workflow(out):
    """The self-check workflow for a student repository made from this release."""
    target = out / ".github" / "workflows" / "classroom.yml"
    target.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / "templates" / "classroom.yml", target)


def write_environment(out):
    lines = ["name: firstmlp-student", "channels:", "  - conda-forge", "dependencies:",
             "  - python=3.11", "  - pip", "  - pip:"]
    lines += [f"      - {d}" for d in student_dependencies()]
    (out / "environment.yml").write_text("\n".join(lines) + "\n")


def write_readme(out, manifest, version):
    rows = "\n".join(f"| `{a['name']}.ipynb` | {a.get('title', '')} | {a['points']} |"
                     for a in manifest["assignments"])
    (out / "README.md").write_text(f"""# {manifest.get('title', 'firstmlp')} — release {version}

## Set up (once)

```bash
conda env create -f environment.yml && conda activate firstmlp-student
# or: python3.11 -m venv .venv && . .venv/bin/activate && pip install {' '.join(repr(d) for d in student_dependencies())}
jupyter lab
```

Work in this folder: the notebooks import the `autograder` helper package that sits
beside them. Notebook 5 downloads MNIST through torchvision (or reads `MNIST_ROOT`);
without a network it falls back to a 5 000-image sample and says so. Notebook 6 makes
its speech corpus on first use (about a minute) with the Festival speech synthesizer:
on Debian or Ubuntu `sudo apt-get install festival festlex-cmu festvox-kallpc16k
festvox-kdlpc16k festvox-us-slt-hts` (elsewhere, Festival 2.5 with those three voices);
`python -m autograder.student.speech.corpus --help` for its options.

## The assignments

| notebook | topic | points |
|---|---|---|
{rows}

Fill in every cell marked `# YOUR CODE HERE` and delete its `raise NotImplementedError()`.
The test cell under it compares your code with PyTorch and says what differs. A cell
that reads `YOUR ANSWER HERE` is a written answer (double-click it to write in
Markdown); an instructor grades it by hand.

## Check your work before you submit

```bash
python -m autograder check 02_activations.ipynb
```

runs the notebook's visible tests in a fresh kernel (your file is not changed) and
prints each question as passed, failed (with the reason) or not attempted, and each
written answer as "graded by hand" or "no answer yet". Grading runs
the same checks again on other, hidden inputs, so code that only fits the visible ones
loses points. Submit the notebooks as they are: do not rename them or edit test cells.
""")


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(out, manifest, version, allow_dirty=False, commit=None, bumped_from=None):
    files = sorted(p for p in out.rglob("*") if p.is_file())
    record = {
        "course": manifest.get("course_id", "firstmlp"),
        "version": version,
        "source_commit": commit or source_commit(),
        "points": {a["name"]: a["points"] for a in manifest["assignments"]},
        "files": {p.relative_to(out).as_posix(): sha256(p) for p in files},
    }
    if allow_dirty:  # cut from uncommitted changes on purpose (--allow-dirty)
        record["allow_dirty"] = True
    if bumped_from:  # the commit's course.toml said this version; --bump set the new one
        record["version_bumped_from"] = bumped_from
    (out / "manifest.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def add_changelog_entry(version, manifest, changelog=ROOT / "CHANGELOG.md"):
    """Keep a Changelog style: what is under "## Unreleased" moves under a new
    "## Release <version>" heading with a one-line summary; a fresh, empty
    Unreleased section stays on top. Nothing changes if the version has an entry.
    True when the file was changed."""
    text = changelog.read_text() if changelog.exists() else "# Changelog\n"
    heading = f"## Release {version}"
    if heading in text:
        return False
    total = sum(a["points"] for a in manifest["assignments"])
    entry = (f"## Unreleased\n\n{heading}\n\nStudent release in `releases/{version}/`: "
             f"{len(manifest['assignments'])} notebooks, {total} points.\n")
    if "## Unreleased" in text:
        text = text.replace("## Unreleased\n", entry, 1)
    else:
        head, _, rest = text.partition("\n## ")
        text = f"{head.rstrip()}\n\n{entry}\n" + (f"## {rest}" if rest else "")
    changelog.write_text(text)
    return True


VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")


def check_version(version):
    """A version names a folder under releases/: letters, digits and ``. _ + -`` only."""
    if not VERSION.match(version) or ".." in version:
        raise ReleaseError(f"a version is letters, digits and '.', '_', '+', '-' (like 2026.4), "
                           f"not {version!r}")


def version_order(path):
    """Sort key of a release folder (or its manifest) by version: 2026.10 after 2026.9."""
    name = path.parent.name if path.name == "manifest.json" else path.name
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"[._+-]", name)]


def previous_release(out_root, version):
    """The manifest of the newest other release under ``out_root`` (by version order), or None."""
    others = sorted((p for p in Path(out_root).glob("*/manifest.json")
                     if p.parent.name != version), key=version_order)
    for path in reversed(others):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return None


def release_changes(old, new):
    """What a student would notice between two release manifests, in lines."""
    if old is None:
        return ["first release in this folder"]
    lines, old_files, new_files = [], old.get("files", {}), new["files"]
    notebooks = sorted(n for n in {*old_files, *new_files} if n.endswith(".ipynb"))
    for name in notebooks:
        if name not in old_files:
            lines.append(f"{name}: new")
        elif name not in new_files:
            lines.append(f"{name}: removed")
        elif old_files[name] != new_files[name]:
            lines.append(f"{name}: changed")
    for name, points in sorted(new["points"].items()):
        before = old.get("points", {}).get(name)
        if before is not None and before != points:
            lines.append(f"{name}: {before} → {points} points")
    helpers = [n for n in {*old_files, *new_files} if not n.endswith(".ipynb")
               and old_files.get(n) != new_files.get(n)]
    if helpers:
        lines.append(f"{len(helpers)} other files changed ({', '.join(sorted(helpers)[:4])}"
                     f"{', …' if len(helpers) > 4 else ''})")
    total_old, total_new = sum(old.get("points", {}).values()), sum(new["points"].values())
    if total_old != total_new:
        lines.append(f"total {total_old} → {total_new} points")
    return lines or ["no file changed"]


KEPT_RELEASES = 2  # releases/ holds the current release and the one before it


def prune_releases(out_root, keep=KEPT_RELEASES, report=print):
    """Remove all but the ``keep`` newest releases from ``out_root``: what students were
    given lately stays in the tree, older releases stay in git's history
    (``scripts/old-release VERSION`` brings one back). Returns the versions removed."""
    releases = sorted((p.parent for p in Path(out_root).glob("*/manifest.json")), key=version_order)
    removed = releases[:-keep] if len(releases) > keep else []
    for folder in removed:
        shutil.rmtree(folder)
        report(f"releases/{folder.name} removed from the tree (older than the previous release; "
               f"`scripts/old-release {folder.name}` gets it back from git's history)")
    return [folder.name for folder in removed]


def build_release(version, out_root=RELEASES, force=False, changelog=True, report=print,
                  allow_dirty=False, source=(None, None)):
    """Build ``out_root/version``; refuses an existing version unless ``force``.
    ``report`` hears what changed since the previous release and what CHANGELOG.md got;
    ``allow_dirty``: cut from uncommitted changes on purpose, said in the manifest;
    ``source``: (the commit, the version course.toml had before ``--bump`` set it), as
    the command saw them before its own change to course.toml."""
    check_version(version)
    manifest = load_manifest()
    out_root = Path(out_root)
    target = out_root / version
    if target.exists() and not force:
        raise ReleaseError(f"{target} exists; pass --force to rebuild it")
    if manifest["version"] != version:
        print(f"note: course.toml says version {manifest['version']}; releasing as {version}")
    out_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_root, prefix=f".{version}-") as scratch:
        scratch = Path(scratch)
        course_dir, assignments = generate_notebooks(scratch, version)
        out = scratch / version
        out.mkdir()
        copy_notebooks(course_dir, assignments, out)
        copy_helpers(out)
        copy_classroom_workflow(out)
        write_environment(out)
        write_readme(out, manifest, version)
        write_manifest(out, manifest, version, allow_dirty, *source)
        findings = scan_release(out, assignments, source_dir=CourseDir(course_dir).root / "source")
        if findings:
            raise ReleaseError("leak scan failed, release not written:\n  " + "\n  ".join(findings))
        before = previous_release(out_root, version)
        changes = release_changes(before, json.loads((out / "manifest.json").read_text()))
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    since = f" since {before['version']}" if before else ""
    report(f"changes{since}:" + "".join(f"\n  {line}" for line in changes))
    if out_root.resolve() == RELEASES.resolve():
        prune_releases(out_root, report=report)
    if changelog and add_changelog_entry(version, manifest):
        report(f"CHANGELOG.md: the Unreleased notes now stand under '## Release {version}' "
               "(review and commit it)")
    return target
