"""solutions.normalization against keras.layers.BatchNormalization, tf.GradientTape and numerical gradients."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import solutions as S
from solutions.numpy_net import relative_error

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")


def _state(rng, c):
    gamma, beta = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    return gamma, beta, mean, var


def _keras_bn(gamma, beta, mean, var, momentum, epsilon, ndim):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon, dtype="float64")
    layer.build((None,) * (ndim - 1) + (gamma.size,))
    layer.set_weights([gamma, beta, mean, var])
    return layer


@pytest.mark.parametrize("shape", [(8, 3), (4, 5, 6, 2)])
@pytest.mark.parametrize(("momentum", "epsilon"), [(0.99, 1e-3), (0.9, 1e-5), (0.0, 0.5), (1.0, 1e-3)])
@pytest.mark.parametrize("training", [True, False])
def test_forward_backward_and_running_statistics_match_keras(shape, momentum, epsilon, training):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    dout = rng.standard_normal(shape)
    gamma, beta, mean, var = _state(rng, shape[-1])
    layer = _keras_bn(gamma, beta, mean, var, momentum, epsilon, len(shape))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = layer(xt, training=training)
        loss = tf.reduce_sum(yt * dout)
    dxt, dgt, dbt = tape.gradient(loss, [xt, layer.gamma, layer.beta])

    y, new_mean, new_var, cache = S.batch_norm_forward(x, gamma, beta, mean, var, training, momentum, epsilon)
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(new_mean, layer.moving_mean.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(new_var, layer.moving_variance.numpy(), rtol=1e-12, atol=1e-12)
    dx, dgamma, dbeta = S.batch_norm_backward(dout, cache)
    np.testing.assert_allclose(dx, dxt.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dgamma, dgt.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dbeta, dbt.numpy(), rtol=1e-10, atol=1e-10)


def test_inputs_are_not_modified_and_inference_ignores_the_batch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4))
    gamma, beta, mean, var = _state(rng, 4)
    saved = [a.copy() for a in (x, gamma, beta, mean, var)]
    y_all = S.batch_norm_forward(x, gamma, beta, mean, var, training=False)[0]
    y_one = S.batch_norm_forward(x[:1], gamma, beta, mean, var, training=False)[0]
    np.testing.assert_allclose(y_all[:1], y_one)  # no dependence on the other examples
    y_train = S.batch_norm_forward(x, gamma, beta, mean, var, training=True)[0]
    assert not np.allclose(y_train[:1], S.batch_norm_forward(x[:2], gamma, beta, mean, var, True)[0][:1])
    for before, after in zip(saved, (x, gamma, beta, mean, var)):
        np.testing.assert_array_equal(before, after)


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.integers(1, 3),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_backward_matches_numerical_gradient(spatial, channels, training, seed):
    rng = np.random.default_rng(seed)
    shape = (2, *spatial[:-1], channels) if len(spatial) > 1 else (spatial[0] + 1, channels)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(shape)
    gamma, beta, mean, var = _state(rng, channels)

    def loss(_):
        return np.sum(S.batch_norm_forward(x, gamma, beta, mean, var, training, epsilon=1e-2)[0] * dout)

    dx, dgamma, dbeta = S.batch_norm_backward(dout, S.batch_norm_forward(x, gamma, beta, mean, var, training,
                                                                            epsilon=1e-2)[3])
    for analytic, wrt in ((dx, x), (dgamma, gamma), (dbeta, beta)):
        assert relative_error(analytic, S.numerical_gradient(loss, wrt)) < 1e-6


def test_training_output_is_standardised_per_channel():
    x = np.random.default_rng(2).standard_normal((16, 3, 3, 4)) * [1, 10, 100, 1000] + [0, -5, 50, 500]
    c = np.ones(4)
    y = S.batch_norm_forward(x, c, 0 * c, 0 * c, c, epsilon=1e-8)[0]
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-10)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, rtol=1e-6)


def test_float32_is_kept():
    c = np.ones(3, np.float32)
    y, m, v, cache = S.batch_norm_forward(np.ones((2, 3), np.float32), c, c, c, c)
    assert y.dtype == m.dtype == v.dtype == np.float32
    assert S.batch_norm_backward(np.ones((2, 3), np.float32), cache)[0].dtype == np.float32


C3 = np.ones(3)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.ones(3), C3, C3, C3, C3), {}, ValueError, r"batch axis and a channel axis"),
        ((np.ones((2, 3)), np.ones(2), C3, C3, C3), {}, ValueError, r"gamma must have shape \(C,\) = \(3,\)"),
        ((np.ones((2, 3)), C3, C3, C3, np.ones((3, 1))), {}, ValueError, "running_var must have shape"),
        ((np.ones((0, 3)), C3, C3, C3, C3), {}, ValueError, "must not be empty"),
        ((np.ones((2, 3)), C3, C3, C3, C3), {"momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\]"),
        ((np.ones((2, 3)), C3, C3, C3, C3), {"epsilon": 0}, ValueError, "epsilon must be > 0"),
        ((np.ones((2, 3)), C3, C3, C3, C3), {"training": "yes"}, TypeError, "training must be True or False"),
        ((np.ones((2, 3)), C3, C3, C3, C3), {"momentum": "0.9"}, TypeError, "momentum must be a real number"),
        ((np.full((2, 3), "a"), C3, C3, C3, C3), {}, TypeError, "real numeric array"),
    ],
)
def test_forward_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        S.batch_norm_forward(*args, **kwargs)


def test_backward_rejects_bad_input():
    cache = S.batch_norm_forward(np.ones((2, 3)), C3, C3, C3, C3)[3]
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(2, 3\)"):
        S.batch_norm_backward(np.ones((3, 2)), cache)
    with pytest.raises(TypeError, match="cache must be the dict returned by batch_norm_forward"):
        S.batch_norm_backward(np.ones((2, 3)), (1, 2))
