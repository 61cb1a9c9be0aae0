"""Plain-loop versions of the convolution and pooling layers, written to be read, not to be fast.

Each function does, one output element at a time, exactly what the vectorised function of the same
name (without ``_loops``) in :mod:`solutions.conv` / :mod:`solutions.pooling` does, and takes the
same arguments; the tests check that both agree.  Validation is shared with the fast versions.
"""
from __future__ import annotations

import numpy as np

from .conv import _check_conv_args, _geometry
from .pooling import _pool_setup
from ._validate import as_float_arrays


def _padded(x, pads, fill=0.0):
    (top, bottom), (left, right) = pads
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)


def conv2d_loops(x, w, b=None, stride=1, padding="valid"):
    """Loop version of :func:`solutions.conv2d`: x (N, H, W, Cin), w (KH, KW, Cin, Cout) -> (N, OH, OW, Cout)."""
    arrays = (x, w) if b is None else (x, w, b)
    x, w, *rest = as_float_arrays(*arrays, names=("x", "w", "b")[: len(arrays)])
    _check_conv_args(x, w, rest[0] if rest else None)
    b = rest[0] if rest else np.zeros(w.shape[3], dtype=x.dtype)
    kh, kw, cin, cout = w.shape
    (sh, sw), pads, (oh, ow) = _geometry(x.shape, kh, kw, stride, padding)
    xp = _padded(x, pads)
    out = np.zeros((x.shape[0], oh, ow, cout), dtype=x.dtype)
    for n in range(x.shape[0]):  # every image
        for i in range(oh):  # every output row
            for j in range(ow):  # every output column
                top, left = i * sh, j * sw
                patch = xp[n, top : top + kh, left : left + kw, :]  # (KH, KW, Cin) receptive field
                for o in range(cout):  # every filter
                    out[n, i, j, o] = np.sum(patch * w[:, :, :, o]) + b[o]
    return out


def conv2d_backward_loops(dout, x, w, stride=1, padding="valid"):
    """Loop version of :func:`solutions.conv2d_backward` -> (dx, dw, db), shapes of x, w and (Cout,).

    Each output element ``out[n, i, j, o]`` was ``sum(patch * w[..., o]) + b[o]``, so its upstream
    gradient ``g = dout[n, i, j, o]`` flows back as ``g * w[..., o]`` into the patch, ``g * patch`` into
    the filter, and ``g`` into the bias.
    """
    dout, x, w = as_float_arrays(dout, x, w, names=("dout", "x", "w"))
    _check_conv_args(x, w)
    kh, kw, cin, cout = w.shape
    (sh, sw), pads, (oh, ow) = _geometry(x.shape, kh, kw, stride, padding)
    if dout.shape != (x.shape[0], oh, ow, cout):
        raise ValueError(f"dout must have the output shape {(x.shape[0], oh, ow, cout)}, got {dout.shape}")
    xp = _padded(x, pads)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros(cout, dtype=w.dtype)
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                top, left = i * sh, j * sw
                patch = xp[n, top : top + kh, left : left + kw, :]
                for o in range(cout):
                    g = dout[n, i, j, o]
                    dxp[n, top : top + kh, left : left + kw, :] += g * w[:, :, :, o]
                    dw[:, :, :, o] += g * patch
                    db[o] += g
    (top, _), (left, _) = pads
    return dxp[:, top : top + x.shape[1], left : left + x.shape[2], :], dw, db


def _pool_loops(x, pool_size, stride, padding, reduce):
    x, (ph, pw), (sh, sw), pads, (oh, ow) = _pool_setup(x, pool_size, stride, padding)
    # NaN marks padding so that each window can keep only its real cells.
    xp = _padded(x, pads, fill=np.nan)
    real = _padded(np.ones_like(x, dtype=bool), pads, fill=False)
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                for c in range(x.shape[3]):
                    rows = slice(i * sh, i * sh + ph)
                    cols = slice(j * sw, j * sw + pw)
                    window = xp[n, rows, cols, c][real[n, rows, cols, c]]
                    out[n, i, j, c] = reduce(window)
    return out


def max_pool2d_loops(x, pool_size=2, stride=None, padding="valid"):
    """Loop version of :func:`solutions.max_pool2d`: (N, H, W, C) -> (N, OH, OW, C)."""
    return _pool_loops(x, pool_size, stride, padding, np.max)


def avg_pool2d_loops(x, pool_size=2, stride=None, padding="valid"):
    """Loop version of :func:`solutions.avg_pool2d`: (N, H, W, C) -> (N, OH, OW, C)."""
    return _pool_loops(x, pool_size, stride, padding, np.mean)
