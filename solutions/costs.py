"""What each layer of a Keras model costs: parameters, multiply-adds and activation memory per image.

Everything is computed from the layers' configurations and shapes, not read from Keras, so that
Keras' ``count_params()`` can check the parameter counts.  Importing this module imports Keras
(``import solutions`` does not).

Multiply-adds (one multiplication and one addition; FLOPs are about twice as many) per image:

* ``Conv2D``: ``OH OW Cout KH KW Cin / groups`` (dilation changes the window, not the count);
* ``DepthwiseConv2D``: ``OH OW C M KH KW`` -- no sum over channels;
* ``SeparableConv2D``: the depthwise step plus a 1x1 convolution, ``OH OW (C M KH KW + C M Cout)``;
* ``Conv2DTranspose``: every input pixel stamps the whole kernel, ``H W Cin KH KW Cout``;
* ``Dense``: ``n_in n_out`` for every position it is applied to;
* ``BatchNormalization``: one per output value (at inference it is a per-channel scale and shift);
* everything else (pooling, activations, ``Add``, reshaping): 0, as they have no weights.

Activation memory is the number of output values times the bytes of the layer's compute dtype.
The convolution rules are :func:`solutions.params.conv_layer_cost`'s, which takes a plain description
of one layer (the autograded exercise's form); here each layer's configuration is that description.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import _tf  # noqa: F401  (before Keras: TensorFlow's settings)

import keras
from keras import layers

from .params import ConvKind, conv_layer_cost

_ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer for one image."""

    name: str
    kind: str  # the layer's class name
    output_shape: tuple  # without the batch axis
    params: int
    multiply_adds: int
    activation_bytes: int

    @property
    def flops(self) -> int:
        """Floating-point operations, counting a multiply-add as two."""
        return 2 * self.multiply_adds


def _shape(tensor, layer):
    shape = tuple(tensor.shape[1:])
    if any(d is None for d in shape):
        raise ValueError(
            f"layer {layer.name!r} has an unknown dimension in its shape {shape}; build the model with "
            "a fixed input shape, e.g. keras.Input(shape=(32, 32, 3))"
        )
    return shape


def _describe(layer, kind, in_shape, in_channels, out_channels):
    """:func:`solutions.params.conv_layer_cost` of a Keras convolution layer, from its configuration."""
    return conv_layer_cost(kind, layer.kernel_size, in_channels, out_channels, in_shape[:2], layer.strides,
                           layer.padding, layer.use_bias, layer.dilation_rate)


def _conv_cost(layer, in_shape, out_shape):
    """(params, multiply-adds) of the convolution layers; ``None`` for any other layer.

    The rules are :func:`solutions.params.conv_layer_cost`'s; a separable layer is its depthwise step
    followed by a bias-free 1x1 convolution, a grouped convolution costs what one with ``Cin / groups``
    inputs and all ``Cout`` outputs does.
    """
    cin, cout = in_shape[-1], out_shape[-1]
    if isinstance(layer, layers.SeparableConv2D):  # before Conv2D: Keras may derive one from the other
        depth = cin * layer.depth_multiplier
        step = conv_layer_cost(ConvKind.DEPTHWISE, layer.kernel_size, cin, depth, in_shape[:2], layer.strides,
                               layer.padding, False, layer.dilation_rate)
        point = conv_layer_cost(ConvKind.CONV2D, 1, depth, cout, out_shape[:2], use_bias=layer.use_bias)
        return step.params + point.params, step.multiply_adds + point.multiply_adds
    if isinstance(layer, layers.DepthwiseConv2D):
        cost = _describe(layer, ConvKind.DEPTHWISE, in_shape, cin, cout)
    elif isinstance(layer, layers.Conv2DTranspose):
        cost = _describe(layer, ConvKind.TRANSPOSE, in_shape, cin, cout)
    elif isinstance(layer, layers.Conv2D):
        cost = _describe(layer, ConvKind.CONV2D, in_shape, cin // layer.groups, cout)
    else:
        return None
    if cost.activations != math.prod(out_shape):  # the rules' output size must be Keras' own
        raise ValueError(f"layer {layer.name!r}: the cost rules give {cost.activations} output values, Keras "
                         f"{math.prod(out_shape)} (shape {out_shape})")
    return cost.params, cost.multiply_adds


def _layer_cost(layer) -> LayerCost:
    in_tensor = layer.input
    in_shape = _shape(in_tensor[0] if isinstance(in_tensor, (list, tuple)) else in_tensor, layer)
    out_shape = _shape(layer.output, layer)
    conv = _conv_cost(layer, in_shape, out_shape)
    if conv is not None:
        params, madds = conv
    elif isinstance(layer, layers.Dense):
        n_in, n_out = in_shape[-1], out_shape[-1]
        params = n_in * n_out + (n_out if layer.use_bias else 0)
        madds = math.prod(out_shape[:-1]) * n_in * n_out
    elif isinstance(layer, layers.BatchNormalization):
        # gamma and beta (if scale/center) plus the two running statistics Keras also counts
        channels = in_shape[layer.axis if isinstance(layer.axis, int) else layer.axis[0]]
        params = channels * (2 + int(layer.scale) + int(layer.center))
        madds = math.prod(out_shape)
    elif layer.weights:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) has weights but no cost rule here")
    else:
        params = madds = 0
    itemsize = _ITEMSIZE[keras.backend.standardize_dtype(layer.compute_dtype)]
    return LayerCost(layer.name, type(layer).__name__, out_shape, params, madds, math.prod(out_shape) * itemsize)


def layer_costs(model: keras.Model) -> list[LayerCost]:
    """One :class:`LayerCost` per layer of ``model``, input layers left out, in the model's layer order.

    ``model`` must have a fixed input shape (batch size aside).  A nested model (e.g. a pretrained base)
    is expanded into its own layers.  ``sum(c.params for c in layer_costs(m)) == m.count_params()``.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    costs = []
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            costs.extend(layer_costs(layer))
        else:
            costs.append(_layer_cost(layer))
    return costs


def total_cost(model: keras.Model) -> dict[str, int]:
    """Sums over :func:`layer_costs`: ``params``, ``multiply_adds`` and ``activation_bytes`` per image."""
    costs = layer_costs(model)
    return {key: sum(getattr(c, key) for c in costs) for key in ("params", "multiply_adds", "activation_bytes")}
