"""Input checks shared by ``conv``, ``pooling``, ``layers`` and ``loops``, so error messages agree.

Dtype rule used throughout the package: arrays are computed in float64, except when *every* array
argument is already float32, in which case float32 is kept (handy for comparing against TensorFlow
and for speed).  Booleans and integers are accepted and converted; complex, object and string arrays
are rejected with ``TypeError``.  NaN and inf are allowed and simply propagate.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

PADDING_STRINGS = ("valid", "same")


def as_float_arrays(*arrays, names):
    """Convert each array-like to a float ndarray following the package dtype rule (see module doc)."""
    converted = []
    for value, name in zip(arrays, names):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        converted.append(arr)
    dtype = np.float32 if all(a.dtype == np.float32 for a in converted) else np.float64
    return tuple(a.astype(dtype, copy=False) for a in converted)


def check_ndim(arr, ndim, name, layout=None):
    """Raise ``ValueError`` unless ``arr`` has ``ndim`` dimensions (``layout`` names them, e.g. NHWC)."""
    if arr.ndim != ndim:
        what = f" ({layout})" if layout else ""
        raise ValueError(f"{name} must be {ndim}-D{what}, got shape {arr.shape}")


def check_nonempty(arr, name):
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")


def positive_int(value, name):
    """``value`` as a Python int >= 1; ``TypeError`` for non-integers (bool included), ``ValueError`` if < 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def nonnegative_int(value, name):
    """``value`` as a Python int >= 0; ``TypeError`` for non-integers, ``ValueError`` if negative."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def pair(value, name, check=positive_int):
    """An int or a length-2 sequence -> a (height, width) tuple of checked ints."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        return check(value[0], f"{name}[0]"), check(value[1], f"{name}[1]")
    v = check(value, name)
    return v, v


def check_padding_string(padding):
    if padding not in PADDING_STRINGS:
        raise ValueError(f"padding must be 'valid', 'same', an int or a pair (ph, pw); got {padding!r}")


def resolve_padding(padding, in_hw, k_hw, stride_hw):
    """Padding argument -> ((top, bottom), (left, right)) zero rows/columns added around H and W.

    ``"valid"`` adds nothing; ``"same"`` follows TensorFlow: along each axis the total padding is
    ``max((ceil(n / s) - 1) * s + f - n, 0)``, with the odd extra row/column at the bottom/right, so the
    output has ``ceil(n / s)`` positions.  An int ``p`` or a pair ``(ph, pw)`` pads symmetrically.
    """
    if isinstance(padding, str):
        check_padding_string(padding)
        if padding == "valid":
            return (0, 0), (0, 0)
        result = []
        for n, f, s in zip(in_hw, k_hw, stride_hw):
            total = max((math.ceil(n / s) - 1) * s + f - n, 0)
            result.append((total // 2, total - total // 2))
        return tuple(result)
    if not isinstance(padding, (numbers.Integral, tuple, list, np.ndarray)) or isinstance(padding, bool):
        raise TypeError(f"padding must be 'valid', 'same', an int or a pair (ph, pw); got {padding!r}")
    ph, pw = pair(padding, "padding", check=nonnegative_int)
    return (ph, ph), (pw, pw)


def window_output_shape(in_hw, k_hw, stride_hw, pads, what="kernel"):
    """(OH, OW) for a window sliding over a padded input; ``ValueError`` if the window does not fit."""
    out = []
    for axis, n, f, s, (lo, hi) in zip(("height", "width"), in_hw, k_hw, stride_hw, pads):
        padded = n + lo + hi
        if f > padded:
            raise ValueError(
                f"{what} {axis} {f} is larger than the padded input {axis} {padded} "
                f"(input {n} + padding {lo}+{hi})"
            )
        out.append((padded - f) // s + 1)
    return tuple(out)
