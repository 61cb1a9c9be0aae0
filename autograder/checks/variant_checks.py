"""Checks for the exercises on convolution variants (13) and deeper networks (14).

Everything crosses the bridge as plain data: the layer to cost is a description (kind, sizes,
stride, padding), not a Keras layer; a batch-norm or residual-block cache is the dict of arrays the
exercise specifies, built here by the reference forward pass, so each backward pass is graded on
its own. Functions that return more than arrays (a cache, a dict of gradients) are graded through
a view that keeps the arrays (:class:`_View`); its structure is checked first, with a message that
says what was expected.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import solutions as ref

from .. import diagnose as D
from ..scan import COMPOSE_LAYERS, NO_CONV_SHORTCUTS, NUMPY_ONLY
from ._core import Case, CheckFailed, Spec, call_student, run_check, with_parts
from .numpy_checks import FLOAT, INT, SPECS, _a, _generic, _r


def _register(spec: Spec) -> Spec:
    SPECS[spec.name] = spec
    return spec


# ------------------------------------------------------------------------------------------------
# 13 transposed and depthwise convolution
# ------------------------------------------------------------------------------------------------
def _transpose_case(rng, n, h, w, cin, cout, kh, kw, stride, padding, bias=True, label=""):
    args = (_a(rng, n, h, w, cin), _a(rng, kh, kw, cout, cin)) + ((_a(rng, cout),) if bias else ())
    return Case(args, {"stride": stride, "padding": padding}, label)


def _transpose_cases(rng):
    cases = []
    for _ in range(10):
        s = _r(rng, 1, 3)
        kh, kw = _r(rng, s, 4), _r(rng, s, 4)
        padding = ["valid", 0, 1][_r(rng, 0, 2)] if min(kh, kw) >= 3 else ["valid", 0][_r(rng, 0, 1)]
        cases.append(_transpose_case(rng, _r(rng, 1, 2), _r(rng, 1, 4), _r(rng, 1, 4), _r(rng, 1, 3), _r(rng, 1, 3),
                                     kh, kw, s, padding, bias=bool(rng.random() < 0.8)))
    # as many input as output channels: a kernel read the wrong way round fits, and shows
    return cases + [_transpose_case(rng, 2, 3, 2, 2, 2, 3, 3, 2, 1)]


def _transpose_edges(rng):
    return [
        _transpose_case(rng, 2, 3, 4, 2, 3, 1, 1, 1, "valid", label="a 1x1 kernel, stride 1"),
        _transpose_case(rng, 1, 3, 3, 2, 2, 2, 2, 2, "valid", label="kernel 2 = stride 2 (stamps touch, no overlap)"),
        _transpose_case(rng, 1, 3, 4, 1, 2, 3, 3, 2, "valid", label="kernel 3 > stride 2 (stamps overlap)"),
        _transpose_case(rng, 2, 1, 1, 3, 2, 3, 2, 1, "valid", label="a single input pixel, a 3x2 kernel"),
        _transpose_case(rng, 1, 4, 3, 2, 3, 3, 3, 2, 1, label="padding 1, stride 2"),
        _transpose_case(rng, 1, 2, 3, 2, 3, 4, 4, 3, 1, bias=False, label="stride 3, kernel 4, padding 1, no bias"),
        # Cin = 3 and Cout = 2 differ, so a kernel read as (KH, KW, Cin, Cout) cannot fit by accident
        _transpose_case(rng, 2, 3, 3, 3, 2, 3, 3, 1, 1, label="3 input and 2 output channels, padding 1"),
    ]


def _transpose_ref(x, w, b=None, stride=1, padding="valid"):
    return ref.conv2d_transpose(x, w, b, stride=stride, padding=padding)


def _depthwise_case(rng, n, h, w, c, m, kh, kw, stride, padding, bias=True, label=""):
    args = (_a(rng, n, h, w, c), _a(rng, kh, kw, c, m)) + ((_a(rng, c * m),) if bias else ())
    return Case(args, {"stride": stride, "padding": padding}, label)


def _depthwise_cases(rng):
    cases = []
    for _ in range(10):
        h, w = _r(rng, 3, 7), _r(rng, 3, 7)
        cases.append(_depthwise_case(rng, _r(rng, 1, 2), h, w, _r(rng, 2, 3), _r(rng, 1, 3), _r(rng, 1, 3),
                                     _r(rng, 1, 3), _r(rng, 1, 2), ["valid", 0, 1][_r(rng, 0, 2)],
                                     bias=bool(rng.random() < 0.8)))
    return cases


def _depthwise_edges(rng):
    return [
        _depthwise_case(rng, 2, 4, 5, 3, 1, 1, 1, 1, "valid", label="a 1x1 kernel, multiplier 1"),
        _depthwise_case(rng, 1, 4, 5, 2, 2, 4, 5, 1, "valid", label="a kernel as large as the input"),
        _depthwise_case(rng, 1, 7, 6, 3, 2, 3, 3, 2, 1, label="stride 2, padding 1, 3 channels x multiplier 2"),
        _depthwise_case(rng, 2, 5, 5, 1, 3, 3, 2, 1, 0, label="one channel, multiplier 3, a 3x2 kernel"),
        _depthwise_case(rng, 1, 5, 4, 4, 2, 2, 2, 1, "valid", bias=False, label="no bias (b=None)"),
    ]


def _depthwise_ref(x, w, b=None, stride=1, padding="valid"):
    return ref.depthwise_conv2d(x, w, b, stride=stride, padding=padding)


_register(Spec("conv2d_transpose", _transpose_ref, _transpose_cases, _transpose_edges, D.TRANSPOSE_VARIANTS,
               NO_CONV_SHORTCUTS, **FLOAT))
_register(Spec("depthwise_conv2d", _depthwise_ref, _depthwise_cases, _depthwise_edges, D.DEPTHWISE_VARIANTS,
               NO_CONV_SHORTCUTS, **FLOAT))


# ------------------------------------------------------------------------------------------------
# 13 the cost of one layer, from its description
# ------------------------------------------------------------------------------------------------
def _cost_case(kind, k, cin, cout, hw, label="", raises=None, **kwargs):
    return Case((kind, k, cin, cout, hw), kwargs, label, raises)


def _cost_cases(rng):
    cases = []
    for kind in ("conv2d", "depthwise", "transpose"):
        for _ in range(4):
            k, cin = _r(rng, 1, 5), _r(rng, 1, 64)
            cout = cin * _r(rng, 1, 3) if kind == "depthwise" else _r(rng, 1, 128)
            h, w = _r(rng, k + 1, 32), _r(rng, k + 1, 32)
            cases.append(_cost_case(kind, k, cin, cout, (h, w), stride=_r(rng, 1, 3),
                                    padding=["valid", "same"][_r(rng, 0, 1)], use_bias=bool(rng.random() < 0.7)))
    return cases


def _cost_edges(rng):
    return [
        _cost_case("conv2d", 1, 16, 32, (8, 8), "a 1x1 convolution"),
        _cost_case("conv2d", 5, 3, 4, (5, 5), "a 5x5 kernel on a 5x5 input, 'valid' (one position)"),
        _cost_case("conv2d", (3, 1), 4, 6, (9, 7), "a 3x1 kernel with stride (2, 1), 'same'", stride=(2, 1),
                   padding="same"),
        _cost_case("conv2d", 3, 8, 8, (10, 10), "dilation 2, 'valid' (the window spans 5 pixels)", dilation=2),
        _cost_case("depthwise", 3, 5, 5, (7, 7), "depthwise, multiplier 1, no bias", use_bias=False),
        _cost_case("transpose", 2, 4, 3, (5, 6), "a transpose whose kernel 2 is smaller than its stride 3",
                   stride=3),
        _cost_case("transpose", 3, 6, 2, (4, 4), "a transpose, stride 2, 'same'", stride=2, padding="same"),
        _cost_case("conv2d", 3, 2, 2, (6, 6), "the defaults stride=1, padding='valid', use_bias=True"),
        _cost_case("conv2d", 7, 3, 8, (5, 5), "a 7x7 kernel on a 5x5 input, 'valid'", raises=ValueError),
    ]


def _cost_ref(*args, **kwargs):
    return tuple(ref.conv_layer_cost(*args, **kwargs))


_register(Spec("conv_layer_cost", _cost_ref, _cost_cases, _cost_edges, D.COST_VARIANTS, NUMPY_ONLY,
               outputs=("params", "multiply_adds", "activations"),
               parts=("params", "multiply_adds", "activations", "edge_cases"), **INT))


# ------------------------------------------------------------------------------------------------
# Functions that return more than arrays: graded through a view of their arrays
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _View:
    """What a check compares of a structured result: ``arrays(result)`` -> a tuple of arrays.

    ``problem(result)`` says what is wrong with a result's structure ('' if nothing); the check calls
    the student's function once on its first case and fails with that message before comparing.
    """

    name: str
    problem: Callable[[object], str]
    arrays: Callable[[object], tuple]

    def wrap(self, func):
        def viewed(*args, **kwargs):
            result = func(*args, **kwargs)
            return result if self.problem(result) else self.arrays(result)
        viewed.__name__ = self.name
        return viewed

    def require(self, func, case: Case) -> None:
        result, exc = call_student(self.name, func, case)
        if exc is None and (problem := self.problem(result)):
            raise CheckFailed(f"{case.describe(self.name)}: {problem}")


def _seq_problem(what: str, n: int):
    def problem(result) -> str:
        if not isinstance(result, (tuple, list)) or len(result) != n:
            got = type(result).__name__ + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            return f"it should return a tuple {what} of {n} items, got {got}"
        return ""
    return problem


def _graded(spec: Spec, view: _View, func, parts, first_case: Case):
    """Run ``spec``'s parts on the view of ``func``; its structure is checked on ``first_case`` first."""
    view.require(func, first_case)
    viewed = view.wrap(func)
    return sum(run_check(spec, viewed, p, quiet=True) for p in parts)


def _report(name, part, n):
    print(f"\u2714 {name}, {'all parts' if part is None else 'part ' + repr(part)}: {n} test cases match the reference")


# ------------------------------------------------------------------------------------------------
# 14 batch normalisation
# ------------------------------------------------------------------------------------------------
def _bn_state(rng, c):
    return (np.round(rng.uniform(0.5, 2.0, c), 2), _a(rng, c), _a(rng, c), np.round(rng.uniform(0.5, 2.0, c), 2))


def _bn_case(rng, shape, training, label="", **kwargs):
    x = np.round(rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2), 2)
    return Case((x, *_bn_state(rng, shape[-1])), {"training": training, **kwargs},
                label or f"x of shape {shape}, training={training}" + "".join(f", {k}={v}" for k, v in kwargs.items()))


def _bn_cases(training):
    def cases(rng):
        shapes = [(_r(rng, 4, 9), _r(rng, 1, 4)) for _ in range(3)] + \
                 [(_r(rng, 2, 3), _r(rng, 2, 4), _r(rng, 2, 4), _r(rng, 1, 3)) for _ in range(3)]
        out = [_bn_case(rng, s, training) for s in shapes]
        out += [_bn_case(rng, (6, 3), training, momentum=0.9), _bn_case(rng, (2, 3, 3, 2), training, momentum=0.5,
                                                                       epsilon=1e-5)]
        return out
    return cases


def _bn_ref(x, gamma, beta, running_mean, running_var, training=True, momentum=0.99, epsilon=1e-3):
    y, mean, var, _ = ref.batch_norm_forward(x, gamma, beta, running_mean, running_var, training, momentum, epsilon)
    return y, mean, var, 0.0


_BN_OUT = ("y", "new_mean", "new_var", "cache")
_BN_VIEW = _View("batch_norm_forward", _seq_problem("(y, new_mean, new_var, cache)", 4),
                 lambda r: (r[0], r[1], r[2], 0.0))  # the cache is the student's own: not compared
BN_TRAIN = Spec("batch_norm_forward", _bn_ref, _bn_cases(True), variants=D.BN_FORWARD_VARIANTS, policy=NUMPY_ONLY,
                outputs=_BN_OUT, parts=("shape", "y", "new_mean", "new_var"), **FLOAT)
BN_INFER = Spec("batch_norm_forward", _bn_ref, _bn_cases(False), variants=D.BN_FORWARD_VARIANTS, policy=NUMPY_ONLY,
                outputs=_BN_OUT, parts=("values",), **FLOAT)


@with_parts("shape", "training", "running_stats", "inference")
def check_batch_norm_forward(func, part=None):
    """Batch norm's forward pass against the reference: parts "shape", "training" (y with batch statistics),
    "running_stats" (the updated running mean and variance) and "inference" (training=False)."""
    plan = {"shape": (BN_TRAIN, ("shape",)), "training": (BN_TRAIN, ("y",)),
            "running_stats": (BN_TRAIN, ("new_mean", "new_var")), "inference": (BN_INFER, ("values",))}
    n = 0
    for p in check_batch_norm_forward.parts if part is None else (part,):
        spec, spec_parts = plan[p]
        n += _graded(spec, _BN_VIEW, func, spec_parts, spec.cases(np.random.default_rng(0))[0])
    _report("batch_norm_forward", part, n)


def _bn_backward_cases(training):
    def cases(rng):
        out = []
        for forward in _bn_cases(training)(rng):
            x = forward.args[0]
            cache = ref.batch_norm_forward(*forward.args, **forward.kwargs)[3]
            out.append(Case((_a(rng, *x.shape), cache), {}, f"dout of shape {x.shape} and the cache of "
                            f"batch_norm_forward({forward.label})"))
        return out
    return cases


def _bn_backward_ref(dout, cache):
    return ref.batch_norm_backward(dout, cache)


_BNB_OUT = ("dx", "dgamma", "dbeta")
_BNB_VIEW = _View("batch_norm_backward", _seq_problem("(dx, dgamma, dbeta)", 3), tuple)
BNB_TRAIN = Spec("batch_norm_backward", _bn_backward_ref, _bn_backward_cases(True), variants=D.BN_BACKWARD_VARIANTS,
                 policy=NUMPY_ONLY, outputs=_BNB_OUT, parts=_BNB_OUT, rtol=1e-6, atol=1e-8)
BNB_INFER = Spec("batch_norm_backward", _bn_backward_ref, _bn_backward_cases(False), variants=D.BN_BACKWARD_VARIANTS,
                 policy=NUMPY_ONLY, outputs=_BNB_OUT, parts=("values",), rtol=1e-6, atol=1e-8)


@with_parts("dx", "dgamma_dbeta", "inference")
def check_batch_norm_backward(func, part=None):
    """Batch norm's backward pass, given the reference forward pass's cache: parts "dx" and "dgamma_dbeta"
    (training mode) and "inference" (a cache with training False)."""
    plan = {"dx": (BNB_TRAIN, ("dx",)), "dgamma_dbeta": (BNB_TRAIN, ("dgamma", "dbeta")),
            "inference": (BNB_INFER, ("values",))}
    n = 0
    for p in check_batch_norm_backward.parts if part is None else (part,):
        spec, spec_parts = plan[p]
        n += _graded(spec, _BNB_VIEW, func, spec_parts, spec.cases(np.random.default_rng(0))[0])
    _report("batch_norm_backward", part, n)


# ------------------------------------------------------------------------------------------------
# 14 the residual block
# ------------------------------------------------------------------------------------------------
def _block_params(rng, cin, cout, stride):
    params = ref.init_residual_block(cin, cout, stride, rng)
    for key in ("bn1", "bn2", "bn_proj"):
        if key in params:  # away from Keras' start (1, 0, 0, 1), so a skipped or misplaced norm shows
            gamma, beta, mean, var = _bn_state(rng, cout)
            params[key] = {"gamma": gamma, "beta": beta, "mean": mean, "var": var}
    return params


def _block_case(rng, n, h, w, cin, cout, stride, training, label=""):
    x = _a(rng, n, h, w, cin)
    return Case((x, _block_params(rng, cin, cout, stride)), {"stride": stride, "training": training},
                label or f"x of shape {x.shape}, {cin} -> {cout} channels, stride {stride}, training={training}")


def _block_cases(projection):
    def cases(rng):
        out = []
        for training in (True, True, False):
            c = _r(rng, 2, 3)
            if projection:
                stride = _r(rng, 1, 2)
                cout = c + 1 if stride == 1 else _r(rng, 2, 3)
                out.append(_block_case(rng, _r(rng, 2, 3), _r(rng, 3, 5), _r(rng, 3, 5), c, cout, stride, training))
            else:
                out.append(_block_case(rng, _r(rng, 2, 3), _r(rng, 3, 5), _r(rng, 3, 5), c, c, 1, training))
        return out
    return cases


def _block_ref(x, params, stride=1, training=True, momentum=0.99, epsilon=1e-3):
    out, _, _ = ref.residual_block_forward(x, params, stride, training, momentum, epsilon)
    return out, 0.0, 0.0


_BLOCK_OUT = ("out", "running", "cache")
_BLOCK_VIEW = _View("residual_block_forward", _seq_problem("(out, running, cache)", 3),
                    lambda r: (r[0], 0.0, 0.0))  # running and cache are the student's own
BLOCK_IDENTITY = Spec("residual_block_forward", _block_ref, _block_cases(False), variants=D.BLOCK_FORWARD_VARIANTS,
                      policy=COMPOSE_LAYERS, outputs=_BLOCK_OUT, parts=("values",), rtol=1e-6, atol=1e-7)
BLOCK_PROJECTION = Spec("residual_block_forward", _block_ref, _block_cases(True), variants=D.BLOCK_FORWARD_VARIANTS,
                        policy=COMPOSE_LAYERS, outputs=_BLOCK_OUT, parts=("values",), rtol=1e-6, atol=1e-7)


@with_parts("identity", "projection")
def check_residual_block_forward(func, part=None):
    """The block's output against the reference: parts "identity" (stride 1, Cin == Cout) and "projection"."""
    n = 0
    for p in check_residual_block_forward.parts if part is None else (part,):
        spec = BLOCK_IDENTITY if p == "identity" else BLOCK_PROJECTION
        n += _graded(spec, _BLOCK_VIEW, func, ("values",), spec.cases(np.random.default_rng(0))[0])
    _report("residual_block_forward", part, n)


_GRAD_KEYS = ("conv1", "conv2", "bn1", "bn2", "proj", "bn_proj")


def _grads_problem(result) -> str:
    problem = _seq_problem("(dx, grads)", 2)(result)
    if problem:
        return problem
    grads = result[1]
    if not isinstance(grads, dict):
        return f"grads should be a dict ('conv1', 'conv2', 'bn1', 'bn2', ...), got {type(grads).__name__}"
    missing = [k for k in _GRAD_KEYS[:4] if k not in grads]
    missing += [f"{k} of {bn}" for bn in ("bn1", "bn2") if isinstance(grads.get(bn), dict)
                for k in ("gamma", "beta") if k not in grads[bn]]
    if missing:
        return f"grads has no {', '.join(map(repr, missing))}"
    bad = [bn for bn in ("bn1", "bn2", "bn_proj") if bn in grads and not isinstance(grads[bn], dict)]
    return f"grads[{bad[0]!r}] should be a dict {{'gamma': ..., 'beta': ...}}" if bad else ""


def _block_backward_cases(projection):
    def cases(rng):
        out = []
        for forward in _block_cases(projection)(rng):
            y, _, cache = ref.residual_block_forward(*forward.args, **forward.kwargs)
            out.append(Case((_a(rng, *y.shape), cache), {}, f"dout of shape {y.shape} and the cache of "
                            f"residual_block_forward({forward.label})"))
        return out
    return cases


def _block_backward_ref(dout, cache):
    return D.block_grad_arrays(ref.residual_block_backward(dout, cache))


_BLOCKB_OUT = ("dx", "conv1", "conv2", "bn1", "bn2", "proj", "bn_proj")
_BLOCKB_VIEW = _View("residual_block_backward", _grads_problem, D.block_grad_arrays)
BLOCKB_IDENTITY = Spec("residual_block_backward", _block_backward_ref, _block_backward_cases(False),
                       variants=D.BLOCK_BACKWARD_VARIANTS, policy=COMPOSE_LAYERS, outputs=_BLOCKB_OUT,
                       parts=_BLOCKB_OUT, rtol=1e-5, atol=1e-7)
BLOCKB_PROJECTION = Spec("residual_block_backward", _block_backward_ref, _block_backward_cases(True),
                         variants=D.BLOCK_BACKWARD_VARIANTS, policy=COMPOSE_LAYERS, outputs=_BLOCKB_OUT,
                         parts=_BLOCKB_OUT, rtol=1e-5, atol=1e-7)


@with_parts("dx", "params")
def check_residual_block_backward(func, part=None):
    """The block's gradients, given the reference forward pass's cache, for identity and projection
    shortcuts: part "dx" and part "params" (the kernels' and the batch norms' gradients)."""
    n = 0
    for p in check_residual_block_backward.parts if part is None else (part,):
        for spec in (BLOCKB_IDENTITY, BLOCKB_PROJECTION):
            spec_parts = ("dx",) if p == "dx" else _BLOCKB_OUT[1:]
            n += _graded(spec, _BLOCKB_VIEW, func, spec_parts, spec.cases(np.random.default_rng(0))[0])
    _report("residual_block_backward", part, n)


check_conv2d_transpose = _generic("conv2d_transpose")
check_depthwise_conv2d = _generic("depthwise_conv2d")
check_conv_layer_cost = _generic("conv_layer_cost")

__all__ = ["check_conv2d_transpose", "check_depthwise_conv2d", "check_conv_layer_cost", "check_batch_norm_forward",
           "check_batch_norm_backward", "check_residual_block_forward", "check_residual_block_backward"]

# What each check built from several specs can name (python -m autograder.exercises --describe lists them).
check_batch_norm_forward.variants = tuple(D.BN_FORWARD_VARIANTS)
check_batch_norm_backward.variants = tuple(D.BN_BACKWARD_VARIANTS)
check_residual_block_forward.variants = tuple(D.BLOCK_FORWARD_VARIANTS)
check_residual_block_backward.variants = tuple(D.BLOCK_BACKWARD_VARIANTS)
