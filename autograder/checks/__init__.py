"""Checks called by the exercise notebooks' hidden test cells -- the interface the grader relies on.

Interface (see README.md in this folder for the full contract):

* every check is ``check_<function>(student_function, part=None)``; ``part`` selects one property
  (``"shape"``, ``"values"``, ``"edge_cases"``, or a named output such as ``"dx"``); ``None`` runs all;
* a failing check raises ``AssertionError`` (nbgrader then gives that cell 0 points) with a
  plain-English message, naming the mistake when it matches a known wrong variant;
* a passing check prints one line starting with a check mark and returns nothing useful;
* using a forbidden shortcut (SciPy, TensorFlow/Keras, the reference ``solutions``, ``np.convolve``...)
  or tampering with libraries/checks fails every part it touches.

Attributes of this module cannot be reassigned (``checks.check_conv2d = fake`` raises), so a
hidden cell that does ``from autograder.checks import check_conv2d`` gets the genuine function.
"""
from __future__ import annotations

import sys
import types

from .. import _safe
from ._core import CheckFailed, student_seed
from .numpy_checks import (
    check_avg_pool2d,
    check_conv1d,
    check_conv2d,
    check_conv2d_backward,
    check_conv2d_single,
    check_conv_param_count,
    check_convolve2d,
    check_correlate1d,
    check_correlate2d,
    check_dense_param_count,
    check_dropout,
    check_dropout_backward,
    check_edge_kernel,
    check_max_pool2d,
    check_max_pool2d_backward,
    check_numerical_gradient,
    check_output_size,
    check_weight_sharing_ratio,
    check_zero_pad,
)
from .training import check_train_step
from .keras_checks import check_cifar10_model, check_mnist_model

__all__ = [name for name in dir() if name.startswith("check_")] + ["CheckFailed", "student_seed"]


class _ReadOnlyModule(types.ModuleType):
    """Module type whose attributes cannot be rebound or deleted from outside."""

    def __setattr__(self, name, value):
        if name.startswith("check_") or name in __all__:
            raise _safe.TamperError(f"autograder.checks.{name} is read-only")
        super().__setattr__(name, value)

    def __delattr__(self, name):
        raise _safe.TamperError(f"autograder.checks.{name} is read-only")


_safe.protect_module(sys.modules[__name__])
sys.modules[__name__].__class__ = _ReadOnlyModule
