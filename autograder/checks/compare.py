"""Array comparison for the checks, with messages that say where and how two results differ."""
from __future__ import annotations

import numpy as np

from ._errors import CheckFailed


def as_float_array(value, what: str) -> np.ndarray:
    """A fresh float64 array from ``value``; CheckFailed with a plain message when it is not numeric."""
    if value is None:
        raise CheckFailed(f"{what} is None -- did you forget a `return` statement?")
    try:
        return np.array(value, dtype=np.float64, copy=True, subok=False)
    except Exception as exc:
        raise CheckFailed(f"{what} could not be read as an array of numbers ({type(exc).__name__}: {exc}); "
                          f"got a {type(value).__name__}") from None


def shapes_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return tuple(a.shape) == tuple(b.shape)


def compare(actual, expected, *, rtol: float = 1e-6, atol: float = 1e-8, what: str = "output"):
    """None when equal within ``|a - e| <= atol + rtol * |e|``, else a message saying how not.

    NaN matches NaN and an infinity matches the same infinity (the reference may propagate them).
    """
    a = as_float_array(actual, what)
    e = as_float_array(expected, "reference")
    if not shapes_equal(a, e):
        return f"{what} has shape {tuple(a.shape)}, expected {tuple(e.shape)}"
    if a.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        bad = np.abs(a - e) > atol + rtol * np.abs(e)
    finite = np.isfinite(e)
    same_special = (np.isnan(a) & np.isnan(e)) | (~finite & (a == e))
    bad = (bad & finite) | (~finite & ~same_special) | (finite & ~np.isfinite(a))
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad.ravel())), a.shape))
    return (f"{what} differs from the expected result at {int(bad.sum())} of {a.size} positions; first at "
            f"index {index}: got {float(a[index]):.6g}, expected {float(e[index]):.6g}")


def arrays_equal(actual, expected, *, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    """True when :func:`compare` finds no difference (shape included); never raises for bad input."""
    try:
        return compare(actual, expected, rtol=rtol, atol=atol) is None
    except AssertionError:
        return False
