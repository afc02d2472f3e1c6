"""Labels withheld while graded (issue 20, ``sandbox.data_view``): the student side
reads what the sandbox shows and says what it does not — MNIST's test labels come back
as -1 with one line, a withheld speech split raises ``LabelsWithheld``, the accuracy
checks in the kernel say the grader measures them — and the record does not compare
such a cell's kernel run with the grader's verdict."""

import json
import shutil

import numpy as np
import pytest

from autograder.student import data as D
from autograder.student.components import check_frame_accuracy, check_mnist_accuracy
from autograder.student.speech.corpus import read_split


@pytest.fixture
def mnist_without_test_labels(tmp_path):
    """A small MNIST folder as the sandbox shows it: three of the four files."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 20)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    D.write_idx(raw / "train-images-idx3-ubyte", images[:20])
    D.write_idx(raw / "train-labels-idx1-ubyte", labels)
    D.write_idx(raw / "t10k-images-idx3-ubyte", images[20:])
    return tmp_path, images, labels


def test_mnist_without_test_labels_loads_with_every_test_label_withheld(
        mnist_without_test_labels, monkeypatch):
    root, images, labels = mnist_without_test_labels
    monkeypatch.setenv("MNIST_ROOT", str(root))
    said = []
    data = D.load_mnist(announce=said.append)
    assert np.array_equal(data.X_train, D.normalise(images[:20]))
    assert np.array_equal(data.X_test, D.normalise(images[20:]))
    assert np.array_equal(data.y_train, labels) and data.y_train.dtype == np.int64
    assert data.y_test.tolist() == [D.WITHHELD] * 10 and D.is_withheld(data.y_test)
    assert len(said) == 1 and "the grader measures it" in said[0]
    assert not D.is_withheld(data.y_train)


def test_the_kernels_accuracy_check_says_the_grader_measures_it(mnist_without_test_labels,
                                                                monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(mnist_without_test_labels[0]))
    data = D.load_mnist(announce=lambda message: None)
    verdict = check_mnist_accuracy(lambda X: np.zeros((len(X), 10)), data.X_test, data.y_test,
                                   0.97)
    assert verdict.passed and "withheld" in str(verdict)


@pytest.fixture
def corpus_without_test(speech_corpus, tmp_path):
    """The corpus as the sandbox shows it: its manifest names a test split it lacks."""
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(speech_corpus / "manifest.json", root)
    shutil.copytree(speech_corpus / "dev", root / "dev")
    return root


def test_a_withheld_speech_split_says_so(corpus_without_test, tmp_path):
    assert json.loads((corpus_without_test / "manifest.json").read_text())["splits"]["test"]
    with pytest.raises(D.LabelsWithheld, match="the grader measures on it itself"):
        read_split(corpus_without_test / "test")
    assert len(read_split(corpus_without_test / "dev")[1]) > 0
    with pytest.raises(FileNotFoundError) as error:  # no corpus at all: not "withheld"
        read_split(tmp_path / "nothing" / "test")
    assert not isinstance(error.value, D.LabelsWithheld)
    verdict = check_frame_accuracy(lambda X: np.zeros((len(X), 40)), 2, root=corpus_without_test)
    assert verdict.passed and "withheld" in str(verdict)


def test_a_cell_not_measured_in_the_notebook_is_not_compared(tmp_path):
    from autograder.grading.record import GradingRecord
    record = GradingRecord(tmp_path, "kim", "05_mnist_mlp")
    record.cell("test_torch_accuracy", "not measured (the test labels are withheld from the "
                "notebook)", False, "failed")
    assert record.data["flags"] == []
    record.cell("test_sgd", "passed", False, "failed")
    assert record.data["flags"] == ["test_sgd: your notebook's own test passed, the grader's "
                                    "check failed — review"]
