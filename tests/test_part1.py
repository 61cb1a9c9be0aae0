"""Key numbers of Part I (chapters 1-6), recomputed with the functions the chapters call.

Oracles: Keras ``count_params()`` and layer outputs, ``np.convolve``, explicit connectivity counts.
The chapters also assert most of these in the page; these tests make a regression show up in
``pytest`` without a book build.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import solutions
from solutions import analysis

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def digits():
    try:
        (x, y), _ = solutions.load_mnist(n_train=200, n_test=1, seed=0)
    except solutions.DatasetUnavailableError as exc:
        pytest.skip(str(exc))
    return x.astype(float) / 255, y


# --- chapter 1: parameter counts -------------------------------------------------------------


def test_seed_note_dense_count_is_right():
    # "28×28×30 + 30 = 23,550" from the source notes: checked, not trusted.
    assert solutions.dense_param_count(28 * 28, 30) == 23_550


def test_chapter1_table_mnist_values():
    counts = analysis.layer_param_counts(28, 28, 1, kernel=3, filters=32, hidden_units=64)
    assert counts == {"dense": 50_240, "dense_same": 16_981_120, "local": 216_320, "conv": 320}


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (100, 100, 1), (224, 224, 3)])
def test_chapter1_table_dense_and_conv_match_keras(keras, shape):
    counts = analysis.layer_param_counts(*shape, kernel=3, filters=32, hidden_units=64)
    dense = keras.layers.Dense(64)
    dense.build((None, math.prod(shape)))
    conv = keras.layers.Conv2D(32, 3)
    conv.build((None, *shape))
    assert counts["dense"] == dense.count_params()
    assert counts["conv"] == conv.count_params()


def test_chapter1_dense_same_output_matches_keras_on_mnist(keras):
    counts = analysis.layer_param_counts(28, 28, 1, kernel=3, filters=32)
    dense = keras.layers.Dense(26 * 26 * 32)
    dense.build((None, 28 * 28))
    assert counts["dense_same"] == dense.count_params()


def _count_local_connections(h, w, k, c_in, c_out):
    """Independent count: build the 0/1 connectivity mask of a locally connected layer."""
    out_h, out_w = h - k + 1, w - k + 1
    mask = np.zeros((out_h, out_w, h, w), dtype=bool)
    for i in range(out_h):
        for j in range(out_w):
            mask[i, j, i:i + k, j:j + k] = True
    return int(mask.sum()) * c_in * c_out + out_h * out_w * c_out  # weights + one bias per unit


@pytest.mark.parametrize("h, w, k, c_in, c_out", [(5, 5, 3, 1, 1), (8, 6, 3, 3, 4), (7, 7, 1, 2, 5), (6, 9, 4, 2, 3)])
def test_locally_connected_count_matches_connectivity_mask(h, w, k, c_in, c_out):
    assert analysis.locally_connected_param_count(h, w, k, k, c_in, c_out) == \
        _count_local_connections(h, w, k, c_in, c_out)


def test_sharing_removes_exactly_the_position_factor():
    counts = analysis.layer_param_counts(32, 32, 3, kernel=5, filters=8)
    assert counts["local"] == 28 * 28 * counts["conv"]


# --- chapter 1: equivariance -----------------------------------------------------------------


def test_equivariance_gap_is_zero_on_mnist_digits(digits):
    x, _ = digits
    edge = np.array([[1.0, 0.0, -1.0]] * 3)
    gaps = [analysis.equivariance_gap(img, edge, 2, 3) for img in x[:20]]
    assert max(gaps) == 0.0


def test_equivariance_gap_is_nonzero_when_content_reaches_the_border():
    """The measurement can fail: shifting an image with content at its edges changes the border."""
    img = np.random.default_rng(0).random((16, 16))
    assert analysis.equivariance_gap(img, np.ones((3, 3)), 2, 3) > 0.1


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 3), st.integers(-3, 3), st.integers(1, 3), st.integers(0, 2**16))
def test_equivariance_holds_for_any_kernel_when_the_border_is_zero(dy, dx, k, seed):
    rng = np.random.default_rng(seed)
    img = np.zeros((20, 20))
    img[6:14, 6:14] = rng.normal(size=(8, 8))  # content well away from the border
    assert analysis.equivariance_gap(img, rng.normal(size=(k, k)), dy, dx) < 1e-12


def test_shift_moves_content_and_fills_zeros():
    a = np.arange(1.0, 13.0).reshape(3, 4)
    np.testing.assert_array_equal(analysis.shift(a, 1, -1), [[0, 0, 0, 0], [2, 3, 4, 0], [6, 7, 8, 0]])
    batch = np.stack([a, 2 * a])[..., None]
    np.testing.assert_array_equal(analysis.shift(batch, 1, -1, axes=(1, 2))[1, :, :, 0],
                                  analysis.shift(2 * a, 1, -1))
    with pytest.raises(ValueError, match="as large as the image"):
        analysis.shift(a, 3, 0)
    with pytest.raises(ValueError, match="at least 2-D"):
        analysis.shift(np.arange(4.0), 1, 0)


# --- chapter 2: modes -------------------------------------------------------------------------


@pytest.mark.parametrize("mode, length", [("valid", lambda n, f: n - f + 1),
                                          ("full", lambda n, f: n + f - 1),
                                          ("same", lambda n, f: n)])
def test_chapter2_mode_lengths_match_numpy(mode, length):
    for n in range(1, 13):
        for f in range(1, 13):
            big, small = max(n, f), min(n, f)
            got = solutions.conv1d(np.arange(1.0, n + 1), np.ones(f), mode=mode)
            assert len(got) == len(np.convolve(np.arange(1.0, n + 1), np.ones(f), mode=mode)) == length(big, small)


def test_chapter2_flip_relation():
    x = np.array([0, 1, 2, 4, 8, 4, 2, 1, 0], dtype=float)
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(solutions.conv1d(x, w, mode="valid"),
                               solutions.correlate1d(x, w[::-1], mode="valid"))
    spike = np.zeros(9)
    spike[4] = 1
    np.testing.assert_allclose(solutions.conv1d(spike, w, mode="same")[3:6], w)
    np.testing.assert_allclose(solutions.correlate1d(spike, w, mode="same")[3:6], w[::-1])


# --- chapter 4: output size -------------------------------------------------------------------


def test_chapter4_output_size_grid_matches_conv2d_shapes():
    rng = np.random.default_rng(0)
    for n in range(1, 13):
        for f in range(1, 6):
            for p in range(3):
                for s in range(1, 4):
                    if f > n + 2 * p:
                        with pytest.raises(ValueError):
                            solutions.output_size(n, f, padding=p, stride=s)
                        continue
                    o = solutions.output_size(n, f, padding=p, stride=s)
                    assert o == (n + 2 * p - f) // s + 1
                    out = solutions.conv2d(rng.normal(size=(1, n, n, 1)), rng.normal(size=(f, f, 1, 1)),
                                           stride=s, padding=p)
                    assert out.shape == (1, o, o, 1)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_chapter4_output_shapes_match_keras(keras, padding):
    for n, f, s in [(28, 3, 1), (28, 5, 2), (32, 3, 2), (13, 4, 3), (7, 7, 1)]:
        layer = keras.layers.Conv2D(1, f, strides=s, padding=padding)
        expected = layer.compute_output_shape((1, n, n, 1))
        ours = solutions.conv2d(np.zeros((1, n, n, 1)), np.zeros((f, f, 1, 1)), stride=s, padding=padding)
        assert ours.shape == tuple(expected)


def test_chapter4_coverage_counts():
    """Border pixels are covered by fewer windows: corner 1, centre f*f (valid, stride 1)."""
    out = solutions.output_size(8, 3)
    counts = solutions.convolve2d(np.ones((out, out)), np.ones((3, 3)), mode="full")
    assert counts[0, 0] == 1 and counts[4, 4] == 9 and counts.sum() == out * out * 9


# --- chapter 5: channels ----------------------------------------------------------------------


def test_chapter5_channel_sum_identity():
    rng = np.random.default_rng(1)
    x = rng.random((1, 20, 24, 3))
    k = rng.normal(size=(3, 3, 3))
    per_channel = sum(solutions.correlate2d(x[0, :, :, c], k[:, :, c]) for c in range(3))
    np.testing.assert_allclose(solutions.conv2d(x, k[..., None])[0, :, :, 0], per_channel)


def test_chapter5_stack_counts_and_outputs_match_keras(keras):
    stack = [(3, 16, 1, "same"), (3, 32, 2, "same"), (3, 32, 1, "valid"), (1, 8, 1, "valid")]
    rng = np.random.default_rng(0)
    x = rng.random((2, 32, 32, 3)).astype("float32")
    model = keras.Sequential([keras.Input(shape=(32, 32, 3))] + [
        keras.layers.Conv2D(c, k, strides=s, padding=p, activation="relu") for k, c, s, p in stack])
    h, total = x.astype(float), 0
    for layer, (k, c_out, s, p) in zip(model.layers, stack):
        w = rng.normal(scale=0.3, size=(k, k, h.shape[-1], c_out))
        b = rng.normal(scale=0.1, size=c_out)
        layer.set_weights([w, b])
        count = solutions.conv_param_count(k, k, h.shape[-1], c_out)
        assert layer.count_params() == count
        total += count
        h = solutions.relu(solutions.conv2d(h, w, b, stride=s, padding=p))
    assert model.count_params() == total == 14_600
    np.testing.assert_allclose(model.predict(x, verbose=0), h, atol=1e-4)


def test_chapter5_one_by_one_conv_is_a_per_pixel_dense_layer():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(2, 5, 6, 64))
    w = rng.normal(size=(1, 1, 64, 16))
    np.testing.assert_allclose(solutions.conv2d(features, w), features @ w[0, 0])
    assert solutions.conv_param_count(1, 1, 256, 64) == 16_448
    assert solutions.conv_param_count(3, 3, 256, 64) == 147_520


# --- chapter 6: pooling -----------------------------------------------------------------------


def test_chapter6_pooling_layers_have_no_parameters(keras):
    for layer in [keras.layers.MaxPooling2D(), keras.layers.AveragePooling2D(2),
                  keras.layers.GlobalAveragePooling2D(), keras.layers.GlobalMaxPooling2D()]:
        layer.build((None, 28, 28, 16))
        assert layer.count_params() == 0


def test_chapter6_pooling_matches_keras_on_digits(keras, digits):
    x = digits[0][:, :, :, None].astype("float32")
    np.testing.assert_allclose(solutions.max_pool2d(x, 2), keras.layers.MaxPooling2D(2)(x), atol=1e-6)
    np.testing.assert_allclose(solutions.avg_pool2d(x, 2), keras.layers.AveragePooling2D(2)(x), atol=1e-6)
    np.testing.assert_allclose(solutions.max_pool2d(x, 3, stride=2),
                               keras.layers.MaxPooling2D(3, strides=2)(x), atol=1e-6)


def test_chapter6_pooling_reduces_shift_sensitivity(digits):
    x = digits[0][:, :, :, None]
    features = analysis.edge_features(x)
    moved = analysis.edge_features(analysis.shift(x, 0, 1, axes=(1, 2)))
    change = [analysis.relative_change(pool(features), pool(moved)) for pool in (
        lambda m: m,
        lambda m: solutions.max_pool2d(m, 2),
        lambda m: solutions.max_pool2d(m, 4),
        solutions.global_max_pool2d,
    )]
    assert change[0] > change[1] > change[2] > change[3]
    assert change[0] > 0.3  # the raw maps really do change
    assert change[3] < 1e-9  # digits stay inside the frame, so the global maximum is unchanged


def test_chapter6_global_pooling_shrinks_the_classifier():
    assert solutions.dense_param_count(7 * 7 * 64, 10) == 31_370
    assert solutions.dense_param_count(64, 10) == 650


def test_relative_change_validates_input():
    assert analysis.relative_change(np.ones(3), np.ones(3)) == 0.0
    assert analysis.relative_change([3.0, 4.0], [0.0, 0.0]) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        analysis.relative_change(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="all-zero"):
        analysis.relative_change(np.zeros(3), np.ones(3))


def test_edge_features_shape_and_validation():
    out = analysis.edge_features(np.random.default_rng(0).random((2, 9, 9, 1)))
    assert out.shape == (2, 9, 9, 4) and out.min() >= 0
    with pytest.raises(ValueError, match="grey NHWC"):
        analysis.edge_features(np.zeros((2, 9, 9, 3)))
