"""mypy over autograder/ (pyproject.toml's [tool.mypy]: strict on sandbox/ and grading/)
passes, so a type error fails the tests even where ``make test`` is not what runs them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_on_autograder():
    mypy = Path(sys.executable).with_name("mypy")
    if not mypy.exists() and not shutil.which("mypy"):
        pytest.fail("mypy is a dev dependency: run `make setup`")
    done = subprocess.run([str(mypy) if mypy.exists() else "mypy"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
