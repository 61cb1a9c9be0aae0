"""Checks that the hidden test blocks call: run by the grader, never in the student's kernel.

Interface (see README.md in this folder for the full contract):

* every check is ``check_<function>(student_function, part=None)``; ``part`` selects one property
  (``"shape"``, ``"values"``, ``"edge_cases"``, or a named output such as ``"dx"``); ``None`` runs all;
* ``student_function`` is any callable: while grading it is a
  :class:`~autograder.bridge.RemoteFunction` whose calls exchange plain data with the kernel;
* a failing check raises :class:`CheckFailed` (an ``AssertionError``) with a plain-English message,
  naming the mistake when it matches a known wrong variant; a passing one prints one line.
"""
from __future__ import annotations

from .. import scan
from ._core import grade_as, student_seed
from ._errors import CheckFailed
from .keras_checks import check_cifar10_model, check_mnist_model
from .numpy_checks import (
    SPECS,
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
from .variant_checks import (
    check_batch_norm_backward,
    check_batch_norm_forward,
    check_conv2d_transpose,
    check_conv_layer_cost,
    check_depthwise_conv2d,
    check_residual_block_backward,
    check_residual_block_forward,
)

__all__ = [name for name in dir() if name.startswith("check_")] + ["CheckFailed", "grade_as", "student_seed"]

#: What the shortcut scan forbids in the function a property check is given (spec checks declare theirs).
_POLICIES = {"check_dropout": scan.NUMPY_ONLY, "check_edge_kernel": scan.NUMPY_ONLY,
             "check_numerical_gradient": scan.NUMPY_ONLY, "check_train_step": scan.COMPOSE_LAYERS,
             "check_mnist_model": scan.KERAS, "check_cifar10_model": scan.KERAS,
             "check_batch_norm_forward": scan.NUMPY_ONLY, "check_batch_norm_backward": scan.NUMPY_ONLY,
             "check_residual_block_forward": scan.COMPOSE_LAYERS, "check_residual_block_backward": scan.COMPOSE_LAYERS}


def policy_for(check_name: str) -> scan.Policy:
    """The shortcut policy for the student function passed to ``check_name``."""
    if check_name in _POLICIES:
        return _POLICIES[check_name]
    spec = SPECS.get(check_name.removeprefix("check_"))
    return spec.policy if spec is not None else scan.NUMPY_ONLY
