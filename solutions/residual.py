"""The basic residual block of ResNet, forward and backward, built from ``conv2d`` and batch norm.

``out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with two 3x3 "same" convolutions
without bias (batch norm's shift takes its place), the first one carrying the block's stride.  The
shortcut is the identity when the block keeps the shape, otherwise a 1x1 convolution with the same
stride followed by batch norm (the "projection" shortcut).  The layout matches Keras layers
``Conv2D(use_bias=False, padding="same")``, ``BatchNormalization``, ``ReLU`` and ``Add``.

Parameters are a dict: ``"conv1"`` (3, 3, Cin, Cout), ``"conv2"`` (3, 3, Cout, Cout), optional
``"proj"`` (1, 1, Cin, Cout), and for each of ``"bn1"``, ``"bn2"`` (and ``"bn_proj"`` with ``"proj"``) a
dict with ``gamma``, ``beta``, ``mean``, ``var`` of shape (Cout,).
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_arrays, check_ndim, pair
from .conv import conv2d, conv2d_backward
from .layers import relu
from .normalization import batch_norm_backward, batch_norm_forward

BN_KEYS = ("gamma", "beta", "mean", "var")


def init_residual_block(cin, cout, stride=1, rng=None, dtype=np.float64):
    """Parameters for a block mapping Cin to Cout channels: He-normal kernels, Keras' batch-norm start.

    A projection shortcut is included exactly when it is needed (``stride != 1`` or ``cin != cout``).
    """
    rng = np.random.default_rng(rng)
    sh, sw = pair(stride, "stride")

    def kernel(k, c_in):
        return (rng.standard_normal((k, k, c_in, cout)) * np.sqrt(2 / (k * k * c_in))).astype(dtype)

    def bn():
        ones, zeros = np.ones(cout, dtype), np.zeros(cout, dtype)
        return {"gamma": ones, "beta": zeros, "mean": zeros.copy(), "var": ones.copy()}

    params = {"conv1": kernel(3, cin), "bn1": bn(), "conv2": kernel(3, cout), "bn2": bn()}
    if (sh, sw) != (1, 1) or cin != cout:
        params.update(proj=kernel(1, cin), bn_proj=bn())
    return params


def _check_params(params, cin):
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict (see solutions.residual), got {type(params).__name__}")
    required = ["conv1", "bn1", "conv2", "bn2"] + (["proj", "bn_proj"] if "proj" in params else [])
    missing = [key for key in required if key not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")
    conv1 = np.asarray(params["conv1"])
    check_ndim(conv1, 4, "params['conv1']", "3, 3, Cin, Cout")
    cout = conv1.shape[3]
    expected = {"conv1": (3, 3, cin, cout), "conv2": (3, 3, cout, cout), "proj": (1, 1, cin, cout)}
    for key, shape in expected.items():
        if key in params and np.shape(params[key]) != shape:
            raise ValueError(f"params[{key!r}] must have shape {shape} for {cin} input channels, got {np.shape(params[key])}")
    for key in ("bn1", "bn2", "bn_proj"):
        if key in required and (not isinstance(params[key], dict) or set(BN_KEYS) - params[key].keys()):
            raise ValueError(f"params[{key!r}] must be a dict with keys {BN_KEYS}")
    return cout


def _bn(h, p, training, momentum, epsilon):
    return batch_norm_forward(h, p["gamma"], p["beta"], p["mean"], p["var"], training, momentum, epsilon)


def residual_block_forward(x, params, stride=1, training=True, momentum=0.99, epsilon=1e-3):
    """Forward pass of a basic residual block (see the module docstring for the layout and ``params``).

    Parameters
    ----------
    x : array_like, shape (N, H, W, Cin)
    params : dict   kernels and batch-norm parameters; ``"proj"``/``"bn_proj"`` select the projection shortcut
    stride : int or (sh, sw)   of the first convolution and of the projection
    training, momentum, epsilon : as :func:`solutions.normalization.batch_norm_forward`

    Returns
    -------
    out : ndarray, shape (N, ceil(H / sh), ceil(W / sw), Cout)
    running : dict   ``{"bn1": (mean, var), ...}``, the updated running statistics of each batch norm
    cache : dict   for :func:`residual_block_backward`
    """
    (x,) = as_float_arrays(x, names=("x",))
    check_ndim(x, 4, "x", "N, H, W, C")
    cout = _check_params(params, x.shape[3])
    projection = "proj" in params
    if not projection and (pair(stride, "stride") != (1, 1) or x.shape[3] != cout):
        raise ValueError(
            f"an identity shortcut needs stride 1 and Cin == Cout (got stride {stride!r}, {x.shape[3]} -> {cout} "
            "channels); add 'proj' and 'bn_proj' to params for a projection shortcut"
        )
    h1 = conv2d(x, params["conv1"], stride=stride, padding="same")
    a1, *run1, bn1 = _bn(h1, params["bn1"], training, momentum, epsilon)
    r1 = relu(a1)
    h2 = conv2d(r1, params["conv2"], padding="same")
    a2, *run2, bn2 = _bn(h2, params["bn2"], training, momentum, epsilon)
    running = {"bn1": tuple(run1), "bn2": tuple(run2)}
    cache = {"x": x, "stride": stride, "params": params, "a1": a1, "r1": r1, "bn1": bn1, "bn2": bn2}
    if projection:
        shortcut, *run_p, cache["bn_proj"] = _bn(
            conv2d(x, params["proj"], stride=stride, padding="same"), params["bn_proj"], training, momentum, epsilon
        )
        running["bn_proj"] = tuple(run_p)
    else:
        shortcut = x
    z = a2 + shortcut
    cache["z"] = z
    return relu(z), running, cache


def residual_block_backward(dout, cache):
    """Gradients of ``L = sum(out * dout)`` for ``out`` from :func:`residual_block_forward`.

    Parameters
    ----------
    dout : array_like, shape of ``out``
    cache : dict returned by :func:`residual_block_forward`

    Returns
    -------
    dx : ndarray, shape (N, H, W, Cin)
        The shortcut adds ``dout``'s share straight onto ``dx`` (through the projection if there is
        one), which is why gradients reach early blocks undiminished.
    grads : dict   ``"conv1"``, ``"conv2"`` (and ``"proj"``) kernel gradients; ``"bn1"``, ``"bn2"`` (and
        ``"bn_proj"``) as ``{"gamma": ..., "beta": ...}``
    """
    if not isinstance(cache, dict) or "z" not in cache:
        raise TypeError("cache must be the dict returned by residual_block_forward")
    x, params, stride = cache["x"], cache["params"], cache["stride"]
    (dout,) = as_float_arrays(dout, names=("dout",))
    if dout.shape != cache["z"].shape:
        raise ValueError(f"dout must have the block's output shape {cache['z'].shape}, got {dout.shape}")
    dz = dout * (cache["z"] > 0)
    grads = {}
    dh2, dgamma2, dbeta2 = batch_norm_backward(dz, cache["bn2"])
    dr1, grads["conv2"], _ = conv2d_backward(dh2, cache["r1"], params["conv2"], padding="same")
    dh1, dgamma1, dbeta1 = batch_norm_backward(dr1 * (cache["a1"] > 0), cache["bn1"])
    dx, grads["conv1"], _ = conv2d_backward(dh1, x, params["conv1"], stride=stride, padding="same")
    grads["bn1"] = {"gamma": dgamma1, "beta": dbeta1}
    grads["bn2"] = {"gamma": dgamma2, "beta": dbeta2}
    if "proj" in params:
        dp, dgammap, dbetap = batch_norm_backward(dz, cache["bn_proj"])
        dx_short, grads["proj"], _ = conv2d_backward(dp, x, params["proj"], stride=stride, padding="same")
        grads["bn_proj"] = {"gamma": dgammap, "beta": dbetap}
    else:
        dx_short = dz
    return dx + dx_short, grads
