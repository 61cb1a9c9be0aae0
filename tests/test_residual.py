"""solutions.residual against the same block built from Keras layers (forward, running statistics, GradientTape)."""
import numpy as np
import pytest

import solutions as S
from solutions.numpy_net import relative_error

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

MOMENTUM, EPSILON = 0.9, 1e-3


def _random_params(cin, cout, stride, seed):
    """init_residual_block's shapes, with batch-norm parameters and statistics made non-trivial."""
    rng = np.random.default_rng(seed)
    params = S.init_residual_block(cin, cout, stride, rng=rng)
    for key in ("bn1", "bn2", "bn_proj"):
        if key in params:
            c = params[key]["gamma"].size
            params[key] = {"gamma": rng.uniform(0.5, 2, c), "beta": rng.standard_normal(c),
                           "mean": rng.standard_normal(c) * 0.1, "var": rng.uniform(0.5, 2, c)}
    return params


def _keras_block(params, input_shape, stride):
    """The block of solutions.residual as a Keras model, with ``params`` loaded."""
    def conv(name, k, s):
        return keras.layers.Conv2D(params[name].shape[3], k, strides=s, padding="same", use_bias=False,
                                   name=name, dtype="float64")

    def bn(name):
        return keras.layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name=name, dtype="float64")

    inputs = keras.Input(input_shape, dtype="float64")
    h = keras.layers.ReLU(dtype="float64")(bn("bn1")(conv("conv1", 3, stride)(inputs)))
    h = bn("bn2")(conv("conv2", 3, 1)(h))
    shortcut = bn("bn_proj")(conv("proj", 1, stride)(inputs)) if "proj" in params else inputs
    outputs = keras.layers.ReLU(dtype="float64")(keras.layers.Add(dtype="float64")([h, shortcut]))
    model = keras.Model(inputs, outputs)
    for name, value in params.items():
        weights = [value[k] for k in S.residual.BN_KEYS] if name.startswith("bn") else [value]
        model.get_layer(name).set_weights(weights)
    return model


@pytest.mark.parametrize(("cin", "cout", "stride"), [(3, 3, 1), (2, 4, 2), (3, 5, 1)])
@pytest.mark.parametrize("training", [True, False])
def test_block_matches_keras_forward_statistics_and_gradients(cin, cout, stride, training):
    rng = np.random.default_rng(cin + cout)
    x = rng.standard_normal((3, 6, 5, cin))
    params = _random_params(cin, cout, stride, seed=7)
    model = _keras_block(params, x.shape[1:], stride)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = model(xt, training=training)
        dout = rng.standard_normal(yt.shape)
        loss = tf.reduce_sum(yt * dout)
    variables = model.trainable_variables
    dx_tf, *grads_list = tape.gradient(loss, [xt, *variables])
    grads_tf = {v.path: g.numpy() for v, g in zip(variables, grads_list)}

    out, running, cache = S.residual_block_forward(x, params, stride, training, MOMENTUM, EPSILON)
    np.testing.assert_allclose(out, yt.numpy(), rtol=1e-9, atol=1e-9)
    dx, grads = S.residual_block_backward(dout, cache)
    for name in params:
        layer = model.get_layer(name)
        if name.startswith("bn"):
            np.testing.assert_allclose(running[name][0], layer.moving_mean.numpy(), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(running[name][1], layer.moving_variance.numpy(), rtol=1e-10, atol=1e-12)
            for key, var in (("gamma", layer.gamma), ("beta", layer.beta)):
                np.testing.assert_allclose(grads[name][key], grads_tf[var.path], rtol=1e-7, atol=1e-9)
        else:
            np.testing.assert_allclose(grads[name], grads_tf[layer.kernel.path], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dx, dx_tf.numpy(), rtol=1e-7, atol=1e-9)


def test_block_backward_matches_numerical_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 4, 2))
    params = _random_params(2, 3, 2, seed=1)
    out, _, cache = S.residual_block_forward(x, params, stride=2)
    dout = rng.standard_normal(out.shape)
    dx, grads = S.residual_block_backward(dout, cache)

    def loss(_):
        return np.sum(S.residual_block_forward(x, params, stride=2)[0] * dout)

    assert relative_error(dx, S.numerical_gradient(loss, x)) < 1e-6
    assert relative_error(grads["proj"], S.numerical_gradient(loss, params["proj"])) < 1e-6
    assert relative_error(grads["bn1"]["gamma"], S.numerical_gradient(loss, params["bn1"]["gamma"])) < 1e-6


def test_identity_shortcut_passes_the_gradient_straight_through():
    # With conv2's kernel zero the residual branch is constant, so out = relu(beta2 + x) and dx = dout * (out > 0).
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 5, 3))
    params = S.init_residual_block(3, 3, rng=rng)
    params["conv2"] = np.zeros_like(params["conv2"])
    out, _, cache = S.residual_block_forward(x, params)
    dout = rng.standard_normal(out.shape)
    dx, _ = S.residual_block_backward(dout, cache)
    np.testing.assert_allclose(dx, dout * (x > 0), atol=1e-12)


def test_init_adds_a_projection_only_when_needed():
    assert "proj" not in S.init_residual_block(4, 4, 1, rng=0)
    assert S.init_residual_block(4, 8, 1, rng=0)["proj"].shape == (1, 1, 4, 8)
    assert S.init_residual_block(4, 4, 2, rng=0)["bn_proj"]["gamma"].shape == (4,)


def test_block_rejects_bad_input():
    x = np.ones((1, 4, 4, 3))
    params = S.init_residual_block(3, 3, rng=0)
    with pytest.raises(ValueError, match="identity shortcut needs stride 1 and Cin == Cout"):
        S.residual_block_forward(x, params, stride=2)
    with pytest.raises(ValueError, match=r"params\['conv2'\] must have shape \(3, 3, 3, 3\)"):
        S.residual_block_forward(x, {**params, "conv2": np.ones((3, 3, 2, 3))})
    with pytest.raises(ValueError, match=r"params\['conv1'\] must have shape \(3, 3, 2, 3\)"):
        S.residual_block_forward(np.ones((1, 4, 4, 2)), params)
    with pytest.raises(ValueError, match="missing"):
        S.residual_block_forward(x, {"conv1": params["conv1"]})
    with pytest.raises(ValueError, match="must be a dict with keys"):
        S.residual_block_forward(x, {**params, "bn1": {"gamma": np.ones(3)}})
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        S.residual_block_forward(np.ones((4, 4, 3)), params)
    out, _, cache = S.residual_block_forward(x, params)
    with pytest.raises(ValueError, match="dout must have the block's output shape"):
        S.residual_block_backward(np.ones((1, 2, 2, 3)), cache)
    with pytest.raises(TypeError, match="cache must be the dict"):
        S.residual_block_backward(out, {})
