"""solutions.layers: relu, softmax, cross-entropy, dropout, numerical_gradient."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import solutions as S

tf = pytest.importorskip("tensorflow")

SEED = st.integers(0, 2**32 - 1)


@given(st.integers(1, 6), st.integers(1, 6), SEED)
def test_relu_and_softmax_match_tf(n, k, seed):
    z = np.random.default_rng(seed).standard_normal((n, k)) * 5
    np.testing.assert_array_equal(S.relu(z), tf.nn.relu(tf.constant(z)).numpy())
    np.testing.assert_allclose(S.softmax(z), tf.nn.softmax(tf.constant(z)).numpy(), rtol=1e-12, atol=1e-15)
    expected = tf.nn.softmax(tf.constant(z), axis=0).numpy()
    np.testing.assert_allclose(S.softmax(z, axis=0), expected, rtol=1e-12, atol=1e-15)


def test_relu_keeps_shape_and_float32():
    x = np.array([[-1.0, 0.0, 2.5]], dtype=np.float32)
    out = S.relu(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 0, 2.5]])


def test_softmax_is_stable_for_huge_logits():
    z = np.array([[1000.0, 1001.0, 1002.0], [-1e4, 0.0, 1e4]])
    p = S.softmax(z)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p[0], S.softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


@given(st.integers(1, 8), st.integers(1, 6), SEED)
def test_cross_entropy_matches_tf(n, k, seed):
    rng = np.random.default_rng(seed)
    logits, labels = rng.standard_normal((n, k)) * 4, rng.integers(0, k, n)
    expected = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.constant(logits))).numpy()
    assert S.cross_entropy(logits, labels) == pytest.approx(expected, rel=1e-12, abs=1e-14)
    loss, _ = S.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_cross_entropy_is_finite_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]])
    # the first example is confidently right (loss 0), the second confidently wrong (loss 1e4)
    assert S.cross_entropy(logits, np.array([0, 0])) == pytest.approx(1e4 / 2)
    assert S.cross_entropy(np.zeros((3, 10)), np.array([1, 2, 3])) == pytest.approx(np.log(10))


@given(st.integers(1, 5), st.integers(1, 5), SEED)
def test_softmax_cross_entropy_gradient(n, k, seed):
    rng = np.random.default_rng(seed)
    logits, labels = rng.standard_normal((n, k)), rng.integers(0, k, n)
    zt = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, zt))
    _, dlogits = S.softmax_cross_entropy(logits, labels)
    np.testing.assert_allclose(dlogits, tape.gradient(loss, zt).numpy(), rtol=1e-10, atol=1e-12)
    numeric = S.numerical_gradient(lambda z: S.cross_entropy(z, labels), logits.copy())
    np.testing.assert_allclose(dlogits, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("logits", "labels", "error", "match"),
    [
        (np.zeros(3), np.array([0]), ValueError, r"logits must be 2-D \(N, K\)"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError, "labels must be integer class indices"),
        (np.zeros((2, 3)), np.array([0, 1, 2]), ValueError, r"labels must have shape \(N,\) = \(2,\)"),
        (np.zeros((2, 3)), np.array([[0, 1]]), ValueError, r"labels must have shape \(N,\)"),
        (np.zeros((2, 3)), np.array([0, 3]), ValueError, r"labels must lie in \[0, 2\]"),
        (np.zeros((2, 3)), np.array([-1, 0]), ValueError, r"labels must lie in \[0, 2\]"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), ValueError, "at least one example and one class"),
        (np.full((2, 3), "a"), np.array([0, 1]), TypeError, "logits must be a real numeric array"),
    ],
)
def test_cross_entropy_validation(logits, labels, error, match):
    for fn in (S.cross_entropy, S.softmax_cross_entropy):
        with pytest.raises(error, match=match):
            fn(logits, labels)


@given(st.floats(0.05, 0.95), SEED)
def test_dropout_inverted_mask(rate, seed):
    x = np.random.default_rng(seed).standard_normal((40, 50)) + 3.0
    y, mask = S.dropout(x, rate, rng=seed)
    kept = mask != 0
    np.testing.assert_allclose(mask[kept], 1 / (1 - rate))  # scaling lives in the mask
    np.testing.assert_array_equal(y, x * mask)
    # 2000 Bernoulli draws: the kept fraction is within 5 standard deviations of 1 - rate
    assert abs(kept.mean() - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / kept.size)
    np.testing.assert_array_equal(S.dropout_backward(np.ones_like(x), mask), mask)


def test_dropout_reproducible_and_generator_accepted():
    x = np.ones((10, 10))
    assert np.array_equal(S.dropout(x, 0.5, rng=3)[1], S.dropout(x, 0.5, rng=3)[1])
    gen = np.random.default_rng(3)
    first, second = S.dropout(x, 0.5, rng=gen)[1], S.dropout(x, 0.5, rng=gen)[1]
    assert not np.array_equal(first, second)  # a Generator advances between calls


def test_dropout_expected_value_is_preserved():
    x = np.full(200_000, 2.0)
    y, _ = S.dropout(x, 0.3, rng=0)
    assert y.mean() == pytest.approx(2.0, rel=0.01)


@pytest.mark.parametrize(("rate", "training"), [(0.0, True), (0.5, False), (0.99, False)])
def test_dropout_identity_at_inference_or_zero_rate(rate, training):
    x = np.arange(6.0).reshape(2, 3)
    y, mask = S.dropout(x, rate, training=training)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))


def test_dropout_keeps_float32():
    y, mask = S.dropout(np.ones(5, dtype=np.float32), 0.5, rng=0)
    assert y.dtype == mask.dtype == np.float32


@pytest.mark.parametrize(
    ("rate", "error", "match"),
    [(1.0, ValueError, r"rate must be in \[0, 1\), got 1.0"), (-0.1, ValueError, r"rate must be in \[0, 1\)"),
     (float("nan"), ValueError, r"rate must be in \[0, 1\)"), ("0.5", TypeError, "rate must be a number"),
     (True, TypeError, "rate must be a number")],
)
def test_dropout_rejects_bad_rate(rate, error, match):
    with pytest.raises(error, match=match):
        S.dropout(np.ones(3), rate)


def test_dropout_backward_shape_mismatch():
    with pytest.raises(ValueError, match=r"dout shape \(3,\) does not match mask shape \(4,\)"):
        S.dropout_backward(np.ones(3), np.ones(4))


def test_numerical_gradient_of_cubic_and_x_restored():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    grad = S.numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-9)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_works_with_closures_and_restores_after_error():
    x = np.array([1.0, 2.0, 3.0])
    # f may ignore its argument and read x directly, as in CS231n-style checks
    np.testing.assert_allclose(S.numerical_gradient(lambda _: float(x @ x), x), 2 * x, rtol=1e-9)

    def boom(v):
        raise RuntimeError("f failed")

    with pytest.raises(RuntimeError, match="f failed"):
        S.numerical_gradient(boom, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("x", "h", "error", "match"),
    [
        ([1.0, 2.0], 1e-5, TypeError, "x must be a floating-point NumPy array"),
        (np.array([1, 2]), 1e-5, TypeError, "x must be a floating-point NumPy array"),
        (np.array([1.0, 2.0]), 0.0, ValueError, "h must be positive"),
        (np.array([1.0, 2.0]), -1e-5, ValueError, "h must be positive"),
    ],
)
def test_numerical_gradient_validation(x, h, error, match):
    with pytest.raises(error, match=match):
        S.numerical_gradient(np.sum, x, h)
