"""The NumPy networks of chapter 8: gradients against two oracles, dropout scaling, a short training run."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from solutions import cross_entropy, dropout, numerical_gradient
from solutions import numpy_net as nn
from solutions.config import DATA_ENV

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
_real_dir = Path(os.environ.get(DATA_ENV) or SHARED)
needs_real_data = pytest.mark.skipif(
    not (_real_dir / "mnist.npz").exists(),
    reason=f"real data not found: set {DATA_ENV} to the directory holding mnist.npz")


def _images(n, seed=0):
    """Random stand-ins for MNIST: (n, 28, 28, 1) float64 in [0, 1], half of the pixels exactly 0."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1))
    x[x < 0.5] = 0.0
    return x, rng.integers(0, 10, n)


def _float64(model):
    model.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    return model


@pytest.mark.parametrize("make", [lambda: nn.DenseNet(hidden=4, seed=3),
                                  lambda: nn.ConvNet(kernels=1, kernel_size=3, rate=0.5, seed=3),
                                  lambda: nn.ConvNet(kernels=1, kernel_size=5, rate=0.0, seed=4)],
                         ids=["dense", "conv-dropout", "conv-5x5"])
def test_backward_matches_numerical_gradient(make):
    model = _float64(make())
    x, y = _images(2)

    def loss(_):  # the same seed gives the same dropout mask on every call
        return cross_entropy(model.forward(x, training=True, rng=np.random.default_rng(7))[0], y)

    _, grads = nn.loss_and_grads(model, x, y, rng=np.random.default_rng(7))
    for name, param in model.params.items():
        assert grads[name].shape == param.shape
        assert nn.relative_error(grads[name], numerical_gradient(loss, param)) < 1e-6, name


@pytest.mark.slow
def test_convnet_gradients_match_tensorflow():
    tf = pytest.importorskip("tensorflow")
    model = _float64(nn.ConvNet(kernels=4, kernel_size=5, rate=0.5, seed=1))
    x, y = _images(5, seed=2)
    _, grads = nn.loss_and_grads(model, x, y, rng=np.random.default_rng(0))
    # The same mask as the NumPy forward pass drew (same generator state).
    features = model.pooled**2 * 4
    _, mask = dropout(np.ones((5, features)), 0.5, rng=np.random.default_rng(0))

    tparams = {k: tf.Variable(v) for k, v in model.params.items()}
    with tf.GradientTape() as tape:
        a = tf.tanh(tf.nn.conv2d(tf.constant(x), tparams["K"], 1, "VALID") + tparams["bk"])
        pooled = tf.nn.max_pool2d(a, 2, 2, "VALID")
        logits = tf.matmul(tf.reshape(pooled, (5, -1)) * mask, tparams["W"]) + tparams["b"]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    tf_grads = tape.gradient(loss, tparams)
    for name in model.params:
        assert nn.relative_error(grads[name], tf_grads[name].numpy()) < 1e-8, name


def test_param_counts_match_keras():
    keras = pytest.importorskip("keras")
    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 5),
                             keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dropout(0.5), keras.layers.Dense(10)])
    dense = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(100), keras.layers.Dense(10)])
    assert nn.param_count(nn.ConvNet(16, 5)) == conv.count_params()
    assert nn.param_count(nn.DenseNet(100)) == dense.count_params()


def test_dropout_keeps_the_expected_activation():
    x = np.linspace(0.5, 2.0, 10)
    samples = np.stack([dropout(x, 0.5, rng=s)[0] for s in range(4000)])
    # Inverted dropout: E[y] = x. Standard error of each mean is x / sqrt(4000) ~ 0.016 x.
    assert np.allclose(samples.mean(0), x, rtol=0.08)
    # Without the 1/(1-p) factor the mean would be (1-p) x -- far outside that tolerance.
    assert not np.allclose(samples.mean(0) * 0.5, x, rtol=0.08)


def test_dropout_acts_only_in_training():
    model = nn.ConvNet(kernels=2, rate=0.5, seed=0)
    x, _ = _images(2)
    x = x.astype(np.float32)
    eval_a, _ = model.forward(x, training=False)
    eval_b, _ = model.forward(x, training=False)
    train_a, cache = model.forward(x, training=True, rng=1)
    np.testing.assert_array_equal(eval_a, eval_b)
    assert not np.allclose(train_a, eval_a)
    assert set(np.unique(cache[-1])) <= {0.0, 2.0}


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        nn.ConvNet().forward(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="rate"):
        nn.ConvNet(rate=1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        nn.relative_error(np.zeros(3), np.zeros(4))
    x, y = _images(4)
    with pytest.raises(ValueError, match="y_train has 3 labels"):
        nn.train(nn.DenseNet(4), x, y[:3], x, y, epochs=1)
    with pytest.raises(ValueError, match="lr must be positive"):
        nn.train(nn.DenseNet(4), x, y, x, y, epochs=1, lr=0)


@pytest.mark.slow
@needs_real_data
def test_quick_experiment_learns(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(_real_dir))
    out = tmp_path / "quick.json"
    record = nn.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    assert record["settings"]["epochs"] == nn.QUICK["epochs"]
    for name, m in record["models"].items():
        hist = m["history"]
        assert len(hist["test_acc"]) == m["epochs"] == nn.QUICK["epochs"]
        assert hist["train_loss"][-1] < hist["train_loss"][0], name  # training reduces the loss
    # Floors far above chance (10 %) after two epochs on 1,000 images; measured ~0.77-0.80.
    assert record["models"]["conv"]["final_test_accuracy"] > 0.6
    assert record["models"]["dense"]["final_test_accuracy"] > 0.5
    assert record["machine"]["numpy"] == np.__version__
