"""Checks for the NumPy exercises (01-08): specifications, random cases and edge cases."""
from __future__ import annotations

import numpy as np

import solutions as ref

from .. import diagnose as D
from ..scan import NO_CONV_SHORTCUTS, NUMPY_ONLY
from . import compare as _safe
from ..bridge import BridgeFailure
from ._core import Case, CheckFailed, Spec, call_student, run_check, run_property, with_parts

INT = dict(rtol=0.0, atol=0.0)
FLOAT = dict(rtol=1e-6, atol=1e-8)


def _a(rng, *shape):
    """Random test data rounded to 2 decimals (readable when a message prints a value)."""
    return np.round(rng.standard_normal(shape), 2)


def _r(rng, lo, hi):
    """Random int in [lo, hi] inclusive, as a plain Python int."""
    return int(rng.integers(lo, hi + 1))


# ------------------------------------------------------------------------------------------------
# 01 parameter counts
# ------------------------------------------------------------------------------------------------
def _dense_cases(rng):
    return [Case((_r(rng, 1, 5000), _r(rng, 1, 500))) for _ in range(6)] + \
        [Case((_r(rng, 1, 500), _r(rng, 1, 50)), {"bias": bool(b)}) for b in (True, False)]


def _dense_edges(rng):
    return [Case((1, 1)), Case((784, 10), {"bias": False}), Case((28 * 28 * 3, 1)), Case((1, 1000))]


def _conv_count_cases(rng):
    return [Case((k1, k2, _r(rng, 1, 64), _r(rng, 1, 128))) for k1, k2 in
            ((3, 3), (5, 5), (1, 1), (3, 5), (7, 7))] + \
        [Case((3, 3, _r(rng, 2, 16), _r(rng, 2, 16)), {"bias": False})]


def _conv_count_edges(rng):
    return [Case((1, 1, 1, 1)), Case((1, 1, 3, 1), {"bias": False}), Case((5, 1, 1, 7)),
            Case((3, 3, 512, 512))]


def _ratio_cases(rng):
    out = []
    for _ in range(6):
        h, w = _r(rng, 5, 64), _r(rng, 5, 64)
        out.append(Case((h, w, _r(rng, 1, 3), _r(rng, 1, min(h, 7)), _r(rng, 1, min(w, 7)), _r(rng, 1, 32))))
    return out


def _ratio_edges(rng):
    return [Case((28, 28, 1, 3, 3, 32)), Case((32, 32, 3, 1, 1, 1)), Case((5, 5, 1, 5, 5, 1)),
            Case((10, 20, 2, 3, 5, 4))]


SPECS = {}


def _spec(spec: Spec) -> Spec:
    SPECS[spec.name] = spec
    return spec


_spec(Spec("dense_param_count", ref.dense_param_count, _dense_cases, _dense_edges, D.DENSE_VARIANTS,
           NUMPY_ONLY, parts=("values", "edge_cases"), **INT))
_spec(Spec("conv_param_count", ref.conv_param_count, _conv_count_cases, _conv_count_edges,
           D.CONV_COUNT_VARIANTS, NUMPY_ONLY, parts=("values", "edge_cases"), **INT))
_spec(Spec("weight_sharing_ratio", ref.weight_sharing_ratio, _ratio_cases, _ratio_edges, D.RATIO_VARIANTS,
           NUMPY_ONLY, parts=("values", "edge_cases"), rtol=1e-9, atol=0))


# ------------------------------------------------------------------------------------------------
# 02 1-D convolution
# ------------------------------------------------------------------------------------------------
def _1d_cases(rng):
    # Per mode, two even and two odd kernel lengths: an off-by-one centring of 'same' shows only
    # with even kernels, so random lengths alone would miss it for some students' draws.
    cases = []
    for mode in ("full", "same", "valid"):
        for i in range(4):
            n = _r(rng, 3, 12)
            m = 2 * _r(rng, 1, n // 2) if i % 2 == 0 else 2 * _r(rng, 1, (n - 1) // 2) + 1
            cases.append(Case((_a(rng, n), _a(rng, m)), {"mode": mode}))
    return cases


def _1d_edges(default):
    def edges(rng):
        out = [Case((_a(rng, 7), _a(rng, 1)), {"mode": m}, f"a length-1 kernel, mode={m!r}")
               for m in ("full", "same", "valid")]
        out += [Case((_a(rng, 5), _a(rng, 5)), {"mode": m}, f"kernel as long as the signal, mode={m!r}")
                for m in ("full", "same", "valid")]
        out += [Case((_a(rng, 1), _a(rng, 1)), {"mode": "full"}, "one-sample signal and kernel"),
                Case((_a(rng, 9), _a(rng, 4)), {"mode": "same"}, "an even-length kernel, mode='same'"),
                Case((_a(rng, 6), _a(rng, 3)), {}, f"the default mode ({default!r})")]
        return out
    return edges


_spec(Spec("conv1d", ref.conv1d, _1d_cases, _1d_edges("full"), D.CONV1D_VARIANTS, NO_CONV_SHORTCUTS,
           **FLOAT))
_spec(Spec("correlate1d", ref.correlate1d, _1d_cases, _1d_edges("valid"), D.CORRELATE1D_VARIANTS,
           NO_CONV_SHORTCUTS, **FLOAT))


# ------------------------------------------------------------------------------------------------
# 03 2-D convolution, single channel
# ------------------------------------------------------------------------------------------------
def _2d_cases(rng):
    cases = []
    for mode in ("valid", "full", "same"):
        for _ in range(4):
            h, w = _r(rng, 3, 9), _r(rng, 3, 9)
            kh, kw = _r(rng, 1, min(h, 4)), _r(rng, 1, min(w, 4))
            if mode == "same":  # 'same' is only asked for odd kernels
                kh, kw = kh | 1, kw | 1
                kh, kw = min(kh, h if h % 2 else h - 1), min(kw, w if w % 2 else w - 1)
            if kh * kw == 1:
                kh = 2 if mode != "same" else 3
            cases.append(Case((_a(rng, h, w), _a(rng, kh, kw)), {"mode": mode}))
    return cases


def _2d_edges(default):
    def edges(rng):
        return [
            Case((_a(rng, 5, 6), _a(rng, 1, 1)), {"mode": "valid"}, "a 1x1 kernel"),
            Case((_a(rng, 4, 5), _a(rng, 4, 5)), {"mode": "valid"}, "a kernel as large as the image"),
            Case((_a(rng, 4, 5), _a(rng, 4, 5)), {"mode": "full"}, "a kernel as large as the image, mode='full'"),
            Case((_a(rng, 6, 7), _a(rng, 1, 3)), {"mode": "valid"}, "a 1x3 kernel"),
            Case((_a(rng, 6, 7), _a(rng, 3, 1)), {"mode": "same"}, "a 3x1 kernel, mode='same'"),
            Case((_a(rng, 1, 1), _a(rng, 1, 1)), {"mode": "full"}, "a 1x1 image and kernel"),
            Case((_a(rng, 3, 8), _a(rng, 2, 3)), {"mode": "full"}, "a wide image and non-square kernel"),
            Case((_a(rng, 5, 5), _a(rng, 2, 2)), {}, f"the default mode ({default!r})"),
        ]
    return edges


_spec(Spec("correlate2d", ref.correlate2d, _2d_cases, _2d_edges("valid"), D.CORRELATE2D_VARIANTS,
           NO_CONV_SHORTCUTS, **FLOAT))
_spec(Spec("convolve2d", ref.convolve2d, _2d_cases, _2d_edges("full"), D.CONVOLVE2D_VARIANTS,
           NO_CONV_SHORTCUTS, **FLOAT))


# ------------------------------------------------------------------------------------------------
# 04 padding and stride
# ------------------------------------------------------------------------------------------------
def _os_cases(rng):
    cases = []
    for _ in range(12):
        n, p, s = _r(rng, 1, 40), _r(rng, 0, 3), _r(rng, 1, 4)
        f = _r(rng, 1, n + 2 * p)
        cases.append(Case((n, f), {"padding": p, "stride": s}))
    return cases + [Case((7, 2), {"padding": 0, "stride": 2}), Case((10, 3), {"padding": 1, "stride": 3})]


def _os_edges(rng):
    return [Case((5, 5), {}, "n = f (one position)"),
            Case((28, 3), {}, "the defaults padding=0, stride=1"),
            Case((6, 2), {"padding": 0, "stride": 5}, "a stride larger than the kernel"),
            Case((3, 5), {"padding": 1, "stride": 1}, "f = n + 2 * padding"),
            Case((1, 1), {"padding": 3, "stride": 2}, "a tiny input with lots of padding"),
            Case((3, 5), {"padding": 0, "stride": 1}, "a kernel larger than the input", raises=ValueError)]


def _zp_cases(rng):
    cases = []
    for _ in range(6):
        shape = (_r(rng, 1, 3), _r(rng, 1, 6), _r(rng, 1, 6), _r(rng, 1, 3))
        cases.append(Case((_a(rng, *shape), _r(rng, 1, 3))))
    return cases + [Case((_a(rng, 2, 3, 4, 2), (1, 2)), {}, "pad=(1, 2)")]


def _zp_edges(rng):
    return [Case((_a(rng, 1, 3, 3, 1), 0), {}, "pad=0"),
            Case((_a(rng, 1, 1, 1, 1), 2), {}, "a 1x1 image"),
            Case((_a(rng, 2, 4, 2, 3), (0, 3)), {}, "pad=(0, 3)"),
            Case((_a(rng, 1, 2, 5, 2), (2, 0)), {}, "pad=(2, 0)")]


def _single_cases(rng):
    cases = []
    for _ in range(10):
        h, w = _r(rng, 4, 10), _r(rng, 4, 10)
        kh, kw = _r(rng, 2, min(h, 4)), _r(rng, 2, min(w, 4))
        cases.append(Case((_a(rng, h, w), _a(rng, kh, kw)), {"stride": _r(rng, 1, 3), "padding": _r(rng, 0, 2)}))
    return cases


def _single_edges(rng):
    return [Case((_a(rng, 5, 6), _a(rng, 1, 1)), {"stride": 2, "padding": 0}, "a 1x1 kernel, stride 2"),
            Case((_a(rng, 4, 5), _a(rng, 4, 5)), {"stride": 1, "padding": 0}, "a kernel as large as the image"),
            Case((_a(rng, 9, 9), _a(rng, 2, 2)), {"stride": 3, "padding": 0}, "stride 3 > kernel size 2"),
            Case((_a(rng, 7, 5), _a(rng, 3, 2)), {"stride": 2, "padding": 1}, "non-square image and kernel"),
            Case((_a(rng, 6, 6), _a(rng, 3, 3)), {}, "the defaults stride=1, padding=0"),
            Case((_a(rng, 2, 2), _a(rng, 3, 3)), {"stride": 1, "padding": 1}, "padding that makes the kernel fit")]


_spec(Spec("output_size", ref.output_size, _os_cases, _os_edges, D.OUTPUT_SIZE_VARIANTS, NUMPY_ONLY,
           parts=("values", "edge_cases"), **INT))
_spec(Spec("zero_pad", ref.zero_pad, _zp_cases, _zp_edges, D.ZERO_PAD_VARIANTS, NUMPY_ONLY, **INT))
_spec(Spec("conv2d_single", ref.conv2d_single, _single_cases, _single_edges, D.CONV2D_SINGLE_VARIANTS,
           NO_CONV_SHORTCUTS, **FLOAT))


# ------------------------------------------------------------------------------------------------
# 05 multi-channel conv2d
# ------------------------------------------------------------------------------------------------
def _conv_case(rng, n, h, w, cin, cout, kh, kw, stride, padding, bias=True, label=""):
    kwargs = {"stride": stride, "padding": padding}
    args = (_a(rng, n, h, w, cin), _a(rng, kh, kw, cin, cout))
    if bias:
        args += (_a(rng, cout),)
    return Case(args, kwargs, label)


def _conv2d_cases(rng):
    cases = []
    for _ in range(12):
        h, w = _r(rng, 3, 8), _r(rng, 3, 8)
        kh, kw = _r(rng, 1, min(h, 4)), _r(rng, 1, min(w, 4))
        padding = [0, 1, 2, "valid"][_r(rng, 0, 3)]
        cases.append(_conv_case(rng, _r(rng, 1, 3), h, w, _r(rng, 1, 3), _r(rng, 1, 4), kh, kw, _r(rng, 1, 3),
                                padding, bias=bool(rng.random() < 0.8)))
    cases.append(_conv_case(rng, 2, 6, 5, 3, 2, 3, 3, 1, "same"))
    return cases


def _conv2d_edges(rng):
    return [
        _conv_case(rng, 2, 5, 6, 3, 4, 1, 1, 1, 0, label="a 1x1 kernel"),
        _conv_case(rng, 1, 4, 5, 2, 3, 4, 5, 1, "valid", label="a kernel as large as the input"),
        _conv_case(rng, 2, 9, 8, 2, 2, 2, 2, 3, 0, label="stride 3 > kernel size 2"),
        _conv_case(rng, 1, 7, 5, 1, 2, 3, 2, 2, 1, label="non-square input and kernel, stride 2, padding 1"),
        # x (2, 3, 4, 3) and w (3, 3, 3, 2) also make sense read as NCHW / OIHW: layout mix-ups run
        _conv_case(rng, 2, 3, 4, 3, 2, 3, 3, 1, "valid", bias=False, label="sizes that hide layout mix-ups"),
        _conv_case(rng, 2, 6, 4, 2, 4, 3, 1, 1, 0, label="an output height equal to the number of filters"),
        _conv_case(rng, 1, 5, 5, 2, 2, 3, 3, 1, 0, bias=False, label="no bias (b=None)"),
        _conv_case(rng, 1, 6, 7, 2, 3, 5, 3, 1, "same", label="padding='same' with a 5x3 kernel"),
    ]


def _conv2d_ref(x, w, b=None, stride=1, padding="valid"):
    return ref.conv2d(x, w, b, stride=stride, padding=padding)


_spec(Spec("conv2d", _conv2d_ref, _conv2d_cases, _conv2d_edges, D.CONV2D_VARIANTS, NO_CONV_SHORTCUTS,
           rtol=1e-6, atol=1e-7))


# ------------------------------------------------------------------------------------------------
# 06 pooling
# ------------------------------------------------------------------------------------------------
def _pool_cases(rng):
    cases = []
    for _ in range(10):
        h, w = _r(rng, 2, 9), _r(rng, 2, 9)
        p = _r(rng, 2, min(3, h, w))
        stride = None if rng.random() < 0.4 else _r(rng, 1, 3)
        kwargs = {"pool_size": p} if stride is None else {"pool_size": p, "stride": stride}
        cases.append(Case((_a(rng, _r(rng, 1, 3), h, w, _r(rng, 1, 3)),), kwargs))
    return cases


def _pool_edges(rng):
    return [Case((_a(rng, 2, 4, 6, 3),), {}, "the defaults pool_size=2, stride=None"),
            Case((_a(rng, 1, 5, 5, 2),), {"pool_size": 1}, "pool_size=1"),
            Case((_a(rng, 1, 4, 6, 2),), {"pool_size": 4}, "a window as tall as the input"),
            Case((_a(rng, 2, 7, 5, 1),), {"pool_size": 2}, "odd sizes (the last row/column is dropped)"),
            Case((_a(rng, 1, 9, 9, 2),), {"pool_size": 2, "stride": 3}, "stride 3 > pool size 2"),
            Case((_a(rng, 1, 6, 6, 2),), {"pool_size": 3, "stride": 1}, "overlapping windows (stride 1)"),
            Case((-np.abs(_a(rng, 1, 4, 4, 2)) - 1,), {"pool_size": 2}, "all-negative inputs")]


_spec(Spec("max_pool2d", ref.max_pool2d, _pool_cases, _pool_edges, D.MAX_POOL_VARIANTS,
           NO_CONV_SHORTCUTS, **FLOAT))
_spec(Spec("avg_pool2d", ref.avg_pool2d, _pool_cases, _pool_edges, D.AVG_POOL_VARIANTS,
           NO_CONV_SHORTCUTS, **FLOAT))


# ------------------------------------------------------------------------------------------------
# 07 backprop
# ------------------------------------------------------------------------------------------------
def _bw_case(rng, n, h, w, cin, cout, kh, kw, stride, padding, label=""):
    oh = ref.output_size(h, kh, padding, stride)
    ow = ref.output_size(w, kw, padding, stride)
    return Case((_a(rng, n, oh, ow, cout), _a(rng, n, h, w, cin), _a(rng, kh, kw, cin, cout)),
                {"stride": stride, "padding": padding}, label)


def _bw_cases(rng):
    cases = []
    for _ in range(8):
        h, w = _r(rng, 3, 7), _r(rng, 3, 7)
        cases.append(_bw_case(rng, _r(rng, 2, 3), h, w, _r(rng, 1, 3), _r(rng, 1, 3), _r(rng, 2, min(h, 3)),
                              _r(rng, 2, min(w, 3)), _r(rng, 1, 2), _r(rng, 0, 1)))
    return cases


def _bw_edges(rng):
    return [_bw_case(rng, 2, 5, 4, 2, 3, 1, 1, 1, 0, "a 1x1 kernel"),
            _bw_case(rng, 2, 4, 5, 2, 2, 4, 5, 1, 0, "a kernel as large as the input"),
            _bw_case(rng, 2, 8, 7, 1, 2, 2, 2, 3, 0, "stride 3 > kernel size 2 (some pixels get no gradient)"),
            _bw_case(rng, 1, 6, 5, 2, 2, 3, 2, 2, 1, "non-square kernel, stride 2, padding 1")]


def _bw_ref(dout, x, w, stride=1, padding=0):
    return ref.conv2d_backward(dout, x, w, stride=stride, padding=padding)


_spec(Spec("conv2d_backward", _bw_ref, _bw_cases, _bw_edges, D.CONV2D_BACKWARD_VARIANTS, NUMPY_ONLY,
           outputs=("dx", "dw", "db"), parts=("shape", "dx", "dw", "db", "edge_cases"), rtol=1e-6, atol=1e-7))


def _mpb_case(rng, x, pool, stride, label=""):
    kwargs = {"pool_size": pool} if stride is None else {"pool_size": pool, "stride": stride}
    s = pool if stride is None else stride
    n, h, w, c = x.shape
    dout = _a(rng, n, (h - pool) // s + 1, (w - pool) // s + 1, c)
    return Case((dout, x), kwargs, label)


def _mpb_cases(rng):
    cases = []
    for _ in range(8):
        h, w = _r(rng, 2, 8), _r(rng, 2, 8)
        p = _r(rng, 2, min(3, h, w))
        stride = None if rng.random() < 0.5 else _r(rng, 1, 3)
        cases.append(_mpb_case(rng, _a(rng, _r(rng, 1, 2), h, w, _r(rng, 1, 3)), p, stride))
    return cases


def _mpb_edges(rng):
    ties = rng.integers(0, 2, size=(1, 4, 4, 2)).astype(float)
    return [_mpb_case(rng, ties, 2, None, "ties: several cells share a window's maximum"),
            _mpb_case(rng, _a(rng, 1, 5, 5, 2), 3, 1, "overlapping windows (pool 3, stride 1)"),
            _mpb_case(rng, _a(rng, 2, 5, 7, 1), 2, None, "odd sizes (the last row/column gets no gradient)"),
            _mpb_case(rng, _a(rng, 1, 7, 7, 1), 2, 3, "stride 3 > pool size 2")]


_spec(Spec("max_pool2d_backward", ref.max_pool2d_backward, _mpb_cases, _mpb_edges, D.MAX_POOL_BACKWARD_VARIANTS,
           NO_CONV_SHORTCUTS, **FLOAT))


class _ReadsX:
    """f that ignores its argument and reads the array it was built with: sum(w * x**2).

    ``arg`` is the position of that array among the student function's arguments, so the
    student's side of the bridge (kernel_bridge.py) builds the same f around its own copy.
    """

    def __init__(self, w, x, arg=1):
        self.w, self.x = w, x
        self.bridge_spec = ("weighted_square_of_arg", {"w": w, "arg": arg})

    def __call__(self, _ignored):
        return float(np.sum(self.w * self.x ** 2))


class _Quadratic:
    """f(x) = sum(a * x**3 + sin(x)), a smooth test function that uses its argument (picklable)."""

    def __init__(self, a):
        self.a = a
        self.bridge_spec = ("cubic_sin", {"a": a})  # the same function in kernel_bridge.py

    def __call__(self, x):
        return float(np.sum(self.a * x ** 3 + np.sin(x)))

    def __repr__(self):
        return "f(x) = sum(a * x**3 + sin(x))"


def _ng_cases(rng):
    cases = []
    for shape in ((3,), (2, 3), (2, 2, 2), (1, 3, 3, 1)):
        cases.append(Case((_Quadratic(_a(rng, *shape)), _a(rng, *shape)), {"h": 1e-3}))
    cases.append(Case((_Quadratic(_a(rng, 4)), _a(rng, 4)), {}, "the default step h"))
    return cases


def _ng_ref(f, x, h=1e-5):
    return ref.numerical_gradient(f, np.array(x, dtype=float), h)


_spec(Spec("numerical_gradient", _ng_ref, _ng_cases, lambda rng: [], D.NUMERICAL_GRADIENT_VARIANTS,
           NUMPY_ONLY, parts=("values",), rtol=1e-5, atol=1e-7))


# ------------------------------------------------------------------------------------------------
# 08 dropout
# ------------------------------------------------------------------------------------------------
def _db_cases(rng):
    cases = []
    for rate in (0.25, 0.5, 0.8):
        shape = (_r(rng, 1, 4), _r(rng, 2, 6))
        mask = (rng.random(shape) >= rate) / (1 - rate)
        cases.append(Case((_a(rng, *shape), mask)))
    return cases


_spec(Spec("dropout_backward", ref.dropout_backward, _db_cases, lambda rng: [], D.DROPOUT_BACKWARD_VARIANTS,
           NUMPY_ONLY, parts=("values",), **FLOAT))


def _generic(name):
    def check(func, part=None):
        # Returns None on purpose: nbgrader reads a number displayed by a test cell as partial credit.
        run_check(SPECS[name], func, part)
    check.__name__ = check.__qualname__ = f"check_{name}"
    check.parts = SPECS[name].parts
    check.__doc__ = (f"Grade a student's ``{name}`` against the reference on seeded random and edge cases.\n\n"
                     f"``part``: one of {SPECS[name].parts}, or None for all. Raises AssertionError with a "
                     "plain-English message (naming a known mistake when one matches) on failure.")
    return check


check_dense_param_count = _generic("dense_param_count")
check_conv_param_count = _generic("conv_param_count")
check_weight_sharing_ratio = _generic("weight_sharing_ratio")
check_conv1d = _generic("conv1d")
check_correlate1d = _generic("correlate1d")
check_correlate2d = _generic("correlate2d")
check_convolve2d = _generic("convolve2d")
check_output_size = _generic("output_size")
check_zero_pad = _generic("zero_pad")
check_conv2d_single = _generic("conv2d_single")
check_conv2d = _generic("conv2d")
check_max_pool2d = _generic("max_pool2d")
check_avg_pool2d = _generic("avg_pool2d")
check_conv2d_backward = _generic("conv2d_backward")
check_max_pool2d_backward = _generic("max_pool2d_backward")
check_dropout_backward = _generic("dropout_backward")


@with_parts("values", "edge_cases")
def check_numerical_gradient(func, part=None):
    """Values against the reference (part "values"); part "edge_cases": x restored, f reading x itself."""
    if part in (None, "values"):
        run_check(SPECS["numerical_gradient"], func, "values")
    if part in (None, "edge_cases"):
        def body(rng):
            x = _a(rng, 2, 3)
            original = x.copy()
            weights = _a(rng, 2, 3)
            try:
                grad, exc = func(_ReadsX(weights, x), x, h=1e-4), None
            except BridgeFailure:
                raise
            except Exception as error:  # reported below, with advice
                grad, exc = None, error
            if exc is not None:
                raise CheckFailed(f"numerical_gradient raised {type(exc).__name__}: {exc} for an f that reads x "
                                  "itself. Perturb x in place (x[idx] = old + h), evaluate f, then restore it.")
            if not _safe.arrays_equal(x, original, rtol=0, atol=0):
                raise CheckFailed("numerical_gradient left x changed: restore every entry after perturbing it "
                                  "(x[idx] = old), ideally in a try/finally.")
            problem = _safe.compare(grad, 2 * weights * original, rtol=1e-4, atol=1e-6, what="the gradient")
            if problem:
                raise CheckFailed(f"For f = sum(w * x**2) computed from x itself (not from f's argument): {problem}. "
                                  "Perturb the array x you were given in place, so an f that reads x sees the change.")
            return 3
        run_property("numerical_gradient", func, body, "edge_cases", quiet=part is None)
        if part is None:
            print("\u2714 numerical_gradient, all parts passed")


@with_parts("mask", "statistics", "inference")
def check_dropout(func, part=None):
    """Inverted dropout: parts "mask" (values 0 or 1/(1-rate), y = x * mask, uses rng), "statistics"
    (drop fraction near rate, mean preserved), "inference" (training=False and rate=0 are identity)."""

    def call(*args, **kwargs):
        out, exc = call_student("dropout", func, Case(args, kwargs))
        label = f"dropout(x of shape {args[0].shape}, rate={args[1]}, ...)"
        if exc is not None:
            raise CheckFailed(f"{label} raised {type(exc).__name__}: {exc}")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise CheckFailed(f"{label} should return a pair (y, mask), got {type(out).__name__}")
        y = _safe.as_float_array(out[0], "y")
        mask = _safe.as_float_array(out[1], "mask")
        if not (_safe.shapes_equal(y, args[0]) and _safe.shapes_equal(mask, args[0])):
            raise CheckFailed(f"{label}: y and mask must both have the shape of x {args[0].shape}, got "
                              f"{y.shape} and {mask.shape}")
        return y, mask

    def mask_part(rng):
        n = 0
        for rate in (0.2, 0.5, 0.75):
            x = _a(rng, 40, 30) + 3.0  # no zeros in x, so zeros in y come from the mask
            y, mask = call(x, rate, np.random.default_rng(1), training=True)
            values = set(np.round(np.unique(mask), 9).tolist())
            scale = 1 / (1 - rate)
            if values <= {0.0, 1.0} and 0.0 in values:
                raise CheckFailed(f"With rate={rate} your mask holds only 0s and 1s: the kept units are not "
                                  f"rescaled. Inverted dropout multiplies them by 1 / (1 - rate) = {scale:.4g} "
                                  "so the expected output equals the input.")
            if values <= {0.0, round(1 - rate, 9)}:
                raise CheckFailed(f"With rate={rate} your kept units are multiplied by (1 - rate) = {1 - rate:.4g}; "
                                  f"inverted dropout divides by it instead (scale {scale:.4g}).")
            if not values <= {0.0, round(scale, 9)}:
                raise CheckFailed(f"With rate={rate} the mask should contain only 0 and 1 / (1 - rate) = "
                                  f"{scale:.4g}, found {sorted(values)[:5]}")
            problem = _safe.compare(y, x * mask, what="y")
            if problem:
                raise CheckFailed(f"y must equal x * mask: {problem}")
            y2, mask2 = call(x, rate, np.random.default_rng(1), training=True)
            if not _safe.arrays_equal(mask, mask2, rtol=0, atol=0):
                raise CheckFailed("Two calls with identically seeded generators gave different masks: draw the "
                                  "random numbers from the `rng` argument (rng.random(x.shape)), not np.random.")
            n += 4
        return n

    def stats_part(rng):
        n = 0
        for rate in (0.1, 0.5, 0.9):
            x = np.ones((200, 250))
            y, mask = call(x, rate, np.random.default_rng(_r(rng, 0, 10**6)), training=True)
            dropped = float(np.mean(mask == 0))
            if abs(dropped - (1 - rate)) < 0.02 and abs(rate - 0.5) > 0.1:
                raise CheckFailed(f"With rate={rate} your function drops {dropped:.1%} of the units: `rate` is the "
                                  "probability of *dropping* a unit, not of keeping it.")
            if abs(dropped - rate) > 0.02:
                raise CheckFailed(f"With rate={rate} your function drops {dropped:.1%} of the units; it should drop "
                                  f"about {rate:.0%} (each unit independently with probability rate).")
            if abs(float(np.mean(y)) - 1.0) > 0.05:
                raise CheckFailed(f"With rate={rate} the mean output for an all-ones input is {np.mean(y):.3f}; "
                                  "inverted dropout keeps it close to 1.")
            n += 3
        return n

    def inference_part(rng):
        x = _a(rng, 3, 5)
        for kwargs, what in (({"training": False}, "training=False"), ({}, "rate=0")):
            rate = 0.5 if kwargs else 0.0
            y, mask = call(x, rate, np.random.default_rng(0), **kwargs)
            if not (_safe.arrays_equal(y, x) and _safe.arrays_equal(mask, np.ones_like(x))):
                raise CheckFailed(f"With {what} dropout must do nothing: y == x and mask all ones. Dropout is only "
                                  "applied while training.")
        return 2

    bodies = {"mask": mask_part, "statistics": stats_part, "inference": inference_part}
    for p in check_dropout.parts if part is None else (part,):
        run_property("dropout", func, bodies[p], p)


def _edge_images():
    """Test images: a vertical dark-to-bright step, its mirror, a horizontal step and a flat image."""
    step = np.zeros((9, 10))
    step[:, 5:] = 1.0
    horizontal = np.zeros((9, 10))
    horizontal[5:, :] = 1.0
    return {"vertical": step, "mirrored": step[:, ::-1].copy(), "horizontal": horizontal,
            "flat": np.full((9, 10), 0.7)}


@with_parts("flat", "detects", "selective")
def check_edge_kernel(kernel, part=None):
    """A 3x3 kernel that finds vertical edges where the image gets brighter from left to right.

    Parts: "flat" (zero response on a constant image), "detects" (its strongest response to a
    dark-to-bright vertical step lies on the edge and is positive), "selective" (much weaker on a
    horizontal edge, and not positive on the mirrored, bright-to-dark edge).
    """
    k = _safe.as_float_array(kernel, "your kernel")
    if k.shape != (3, 3):
        raise CheckFailed(f"the kernel must be a 3x3 array, got shape {k.shape}")
    if not np.all(np.isfinite(k)) or float(np.max(np.abs(k))) == 0:
        raise CheckFailed("the kernel must contain finite numbers, not all zero")
    images = _edge_images()
    resp = {name: ref.correlate2d(img, k, "valid") for name, img in images.items()}
    peak = float(np.max(np.abs(resp["vertical"])))
    for p in check_edge_kernel.parts if part is None else (part,):
        if p == "flat":
            if float(np.max(np.abs(resp["flat"]))) > 1e-9 * max(1.0, peak):
                raise CheckFailed(f"On a flat image your kernel responds with {resp['flat'][0, 0]:.3g}; an edge detector "
                                  "must give 0 where nothing changes -- make its entries sum to zero.")
        elif p == "detects":
            v = resp["vertical"]
            cols = np.argwhere(v == v.max())[:, 1]
            if v.max() <= 0:
                if resp["mirrored"].max() > 0:
                    raise CheckFailed("Your kernel responds negatively to a dark-to-bright edge (it detects bright-to-"
                                      "dark edges): flip its sign.")
                raise CheckFailed("Your kernel gives no positive response to a vertical dark-to-bright edge.")
            # the step is between columns 4 and 5; valid output column j covers input columns j..j+2
            if not np.all((cols >= 3) & (cols <= 4)):
                raise CheckFailed(f"Your kernel's strongest response is at output columns {sorted(set(cols.tolist()))}, "
                                  "not on the edge (columns 3-4 of the valid output).")
        else:
            h = float(np.max(np.abs(resp["horizontal"])))
            if h > 0.25 * peak:
                if h > 2 * peak:
                    raise CheckFailed("Your kernel detects horizontal edges rather than vertical ones -- transpose it.")
                raise CheckFailed(f"Your kernel also responds to horizontal edges ({h:.3g} vs {peak:.3g} for the "
                                  "vertical one); make each row of the kernel the same.")
            if float(resp["mirrored"].max()) > 1e-9 * peak:
                raise CheckFailed("Your kernel responds positively to a bright-to-dark edge too; it should respond "
                                  "only to dark-to-bright (left to right).")
    print(f"\u2714 edge kernel, {'all parts' if part is None else 'part ' + repr(part)}: passed")

