"""solutions.pooling against tf.nn.max_pool2d / avg_pool2d, tf.GradientTape and numerical gradients."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import solutions as S
from solutions.loops import avg_pool2d_loops, max_pool2d_loops

tf = pytest.importorskip("tensorflow")

SIZE = st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)))


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


@st.composite
def pool_geometry(draw, string_padding_only=True, max_hw=9):
    """Batch shape, pool size, stride (None = pool size) and a padding that TensorFlow also accepts."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    pool = draw(SIZE)
    stride = draw(st.one_of(st.none(), SIZE))
    forms = [st.sampled_from(["valid", "same"])]
    if not string_padding_only:  # explicit padding, at most half the pool size (checked in the test)
        forms += [st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))]
    padding = draw(st.one_of(*forms))
    ph, pw = _pair(pool)
    pads = (0, 0) if padding == "valid" else (99, 99) if padding == "same" else _pair(padding)
    assume(pads[0] <= ph // 2 or padding == "same")
    assume(pads[1] <= pw // 2 or padding == "same")
    assume(ph <= h + 2 * min(pads[0], ph) and pw <= w + 2 * min(pads[1], pw))
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(shape=(n, h, w, c), pool=pool, stride=stride, padding=padding, seed=seed)


def _distinct_values(shape, seed, dtype=np.float64):
    """Values in [-1, 1) with no ties (a shuffled grid) so that every max is unique."""
    size = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    return (rng.permutation(size).reshape(shape) * (2 / size) - 1).astype(dtype)


def _tf_args(g):
    ksize = _pair(g["pool"])
    strides = ksize if g["stride"] is None else _pair(g["stride"])
    return ksize, strides, g["padding"].upper()


def _ours(g):
    return dict(pool_size=g["pool"], stride=g["stride"], padding=g["padding"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(g=pool_geometry())
def test_pool_forward_matches_tf(g, dtype):
    x = np.random.default_rng(g["seed"]).standard_normal(g["shape"]).astype(dtype)
    mx, av = S.max_pool2d(x, **_ours(g)), S.avg_pool2d(x, **_ours(g))
    assert mx.dtype == av.dtype == dtype
    np.testing.assert_array_equal(mx, tf.nn.max_pool2d(tf.constant(x), *_tf_args(g)).numpy())
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(av, tf.nn.avg_pool2d(tf.constant(x), *_tf_args(g)).numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(g=pool_geometry())
def test_pool_backward_matches_tf_gradient_tape(g, dtype):
    x = _distinct_values(g["shape"], g["seed"], dtype)
    dout = np.random.default_rng(g["seed"] + 1).standard_normal(S.max_pool2d(x, **_ours(g)).shape).astype(dtype)
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        max_loss = tf.reduce_sum(tf.nn.max_pool2d(xt, *_tf_args(g)) * dout)
        avg_loss = tf.reduce_sum(tf.nn.avg_pool2d(xt, *_tf_args(g)) * dout)
    dmax = S.max_pool2d_backward(dout, x, **_ours(g))
    davg = S.avg_pool2d_backward(dout, x, **_ours(g))
    assert dmax.shape == davg.shape == x.shape and dmax.dtype == davg.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dmax, tape.gradient(max_loss, xt).numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(davg, tape.gradient(avg_loss, xt).numpy(), rtol=tol, atol=tol)


@given(g=pool_geometry(string_padding_only=False, max_hw=5))
def test_pool_backward_matches_numerical_gradient(g):
    # explicit int/pair padding too, which TensorFlow has no pooling op for
    x = _distinct_values(g["shape"], g["seed"])
    dout = np.random.default_rng(g["seed"] + 1).standard_normal(S.max_pool2d(x, **_ours(g)).shape)
    for forward, backward in ((S.max_pool2d, S.max_pool2d_backward), (S.avg_pool2d, S.avg_pool2d_backward)):
        numeric = S.numerical_gradient(lambda v: np.sum(forward(v, **_ours(g)) * dout), x, h=1e-5)
        np.testing.assert_allclose(backward(dout, x, **_ours(g)), numeric, rtol=1e-7, atol=1e-8)


@given(g=pool_geometry(string_padding_only=False, max_hw=6))
def test_pool_matches_loop_versions(g):
    x = np.random.default_rng(g["seed"]).standard_normal(g["shape"])
    np.testing.assert_array_equal(S.max_pool2d(x, **_ours(g)), max_pool2d_loops(x, **_ours(g)))
    np.testing.assert_allclose(S.avg_pool2d(x, **_ours(g)), avg_pool2d_loops(x, **_ours(g)), rtol=1e-12)


def test_same_padding_is_ignored_not_zero():
    # all-negative input: a zero from padding would win the max / dilute the mean; TF ignores it
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(S.max_pool2d(x, 2, padding="same")[0, :, :, 0], [[-1, -3], [-7, -9]])
    np.testing.assert_array_equal(S.avg_pool2d(x, 2, padding="same")[0, :, :, 0], [[-3, -4.5], [-7.5, -9]])


def test_stride_defaults_to_pool_size():
    x = np.arange(36.0).reshape(1, 6, 6, 1)
    assert S.max_pool2d(x, 3).shape == (1, 2, 2, 1)
    assert S.avg_pool2d(x, (2, 3)).shape == (1, 3, 2, 1)


def test_max_pool_tie_rule_first_in_window_like_tf():
    # overlapping 2x2 windows (stride 1) over a constant block: every window is a tie
    x = np.zeros((1, 3, 4, 2))
    x[..., 1] = np.array([[1, 5, 5, 0], [5, 5, 2, 5], [0, 5, 5, 5]])
    dout = np.arange(1.0, 1 + 2 * 3 * 2).reshape(1, 2, 3, 2)
    ours = S.max_pool2d_backward(dout, x, 2, 1)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(tf.nn.max_pool2d(xt, 2, 1, "VALID") * dout)
    np.testing.assert_array_equal(ours, tape.gradient(loss, xt).numpy())
    # and the documented rule directly: window (0, 0) of channel 0 sends all to its top-left cell
    assert ours[0, 0, 0, 0] == dout[0, 0, 0, 0]


def test_max_pool_propagates_nan():
    x = np.zeros((1, 4, 4, 1))
    x[0, 0, 0, 0] = np.nan
    out = S.max_pool2d(x, 2)[0, :, :, 0]
    assert np.isnan(out[0, 0]) and not np.isnan(out.ravel()[1:]).any()


def test_global_pools():
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 2))
    keras = pytest.importorskip("keras")
    np.testing.assert_allclose(S.global_avg_pool2d(x), keras.layers.GlobalAveragePooling2D()(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(S.global_max_pool2d(x), keras.layers.GlobalMaxPooling2D()(x).numpy(), rtol=1e-6)
    assert S.global_avg_pool2d(x).shape == S.global_max_pool2d(x).shape == (3, 2)
    np.testing.assert_allclose(S.global_avg_pool2d(x), S.avg_pool2d(x, (4, 5))[:, 0, 0, :], rtol=1e-12)


X = np.zeros((2, 5, 5, 3))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: S.max_pool2d(np.zeros((5, 5, 3))), ValueError, r"x must be 4-D \(N, H, W, C\)"),
        (lambda: S.avg_pool2d(X, 0), ValueError, "pool_size must be >= 1"),
        (lambda: S.max_pool2d(X, 2.5), TypeError, "pool_size must be a positive integer"),
        (lambda: S.max_pool2d(X, (2, 2, 2)), ValueError, "pool_size must be an int or a pair"),
        (lambda: S.avg_pool2d(X, 2, stride=0), ValueError, "stride must be >= 1"),
        (lambda: S.avg_pool2d(X, 2, stride=(1, 0)), ValueError, r"stride\[1\] must be >= 1"),
        (lambda: S.max_pool2d(X, 2, padding="full"), ValueError, "padding must be 'valid', 'same'"),
        (lambda: S.max_pool2d(X, 2, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: S.max_pool2d(X, 2, padding=2), ValueError, "padding 2 along height must be at most half the pool"),
        (lambda: S.avg_pool2d(X, (4, 2), padding=(2, 2)), ValueError, "padding 2 along width must be at most half"),
        (lambda: S.max_pool2d(X, 6), ValueError, "pool window height 6 is larger than the padded input height 5"),
        (lambda: S.max_pool2d(X, (2, 8), padding=1), ValueError, "pool window width 8 is larger than the padded input"),
        (lambda: S.max_pool2d(np.zeros((0, 5, 5, 3))), ValueError, "x must not be empty"),
        (lambda: S.avg_pool2d(X.astype(complex)), TypeError, "x must be a real numeric array"),
        (lambda: S.max_pool2d_backward(np.zeros((2, 2, 2, 2)), X), ValueError, r"output shape \(2, 2, 2, 3\)"),
        (lambda: S.avg_pool2d_backward(np.zeros((2, 3, 3, 3)), X), ValueError, r"output shape \(2, 2, 2, 3\)"),
        (lambda: S.global_avg_pool2d(np.zeros((5, 5, 3))), ValueError, r"x must be 4-D"),
        (lambda: S.global_max_pool2d(np.zeros((5, 5, 3))), ValueError, r"x must be 4-D"),
        (lambda: max_pool2d_loops(X, 6), ValueError, "pool window height 6 is larger"),
    ],
)
def test_pool_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()
