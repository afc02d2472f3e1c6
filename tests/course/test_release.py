"""Releases: fresh against course/ + solutions/, byte-identical on rebuild, never
overwritten by accident, leak-free (and a planted leak is caught), and the student
self-check works from the release's own files."""

import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course.build import ROOT, load_manifest
from autograder.course.leaks import scan_release
from autograder.course.release import RELEASES, ReleaseError, build_release

pytestmark = pytest.mark.slow
MANIFEST = load_manifest()
VERSION = MANIFEST["version"]
ASSIGNMENTS = [a["name"] for a in MANIFEST["assignments"]]
COMMITTED = RELEASES / VERSION


@pytest.fixture(scope="module", autouse=True)
def generated_once(generated):
    """build_release's generate_assignment step taken from the session's generated course
    (``generated``: the same nbgrader output for the same source notebooks, which each
    build still makes and compares), not run again for each of this module's builds."""
    import autograder.course.release as release
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(release, "generate_assignments", generated)
        yield


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    return build_release(VERSION, out_root=tmp_path_factory.mktemp("releases"), changelog=False)


def files_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def without_commit(manifest_bytes):
    """The manifest without where it was cut from (the commit, and the version that
    ``--bump`` replaced): a rebuild from a later commit has the same content."""
    manifest = json.loads(manifest_bytes)
    manifest.pop("source_commit")
    manifest.pop("version_bumped_from", None)
    return manifest


def test_committed_release_is_not_stale(fresh):
    assert COMMITTED.is_dir(), f"releases/{VERSION} is missing: run `make release`"
    built, committed = files_of(fresh), files_of(COMMITTED)
    assert sorted(built) == sorted(committed), "file list differs: run `make release FORCE=1`"
    stale = [name for name in built if name != "manifest.json" and built[name] != committed[name]]
    assert not stale, f"releases/{VERSION} is stale in {stale}: run `make release FORCE=1`"
    assert without_commit(built["manifest.json"]) == without_commit(committed["manifest.json"])


def test_rebuilding_gives_byte_identical_files_and_says_what_changed(fresh, tmp_path):
    """The release reports, against the newest other release beside it, which notebooks
    are new, changed or gone and whose points moved."""
    manifest = json.loads((fresh / "manifest.json").read_text())
    older = dict(manifest, version="2026.0", files=dict(manifest["files"]),
                 points=dict(manifest["points"]))
    first, second, *_ = ASSIGNMENTS
    del older["files"][f"{first}.ipynb"]
    older["files"][f"{second}.ipynb"] = "0" * 64
    older["files"]["00_gone.ipynb"] = "0" * 64
    older["points"][second] += 3
    (tmp_path / "2026.0").mkdir()
    (tmp_path / "2026.0" / "manifest.json").write_text(json.dumps(older))
    heard = []
    again = build_release(VERSION, out_root=tmp_path, changelog=False, report=heard.append)
    assert files_of(again) == files_of(fresh)
    points = manifest["points"][second]
    assert heard == ["changes since 2026.0:\n  00_gone.ipynb: removed\n"
                     f"  {first}.ipynb: new\n  {second}.ipynb: changed\n"
                     f"  {second}: {points + 3} → {points} points\n"
                     f"  total {sum(older['points'].values())} → {sum(manifest['points'].values())} points"]


def test_the_changelog_entry_is_reported(tmp_path):
    from autograder.course.release import add_changelog_entry
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## Unreleased\n\n- a fix\n\n## Release 2026.0\n")
    assert add_changelog_entry("2026.9", MANIFEST, changelog)
    text = changelog.read_text()
    assert text.index("## Unreleased") < text.index("## Release 2026.9") < text.index("- a fix")
    assert not add_changelog_entry("2026.9", MANIFEST, changelog)  # once only
    assert changelog.read_text() == text


def test_the_newest_other_release_is_compared(tmp_path):
    from autograder.course.release import previous_release
    for version in ("2026.9", "2026.10", "2026.2", "2027.1"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "manifest.json").write_text(json.dumps({"version": version}))
    assert previous_release(tmp_path, "2027.1")["version"] == "2026.10"
    assert previous_release(tmp_path, "2028.1")["version"] == "2027.1"


def test_existing_version_is_not_overwritten_without_force(fresh):
    before = files_of(fresh)
    with pytest.raises(ReleaseError, match="exists; pass --force"):
        build_release(VERSION, out_root=fresh.parent, changelog=False)
    assert files_of(fresh) == before


def test_manifest_hashes_points_and_notebook_versions(fresh):
    import hashlib
    manifest = json.loads((fresh / "manifest.json").read_text())
    assert manifest["version"] == VERSION and len(manifest["source_commit"]) >= 40
    assert manifest["points"] == {a["name"]: a["points"] for a in MANIFEST["assignments"]}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((fresh / name).read_bytes()).hexdigest() == digest
    assert set(files_of(fresh)) - set(manifest["files"]) == {"manifest.json"}
    for assignment in ASSIGNMENTS:
        notebook = nbformat.read(str(fresh / f"{assignment}.ipynb"), as_version=4)
        assert notebook.metadata["firstmlp"] == {"assignment": assignment,
                                                 "course_version": VERSION}


def test_changelog_entry_takes_the_unreleased_items_once(tmp_path):
    from autograder.course.release import add_changelog_entry
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## Unreleased\n\n- notebook 1\n\n## Release 2025.2\n\nold\n")
    add_changelog_entry("2026.1", MANIFEST, changelog)
    add_changelog_entry("2026.1", MANIFEST, changelog)
    text = changelog.read_text()
    assert text.count("## Release 2026.1") == 1 and text.count("## Unreleased") == 1
    assert text.index("## Unreleased") < text.index("## Release 2026.1") < text.index(
        "- notebook 1") < text.index("## Release 2025.2")
    assert f"{sum(a['points'] for a in MANIFEST['assignments'])} points" in text


def test_committed_release_passes_the_leak_scan():
    assert scan_release(COMMITTED, ASSIGNMENTS) == []


def plant(release, tmp_path, how):
    copy = tmp_path / "planted"
    shutil.copytree(release, copy)
    how(copy)
    return scan_release(copy, ASSIGNMENTS)


def add_cell(path, source):
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(source))
    nbformat.write(notebook, str(path))


def append(path, text):
    path.write_text(path.read_text() + text)


RELU_BODY = "        self.positive = x > 0\n        return np.maximum(x, 0)\n"
CE_BODY = ("        logp = log_softmax(logits)\n        self.probs = np.exp(logp)\n"
           "        self.target = as_target_distribution(target, logits.shape[-1], logits.dtype)\n"
           "        return -np.sum(self.target * logp) / logits.shape[0]\n")
PLANTS = {
    "solution body in a notebook": (lambda r: add_cell(r / "05_mnist_mlp.ipynb", CE_BODY),
                                    "contains solution code"),
    "solution body in a helper": (lambda r: append(r / "autograder" / "student" / "plots.py", RELU_BODY),
                                  "plots.py: contains solution code"),
    "hidden test": (lambda r: add_cell(r / "02_activations.ipynb",
                                       f"check_maxout(Maxout, seed={load_manifest()['hidden_seed']}).assert_passed()"),
                    "contains hidden test"),
    "solution marker": (lambda r: append(r / "autograder" / "student" / "data.py", "\n### BEGIN SOLUTION\n"),
                        "grading marker 'BEGIN SOLUTION'"),
    "import of solutions": (lambda r: append(r / "autograder" / "student" / "oracle.py",
                                             "\nfrom solutions import Linear\n"),
                            "imports the hidden 'solutions' package"),
    "instructor-only file": (lambda r: shutil.copy(ROOT / "autograder" / "course" / "reference.py",
                                                   r / "autograder" / "student" / "reference.py"),
                             "autograder/student/reference.py: not a student file"),
    "instructor-only folder": (lambda r: shutil.copytree(ROOT / "autograder" / "grading",
                                                         r / "autograder" / "grading"),
                               "autograder/grading/grader.py: not a student file"),
    "gradebook": (lambda r: (r / "gradebook.db").write_bytes(b"SQLite format 3"),
                  "gradebook.db: not a student file"),
}


@pytest.mark.parametrize("name", PLANTS)
def test_planted_leak_is_found(fresh, tmp_path, name):
    how, expected = PLANTS[name]
    findings = plant(fresh, tmp_path, how)
    assert any(expected in f for f in findings), findings


def self_check(folder, notebook):
    done = subprocess.run([sys.executable, "-m", "autograder", "check", notebook], cwd=folder,
                          capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout


def test_self_check_runs_from_the_release_alone(fresh, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(fresh, student)
    where = subprocess.run([sys.executable, "-c", "import autograder.student.oracle as o; print(o.__file__)"],
                           cwd=student, capture_output=True, text=True).stdout
    assert where.startswith(str(student))
    path = student / "01_perceptron.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    cells = {c.id: c for c in notebook.cells}
    cells["weighted_sum"].source = "def weighted_sum(X, w, b):\n    return X @ w + b"
    cells["step"].source = "def step(z):\n    return (z > 0).astype(float)"
    nbformat.write(notebook, str(path))
    before = path.read_bytes()
    status, out = self_check(student, "01_perceptron.ipynb")
    assert status == 1 and path.read_bytes() == before
    rows = {line.split()[0]: line.split()[2:] for line in out.splitlines()
            if line.startswith("test_") and line.split()[1].isdigit()}
    assert rows["test_weighted_sum"] == ["passed"]
    assert rows["test_step"] == ["failed"]
    assert rows["test_perceptron_update"] == ["not", "attempted"]
    assert "test_step failed:\n  step: " in out and "worst at index" in out and "CheckFailed" not in out
    assert "Points from the visible tests: 2/10." in out


def test_markdown_self_check_for_the_classroom_workflow(fresh, tmp_path):
    assert (fresh / ".github" / "workflows" / "classroom.yml").is_file()
    student = tmp_path / "student"
    shutil.copytree(fresh, student)
    done = subprocess.run([sys.executable, "-m", "autograder", "check", "03_loss_and_gradient_descent.ipynb",
                           "--markdown"], cwd=student, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    assert done.stdout.startswith("### 03_loss_and_gradient_descent.ipynb: 0/8 points")
    assert "| test_mse | 2 | not attempted |" in done.stdout


def test_self_check_explains_a_missing_notebook(fresh):
    status, _ = self_check(fresh, "nope.ipynb")
    assert status == 2


def test_releases_keeps_the_current_and_the_previous_release_and_prunes_older_ones(tmp_path):
    from autograder.course.release import KEPT_RELEASES, prune_releases
    for version in ("2026.1", "2026.2", "2026.9", "2026.10"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "manifest.json").write_text(json.dumps({"version": version}))
    (tmp_path / "notes").mkdir()  # not a release: never touched
    said = []
    assert prune_releases(tmp_path, report=said.append) == ["2026.1", "2026.2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026.10", "2026.9", "notes"]
    assert len(said) == 2 and "scripts/old-release 2026.1" in said[0]
    assert KEPT_RELEASES == 2 and prune_releases(tmp_path) == []


def test_the_repository_holds_the_current_and_the_previous_release():
    from autograder.course.release import KEPT_RELEASES, version_order
    kept = sorted((p.parent for p in RELEASES.glob("*/manifest.json")), key=version_order)
    assert len(kept) <= KEPT_RELEASES, f"releases/ keeps {[p.name for p in kept]}: prune older ones"
    assert kept[-1].name == VERSION


def test_an_older_release_comes_back_from_git_history(tmp_path):
    git = ["git", "-C", str(ROOT)]
    if subprocess.run([*git, "rev-parse", "--is-shallow-repository"], capture_output=True,
                      text=True).stdout.strip() != "false":
        pytest.skip("not a full git clone: older releases live in its history")
    done = subprocess.run([str(ROOT / "scripts" / "old-release"), "2026.7", str(tmp_path / "old")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    assert manifest["version"] == "2026.7" and (tmp_path / "old" / "01_perceptron.ipynb").is_file()
    missing = subprocess.run([str(ROOT / "scripts" / "old-release"), "1999.1", str(tmp_path / "x")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no release 1999.1" in missing.stderr
