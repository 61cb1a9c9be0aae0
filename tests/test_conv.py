"""solutions.conv against NumPy, SciPy and TensorFlow, on shapes drawn by hypothesis."""
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

import solutions as S
import solutions.conv as conv_module
from solutions.loops import conv2d_loops

tf = pytest.importorskip("tensorflow")

MODES = ["full", "same", "valid"]


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------------
# Geometry strategy shared by conv2d / im2col tests: any padding form, stride pairs, kernel that fits.
# --------------------------------------------------------------------------------------------------


@st.composite
def conv_geometry(draw, max_hw=9, max_batch=3, max_c=3):
    n = draw(st.integers(1, max_batch))
    h, w = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    cin, cout = draw(st.integers(1, max_c)), draw(st.integers(1, max_c))
    stride = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same"]),
            st.integers(0, 3),
            st.tuples(st.integers(0, 3), st.integers(0, 3)),
        )
    )
    if padding == "same":
        ph = pw = 10**6  # TensorFlow's rule always pads enough for any kernel
    elif padding == "valid":
        ph = pw = 0
    elif isinstance(padding, tuple):
        ph, pw = padding
    else:
        ph = pw = padding
    kh = draw(st.integers(1, min(h + 2 * ph, 5)))
    kw = draw(st.integers(1, min(w + 2 * pw, 5)))
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(n=n, h=h, w=w, cin=cin, cout=cout, kh=kh, kw=kw, stride=stride, padding=padding, seed=seed)


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _tf_padding(padding):
    if isinstance(padding, str):
        return padding.upper()
    ph, pw = _pair(padding)
    return [[0, 0], [ph, ph], [pw, pw], [0, 0]]


def _arrays(g, dtype=np.float64):
    rng = _rng(g["seed"])
    x = rng.standard_normal((g["n"], g["h"], g["w"], g["cin"])).astype(dtype)
    w = rng.standard_normal((g["kh"], g["kw"], g["cin"], g["cout"])).astype(dtype)
    b = rng.standard_normal(g["cout"]).astype(dtype)
    return x, w, b


def _tf_conv(x, w, g):
    sh, sw = _pair(g["stride"])
    return tf.nn.conv2d(x, w, [1, sh, sw, 1], _tf_padding(g["padding"]))


# conv2d picks its matrix-product strategy from the layer width; force each one on every geometry
STRATEGIES = {
    "default": {},
    "wide": {"_THIN": 0},  # threaded chunks; dx as one correlation (stride 1) or per kernel offset
    "thin-blocked": {"_THIN": 10**9, "_BLOCK_WORK": 1},  # row blocks of 16 for every product
    "one-image-chunks": {"_CHUNK_BYTES": 1},  # a patch matrix per image
}


# --------------------------------------------------------------------------------------------------
# 1-D and single-channel 2-D convolutions
# --------------------------------------------------------------------------------------------------


@given(st.integers(1, 12), st.integers(1, 12), st.sampled_from(MODES), st.integers(0, 2**32 - 1))
def test_conv1d_and_correlate1d_match_numpy(n, m, mode, seed):
    # includes w longer than x, where NumPy swaps the arguments
    rng = _rng(seed)
    x, w = rng.standard_normal(n), rng.standard_normal(m)
    np.testing.assert_allclose(S.conv1d(x, w, mode), np.convolve(x, w, mode), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(S.correlate1d(x, w, mode), np.correlate(x, w, mode), rtol=1e-12, atol=1e-12)


def test_conv1d_defaults_and_flip():
    # conv1d defaults to "full", correlate1d to "valid", as NumPy; the kernel is flipped in conv1d only
    x, w = [1.0, 2.0, 3.0], [1.0, 0.0, -1.0]
    np.testing.assert_array_equal(S.conv1d(x, w), [1, 2, 2, -2, -3])
    np.testing.assert_array_equal(S.correlate1d(x, w), [-2])


@given(
    st.tuples(st.integers(1, 8), st.integers(1, 8)),
    st.tuples(st.integers(1, 8), st.integers(1, 8)),
    st.sampled_from(MODES),
    st.integers(0, 2**32 - 1),
)
def test_convolve2d_and_correlate2d_match_scipy(image_shape, kernel_shape, mode, seed):
    rng = _rng(seed)
    image, kernel = rng.standard_normal(image_shape), rng.standard_normal(kernel_shape)
    try:
        expected_conv = scipy.signal.convolve2d(image, kernel, mode)
        expected_corr = scipy.signal.correlate2d(image, kernel, mode)
    except ValueError:
        # SciPy refuses 'valid' when neither array covers the other; so must we.
        with pytest.raises(ValueError, match="at least as large"):
            S.convolve2d(image, kernel, mode)
        with pytest.raises(ValueError, match="at least as large"):
            S.correlate2d(image, kernel, mode)
        return
    np.testing.assert_allclose(S.convolve2d(image, kernel, mode), expected_conv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(S.correlate2d(image, kernel, mode), expected_corr, rtol=1e-12, atol=1e-12)


def test_convolve2d_flips_kernel_and_correlate2d_does_not():
    image = np.zeros((3, 3))
    image[1, 1] = 1.0  # an impulse reproduces the kernel (convolution) or its mirror (correlation)
    kernel = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(S.convolve2d(image, kernel, "same"), kernel)
    np.testing.assert_array_equal(S.correlate2d(image, kernel, "same"), kernel[::-1, ::-1])


# --------------------------------------------------------------------------------------------------
# output_size, zero_pad
# --------------------------------------------------------------------------------------------------


@given(st.integers(1, 30), st.integers(1, 10), st.integers(0, 5), st.integers(1, 6))
def test_output_size_counts_window_positions(n, f, p, s):
    positions = len(range(0, n + 2 * p - f + 1, s))  # window starts that fit, by enumeration
    if positions == 0:
        with pytest.raises(ValueError, match="larger than the padded input"):
            S.output_size(n, f, p, s)
    else:
        assert S.output_size(n, f, p, s) == positions


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 3), ValueError, "n must be >= 1"),
        ((5, 0), ValueError, "f must be >= 1"),
        ((5, 3, -1), ValueError, "padding must be >= 0"),
        ((5, 3, 0, 0), ValueError, "stride must be >= 1"),
        ((5.0, 3), TypeError, "n must be a positive integer"),
        ((5, 3, 0, 1.5), TypeError, "stride must be a positive integer"),
        ((5, 3, True), TypeError, "padding must be a non-negative integer"),
        ((2, 5, 1), ValueError, "kernel size 5 is larger than the padded input size 4"),
    ],
)
def test_output_size_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        S.output_size(*args)


@given(st.integers(0, 3), st.integers(0, 3), st.sampled_from([np.float32, np.float64, np.int64]))
def test_zero_pad_matches_np_pad_and_keeps_dtype(ph, pw, dtype):
    x = np.arange(2 * 3 * 4 * 2).reshape(2, 3, 4, 2).astype(dtype) + 1
    pad = ph if ph == pw else (ph, pw)
    out = S.zero_pad(x, pad)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0))))


@pytest.mark.parametrize(
    ("x", "pad", "error", "match"),
    [
        (np.zeros((3, 3)), 1, ValueError, r"x must be 4-D \(N, H, W, C\)"),
        (np.zeros((1, 3, 3, 1)), -1, ValueError, "pad must be >= 0"),
        (np.zeros((1, 3, 3, 1)), (1, -2), ValueError, r"pad\[1\] must be >= 0"),
        (np.zeros((1, 3, 3, 1)), 1.5, TypeError, "pad must be a non-negative integer"),
        (np.zeros((1, 3, 3, 1)), (1, 1, 1), ValueError, "pair"),
        (np.full((1, 3, 3, 1), "a"), 1, TypeError, "real numeric array"),
    ],
)
def test_zero_pad_rejects_bad_input(x, pad, error, match):
    with pytest.raises(error, match=match):
        S.zero_pad(x, pad)


# --------------------------------------------------------------------------------------------------
# conv2d forward and backward against TensorFlow
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["default", "thin-blocked"])
@given(g=conv_geometry())
def test_conv2d_matches_tf_float64(g, strategy):
    with pytest.MonkeyPatch.context() as mp:
        for name, value in STRATEGIES[strategy].items():
            mp.setattr(conv_module, name, value)
        _check_forward_against_tf(g)


def _check_forward_against_tf(g):
    x, w, b = _arrays(g)
    expected = _tf_conv(x, w, g).numpy() + b
    out = S.conv2d(x, w, b, stride=g["stride"], padding=g["padding"])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@given(conv_geometry(max_c=4))
def test_conv2d_matches_tf_float32(g):
    x, w, b = _arrays(g, np.float32)
    out = S.conv2d(x, w, b, stride=g["stride"], padding=g["padding"])
    assert out.dtype == np.float32  # float32 in, float32 out
    # float32 sums of KH*KW*Cin products: tolerance scaled by the size of the terms
    scale = np.sqrt(g["kh"] * g["kw"] * g["cin"])
    np.testing.assert_allclose(out, _tf_conv(x, w, g).numpy() + b, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize(
    ("shape", "stride", "expected_hw"),
    [((1, 28, 28, 1), 1, (28, 28)), ((1, 7, 5, 1), 2, (4, 3)), ((1, 10, 9, 1), (3, 4), (4, 3))],
)
def test_conv2d_same_padding_gives_ceil_size(shape, stride, expected_hw):
    out = S.conv2d(np.ones(shape), np.ones((3, 2, 1, 2)), stride=stride, padding="same")
    assert out.shape == (1, *expected_hw, 2)


def test_conv2d_without_bias_and_with_integer_input():
    x = np.arange(16).reshape(1, 4, 4, 1)  # ints are converted to float64
    w = np.ones((2, 2, 1, 1), dtype=np.int32)
    out = S.conv2d(x, w)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, :, :, 0], [[10, 14, 18], [26, 30, 34], [42, 46, 50]])


def test_conv2d_mixed_dtypes_compute_in_float64():
    x = np.ones((1, 3, 3, 1), dtype=np.float32)
    assert S.conv2d(x, np.ones((2, 2, 1, 1))).dtype == np.float64


def test_conv2d_propagates_nan():
    x = np.zeros((1, 4, 4, 1))
    x[0, 0, 0, 0] = np.nan
    out = S.conv2d(x, np.ones((2, 2, 1, 1)))[0, :, :, 0]
    assert np.isnan(out[0, 0]) and not np.isnan(out[1:, 1:]).any()


@pytest.mark.parametrize("strategy", STRATEGIES)
@given(g=conv_geometry())
def test_conv2d_backward_matches_tf_gradient_tape(g, strategy):
    with pytest.MonkeyPatch.context() as mp:
        for name, value in STRATEGIES[strategy].items():
            mp.setattr(conv_module, name, value)
        _check_backward_against_tf(g)


def _check_backward_against_tf(g):
    x, w, b = _arrays(g)
    out = S.conv2d(x, w, b, stride=g["stride"], padding=g["padding"])
    dout = _rng(g["seed"] + 1).standard_normal(out.shape)
    xt, wt, bt = tf.constant(x), tf.constant(w), tf.constant(b)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt, bt])
        loss = tf.reduce_sum((_tf_conv(xt, wt, g) + bt) * dout)
    gx, gw, gb = tape.gradient(loss, [xt, wt, bt])
    dx, dw, db = S.conv2d_backward(dout, x, w, stride=g["stride"], padding=g["padding"])
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    np.testing.assert_allclose(dx, gx.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, gw.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, gb.numpy(), rtol=1e-10, atol=1e-10)


def _conv_and_grads(g, x, w, b, dout):
    out = S.conv2d(x, w, b, stride=g["stride"], padding=g["padding"])
    return (out, *S.conv2d_backward(dout, x, w, stride=g["stride"], padding=g["padding"]))


@pytest.mark.parametrize("thin", [conv_module._THIN, 0])
@given(
    g=conv_geometry(max_hw=7, max_batch=7),
    images_per_chunk=st.integers(1, 6),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_chunked_conv2d_matches_one_chunk_and_tf(g, images_per_chunk, dtype, thin):
    # the patch matrices are built a few images at a time; a chunk size cut to images_per_chunk
    # forward-pass images (the backward pass's own chunks then fall elsewhere) must give the
    # single-chunk results (up to the order of dw's sum) and TensorFlow's
    x, w, b = _arrays(g, dtype)
    xt, wt = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        out_tf = _tf_conv(xt, wt, g)
    dout = _rng(g["seed"] + 1).standard_normal(out_tf.shape).astype(dtype)
    tf_results = (out_tf.numpy() + b, *tape.gradient(out_tf, [xt, wt], output_gradients=tf.constant(dout)))
    patch_bytes = out_tf.shape[1] * out_tf.shape[2] * g["kh"] * g["kw"] * g["cin"] * x.itemsize
    chunk_counts = []
    real_map_chunks = conv_module._map_chunks

    def counted_map_chunks(*args):
        results = real_map_chunks(*args)
        chunk_counts.append(len(results))
        return results

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(conv_module, "_THIN", thin)
        mp.setattr(conv_module, "_CHUNK_BYTES", 2**62)
        whole = _conv_and_grads(g, x, w, b, dout)
        mp.setattr(conv_module, "_CHUNK_BYTES", images_per_chunk * patch_bytes)
        mp.setattr(conv_module, "_map_chunks", counted_map_chunks)
        chunked = _conv_and_grads(g, x, w, b, dout)
    assert chunk_counts[0] == -(-g["n"] // images_per_chunk)  # the forward pass's chunks, as asked
    tight = 1e-12 if dtype == np.float64 else 1e-5
    scale = np.sqrt(max(np.prod(out_tf.shape[:3]), g["kh"] * g["kw"] * g["cout"]))
    loose = 1e-10 if dtype == np.float64 else 1e-5 * scale
    for name, a, one, ref in zip(("out", "dx", "dw"), chunked, whole, tf_results):
        assert a.dtype == dtype, name
        np.testing.assert_allclose(a, one, rtol=tight, atol=tight * scale, err_msg=name)
        np.testing.assert_allclose(a, ref, rtol=loose, atol=loose, err_msg=name)
    np.testing.assert_array_equal(chunked[3], whole[3])  # db does not depend on the chunks


@given(conv_geometry(max_hw=6, max_batch=2, max_c=2))
def test_conv2d_backward_matches_tf_float32(g):
    x, w, _ = _arrays(g, np.float32)
    out = S.conv2d(x, w, stride=g["stride"], padding=g["padding"])
    dout = _rng(g["seed"] + 1).standard_normal(out.shape).astype(np.float32)
    xt, wt = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        loss = tf.reduce_sum(_tf_conv(xt, wt, g) * dout)
    gx, gw = tape.gradient(loss, [xt, wt])
    dx, dw, db = S.conv2d_backward(dout, x, w, stride=g["stride"], padding=g["padding"])
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    scale = np.sqrt(max(out.shape[0] * out.shape[1] * out.shape[2], g["kh"] * g["kw"] * g["cout"]))
    np.testing.assert_allclose(dx, gx.numpy(), rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(dw, gw.numpy(), rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize(
    ("shape", "cin", "cout"), [((3, 20, 19), 1, 32), ((2, 33, 17), 3, 16), ((1, 8, 8), 32, 64), ((7, 16, 16), 32, 64)]
)
def test_conv2d_large_batches_match_tf(shape, cin, cout):
    # real-sized layers with the default strategies: enough output pixels for row-blocked products
    # in the thin cases (pixel counts not multiples of the block, so a remainder is left); the last
    # two cases are wide (chunked products, dx as one correlation); the 7 images of the last one make
    # patch matrices of three images per chunk at float64 and so a shorter last chunk
    g = dict(n=shape[0], h=shape[1], w=shape[2], cin=cin, cout=cout, kh=3, kw=3, stride=1, padding="same", seed=7)
    x, w, b = _arrays(g)
    dout = _rng(8).standard_normal((*shape, cout))
    xt, wt = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        out_tf = _tf_conv(xt, wt, g)
    gx, gw = tape.gradient(out_tf, [xt, wt], output_gradients=tf.constant(dout))
    np.testing.assert_allclose(S.conv2d(x, w, b, padding="same"), out_tf.numpy() + b, rtol=1e-10, atol=1e-10)
    dx, dw, db = S.conv2d_backward(dout, x, w, padding="same")
    np.testing.assert_allclose(dx, gx.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, gw.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 1, 2)), rtol=1e-12)


@given(conv_geometry(max_hw=5, max_batch=2, max_c=2))
def test_conv2d_backward_matches_numerical_gradient(g):
    x, w, b = _arrays(g)
    stride, padding = g["stride"], g["padding"]
    dout = _rng(g["seed"] + 1).standard_normal(S.conv2d(x, w, b, stride, padding).shape)

    def loss(_):
        return np.sum(S.conv2d(x, w, b, stride, padding) * dout)

    dx, dw, db = S.conv2d_backward(dout, x, w, stride, padding)
    for analytic, param in ((dx, x), (dw, w), (db, b)):
        np.testing.assert_allclose(analytic, S.numerical_gradient(loss, param), rtol=1e-7, atol=1e-8)


# --------------------------------------------------------------------------------------------------
# im2col / col2im
# --------------------------------------------------------------------------------------------------


@given(conv_geometry())
def test_im2col_times_reshaped_kernel_is_conv2d(g):
    x, w, _ = _arrays(g)
    cols = S.im2col(x, g["kh"], g["kw"], g["stride"], g["padding"])
    out = S.conv2d(x, w, stride=g["stride"], padding=g["padding"])
    assert cols.shape == (out.shape[0] * out.shape[1] * out.shape[2], g["kh"] * g["kw"] * g["cin"])
    np.testing.assert_allclose((cols @ w.reshape(-1, g["cout"])).reshape(out.shape), out, rtol=1e-12, atol=1e-12)


def test_im2col_documented_layout():
    # one explicit example: row (n*OH + i)*OW + j, column (u*KW + v)*C + c holds xp[n, i*sh+u, j*sw+v, c]
    x = np.arange(2 * 5 * 6 * 3, dtype=float).reshape(2, 5, 6, 3)
    kh, kw, (sh, sw), p = 2, 3, (2, 1), 1
    cols = S.im2col(x, kh, kw, stride=(sh, sw), padding=p)
    xp = S.zero_pad(x, p)
    oh, ow = S.output_size(5, kh, p, sh), S.output_size(6, kw, p, sw)
    for n, i, j, u, v, c in np.ndindex(2, oh, ow, kh, kw, 3):
        assert cols[(n * oh + i) * ow + j, (u * kw + v) * 3 + c] == xp[n, i * sh + u, j * sw + v, c]


@given(conv_geometry())
def test_col2im_is_adjoint_of_im2col(g):
    rng = _rng(g["seed"])
    x = rng.standard_normal((g["n"], g["h"], g["w"], g["cin"]))
    cols = S.im2col(x, g["kh"], g["kw"], g["stride"], g["padding"])
    c = rng.standard_normal(cols.shape)
    back = S.col2im(c, x.shape, g["kh"], g["kw"], g["stride"], g["padding"])
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-10, atol=1e-10)


def test_col2im_counts_overlaps():
    # col2im of all-ones = how many windows cover each pixel (3x3 kernel, stride 1, 'valid' on 4x4)
    counts = S.col2im(np.ones((4, 9)), (1, 4, 4, 1), 3, 3)[0, :, :, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------

X = np.zeros((2, 5, 5, 3))
W = np.zeros((3, 3, 3, 4))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(x=np.zeros((5, 5, 3))), ValueError, r"x must be 4-D \(N, H, W, C\), got shape \(5, 5, 3\)"),
        (dict(w=np.zeros((3, 3, 3))), ValueError, r"w must be 4-D \(KH, KW, Cin, Cout\)"),
        (dict(w=np.zeros((3, 3, 2, 4))), ValueError, "channel mismatch: x has 3 channels .* Cin=2"),
        (dict(b=np.zeros(3)), ValueError, r"b must have shape \(Cout,\) = \(4,\), got \(3,\)"),
        (dict(b=np.zeros((1, 4))), ValueError, r"b must have shape \(Cout,\)"),
        (dict(w=np.zeros((6, 3, 3, 4))), ValueError, "kernel height 6 is larger than the padded input height 5"),
        (dict(w=np.zeros((3, 8, 3, 4)), padding=1), ValueError, "kernel width 8 is larger than the padded input width"),
        (dict(stride=0), ValueError, "stride must be >= 1"),
        (dict(stride=(1, 0)), ValueError, r"stride\[1\] must be >= 1"),
        (dict(stride=1.0), TypeError, "stride must be a positive integer"),
        (dict(stride=(1, 2, 3)), ValueError, r"stride must be an int or a pair"),
        (dict(padding="full"), ValueError, "padding must be 'valid', 'same', an int or a pair"),
        (dict(padding="SAME"), ValueError, "padding must be 'valid', 'same'"),
        (dict(padding=-1), ValueError, "padding must be >= 0"),
        (dict(padding=(0, -2)), ValueError, r"padding\[1\] must be >= 0"),
        (dict(padding=1.5), TypeError, "padding must be 'valid', 'same', an int or a pair"),
        (dict(x=np.zeros((0, 5, 5, 3))), ValueError, "x must not be empty"),
        (dict(x=np.full((2, 5, 5, 3), "s")), TypeError, "x must be a real numeric array"),
        (dict(w=np.zeros((3, 3, 3, 4), dtype=complex)), TypeError, "w must be a real numeric array"),
    ],
)
def test_conv2d_validation(kwargs, error, match):
    args = dict(x=X, w=W, b=None, stride=1, padding="valid") | kwargs
    with pytest.raises(error, match=match):
        S.conv2d(**args)
    if "b" not in kwargs:  # the loop version shares the checks
        with pytest.raises(error, match=match):
            conv2d_loops(**args)


def test_conv2d_backward_validation():
    with pytest.raises(ValueError, match=r"dout must have the output shape \(2, 3, 3, 4\), got \(2, 3, 3, 3\)"):
        S.conv2d_backward(np.zeros((2, 3, 3, 3)), X, W)
    with pytest.raises(ValueError, match="channel mismatch"):
        S.conv2d_backward(np.zeros((2, 3, 3, 4)), X, np.zeros((3, 3, 1, 4)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: S.conv1d([1.0, 2.0], [1.0], mode="circular"), ValueError, "mode must be one of"),
        (lambda: S.correlate1d([1.0, 2.0], [1.0], mode="nope"), ValueError, "mode must be one of"),
        (lambda: S.conv1d(np.ones((2, 2)), [1.0]), ValueError, "x must be 1-D"),
        (lambda: S.conv1d([1.0], np.ones((2, 2))), ValueError, "w must be 1-D"),
        (lambda: S.correlate1d([1.0], np.ones((2, 2))), ValueError, "w must be 1-D"),
        (lambda: S.conv1d([], [1.0]), ValueError, "x must not be empty"),
        (lambda: S.conv1d(["a"], [1.0]), TypeError, "x must be a real numeric array"),
        (lambda: S.convolve2d(np.ones(3), np.ones((2, 2))), ValueError, "image must be 2-D"),
        (lambda: S.correlate2d(np.ones((3, 3)), np.ones(2)), ValueError, "kernel must be 2-D"),
        (lambda: S.convolve2d(np.ones((3, 3)), np.ones((2, 2)), "wrap"), ValueError, "mode must be one of"),
        (lambda: S.convolve2d(np.ones((3, 3)), np.ones((0, 2))), ValueError, "kernel must not be empty"),
        (lambda: S.correlate2d(np.ones((3, 5)), np.ones((4, 2))), ValueError, "at least as large"),
        (lambda: S.im2col(X, 0, 3), ValueError, "kh must be >= 1"),
        (lambda: S.im2col(X, 3, 2.0), TypeError, "kw must be a positive integer"),
        (lambda: S.im2col(X, 3, 6), ValueError, "kernel width 6 is larger"),
        (lambda: S.col2im(np.zeros((18, 27)), (2, 5, 5), 3, 3), ValueError, r"x_shape must be \(N, H, W, C\)"),
        (lambda: S.col2im(np.zeros((18, 26)), (2, 5, 5, 3), 3, 3), ValueError, r"cols must have shape \(18, 27\)"),
    ],
)
def test_other_validation_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_importing_solutions_does_not_import_tensorflow():
    code = "import sys, solutions; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_threads_in_a_browser(monkeypatch):
    """Pyodide (sys.platform 'emscripten') cannot start threads: wide layers then run in one thread."""
    from solutions import conv

    monkeypatch.setattr(conv.sys, "platform", "emscripten")
    monkeypatch.setattr(conv, "ThreadPoolExecutor", None)  # any attempt to start threads would fail
    monkeypatch.setattr(conv, "_blas", None)  # and threadpoolctl is not asked
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((8, 16, 16, 32)), rng.standard_normal((3, 3, 32, 64))
    out = conv.conv2d(x, w, padding="same")
    expected = tf.nn.conv2d(x, w, strides=1, padding="SAME").numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
