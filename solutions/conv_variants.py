"""Variants of the convolution layer: transposed, depthwise, depthwise-separable, dilated, and dense-as-conv.

All work on NHWC batches; stride and padding are given as to :func:`solutions.conv2d` ("valid",
"same" with TensorFlow's rule, an int or a pair).  Each variant is written with the pieces of
:mod:`solutions.conv`, to show that it is an ordinary convolution seen from another side:

* :func:`conv2d_transpose` is the input gradient of ``conv2d`` used as a layer (``tf.nn.conv2d_transpose``);
* :func:`depthwise_conv2d` convolves every channel with its own kernels (``tf.nn.depthwise_conv2d``),
  and :func:`separable_conv2d` follows it with a 1x1 convolution (``tf.nn.separable_conv2d``);
* :func:`dilate_kernel` spreads a kernel out with zeros, so that ``conv2d`` with it is a dilated
  convolution (``tf.nn.conv2d(..., dilations=rate)``);
* :func:`dense_as_conv_kernel` rewrites a dense layer on a flattened feature map as a convolution.

Dtype rule as in :mod:`solutions.conv`: float64 unless every array argument is float32.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_arrays, check_ndim, check_nonempty, pair, positive_int, resolve_padding
from .conv import _check_conv_args, _check_x, _geometry, _matmul, _pad_hw, _scatter_offsets, conv2d, conv2d_backward


def _check_dout(dout, expected):
    if dout.shape != tuple(expected):
        raise ValueError(f"dout must have the output shape {tuple(expected)}, got {dout.shape}")


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


def _transpose_output_hw(in_hw, k_hw, stride_hw, padding):
    """The output size Keras' ``Conv2DTranspose`` picks ("valid", "same"), or PyTorch's for explicit padding."""
    if isinstance(padding, str) and padding == "same":
        return tuple(n * s for n, s in zip(in_hw, stride_hw))
    if isinstance(padding, str) and padding == "valid":
        # a kernel narrower than the stride leaves gaps; Keras keeps the trailing one
        return tuple((n - 1) * s + max(k, s) for n, k, s in zip(in_hw, k_hw, stride_hw))
    pads = resolve_padding(padding, in_hw, k_hw, stride_hw)
    return tuple((n - 1) * s + k - lo - hi for n, k, s, (lo, hi) in zip(in_hw, k_hw, stride_hw, pads))


def _check_transpose_args(x, w):
    _check_x(x)
    check_ndim(w, 4, "w", "KH, KW, Cout, Cin")
    check_nonempty(w, "w")
    if x.shape[3] != w.shape[3]:
        raise ValueError(
            f"channel mismatch: x has {x.shape[3]} channels (last axis) but w expects "
            f"Cin={w.shape[3]} (w.shape[3]; a transposed kernel is laid out (KH, KW, Cout, Cin))"
        )


def _transpose_geometry(x_shape, w_shape, stride, padding, output_hw):
    """Output shape (N, OH, OW, Cout), stride, pads; checks that conv2d maps the output back to ``x``."""
    kh, kw, cout, _ = w_shape
    sh, sw = pair(stride, "stride")
    in_hw = tuple(x_shape[1:3])
    if output_hw is None:
        output_hw = _transpose_output_hw(in_hw, (kh, kw), (sh, sw), padding)
    oh, ow = pair(output_hw, "output_hw")
    out_shape = (x_shape[0], oh, ow, cout)
    _, pads, forward_hw = _geometry(out_shape, kh, kw, (sh, sw), padding)
    if forward_hw != in_hw:
        raise ValueError(
            f"output_hw {(oh, ow)} is inconsistent: conv2d with this kernel, stride and padding maps it to "
            f"{forward_hw}, not to the input's {in_hw}"
        )
    return out_shape, (sh, sw), pads


def conv2d_transpose(x, w, b=None, stride=1, padding="valid", output_hw=None):
    """Transposed convolution: the gradient of :func:`solutions.conv2d` with respect to its input, as a layer.

    Each input pixel stamps a copy of the kernel, scaled by its value, onto the output; copies ``stride``
    pixels apart overlap and add.  Equal to ``tf.nn.conv2d_transpose(x, w, output_shape, strides, padding) + b``.

    Parameters
    ----------
    x : array_like, shape (N, H, W, Cin)
    w : array_like, shape (KH, KW, Cout, Cin)
        The HWIO kernel of the *forward* convolution that maps (N, OH, OW, Cout) to ``x``'s shape.
    b : array_like, shape (Cout,), optional
    stride : int or (sh, sw)   the forward convolution's stride, i.e. the upsampling factor
    padding : "valid", "same", int or (ph, pw)   the forward convolution's padding
    output_hw : (OH, OW), optional
        With stride > 1 several output sizes convolve back to (H, W).  The default is Keras'
        ``Conv2DTranspose``'s: ``H * sh`` for "same", ``(H - 1) * sh + max(KH, sh)`` for "valid";
        for explicit padding PyTorch's ``(H - 1) * sh + KH - 2 ph`` (same for W).

    Returns
    -------
    ndarray, shape (N, OH, OW, Cout)
        Satisfies ``<conv2d(z, w), x> == <z, conv2d_transpose(x, w)>`` for every z of that shape.
    """
    arrays = (x, w) if b is None else (x, w, b)
    x, w, *rest = as_float_arrays(*arrays, names=("x", "w", "b")[: len(arrays)])
    _check_transpose_args(x, w)
    kh, kw, cout, cin = w.shape
    if rest and rest[0].shape != (cout,):
        raise ValueError(f"b must have shape (Cout,) = ({cout},), got {rest[0].shape}")
    out_shape, stride_hw, pads = _transpose_geometry(x.shape, w.shape, stride, padding, output_hw)
    n, h, wd, _ = x.shape
    x2 = x.reshape(-1, cin)

    def piece(u, v):
        return _matmul(x2, w[u, v].T).reshape(n, h, wd, cout)

    out = _scatter_offsets(piece, out_shape, (kh, kw), (h, wd), stride_hw, pads, x.dtype)
    return out + rest[0] if rest else out


def conv2d_transpose_backward(dout, x, w, stride=1, padding="valid"):
    """Gradients of ``L = sum(conv2d_transpose(x, w, b, stride, padding) * dout)``.

    Parameters
    ----------
    dout : array_like, shape (N, OH, OW, Cout)   upstream gradient; its H and W fix the output size
    x, w, stride, padding : as given to :func:`conv2d_transpose`

    Returns
    -------
    dx : ndarray, shape (N, H, W, Cin)   ``conv2d(dout, w, stride, padding)``: the transpose of a transpose
    dw : ndarray, shape (KH, KW, Cout, Cin)
    db : ndarray, shape (Cout,)
    """
    dout, x, w = as_float_arrays(dout, x, w, names=("dout", "x", "w"))
    _check_transpose_args(x, w)
    check_ndim(dout, 4, "dout", "N, OH, OW, Cout")
    out_shape, _, _ = _transpose_geometry(x.shape, w.shape, stride, padding, dout.shape[1:3])
    _check_dout(dout, out_shape)
    dx = conv2d(dout, w, stride=stride, padding=padding)
    # The layer is x -> conv2d_backward's dx(x); swapping the roles of input and upstream gradient in
    # conv2d_backward gives the kernel gradient of that map.
    _, dw, db = conv2d_backward(x, dout, w, stride=stride, padding=padding)
    return dx, dw, dout.sum(axis=(0, 1, 2))


# --------------------------------------------------------------------------------------------------
# Depthwise and depthwise-separable convolution
# --------------------------------------------------------------------------------------------------


def _check_depthwise_args(x, w):
    _check_x(x)
    check_ndim(w, 4, "w", "KH, KW, C, multiplier")
    check_nonempty(w, "w")
    if x.shape[3] != w.shape[2]:
        raise ValueError(
            f"channel mismatch: x has {x.shape[3]} channels (last axis) but w expects C={w.shape[2]} (w.shape[2])"
        )


def _offset_slice(u, stride, out_len):
    return slice(u, u + stride * (out_len - 1) + 1, stride)


def depthwise_conv2d(x, w, b=None, stride=1, padding="valid"):
    """Depthwise convolution: each input channel is convolved with its own ``multiplier`` kernels.

    ``out[n, i, j, c * M + m] = b[c * M + m] + sum_{u, v} xp[n, i*sh + u, j*sw + v, c] * w[u, v, c, m]``:
    no sum over channels, so it costs a factor ``C`` less than a full convolution with as many outputs.
    Equal to ``tf.nn.depthwise_conv2d(x, w, strides, padding) + b`` (and Keras ``DepthwiseConv2D``).

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    w : array_like, shape (KH, KW, C, M)   M is the depth multiplier
    b : array_like, shape (C * M,), optional
    stride, padding : as :func:`solutions.conv2d`

    Returns
    -------
    ndarray, shape (N, OH, OW, C * M), output channel ``c * M + m`` from input channel ``c``.
    """
    arrays = (x, w) if b is None else (x, w, b)
    x, w, *rest = as_float_arrays(*arrays, names=("x", "w", "b")[: len(arrays)])
    _check_depthwise_args(x, w)
    kh, kw, c, m = w.shape
    if rest and rest[0].shape != (c * m,):
        raise ValueError(f"b must have shape (C * M,) = ({c * m},), got {rest[0].shape}")
    (sh, sw), pads, (oh, ow) = _geometry(x.shape, kh, kw, stride, padding)
    xp = _pad_hw(x, pads)
    out = np.zeros((x.shape[0], oh, ow, c, m), dtype=x.dtype)
    for u in range(kh):  # one broadcast multiply-add per kernel offset, over the whole batch
        for v in range(kw):
            out += xp[:, _offset_slice(u, sh, oh), _offset_slice(v, sw, ow), :, None] * w[u, v]
    out = out.reshape(x.shape[0], oh, ow, c * m)
    return out + rest[0] if rest else out


def depthwise_conv2d_backward(dout, x, w, stride=1, padding="valid"):
    """Gradients of ``L = sum(depthwise_conv2d(x, w, b, stride, padding) * dout)``.

    Parameters
    ----------
    dout : array_like, shape (N, OH, OW, C * M)
    x, w, stride, padding : as given to :func:`depthwise_conv2d`

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
    dw : ndarray, shape (KH, KW, C, M)
    db : ndarray, shape (C * M,)
    """
    dout, x, w = as_float_arrays(dout, x, w, names=("dout", "x", "w"))
    _check_depthwise_args(x, w)
    kh, kw, c, m = w.shape
    (sh, sw), pads, (oh, ow) = _geometry(x.shape, kh, kw, stride, padding)
    n = x.shape[0]
    _check_dout(dout, (n, oh, ow, c * m))
    d = dout.reshape(n, oh, ow, c, m)
    xp = _pad_hw(x, pads)
    dw = np.empty_like(w)
    for u in range(kh):
        for v in range(kw):
            patch = xp[:, _offset_slice(u, sh, oh), _offset_slice(v, sw, ow), :]
            dw[u, v] = np.einsum("nijc,nijcm->cm", patch, d)

    def piece(u, v):
        return np.einsum("nijcm,cm->nijc", d, w[u, v])

    dx = _scatter_offsets(piece, x.shape, (kh, kw), (oh, ow), (sh, sw), pads, x.dtype)
    return dx, dw, dout.sum(axis=(0, 1, 2))


def _check_pointwise(pointwise_w, depth_channels):
    check_ndim(pointwise_w, 4, "pointwise_w", "1, 1, C * M, Cout")
    if pointwise_w.shape[:3] != (1, 1, depth_channels):
        raise ValueError(
            f"pointwise_w must have shape (1, 1, C * M, Cout) = (1, 1, {depth_channels}, Cout), "
            f"got {pointwise_w.shape}"
        )


def separable_conv2d(x, depthwise_w, pointwise_w, b=None, stride=1, padding="valid"):
    """Depthwise-separable convolution: :func:`depthwise_conv2d`, then a 1x1 convolution mixing channels.

    Equal to ``tf.nn.separable_conv2d(x, depthwise_w, pointwise_w, strides, padding) + b`` (Keras
    ``SeparableConv2D``).  Weights ``KH KW C M + C M Cout`` instead of a full convolution's ``KH KW C Cout``.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    depthwise_w : array_like, shape (KH, KW, C, M)
    pointwise_w : array_like, shape (1, 1, C * M, Cout)
    b : array_like, shape (Cout,), optional   added after the pointwise step
    stride, padding : of the depthwise step (the pointwise step has stride 1, no padding)

    Returns
    -------
    ndarray, shape (N, OH, OW, Cout)
    """
    (pointwise_w,) = as_float_arrays(pointwise_w, names=("pointwise_w",))
    depth = depthwise_conv2d(x, depthwise_w, stride=stride, padding=padding)
    _check_pointwise(pointwise_w, depth.shape[3])
    if depth.dtype != pointwise_w.dtype:  # the package's dtype rule, over all three arrays
        depth, pointwise_w = depth.astype(np.float64), pointwise_w.astype(np.float64)
    return conv2d(depth, pointwise_w, b)


def separable_conv2d_backward(dout, x, depthwise_w, pointwise_w, stride=1, padding="valid"):
    """Gradients of ``L = sum(separable_conv2d(x, depthwise_w, pointwise_w, b, stride, padding) * dout)``.

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
    d_depthwise_w : ndarray, shape (KH, KW, C, M)
    d_pointwise_w : ndarray, shape (1, 1, C * M, Cout)
    db : ndarray, shape (Cout,)
    """
    dout, x, depthwise_w, pointwise_w = as_float_arrays(
        dout, x, depthwise_w, pointwise_w, names=("dout", "x", "depthwise_w", "pointwise_w")
    )
    depth = depthwise_conv2d(x, depthwise_w, stride=stride, padding=padding)
    _check_pointwise(pointwise_w, depth.shape[3])
    ddepth, dpw, db = conv2d_backward(dout, depth, pointwise_w)
    dx, ddw, _ = depthwise_conv2d_backward(ddepth, x, depthwise_w, stride=stride, padding=padding)
    return dx, ddw, dpw, db


# --------------------------------------------------------------------------------------------------
# Dilated convolution and the dense layer as a convolution
# --------------------------------------------------------------------------------------------------


def dilate_kernel(w, rate):
    """Insert ``rate - 1`` zeros between neighbouring kernel taps along H and W.

    ``conv2d(x, dilate_kernel(w, r), stride, padding)`` equals
    ``tf.nn.conv2d(x, w, stride, padding, dilations=r)``: a dilated ("atrous") convolution sees a
    ``(KH - 1) r + 1`` by ``(KW - 1) r + 1`` window with only ``KH KW`` weights.

    Parameters
    ----------
    w : array_like, shape (KH, KW, Cin, Cout)
    rate : int or (rh, rw), >= 1

    Returns
    -------
    ndarray, shape ((KH - 1) rh + 1, (KW - 1) rw + 1, Cin, Cout)
    """
    (w,) = as_float_arrays(w, names=("w",))
    check_ndim(w, 4, "w", "KH, KW, Cin, Cout")
    check_nonempty(w, "w")
    rh, rw = pair(rate, "rate")
    kh, kw = w.shape[:2]
    out = np.zeros(((kh - 1) * rh + 1, (kw - 1) * rw + 1, *w.shape[2:]), dtype=w.dtype)
    out[::rh, ::rw] = w
    return out


def dense_as_conv_kernel(w, input_hwc):
    """The convolution kernel that computes a dense layer on a flattened (H, W, C) feature map.

    ``x.reshape(N, -1) @ w`` equals ``conv2d(x, dense_as_conv_kernel(w, (H, W, C)))[:, 0, 0, :]``: a
    dense layer is a "valid" convolution whose kernel covers the whole map.  Slid over a larger input
    the same kernel gives one output per position, which is how a classifier becomes fully convolutional.

    Parameters
    ----------
    w : array_like, shape (H * W * C, units)   rows in the order Keras ``Flatten`` produces (C order of NHWC)
    input_hwc : (H, W, C)

    Returns
    -------
    ndarray, shape (H, W, C, units)
    """
    (w,) = as_float_arrays(w, names=("w",))
    check_ndim(w, 2, "w", "H * W * C, units")
    if len(input_hwc) != 3:
        raise ValueError(f"input_hwc must be (H, W, C), got {tuple(input_hwc)}")
    h, wd, c = (positive_int(v, "input_hwc entry") for v in input_hwc)
    if w.shape[0] != h * wd * c:
        raise ValueError(f"w has {w.shape[0]} rows but a {h}x{wd}x{c} feature map flattens to {h * wd * c} values")
    return w.reshape(h, wd, c, w.shape[1])
