"""solutions.costs: parameter counts against Keras count_params(), multiply-adds and memory against hand counts."""
from dataclasses import replace

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

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
