"""Two small classifiers trained from scratch in NumPy with hand-written backpropagation (chapter 8).

* :class:`DenseNet`: flatten -> dense(hidden) -> ReLU -> dense(10).
* :class:`ConvNet`: conv(K kernels, k x k, valid) -> tanh -> max-pool 2x2 -> flatten -> inverted
  dropout -> dense(10).

Both take NHWC image batches ``x`` of shape (N, 28, 28, 1) with values in [0, 1] and return logits
(N, 10).  Every layer's forward and backward pass is a function of :mod:`solutions` (``conv2d``,
``conv2d_backward``, ``max_pool2d``, ``dropout``, ...); this module only wires them together and adds
the training loop.  Parameters live in a plain ``dict`` of arrays so that a gradient check can
perturb them in place.

``scripts/run_numpy_experiment.py`` runs the full experiment of the chapter (1,000 training images,
the 10,000 test images) through :func:`main` and records it in ``book/results/numpy_experiment.json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import cpu_model
from .conv import conv2d, conv2d_backward
from .layers import dropout, dropout_backward, relu, softmax_cross_entropy
from .pooling import max_pool2d, max_pool2d_backward


def init_params(seed: int = 0) -> dict:
    """He-initialised parameters of exercise 08's network (conv 3x3x8 -> pool -> dense 10).

    Returns ``{"W1": (3, 3, 1, 8), "b1": (8,), "W2": (13 * 13 * 8, 10), "b2": (10,)}`` (float64).
    """
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((3, 3, 1, 8)) * np.sqrt(2 / 9), "b1": np.zeros(8),
            "W2": rng.standard_normal((13 * 13 * 8, 10)) * np.sqrt(2 / (13 * 13 * 8)), "b2": np.zeros(10)}


def relative_error(a, b):
    """Gradient-check measure ``||a - b|| / (||a|| + ||b||)`` (Euclidean norms over all elements).

    Relative, so that it means the same for tiny and huge gradients; computed over the whole array
    rather than element by element, so that entries that are nearly zero (where a centred
    difference has no correct digits) cannot dominate it.  In float64 a correct analytic gradient
    agrees with a centred difference of step 1e-5 to about 1e-10.  Returns 0.0 when both are zero.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


# The recorded full run that chapter 8 cites (written by scripts/run_numpy_experiment.py).
RESULTS_FILE = Path(__file__).resolve().parents[1] / "book" / "results" / "numpy_experiment.json"


def load_recorded_run(path=RESULTS_FILE):
    """The recorded full-run results (the dict :func:`main` writes) from ``path``."""
    return json.loads(Path(path).read_text())


def _he(rng, fan_in, shape, dtype):
    """Gaussian weights with variance 2 / fan_in, He et al.'s scale for ReLU layers (used for tanh too)."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def _check_images(x):
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(f"x must be a batch of MNIST images (N, 28, 28, 1), got shape {x.shape}")
    return x


class DenseNet:
    """784 -> ``hidden`` (ReLU) -> 10, fully connected.

    Parameters ``params``: ``W1`` (784, hidden), ``b1`` (hidden,), ``W2`` (hidden, 10), ``b2`` (10,).
    """

    def __init__(self, hidden=100, seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": _he(rng, 784, (784, hidden), dtype),
            "b1": np.zeros(hidden, dtype),
            "W2": _he(rng, hidden, (hidden, 10), dtype),
            "b2": np.zeros(10, dtype),
        }

    def forward(self, x, training=False, rng=None):
        """x (N, 28, 28, 1) -> (logits (N, 10), cache for :meth:`backward`). No randomness here."""
        p = self.params
        flat = _check_images(x).reshape(len(x), -1).astype(p["W1"].dtype, copy=False)  # (N, 784)
        z1 = flat @ p["W1"] + p["b1"]  # (N, hidden)
        h1 = relu(z1)
        return h1 @ p["W2"] + p["b2"], (flat, z1, h1)

    def backward(self, dlogits, cache):
        """dlogits (N, 10) -> dict of gradients with the shapes of ``params``."""
        flat, z1, h1 = cache
        p = self.params
        dh1 = dlogits @ p["W2"].T  # (N, hidden)
        dz1 = dh1 * (z1 > 0)  # ReLU passes the gradient only where it was active
        return {"W1": flat.T @ dz1, "b1": dz1.sum(0), "W2": h1.T @ dlogits, "b2": dlogits.sum(0)}


class ConvNet:
    """conv(``kernels`` x ``kernel_size``^2, valid) -> tanh -> max-pool 2x2 -> flatten -> dropout -> dense(10).

    Parameters ``params``: ``K`` (k, k, 1, kernels) HWIO, ``bk`` (kernels,), ``W`` (F, 10), ``b`` (10,)
    with ``F = ((28 - k + 1) // 2) ** 2 * kernels`` pooled features.  ``rate`` is the dropout
    probability applied to those features during training (0 disables dropout).
    """

    def __init__(self, kernels=16, kernel_size=3, rate=0.5, seed=0, dtype=np.float32):
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        rng = np.random.default_rng(seed)
        k = kernel_size
        self.rate = rate
        self.pooled = (28 - k + 1) // 2
        features = self.pooled**2 * kernels
        self.params = {
            "K": _he(rng, k * k, (k, k, 1, kernels), dtype),
            "bk": np.zeros(kernels, dtype),
            "W": _he(rng, features, (features, 10), dtype),
            "b": np.zeros(10, dtype),
        }

    def forward(self, x, training=False, rng=None):
        """x (N, 28, 28, 1) -> (logits (N, 10), cache). Dropout acts only when ``training``."""
        p = self.params
        x = _check_images(x).astype(p["K"].dtype, copy=False)
        a = np.tanh(conv2d(x, p["K"], p["bk"]))  # (N, 28-k+1, 28-k+1, kernels)
        pooled = max_pool2d(a, 2)  # (N, pooled, pooled, kernels); odd last row/column dropped
        flat = pooled.reshape(len(x), -1)  # (N, F)
        dropped, mask = dropout(flat, self.rate, rng=rng, training=training)
        return dropped @ p["W"] + p["b"], (x, a, dropped, mask)

    def backward(self, dlogits, cache):
        """dlogits (N, 10) -> dict of gradients with the shapes of ``params``."""
        x, a, dropped, mask = cache
        p = self.params
        dflat = dropout_backward(dlogits @ p["W"].T, mask)  # (N, F)
        dpooled = dflat.reshape(len(x), self.pooled, self.pooled, -1)
        da = max_pool2d_backward(dpooled, a, 2)
        dz = da * (1 - a * a)  # tanh'(z) = 1 - tanh(z)^2, computed from the stored output
        _, dK, dbk = conv2d_backward(dz, x, p["K"])
        return {"K": dK, "bk": dbk, "W": dropped.T @ dlogits, "b": dlogits.sum(0)}


def param_count(model):
    """Number of trainable numbers in ``model.params``."""
    return int(sum(v.size for v in model.params.values()))


def loss_and_grads(model, x, y, training=True, rng=None):
    """Mean cross-entropy of ``model`` on (x (N, 28, 28, 1), y (N,)) and its gradients (dict)."""
    logits, cache = model.forward(x, training=training, rng=rng)
    loss, dlogits = softmax_cross_entropy(logits, y)
    return loss, model.backward(dlogits.astype(logits.dtype, copy=False), cache)


def evaluate(model, x, y, batch_size=1000):
    """(accuracy, mean loss) of ``model`` in inference mode on x (N, 28, 28, 1), y (N,)."""
    correct, total_loss = 0, 0.0
    for i in range(0, len(x), batch_size):
        logits, _ = model.forward(x[i : i + batch_size], training=False)
        yb = y[i : i + batch_size]
        correct += int((logits.argmax(1) == yb).sum())
        total_loss += softmax_cross_entropy(logits, yb)[0] * len(yb)
    return correct / len(x), total_loss / len(x)


@dataclass
class History:
    """Per-epoch record of one training run (lists have one entry per epoch)."""

    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    train_seconds: float = 0.0  # optimisation steps only
    eval_seconds: float = 0.0  # the per-epoch accuracy/loss measurements for the curves
    train_cpu_seconds: float = 0.0  # CPU time of the process during the steps (all threads)


def train(model, x_train, y_train, x_test, y_test, epochs=20, batch_size=32, lr=0.1, seed=0,
          every_epoch=True):
    """Mini-batch SGD on softmax cross-entropy; measure train and test accuracy after every epoch.

    The training set is shuffled every epoch; updates are ``param -= lr * grad``.  Training accuracy
    is measured in inference mode (no dropout) on the whole training set so that it compares
    directly with test accuracy.  With ``every_epoch=False`` only the last epoch is measured (the
    lists then have one entry).  Returns a :class:`History`.
    """
    for xs, ys, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(xs) != len(ys):
            raise ValueError(f"x_{split} has {len(xs)} images but y_{split} has {len(ys)} labels")
    if not (isinstance(epochs, int) and epochs >= 1 and isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"epochs and batch_size must be positive integers, got {epochs!r} and {batch_size!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    rng = np.random.default_rng(seed)
    hist = History()
    n = len(x_train)
    for epoch in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        order = rng.permutation(n)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            _, grads = loss_and_grads(model, x_train[idx], y_train[idx], training=True, rng=rng)
            for name, g in grads.items():
                model.params[name] -= lr * g
        hist.train_seconds += time.perf_counter() - t0
        hist.train_cpu_seconds += time.process_time() - c0
        if not every_epoch and epoch < epochs - 1:
            continue
        t0 = time.perf_counter()
        for split, (xs, ys) in {"train": (x_train, y_train), "test": (x_test, y_test)}.items():
            acc, loss = evaluate(model, xs, ys)
            getattr(hist, f"{split}_acc").append(acc)
            getattr(hist, f"{split}_loss").append(loss)
        hist.eval_seconds += time.perf_counter() - t0
    return hist


def mnist_arrays(n_train=1000, n_test=None, dtype=np.float32):
    """The *first* ``n_train`` MNIST training images and the first ``n_test`` test images (None: all).

    Returns x_train (n_train, 28, 28, 1) in [0, 1], y_train (n_train,) int64, x_test, y_test.
    """
    from .datasets import load_mnist

    (x_tr, y_tr), (x_te, y_te) = load_mnist()
    n_test = len(x_te) if n_test is None else n_test

    def prep(x):
        return (x[..., None] / dtype(255)).astype(dtype)

    return prep(x_tr[:n_train]), y_tr[:n_train].astype(np.int64), prep(x_te[:n_test]), y_te[:n_test].astype(np.int64)


# Settings of the published experiment; quick mode only shortens it (see ``experiment_settings``).
FULL = {"epochs": 20, "batch_size": 32, "dense_lr": 0.1, "conv_lr": 0.05, "rate": 0.5,
        "hidden": 100, "kernels": 16, "kernel_size": 5, "n_test": None, "extra_seeds": [1, 2, 3]}
QUICK = {**FULL, "epochs": 2, "n_test": 1000, "extra_seeds": []}


def experiment_settings(quick):
    """The FULL settings, or QUICK ones (fewer epochs, first 1,000 test images) when ``quick``."""
    return dict(QUICK if quick else FULL)


def run_experiment(settings, seed=0):
    """Train the dense net, the convnet with dropout and the convnet without dropout.

    Returns ``{name: (model, History)}`` with names ``"dense"``, ``"conv"``, ``"conv_no_dropout"``.
    """
    s = settings
    data = mnist_arrays(1000, s["n_test"])
    runs = {
        "dense": (DenseNet(s["hidden"], seed=seed), s["dense_lr"]),
        "conv": (ConvNet(s["kernels"], s["kernel_size"], s["rate"], seed=seed), s["conv_lr"]),
        "conv_no_dropout": (ConvNet(s["kernels"], s["kernel_size"], 0.0, seed=seed), s["conv_lr"]),
    }
    return {name: (model, train(model, *data, epochs=s["epochs"], batch_size=s["batch_size"], lr=lr, seed=seed))
            for name, (model, lr) in runs.items()}


def dropout_seed_study(settings):
    """Final test accuracy of the convnet with and without dropout for each of ``settings["extra_seeds"]``.

    Shows how much of the dropout/no-dropout difference is just the luck of the initialisation and
    the shuffling.  Returns ``{"seeds": [...], "with_dropout": [...], "without_dropout": [...]}``.
    """
    s = settings
    data = mnist_arrays(1000, s["n_test"])
    out = {"seeds": list(s["extra_seeds"]), "with_dropout": [], "without_dropout": []}
    for seed in s["extra_seeds"]:
        for key, rate in (("with_dropout", s["rate"]), ("without_dropout", 0.0)):
            model = ConvNet(s["kernels"], s["kernel_size"], rate, seed=seed)
            hist = train(model, *data, epochs=s["epochs"], batch_size=s["batch_size"], lr=s["conv_lr"],
                         seed=seed, every_epoch=False)
            out[key].append(hist.test_acc[-1])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="write the results as JSON to this file")
    parser.add_argument("--quick", action="store_true", help="quick settings (few epochs, small test set)")
    args = parser.parse_args(argv)
    settings = experiment_settings(args.quick)
    load_before = os.getloadavg()
    started = time.perf_counter()
    results = run_experiment(settings)
    seed_study = dropout_seed_study(settings)
    record = {
        "description": "Chapter 8: first 1,000 MNIST training images, NumPy models with hand-written "
                       "backprop; test accuracy on the first n_test test images (null = all 10,000).",
        "settings": settings,
        "models": {
            name: {
                "parameters": param_count(model),
                "final_test_accuracy": hist.test_acc[-1],
                "best_test_accuracy": max(hist.test_acc),
                "final_train_accuracy": hist.train_acc[-1],
                "epochs": len(hist.test_acc),
                "train_seconds": round(hist.train_seconds, 2),
                "train_cpu_seconds": round(hist.train_cpu_seconds, 2),
                "eval_seconds": round(hist.eval_seconds, 2),
                "history": {k: [round(v, 5) for v in getattr(hist, k)]
                            for k in ("train_acc", "test_acc", "train_loss", "test_loss")},
            }
            for name, (model, hist) in results.items()
        },
        "dropout_seed_study": seed_study,
        "total_wall_seconds": round(time.perf_counter() - started, 1),
        "machine": {
            "cpu_model": cpu_model(),
            "logical_cpus": os.cpu_count(),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "loadavg_before": [round(v, 2) for v in load_before],
            "loadavg_after": [round(v, 2) for v in os.getloadavg()],
            "note": "shared machine: other engineers' jobs ran at the same time (see loadavg), so "
                    "wall-clock seconds are upper bounds; train_cpu_seconds counts this process only.",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
        },
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps(record, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    summary = {k: (v["final_test_accuracy"], v["train_seconds"]) for k, v in record["models"].items()}
    print(json.dumps(summary))
    return record

