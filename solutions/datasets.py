"""MNIST and CIFAR-10 loaders returning exactly what ``keras.datasets`` returns.

Lookup order: ``$CNN_COURSE_DATA/<name>.npz`` first, then ``keras.datasets`` (downloads once and caches).
When neither works a :class:`DatasetUnavailableError` says which file or variable to provide.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .config import DATA_ENV, data_dir

# name -> (keras.datasets module, image shape, label shape suffix, number of classes)
_SPECS = {
    "mnist": ("mnist", (28, 28), (), 10),
    "cifar10": ("cifar10", (32, 32, 3), (1,), 10),
}
_KEYS = ("x_train", "y_train", "x_test", "y_test")

MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


class DatasetUnavailableError(RuntimeError):
    """Raised when a data set can be found neither locally nor through ``keras.datasets``."""


class DatasetFormatError(ValueError):
    """Raised when a local ``.npz`` file is corrupt or has the wrong keys, shapes or dtypes."""


def _validate(name: str, arrays: dict[str, np.ndarray], source: str) -> None:
    _, image_shape, label_suffix, n_classes = _SPECS[name]
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise DatasetFormatError(
                f"{source}: x_{split}/y_{split} must be uint8, got {x.dtype}/{y.dtype}")
        if x.ndim != 1 + len(image_shape) or x.shape[1:] != image_shape:
            raise DatasetFormatError(
                f"{source}: x_{split} must have shape (N, {', '.join(map(str, image_shape))}), "
                f"got {x.shape}")
        if y.shape != (x.shape[0], *label_suffix):
            raise DatasetFormatError(
                f"{source}: y_{split} must have shape {(x.shape[0], *label_suffix)} to match "
                f"x_{split}, got {y.shape}")
        if y.size and y.max() >= n_classes:
            raise DatasetFormatError(f"{source}: y_{split} has label {y.max()}, expected 0..{n_classes - 1}")


def _read_npz(name: str, path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _KEYS if k not in data.files]
            if missing:
                raise DatasetFormatError(
                    f"{path}: missing arrays {missing}; expected keys {list(_KEYS)}")
            arrays = {k: data[k] for k in _KEYS}
    except DatasetFormatError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, EOFError, OSError, ValueError...
        raise DatasetFormatError(f"{path}: not a readable .npz file ({exc})") from exc
    _validate(name, arrays, str(path))
    return arrays


def _read_keras(name: str) -> dict[str, np.ndarray]:
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, _SPECS[name][0]).load_data()
    except Exception as exc:
        directory = data_dir()
        where = (f"{DATA_ENV}={directory} has no {name}.npz" if directory
                 else f"{DATA_ENV} is not set")
        raise DatasetUnavailableError(
            f"Cannot load {name}: {where}, and keras.datasets could not download it ({exc}). "
            f"Set {DATA_ENV} to a directory containing {name}.npz "
            f"(arrays {', '.join(_KEYS)} as keras.datasets.{name}.load_data() returns them), "
            f"or connect to the internet once so Keras can download and cache it.") from exc
    return dict(zip(_KEYS, (x_train, y_train, x_test, y_test)))


@functools.lru_cache(maxsize=2)
def _read_npz_once(name: str, path: Path, mtime_ns: int, size: int) -> dict[str, np.ndarray]:
    """:func:`_read_npz`, kept in memory: chapters load the same file several times (read-only
    arrays, so no caller can change what the next one gets; a changed file has a new key)."""
    arrays = _read_npz(name, path)
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def _load(name: str, n_train: int | None, n_test: int | None, seed: int | None):
    directory = data_dir()
    path = directory / f"{name}.npz" if directory else None
    if path is not None and path.exists():
        stat = path.stat()
        arrays = _read_npz_once(name, path.resolve(), stat.st_mtime_ns, stat.st_size)
    else:
        arrays = _read_keras(name)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if n is not None and not 0 < n <= len(x):
            raise ValueError(f"n_{split} must be between 1 and {len(x)}, got {n}")
        if seed is not None:
            order = np.random.default_rng(seed).permutation(len(x))
            x, y = x[order], y[order]
        if n is not None:
            x, y = x[:n], y[:n]
        # The caller's own writable arrays (a permutation has copied already; slices have not).
        out.append(tuple(a if a.flags.writeable else a.copy() for a in (x, y)))
    return tuple(out)


def load_mnist(n_train: int | None = None, n_test: int | None = None, seed: int | None = None):
    """MNIST digits as ``keras.datasets.mnist.load_data()`` returns them.

    Returns ``(x_train, y_train), (x_test, y_test)``: x uint8 (N, 28, 28), y uint8 (N,).
    ``n_train``/``n_test`` keep the first n images, after a shuffle seeded by ``seed`` when given.
    """
    return _load("mnist", n_train, n_test, seed)


def load_cifar10(n_train: int | None = None, n_test: int | None = None, seed: int | None = None):
    """CIFAR-10 as ``keras.datasets.cifar10.load_data()`` returns it.

    Returns ``(x_train, y_train), (x_test, y_test)``: x uint8 (N, 32, 32, 3), y uint8 (N, 1).
    ``n_train``/``n_test`` keep the first n images, after a shuffle seeded by ``seed`` when given.
    """
    return _load("cifar10", n_train, n_test, seed)
