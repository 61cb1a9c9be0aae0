"""Loaders return keras.datasets' layout from $CNN_COURSE_DATA, and fail clearly otherwise."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solutions import datasets
from solutions.config import DATA_ENV

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
_real_dir = Path(__import__("os").environ.get(DATA_ENV) or SHARED)
needs_real_data = pytest.mark.skipif(
    not (_real_dir / "mnist.npz").exists(),
    reason=f"real data not found: set {DATA_ENV} to the directory holding mnist.npz and cifar10.npz")


@pytest.fixture
def real_data(monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(_real_dir))


@needs_real_data
def test_mnist_matches_keras_layout_and_published_counts(real_data):
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    # Per-class counts of the official MNIST (SOURCES.md), and the first image of each split.
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert (y_train[0], y_test[0]) == (5, 7)


@needs_real_data
def test_cifar10_matches_keras_layout(real_data):
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10()
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert y_train.shape == (50000, 1) and y_test.shape == (10000, 1)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train[:, 0]).tolist() == [5000] * 10
    assert np.bincount(y_test[:, 0]).tolist() == [1000] * 10
    assert len(datasets.CIFAR10_CLASSES) == 10


@needs_real_data
def test_subsets_and_seeded_shuffle(real_data):
    (x_a, y_a), (xt_a, _) = datasets.load_mnist(n_train=100, n_test=20, seed=3)
    (x_b, y_b), _ = datasets.load_mnist(n_train=100, n_test=20, seed=3)
    (x_c, _), _ = datasets.load_mnist(n_train=100, seed=4)
    (x_first, _), _ = datasets.load_mnist(n_train=100)
    assert x_a.shape == (100, 28, 28) and xt_a.shape == (20, 28, 28) and y_a.shape == (100,)
    np.testing.assert_array_equal(x_a, x_b)
    np.testing.assert_array_equal(y_a, y_b)
    assert not np.array_equal(x_a, x_c)
    (x_all, _), _ = datasets.load_mnist()
    np.testing.assert_array_equal(x_first, x_all[:100])  # no seed: the original order


def _write_mnist(path: Path, **overrides):
    arrays = {
        "x_train": np.zeros((4, 28, 28), np.uint8), "y_train": np.arange(4, dtype=np.uint8),
        "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.arange(2, dtype=np.uint8),
    }
    arrays.update(overrides)
    np.savez(path / "mnist.npz", **{k: v for k, v in arrays.items() if v is not None})


def test_small_local_file_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    _write_mnist(tmp_path)
    (x, y), (xt, yt) = datasets.load_mnist()
    assert x.shape == (4, 28, 28) and y.tolist() == [0, 1, 2, 3] and xt.shape == (2, 28, 28)


def test_repeated_loads_are_independent_and_see_a_changed_file(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    _write_mnist(tmp_path)
    (x, y), _ = datasets.load_mnist()
    x[:] = 255  # a caller changing its arrays must not change what the next load returns
    y += 1
    (x2, y2), _ = datasets.load_mnist(n_train=2)
    assert x2.max() == 0 and y2.tolist() == [0, 1] and x2.flags.writeable
    _write_mnist(tmp_path, y_train=np.array([3, 2, 1, 0], np.uint8), x_test=np.ones((5, 28, 28), np.uint8),
                 y_test=np.arange(5, dtype=np.uint8))
    (_, y3), (xt3, _) = datasets.load_mnist()
    assert y3.tolist() == [3, 2, 1, 0] and xt3.shape == (5, 28, 28)


@pytest.mark.parametrize("overrides, message", [
    ({"y_test": None}, r"missing arrays \['y_test'\]"),
    ({"x_train": np.zeros((4, 28, 27), np.uint8)}, r"x_train must have shape \(N, 28, 28\)"),
    ({"x_train": np.zeros((4, 28, 28), np.float32)}, "must be uint8"),
    ({"y_train": np.arange(3, dtype=np.uint8)}, r"y_train must have shape \(4,\)"),
    ({"y_train": np.array([0, 1, 2, 10], np.uint8)}, "label 10"),
])
def test_wrong_arrays_give_clear_errors(tmp_path, monkeypatch, overrides, message):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    _write_mnist(tmp_path, **overrides)
    with pytest.raises(datasets.DatasetFormatError, match=message):
        datasets.load_mnist()


def test_corrupt_file_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    (tmp_path / "cifar10.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(datasets.DatasetFormatError, match="not a readable .npz file"):
        datasets.load_cifar10()


def test_bad_subset_size(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    _write_mnist(tmp_path)
    with pytest.raises(ValueError, match="n_train must be between 1 and 4"):
        datasets.load_mnist(n_train=5)


def test_missing_everywhere_says_what_to_set(tmp_path, monkeypatch):
    """No local file and no download (keras fails): the error names the file and the variable."""
    monkeypatch.setenv(DATA_ENV, str(tmp_path))

    # Simulate keras.datasets failing without touching the network.
    import keras

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(datasets.DatasetUnavailableError) as info:
        datasets.load_mnist()
    text = str(info.value)
    assert DATA_ENV in text and "mnist.npz" in text and "network unreachable" in text


def test_unset_variable_is_named_in_the_error(monkeypatch):
    import keras

    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(datasets.DatasetUnavailableError, match=f"{DATA_ENV} is not set"):
        datasets.load_cifar10()
