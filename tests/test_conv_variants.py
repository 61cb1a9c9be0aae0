"""solutions.conv_variants against tf.nn.conv2d_transpose, depthwise_conv2d, separable_conv2d and dilated conv2d."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_conv import _pair, _tf_padding, conv_geometry

import solutions as S

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

TOL = dict(rtol=1e-9, atol=1e-9)


def _tape(f, *arrays):
    """f(*tensors) and the gradients of sum(f * dout) with respect to every array, with a random dout."""
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        y = f(*tensors)
        dout = np.random.default_rng(0).standard_normal(y.shape)
        loss = tf.reduce_sum(y * dout)
    return y.numpy(), dout, [g.numpy() for g in tape.gradient(loss, tensors)]


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


@given(conv_geometry())
def test_conv2d_transpose_matches_tensorflow_and_is_the_adjoint_of_conv2d(g):
    # The forward convolution maps z (N, H, W, Cin) to (N, OH, OW, Cout); its transpose maps back.
    rng = np.random.default_rng(g["seed"])
    w = rng.standard_normal((g["kh"], g["kw"], g["cin"], g["cout"]))
    z = rng.standard_normal((g["n"], g["h"], g["w"], g["cin"]))
    x = rng.standard_normal(S.conv2d(z, w, stride=g["stride"], padding=g["padding"]).shape)
    sh, sw = _pair(g["stride"])
    out = S.conv2d_transpose(x, w, stride=g["stride"], padding=g["padding"], output_hw=(g["h"], g["w"]))
    expected = tf.nn.conv2d_transpose(x, w, z.shape, [1, sh, sw, 1], _tf_padding(g["padding"])).numpy()
    np.testing.assert_allclose(out, expected, **TOL)
    conv_side = np.sum(S.conv2d(z, w, stride=g["stride"], padding=g["padding"]) * x)
    np.testing.assert_allclose(conv_side, np.sum(z * out), **TOL)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("kernel", [2, 3, 4])
def test_conv2d_transpose_default_size_matches_keras(padding, stride, kernel):
    rng = np.random.default_rng(kernel)
    x = rng.standard_normal((2, 4, 5, 3))
    b = rng.standard_normal(6)
    layer = keras.layers.Conv2DTranspose(6, kernel, strides=stride, padding=padding, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([layer.kernel.numpy(), b])
    expected = layer(x).numpy()
    out = S.conv2d_transpose(x, layer.kernel.numpy(), b, stride=stride, padding=padding)
    np.testing.assert_allclose(out, expected, **TOL)


@pytest.mark.parametrize(("stride", "padding", "output_hw"), [(2, "same", (7, 8)), (2, "valid", (10, 9)), (1, 1, None)])
def test_conv2d_transpose_backward_matches_gradient_tape(stride, padding, output_hw):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 4, 3)), rng.standard_normal((3, 3, 2, 3))
    hw = output_hw or S.conv2d_transpose(x, w, stride=stride, padding=padding).shape[1:3]
    tf_pad = _tf_padding(padding)
    y, dout, (dx_tf, dw_tf) = _tape(
        lambda a, k: tf.nn.conv2d_transpose(a, k, (2, *hw, 2), stride, tf_pad), x, w)
    np.testing.assert_allclose(S.conv2d_transpose(x, w, stride=stride, padding=padding, output_hw=hw), y, **TOL)
    dx, dw, db = S.conv2d_transpose_backward(dout, x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(dx, dx_tf, **TOL)
    np.testing.assert_allclose(dw, dw_tf, **TOL)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 1, 2)), **TOL)


def test_conv2d_transpose_rejects_bad_input():
    x, w = np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2))
    with pytest.raises(ValueError, match=r"x has 2 channels .* Cin=5 \(w.shape\[3\]"):
        S.conv2d_transpose(x, np.ones((3, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"output_hw \(9, 9\) is inconsistent: .* maps it to \(5, 5\)"):
        S.conv2d_transpose(x, w, stride=2, padding="same", output_hw=(9, 9))
    with pytest.raises(ValueError, match=r"b must have shape \(Cout,\) = \(4,\)"):
        S.conv2d_transpose(x, w, np.ones(2))
    with pytest.raises(ValueError, match="padding must be 'valid', 'same'"):
        S.conv2d_transpose(x, w, padding="full")
    with pytest.raises(ValueError, match=r"w must be 4-D \(KH, KW, Cout, Cin\)"):
        S.conv2d_transpose(x, np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="dout must have the output shape"):
        S.conv2d_transpose_backward(np.ones((1, 5, 5, 3)), x, w)


# --------------------------------------------------------------------------------------------------
# Depthwise and separable convolution
# --------------------------------------------------------------------------------------------------


@st.composite
def depthwise_case(draw):
    g = draw(conv_geometry())
    g["stride"] = _pair(g["stride"])[0]  # tf.nn.depthwise_conv2d supports equal strides only
    return g, draw(st.integers(1, 3))


@given(depthwise_case())
def test_depthwise_conv2d_forward_and_backward_match_tensorflow(case):
    g, multiplier = case
    sh = sw = g["stride"]
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((g["n"], g["h"], g["w"], g["cin"]))
    w = rng.standard_normal((g["kh"], g["kw"], g["cin"], multiplier))
    y, dout, (dx_tf, dw_tf) = _tape(
        lambda a, k: tf.nn.depthwise_conv2d(a, k, [1, sh, sw, 1], _tf_padding(g["padding"])), x, w)
    np.testing.assert_allclose(S.depthwise_conv2d(x, w, stride=(sh, sw), padding=g["padding"]), y, **TOL)
    dx, dw, db = S.depthwise_conv2d_backward(dout, x, w, stride=(sh, sw), padding=g["padding"])
    np.testing.assert_allclose(dx, dx_tf, **TOL)
    np.testing.assert_allclose(dw, dw_tf, **TOL)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 1, 2)), **TOL)


def test_depthwise_is_a_full_convolution_with_a_block_diagonal_kernel():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 2))
    full = np.zeros((3, 3, 3, 6))
    for c in range(3):
        full[:, :, c, 2 * c : 2 * c + 2] = w[:, :, c, :]
    np.testing.assert_allclose(S.depthwise_conv2d(x, w, padding="same"), S.conv2d(x, full, padding="same"), **TOL)


@pytest.mark.parametrize(("stride", "padding"), [(1, "same"), (2, "valid"), (2, "same")])
def test_separable_conv2d_matches_tensorflow_and_keras(stride, padding):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 6, 3))
    dw, pw, b = rng.standard_normal((3, 3, 3, 2)), rng.standard_normal((1, 1, 6, 4)), rng.standard_normal(4)
    y, dout, (dx_tf, ddw_tf, dpw_tf) = _tape(
        lambda a, k1, k2: tf.nn.separable_conv2d(a, k1, k2, [1, stride, stride, 1], padding.upper()), x, dw, pw)
    np.testing.assert_allclose(S.separable_conv2d(x, dw, pw, stride=stride, padding=padding), y, **TOL)
    dx, ddw, dpw, db = S.separable_conv2d_backward(dout, x, dw, pw, stride=stride, padding=padding)
    for ours, theirs in ((dx, dx_tf), (ddw, ddw_tf), (dpw, dpw_tf)):
        np.testing.assert_allclose(ours, theirs, **TOL)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 1, 2)), **TOL)
    layer = keras.layers.SeparableConv2D(4, 3, strides=stride, padding=padding, depth_multiplier=2, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([dw, pw, b])
    np.testing.assert_allclose(S.separable_conv2d(x, dw, pw, b, stride=stride, padding=padding), layer(x).numpy(), **TOL)


def test_depthwise_and_separable_reject_bad_input():
    x = np.ones((1, 5, 5, 3))
    with pytest.raises(ValueError, match=r"x has 3 channels .* C=2 \(w.shape\[2\]\)"):
        S.depthwise_conv2d(x, np.ones((3, 3, 2, 1)))
    with pytest.raises(ValueError, match=r"b must have shape \(C \* M,\) = \(6,\)"):
        S.depthwise_conv2d(x, np.ones((3, 3, 3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"pointwise_w must have shape \(1, 1, C \* M, Cout\) = \(1, 1, 6, Cout\)"):
        S.separable_conv2d(x, np.ones((3, 3, 3, 2)), np.ones((1, 1, 3, 4)))
    with pytest.raises(ValueError, match="dout must have the output shape"):
        S.depthwise_conv2d_backward(np.ones((1, 5, 5, 3)), x, np.ones((3, 3, 3, 1)))
    with pytest.raises(ValueError, match="kernel height 7 is larger than the padded input height 5"):
        S.depthwise_conv2d(x, np.ones((7, 3, 3, 1)))


def test_float32_is_kept():
    x, w = np.ones((1, 4, 4, 2), np.float32), np.ones((3, 3, 2, 1), np.float32)
    assert S.depthwise_conv2d(x, w).dtype == np.float32
    assert S.conv2d_transpose(x, np.ones((3, 3, 1, 2), np.float32)).dtype == np.float32
    assert S.separable_conv2d(x, w, np.ones((1, 1, 2, 3), np.float32)).dtype == np.float32
    assert S.separable_conv2d(x, w, np.ones((1, 1, 2, 3))).dtype == np.float64


# --------------------------------------------------------------------------------------------------
# Dilation, 1x1 convolution, dense layer as a convolution
# --------------------------------------------------------------------------------------------------


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.sampled_from(["valid", "same"]),
       st.integers(0, 2**32 - 1))
def test_dilated_kernel_matches_tensorflow_dilations(k, rh, rw, padding, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((2, 9, 8, 2)), rng.standard_normal((k, k, 2, 3))
    expected = tf.nn.conv2d(x, w, 1, padding.upper(), dilations=[rh, rw]).numpy()
    np.testing.assert_allclose(S.conv2d(x, S.dilate_kernel(w, (rh, rw)), padding=padding), expected, **TOL)
    assert S.dilate_kernel(w, (rh, rw)).shape == ((k - 1) * rh + 1, (k - 1) * rw + 1, 2, 3)


def test_dilate_kernel_rejects_bad_rate():
    with pytest.raises(ValueError, match="rate must be >= 1"):
        S.dilate_kernel(np.ones((3, 3, 1, 1)), 0)
    with pytest.raises(TypeError, match="rate must be a positive integer"):
        S.dilate_kernel(np.ones((3, 3, 1, 1)), 1.5)


def test_one_by_one_convolution_is_a_dense_layer_on_every_pixel():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 4, 3))
    layer = keras.layers.Dense(6, dtype="float64")
    expected = layer(x).numpy()  # Keras applies Dense to the last axis of every pixel
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(S.conv2d(x, kernel[None, None], bias), expected, **TOL)


def test_dense_layer_on_a_flattened_map_is_a_valid_convolution():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5, 2))
    model = keras.Sequential([keras.Input((4, 5, 2)), keras.layers.Flatten(), keras.layers.Dense(7)])
    w, b = (v.astype(np.float64) for v in model.get_weights())
    kernel = S.dense_as_conv_kernel(w, (4, 5, 2))
    np.testing.assert_allclose(S.conv2d(x, kernel, b)[:, 0, 0, :], model(x).numpy(), rtol=1e-5, atol=1e-5)
    # on a larger input the same kernel slides: one dense-layer output per position
    big = rng.standard_normal((1, 6, 7, 2))
    slid = S.conv2d(big, kernel, b)
    assert slid.shape == (1, 3, 3, 7)
    np.testing.assert_allclose(slid[0, 2, 1], big[0, 2:6, 1:6].reshape(-1) @ w + b, **TOL)
    with pytest.raises(ValueError, match="w has 40 rows but a 4x5x3 feature map flattens to 60 values"):
        S.dense_as_conv_kernel(w, (4, 5, 3))
