import os
import shutil
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"

if not os.environ.get("MNIST_ROOT") and (SHARED_MNIST / "MNIST" / "raw").is_dir():
    os.environ["MNIST_ROOT"] = str(SHARED_MNIST)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mnist():
    """Full MNIST from MNIST_ROOT (this checkout: ../shared/data/mnist)."""
    if not os.environ.get("MNIST_ROOT"):
        pytest.skip("MNIST_ROOT is not set and ../shared/data/mnist is missing")
    from autograder.student.data import load_mnist
    return load_mnist()


@pytest.fixture(scope="session")
def speech_corpus():
    """Notebook 6's default corpus (made once, ~1 minute, then cached like a student's)."""
    from autograder.student.speech.corpus import ensure_corpus
    from autograder.student.speech.festival import missing
    reason = missing()
    if reason:
        pytest.skip(reason)
    return ensure_corpus(announce=lambda message: None)


@pytest.fixture(scope="session")
def prepared_course(tmp_path_factory):
    """``prepared_course(folder)``: ``folder`` as ``prepare_course`` leaves it, and its
    assignments. generate_assignment (an nbgrader process per notebook, about 2 minutes
    for the six) runs once a session, into a template; each caller gets a copy on which
    ``prepare_course`` itself runs again (the sources rebuilt and compared, the configs
    rewritten for the copy's path), so the folder is what the grader would have made."""
    from autograder.grading.grader import prepare_course
    template = []

    def prepare(folder):
        if not template:
            template.append(tmp_path_factory.mktemp("prepared") / "course")
            prepare_course(template[0])
        shutil.copytree(template[0], folder)
        return prepare_course(folder)
    return prepare
