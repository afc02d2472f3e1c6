"""Project invariants: dependency lists in sync, CI runs the README's test command,
data never committed, every document the code cites is in the repository."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def normalise(requirement):
    name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", requirement.strip()).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    from_env = [r for r in pip if not r.startswith("-e")]
    assert sorted(map(normalise, declared)) == sorted(map(normalise, from_env))
    assert "python=3.11" in env["dependencies"]


def test_importing_nbformat_builds_no_grammar():
    """nbformat imports jsonschema's format checkers; since jsonschema 4.25 they import
    rfc3987-syntax, whose import compiles an Earley parser (1.6 s of every grading,
    building and nbgrader process here). pyproject keeps jsonschema below 4.25."""
    probe = ("import sys, nbformat, nbgrader.apps; "
             "print(sorted(m for m in sys.modules if m.startswith(('rfc3987', 'lark'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def readme_commands():
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_opens_with_the_two_commands():
    assert readme_commands() == ["make run", "make test"]


def test_ci_runs_the_readme_test_command_and_nothing_else():
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    commands = [line for line in lines if not line.startswith(("set ", "cd "))]
    assert commands == [readme_commands()[1]]


def test_no_data_or_venv_is_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    assert not re.search(r"ubyte|\.venv/|\.npz$|\.pt$", tracked, re.M)


def test_course_workflow_runs_the_tests_and_grades_reference_and_blank():
    workflow = yaml.safe_load((ROOT / ".github/workflows/course.yml").read_text())
    steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["test-and-grade"]["steps"])
    assert "make test" in steps and "firstmlp grade-demo" in steps and "MNIST_ROOT" in steps


def test_classroom_template_writes_self_check_to_the_job_summary():
    workflow = yaml.safe_load((ROOT / "templates/classroom.yml").read_text())
    run = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["self-check"]["steps"])
    assert "python -m autograder check" in run and "--markdown" in run
    assert "GITHUB_STEP_SUMMARY" in run


def test_ruff_finds_nothing():
    """The linter's config lives in pyproject.toml; CI runs it through this test."""
    import shutil
    import sys
    ruff = Path(sys.executable).with_name("ruff")
    ruff = str(ruff) if ruff.exists() else shutil.which("ruff")
    assert ruff, "ruff is a dev dependency: run `make setup`"
    result = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_document_the_code_cites_is_in_the_repository():
    """A docstring's "see CONVENTIONS.md" must not point outside the checkout."""
    cited = {(path, name) for folder in ("autograder", "solutions", "course", "bench")
             for path in (ROOT / folder).rglob("*.py")
             for name in re.findall(r"\b([A-Z][A-Z_]+\.md)\b", path.read_text())}
    assert cited, "the pattern found no citation at all"
    missing = sorted(f"{path.relative_to(ROOT)} cites {name}" for path, name in cited
                     if not (ROOT / name).is_file())
    assert not missing, missing


@pytest.mark.slow
def test_pytest_xdist_runs_each_module_in_one_worker_the_heaviest_first():
    """`make test` (two workers, ``--dist loadfile --no-loadscope-reorder``): a module's
    tests share one worker (its module fixtures are made once), and the modules with the
    most tests marked slow are handed out first. Three modules on two workers."""
    import os
    import sys

    from tests.conftest import heaviest_modules_first

    class Item:
        def __init__(self, nodeid, slow):
            self.nodeid, self.keywords = nodeid, {"slow"} if slow else set()

    items = [Item("a.py::t1", False), Item("b.py::t1", True), Item("a.py::t2", False),
             Item("c.py::t1", True), Item("c.py::t2[x]", True)]
    heaviest_modules_first(items)
    assert [i.nodeid for i in items] == ["c.py::t1", "c.py::t2[x]", "b.py::t1", "a.py::t1",
                                         "a.py::t2"]
    assert "XDIST := -n 2 --dist loadfile --no-loadscope-reorder" in (ROOT / "Makefile").read_text()
    modules = ["tests/test_settings.py", "tests/student/test_registry.py",
               "tests/course/test_layering.py"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile",
                             "--no-loadscope-reorder", "-v", "-p", "no:cacheprovider", *modules],
                            cwd=ROOT, env=environment, capture_output=True, text=True)
    workers = {}
    for worker, module in re.findall(r"\[(gw\d)\].*? PASSED (tests/\S+?\.py)::", result.stdout):
        workers.setdefault(module, set()).add(worker)
    assert result.returncode == 0 and set(workers) == set(modules), result.stdout[-3000:]
    assert all(len(found) == 1 for found in workers.values()), workers
