"""solutions.costs and solutions.conv_layer_cost: parameter counts against Keras count_params(), multiply-adds and
memory against hand counts."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

import solutions as S  # noqa: E402
from solutions import costs, models  # noqa: E402


def _variants_model():
    return keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Conv2D(8, 3, padding="same", name="conv"),
        layers.BatchNormalization(name="bn"),
        layers.ReLU(name="relu"),
        layers.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise"),
        layers.SeparableConv2D(5, 3, strides=2, name="separable"),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same", use_bias=False, name="transpose"),
        layers.Conv2D(6, 3, groups=2, dilation_rate=2, name="grouped_dilated"),
        layers.MaxPooling2D(name="pool"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(10, name="dense"),
    ])


def test_every_layer_matches_count_params_and_hand_counts():
    model = _variants_model()
    by_name = {c.name: c for c in costs.layer_costs(model)}
    assert list(by_name) == [layer.name for layer in model.layers]
    for layer in model.layers:
        assert by_name[layer.name].params == layer.count_params(), layer.name
    # multiply-adds written out from each layer's definition
    expected = {
        "conv": 16 * 16 * 8 * 3 * 3 * 3,
        "bn": 16 * 16 * 8,
        "relu": 0,
        "depthwise": 14 * 14 * 16 * 3 * 3,
        "separable": 6 * 6 * (16 * 3 * 3 + 16 * 5),
        "transpose": 6 * 6 * 5 * 3 * 3 * 4,
        "grouped_dilated": 8 * 8 * 6 * 3 * 3 * 2,
        "pool": 0,
        "gap": 0,
        "dense": 6 * 10,
    }
    assert {name: c.multiply_adds for name, c in by_name.items()} == expected
    assert by_name["conv"].flops == 2 * expected["conv"]
    assert by_name["transpose"].output_shape == (12, 12, 4)
    assert by_name["transpose"].activation_bytes == 12 * 12 * 4 * 4  # float32
    assert costs.total_cost(model)["params"] == model.count_params()


def test_keras_models_of_the_course():
    small = models.cifar10_convnet(replace(models.CIFAR_FINAL, arch="small", batchnorm=True, augment=True))
    mnist = models.mnist_convnet()
    for model, shape in ((small, models.CIFAR10_SHAPE), (mnist, models.MNIST_SHAPE)):
        per_layer = costs.layer_costs(model)
        assert sum(c.params for c in per_layer) == model.count_params()
        # models.multiply_adds counts convolution and dense layers only
        conv_dense = sum(c.multiply_adds for c in per_layer if c.kind in ("Conv2D", "Dense"))
        assert conv_dense == models.multiply_adds(model, shape)


def test_nested_model_is_expanded_and_a_residual_graph_works():
    inputs = keras.Input((8, 8, 4))
    branch = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    outputs = layers.Add()([layers.BatchNormalization()(branch), inputs])
    block = keras.Model(inputs, outputs)
    outer = keras.Sequential([keras.Input((8, 8, 4)), block, layers.Flatten(), layers.Dense(3)])
    per_layer = costs.layer_costs(outer)
    assert [c.kind for c in per_layer] == ["Conv2D", "BatchNormalization", "Add", "Flatten", "Dense"]
    assert sum(c.params for c in per_layer) == outer.count_params()
    assert per_layer[0].multiply_adds == 8 * 8 * 4 * 9 * 4


def test_bad_models_are_rejected():
    with pytest.raises(ValueError, match="unknown dimension"):
        costs.layer_costs(keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(2, 3)]))
    with pytest.raises(ValueError, match=r"has weights but no cost rule here"):
        costs.layer_costs(keras.Sequential([keras.Input((5,)), layers.Embedding(10, 2)]))
    with pytest.raises(TypeError, match="must be a keras.Model"):
        costs.layer_costs(np.zeros(3))


_KERAS_LAYERS = {"conv2d": keras.layers.Conv2D, "transpose": keras.layers.Conv2DTranspose}


def _keras_layer(kind, kernel_size, in_channels, out_channels, input_hw, stride=1, padding="valid", use_bias=True,
                 dilation=1):
    common = dict(kernel_size=kernel_size, strides=stride, padding=padding, use_bias=use_bias, dilation_rate=dilation)
    if kind == "depthwise":
        layer = keras.layers.DepthwiseConv2D(depth_multiplier=out_channels // in_channels, **common)
    else:
        layer = _KERAS_LAYERS[kind](out_channels, **common)
    model = keras.Sequential([keras.Input((*input_hw, in_channels)), layer])
    return layer, model.output_shape[1:]


def keras_agrees(kind, k, cin, cout, hw, **kwargs):
    """solutions.conv_layer_cost of a description equals what Keras makes of the same layer."""
    params, madds, activations = S.conv_layer_cost(kind, k, cin, cout, hw, **kwargs)
    layer, out_shape = _keras_layer(kind, k, cin, cout, hw, **kwargs)
    assert params == layer.count_params()
    assert activations == int(np.prod(out_shape))
    kh, kw = (k, k) if np.ndim(k) == 0 else k
    per_use = layer.count_params() - (cout if kwargs.get("use_bias", True) else 0)
    uses = hw[0] * hw[1] if kind == "transpose" else out_shape[0] * out_shape[1]
    assert madds == per_use * uses  # each weight once per position it is applied at


@given(kind=st.sampled_from(["conv2d", "depthwise", "transpose"]), k=st.integers(1, 4), cin=st.integers(1, 6),
       mult=st.integers(1, 3), h=st.integers(5, 12), w=st.integers(5, 12), stride=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), use_bias=st.booleans(), dilation=st.integers(1, 2))
def test_conv_layer_cost_matches_keras_count_params(kind, k, cin, mult, h, w, stride, padding, use_bias, dilation):
    if dilation > 1 and (stride > 1 or kind == "transpose"):
        dilation = 1  # Keras allows dilation only with stride 1
    cout = cin * mult if kind == "depthwise" else cin + mult
    keras_agrees(kind, k, cin, cout, (h, w), stride=stride, padding=padding, use_bias=use_bias, dilation=dilation)


def test_conv_layer_cost_rejects_bad_descriptions():
    with pytest.raises(ValueError, match="kind must be one of"):
        S.conv_layer_cost("dense", 3, 2, 2, (5, 5))
    with pytest.raises(ValueError, match="not a multiple of"):
        S.conv_layer_cost("depthwise", 3, 2, 3, (5, 5))
    with pytest.raises(ValueError, match="does not fit"):
        S.conv_layer_cost("conv2d", 3, 2, 2, (5, 5), dilation=3)
    with pytest.raises(ValueError, match="padding must be"):
        S.conv_layer_cost("conv2d", 3, 2, 2, (5, 5), padding=1)
    with pytest.raises(TypeError, match="in_channels"):
        S.conv_layer_cost("conv2d", 3, 2.5, 2, (5, 5))
