"""The plain-loop versions agree with the vectorised ones on every padding form and stride."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import solutions as S
from solutions.loops import avg_pool2d_loops, conv2d_backward_loops, conv2d_loops, max_pool2d_loops

STRIDE = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))


@settings(max_examples=30)
@given(
    st.integers(1, 2), st.integers(1, 7), st.integers(1, 7), st.integers(1, 3), st.integers(1, 3),
    st.integers(1, 4), st.integers(1, 4), STRIDE,
    st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))),
    st.booleans(), st.integers(0, 2**32 - 1),
)
def test_conv2d_loops_equals_conv2d(n, h, w, cin, cout, kh, kw, stride, padding, bias, seed):
    ph, pw = (0, 0) if padding in ("valid", "same") else (padding if isinstance(padding, tuple) else (padding, padding))
    if padding != "same" and (kh > h + 2 * ph or kw > w + 2 * pw):
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv2d_loops(np.zeros((n, h, w, cin)), np.zeros((kh, kw, cin, cout)), stride=stride, padding=padding)
        return
    rng = np.random.default_rng(seed)
    x, wt = rng.standard_normal((n, h, w, cin)), rng.standard_normal((kh, kw, cin, cout))
    b = rng.standard_normal(cout) if bias else None
    out = S.conv2d(x, wt, b, stride, padding)
    np.testing.assert_allclose(conv2d_loops(x, wt, b, stride, padding), out, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    loop_grads = conv2d_backward_loops(dout, x, wt, stride, padding)
    for loop, fast in zip(loop_grads, S.conv2d_backward(dout, x, wt, stride, padding)):
        np.testing.assert_allclose(loop, fast, rtol=1e-12, atol=1e-12)


def test_conv2d_backward_loops_validation():
    with pytest.raises(ValueError, match=r"dout must have the output shape \(1, 3, 3, 1\)"):
        conv2d_backward_loops(np.zeros((1, 2, 2, 1)), np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 1, 1)))
    with pytest.raises(ValueError, match="channel mismatch"):
        conv2d_backward_loops(np.zeros((1, 3, 3, 1)), np.zeros((1, 4, 4, 2)), np.zeros((2, 2, 1, 1)))


def test_loops_keep_float32():
    x = np.ones((1, 4, 4, 2), dtype=np.float32)
    assert conv2d_loops(x, np.ones((2, 2, 2, 1), dtype=np.float32)).dtype == np.float32
    assert max_pool2d_loops(x).dtype == avg_pool2d_loops(x).dtype == np.float32


def test_pool_loops_on_a_worked_example():
    # 4x4 image, 2x2 windows, stride 2: the example the book works by hand
    x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]], dtype=float).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(max_pool2d_loops(x)[0, :, :, 0], [[6, 5], [7, 9]])
    np.testing.assert_array_equal(avg_pool2d_loops(x)[0, :, :, 0], [[3.5, 2], [2.5, 6]])
    np.testing.assert_array_equal(S.max_pool2d(x), max_pool2d_loops(x))
