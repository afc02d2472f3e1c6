import os
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
    from autograder.student.speech.festival import missing
    from autograder.student.speech.corpus import ensure_corpus
    reason = missing()
    if reason:
        pytest.skip(reason)
    return ensure_corpus(announce=lambda message: None)
