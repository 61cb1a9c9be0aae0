"""Tamper-resistant comparison: everything the checks rely on, captured before any student code runs.

Threat model.  A notebook runs the student's cells and the hidden test cells in one Python process,
so student code can rebind anything it can reach by name: ``np.allclose``, ``np.testing``,
``builtins.abs``, the ``check_*`` names, even attributes of ``solutions``.  The defences here:

* **Capture at import.**  ``autograder`` is imported by the first, locked cell of every exercise
  notebook (nbgrader restores locked cells from the release copy when grading), i.e. before any
  student code.  This module keeps its own references to the NumPy callables and builtins it uses
  and compares arrays only with NumPy *ufuncs* (C objects whose behaviour cannot be patched) on
  fresh base-class ``float64`` copies -- never through ``np.allclose`` or ``np.testing``.
* **Snapshot and verify.**  The namespaces of NumPy, ``math``, ``builtins`` and the autograder's own
  modules are snapshotted at import; :func:`verify_environment` (called by every check) reports any
  name that now points elsewhere, so ``np.allclose = lambda *a, **k: True`` fails the check instead
  of passing it.
* **An audit hook** (``sys.addaudithook``; hooks cannot be removed once added) refuses to let code
  swap the ``__code__``/``__defaults__`` of the autograder's functions, and records calls of
  ``sys.setprofile``/``sys.settrace`` so that a student function cannot switch off the runtime
  shortcut guard (see :mod:`autograder.shortcuts`) while it is being checked.

What in-process checks cannot stop is a notebook that replaces ``sys.modules['autograder.checks']``
wholesale before the hidden cells import from it; that is caught outside the kernel by
:func:`autograder.shortcuts.scan_notebook_for_tampering`, which the grading CLI runs on the
submitted file.
"""
from __future__ import annotations

import builtins
import math
import sys
import types

import numpy as np

# --- captured references (module-level names are private; the snapshot below guards them too) ---
_ndarray = np.ndarray
_array = np.array
_float64 = np.float64
_subtract = np.subtract
_absolute = np.absolute
_multiply = np.multiply
_add = np.add
_greater = np.greater
_isfinite = np.isfinite
_isnan = np.isnan
_logical_or = np.logical_or
_logical_or_reduce = np.logical_or.reduce
_add_reduce = np.add.reduce
_int64 = np.int64
_argmax = np.ndarray.argmax
_unravel_index = np.unravel_index
_isinstance = builtins.isinstance
_tuple = builtins.tuple
_float = builtins.float
_int = builtins.int
_bool = builtins.bool
_type = builtins.type


class CheckFailed(AssertionError):
    """A check failed; the message is written for the student (nbgrader scores the cell 0)."""


class TamperError(CheckFailed):
    """Raised when the notebook has modified something the autograder depends on."""


def _namespaces():
    """Modules whose names the checks depend on (looked up lazily so the list stays complete)."""
    mods = [np, np.lib, np.lib.stride_tricks, np.linalg, np.random, np.testing, math]
    for name in ("numpy._core.numeric", "numpy._core.fromnumeric", "numpy._core.multiarray",
                 "numpy._core.umath", "numpy.lib._stride_tricks_impl", "numpy.testing._private.utils"):
        if name in sys.modules:
            mods.append(sys.modules[name])
    return mods


_SNAPSHOTS: list[tuple[types.ModuleType, dict]] = []
_PROTECTED_FUNCTIONS: set[int] = set()  # ids of functions whose code may not be swapped
_AUDIT_STATE = {"guard_depth": 0, "events": []}
_WATCHED_EVENTS = frozenset({"sys.setprofile", "sys.settrace", "sys.addaudithook"})


def protect_module(module: types.ModuleType, names=None) -> None:
    """Snapshot ``module``'s namespace (or just ``names``) and forbid swapping its functions' code."""
    namespace = vars(module)
    _SNAPSHOTS.append((module, dict(namespace) if names is None else {n: namespace[n] for n in names}))
    for value in vars(module).values():
        if _isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            _PROTECTED_FUNCTIONS.add(id(value))


def verify_environment() -> None:
    """Raise :class:`TamperError` naming the first replaced or deleted name in a protected namespace."""
    for module, snapshot in _SNAPSHOTS:
        current = vars(module)
        for name, value in snapshot.items():
            if name in ("__builtins__", "__loader__", "__spec__", "__cached__", "__warningregistry__"):
                continue
            if current.get(name, _MISSING) is not value:
                raise TamperError(
                    f"The notebook has replaced or deleted {module.__name__}.{name}. The autograder "
                    "does not accept modified libraries or checks: remove that assignment, restart "
                    "the kernel and run all cells again.")


_MISSING = object()


def _audit(event, args):
    if event == "object.__setattr__":
        obj, name = args[0], args[1]
        if id(obj) in _PROTECTED_FUNCTIONS and name in ("__code__", "__defaults__", "__kwdefaults__"):
            raise TamperError(f"autograder functions are read-only (attempt to set {name})")
    elif event in _WATCHED_EVENTS and _AUDIT_STATE["guard_depth"]:
        _AUDIT_STATE["events"].append(event)


sys.addaudithook(_audit)
for _module in _namespaces():
    protect_module(_module)
# IPython swaps a few builtins (input, display, exit...) around every cell, so only the ones the
# checks use are watched.
protect_module(builtins, ("abs", "isinstance", "len", "float", "int", "bool", "tuple", "type", "zip",
                          "range", "sum", "max", "min", "round", "callable", "getattr", "hasattr", "id",
                          "sorted", "set", "dict", "list", "str", "repr", "any", "all", "enumerate",
                          "map", "iter", "next", "super", "object", "__import__", "AssertionError",
                          "Exception", "ValueError", "TypeError"))
protect_module(sys.modules[__name__])


def as_float_array(value, what: str) -> np.ndarray:
    """A fresh base-class float64 array from ``value`` (no subclass tricks survive the copy).

    Raises AssertionError with a plain message when ``value`` is not numeric array-like.
    """
    if value is None:
        raise CheckFailed(f"{what} is None -- did you forget a `return` statement?")
    try:
        arr = _array(value, dtype=_float64, copy=True, subok=False)
    except Exception as exc:
        raise CheckFailed(
            f"{what} could not be read as an array of numbers ({_type(exc).__name__}: {exc}); "
            f"got a {_type(value).__name__}") from None
    if _type(arr) is not _ndarray:  # paranoia: np.array with subok=False always gives ndarray
        raise TamperError(f"{what} is not a plain NumPy array")
    return arr


def shapes_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return _tuple(a.shape) == _tuple(b.shape)


def compare(actual, expected, *, rtol: float = 1e-6, atol: float = 1e-8, what: str = "output"):
    """Compare two arrays with captured ufuncs; return None when equal, else a message saying how not.

    Both arguments are first copied into base-class float64 arrays.  NaN matches NaN and inf matches
    inf of the same sign (the reference may propagate them); everything else must satisfy
    ``|a - e| <= atol + rtol * |e|``.
    """
    a = as_float_array(actual, what)
    e = as_float_array(expected, "reference")
    if not shapes_equal(a, e):
        return f"{what} has shape {_tuple(a.shape)}, expected {_tuple(e.shape)}"
    if a.size == 0:
        return None
    diff = _absolute(_subtract(a, e))
    tol = _add(atol, _multiply(rtol, _absolute(e)))
    bad = _greater(diff, tol)
    # Where the reference is not finite, require the same value; NaN == NaN counts as equal.
    e_fin, a_fin = _isfinite(e), _isfinite(a)
    both_nan = _isnan(a) & _isnan(e)
    same_inf = (~e_fin) & (~both_nan) & (a == e)
    bad = _logical_or(bad & e_fin, (~e_fin) & ~(both_nan | same_inf))
    bad = _logical_or(bad, e_fin & ~a_fin)
    if not _bool(_logical_or_reduce(bad, axis=None)):
        return None
    flat = bad.ravel()
    first = _int(_argmax(flat))
    index = _tuple(_int(i) for i in _unravel_index(first, a.shape))
    n_bad = _int(_add_reduce(flat, dtype=_int64))
    return (f"{what} differs from the expected result at {n_bad} of {a.size} positions; first at "
            f"index {index}: got {_float(a[index]):.6g}, expected {_float(e[index]):.6g}")


def arrays_equal(actual, expected, *, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    """True when :func:`compare` finds no difference (shape included); never raises for bad input."""
    try:
        return compare(actual, expected, rtol=rtol, atol=atol) is None
    except AssertionError:
        return False
