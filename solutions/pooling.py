"""Pooling layers on NHWC batches: max, average and their global forms, with gradients.

Windows, strides and padding follow TensorFlow (``tf.nn.max_pool2d`` / ``tf.nn.avg_pool2d``):
``stride`` defaults to ``pool_size``; ``padding="same"`` pads like :func:`solutions.conv2d` but the
padded cells are *ignored* -- they never win a max and are not counted in an average.  Padding by an
int or pair (TensorFlow does not offer it; PyTorch does) is treated the same way and, as in PyTorch,
may be at most half the pool size so that every window holds at least one real cell.

Dtype rule as in :mod:`solutions.conv`: float64 unless every array argument is float32.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_arrays, check_ndim, check_nonempty, pair, resolve_padding, window_output_shape
from .conv import _col2im, _pad_hw, _window_view


def _pool_setup(x, pool_size, stride, padding):
    """Validate; return (x as float, (ph, pw), (sh, sw), pads, (oh, ow))."""
    (x,) = as_float_arrays(x, names=("x",))
    check_ndim(x, 4, "x", "N, H, W, C")
    check_nonempty(x, "x")
    ph, pw = pair(pool_size, "pool_size")
    sh, sw = (ph, pw) if stride is None else pair(stride, "stride")
    pads = resolve_padding(padding, x.shape[1:3], (ph, pw), (sh, sw))
    for axis, f, (lo, _) in zip(("height", "width"), (ph, pw), pads):
        # Otherwise a window could hold padding only, and its max/mean would be undefined.
        if lo > f // 2:
            raise ValueError(f"padding {lo} along {axis} must be at most half the pool size {f} (<= {f // 2})")
    oh, ow = window_output_shape(x.shape[1:3], (ph, pw), (sh, sw), pads, what="pool window")
    return x, (ph, pw), (sh, sw), pads, (oh, ow)


def _padded_windows(x, pool, stride, pads, out_hw, fill):
    """(N, OH, OW, PH, PW, C) view of ``x`` padded with ``fill`` (``-inf`` keeps padding out of a max)."""
    (t, b), (l, r) = pads
    if t or b or l or r:
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    return _window_view(x, *pool, *stride, *out_hw)


def _counts(x_hw, pool, stride, pads, out_hw, dtype):
    """(OH, OW, 1) number of real (non-padding) cells in each window."""
    ones = np.ones((1, *x_hw, 1), dtype=dtype)
    return _window_view(_pad_hw(ones, pads), *pool, *stride, *out_hw).sum(axis=(3, 4))[0]


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Max pooling: the largest value of each window, per channel.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    pool_size : int or (ph, pw)
    stride : int or (sh, sw), default ``pool_size`` (non-overlapping windows)
    padding : "valid", "same" (TensorFlow rule), int or (pad_h, pad_w); padded cells are ignored.

    Returns
    -------
    ndarray, shape (N, OH, OW, C), ``OH = (H + pad_top + pad_bottom - ph) // sh + 1``.
    NaN inside a window propagates to its output.
    """
    x, pool, stride, pads, out_hw = _pool_setup(x, pool_size, stride, padding)
    return _padded_windows(x, pool, stride, pads, out_hw, -np.inf).max(axis=(3, 4))


def avg_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Average pooling: the mean of the real (non-padding) cells of each window, per channel.

    Parameters and output shape as :func:`max_pool2d`.  With ``padding="same"`` a window hanging
    over the border averages only the cells inside the input, as TensorFlow does.
    """
    x, pool, stride, pads, out_hw = _pool_setup(x, pool_size, stride, padding)
    sums = _padded_windows(x, pool, stride, pads, out_hw, 0.0).sum(axis=(3, 4))
    return sums / _counts(x.shape[1:3], pool, stride, pads, out_hw, x.dtype)


def _check_dout(dout, x, out_hw):
    expected = (x.shape[0], *out_hw, x.shape[3])
    if dout.shape != expected:
        raise ValueError(f"dout must have the output shape {expected}, got {dout.shape}")


def max_pool2d_backward(dout, x, pool_size=2, stride=None, padding="valid"):
    """Gradient of ``sum(max_pool2d(x, ...) * dout)`` with respect to ``x``.

    Each window sends its upstream gradient to the cell holding its maximum; where windows overlap
    a cell collects the sum.  Tie rule: if several cells share the maximum, the *first* in row-major
    order inside the window (smallest row, then smallest column) gets all of it -- the choice
    TensorFlow's CPU kernel makes too.

    Parameters
    ----------
    dout : array_like, shape (N, OH, OW, C)
    x, pool_size, stride, padding : as given to :func:`max_pool2d`

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
    """
    dout, x = as_float_arrays(dout, x, names=("dout", "x"))
    x, pool, stride, pads, out_hw = _pool_setup(x, pool_size, stride, padding)
    _check_dout(dout, x, out_hw)
    windows = _padded_windows(x, pool, stride, pads, out_hw, -np.inf)
    n, oh, ow, ph, pw, c = windows.shape
    flat = windows.transpose(0, 1, 2, 5, 3, 4).reshape(n, oh, ow, c, ph * pw)
    winner = flat.argmax(axis=-1)  # first maximum in row-major window order
    # One-hot of the winning cell, laid out as im2col patches, then scattered back by col2im.
    patches = (winner[..., None] == np.arange(ph * pw)) * dout[..., None]
    patches = patches.reshape(n, oh, ow, c, ph, pw).transpose(0, 1, 2, 4, 5, 3)
    return _col2im(patches, x.shape, stride, pads)


def avg_pool2d_backward(dout, x, pool_size=2, stride=None, padding="valid"):
    """Gradient of ``sum(avg_pool2d(x, ...) * dout)`` with respect to ``x``.

    Each window shares its upstream gradient equally among its real cells (``dout / count``).

    Parameters and returns as :func:`max_pool2d_backward`.
    """
    dout, x = as_float_arrays(dout, x, names=("dout", "x"))
    x, pool, stride, pads, out_hw = _pool_setup(x, pool_size, stride, padding)
    _check_dout(dout, x, out_hw)
    share = dout / _counts(x.shape[1:3], pool, stride, pads, out_hw, x.dtype)
    n, oh, ow, c = share.shape
    patches = np.broadcast_to(share[:, :, :, None, None, :], (n, oh, ow, *pool, c))
    return _col2im(patches, x.shape, stride, pads)


def global_avg_pool2d(x):
    """Mean over the spatial axes: (N, H, W, C) -> (N, C), as Keras ``GlobalAveragePooling2D``."""
    (x,) = as_float_arrays(x, names=("x",))
    check_ndim(x, 4, "x", "N, H, W, C")
    check_nonempty(x, "x")
    return x.mean(axis=(1, 2))


def global_max_pool2d(x):
    """Maximum over the spatial axes: (N, H, W, C) -> (N, C), as Keras ``GlobalMaxPooling2D``."""
    (x,) = as_float_arrays(x, names=("x",))
    check_ndim(x, 4, "x", "N, H, W, C")
    check_nonempty(x, "x")
    return x.max(axis=(1, 2))
