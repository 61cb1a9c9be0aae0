"""Name the mistake: known-wrong versions of each exercise function, and matching against them.

When a student's function disagrees with the reference, the check runs every *variant* below on
the same inputs.  A variant "explains" the student's function when the student's outputs equal the
variant's on every case the variant can compute, and the variant differs from the reference on at
least one of them (so an innocent variant never takes the blame).  Each variant carries a
plain-English message saying what went wrong and how to fix it.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

import solutions as ref


@dataclass(frozen=True)
class Variant:
    fn: Callable  # same signature as the student's function
    message: str
    #: may also be reported when only the output *shapes* agree (e.g. ceil instead of floor)
    shape_only_ok: bool = False


def match_variant(variants, observations, same) -> Variant | None:
    """The first variant consistent with every ``(case, student_output, reference_output)``."""
    for variant in variants:
        used = informative = 0
        consistent = True
        for case, got, expected in observations:
            try:
                out = variant.fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            except Exception:
                continue
            used += 1
            if not same(got, out):
                consistent = False
                break
            if not same(expected, out):
                informative += 1
        if consistent and used and informative:
            return variant
    return None


# ----------------------------------------------------------------------------------------------
# Messages shared by several exercises
# ----------------------------------------------------------------------------------------------
FLIPPED = ("your function flips the kernel, i.e. computes a true convolution. This function must "
           "compute a cross-correlation: slide the kernel as it is, without reversing it.")
NOT_FLIPPED = ("your function does not flip the kernel, i.e. computes a cross-correlation. A true "
               "convolution reverses the kernel first (w[::-1] in 1-D, w[::-1, ::-1] in 2-D).")
TRANSPOSED = ("your function uses the kernel transposed (rows and columns swapped). Index the "
              "kernel as kernel[row, column] = kernel[u, v], matching image[i + u, j + v].")
MODE_IGNORED = ("your function ignores `mode` and always returns the {mode!s} result. Handle each of "
                "'full', 'same' and 'valid'.")
ONE_SIDED = ("your padding is applied on one side only (top/left). `padding=p` adds p zeros on "
             "*both* sides, so the padded size is n + 2p.")
CEIL = ("your output size rounds up (ceil) where it should round down (floor): a window that would "
        "hang over the edge of the (padded) input is not used. Use integer division //.")
STRIDE_IGNORED = ("your function ignores `stride` (it behaves as if stride were 1). Move the window "
                  "`stride` positions at a time: output[i] uses input rows i*stride ... i*stride+KH-1.")


def _flip_hw(w):
    return np.asarray(w)[::-1, ::-1]


# ----------------------------------------------------------------------------------------------
# 01 parameter counts
# ----------------------------------------------------------------------------------------------
DENSE_VARIANTS = [
    Variant(lambda n_in, n_out, bias=True: n_in * n_out,
            "your count leaves out the biases: a Dense layer has one bias per output unit (n_out of them)."),
    Variant(lambda n_in, n_out, bias=True: n_in * n_out + (n_in if bias else 0),
            "your count has one bias per *input*; a Dense layer has one bias per output unit."),
    Variant(lambda n_in, n_out, bias=True: n_in * n_out + n_out,
            "your count adds biases even when bias=False."),
]
CONV_COUNT_VARIANTS = [
    Variant(lambda kh, kw, cin, cout, bias=True: kh * kw * cin * cout,
            "your count leaves out the biases: a Conv2D layer has one bias per filter (cout of them)."),
    Variant(lambda kh, kw, cin, cout, bias=True: kh * kw * cout + (cout if bias else 0),
            "your count ignores the input channels: each filter has kh * kw * cin weights, one "
            "kh x kw slice per input channel."),
    Variant(lambda kh, kw, cin, cout, bias=True: kh * kw * cin * cout + (cin if bias else 0),
            "your count has one bias per input channel; there is one bias per filter (output channel)."),
    Variant(lambda kh, kw, cin, cout, bias=True: kh * kw * cin * cout + cout,
            "your count adds biases even when bias=False."),
]
RATIO_VARIANTS = [
    Variant(lambda h, w, cin, kh, kw, cout: ref.dense_param_count(h * w * cin, h * w * cout)
            / ref.conv_param_count(kh, kw, cin, cout),
            "your dense layer produces h*w*cout outputs; a 'valid' convolution's output is smaller, "
            "(h - kh + 1) x (w - kw + 1) x cout -- compare layers with the same output size."),
    Variant(lambda h, w, cin, kh, kw, cout: ref.conv_param_count(kh, kw, cin, cout)
            / ref.dense_param_count(h * w * cin, ref.output_size(h, kh) * ref.output_size(w, kw) * cout),
            "your ratio is upside down: divide the dense count by the convolution count."),
    Variant(lambda h, w, cin, kh, kw, cout: ref.dense_param_count(h * w * cin, ref.output_size(h, kh)
                                                                 * ref.output_size(w, kw) * cout, bias=False)
            / ref.conv_param_count(kh, kw, cin, cout, bias=False),
            "your ratio leaves out the biases; count them in both layers."),
]


# ----------------------------------------------------------------------------------------------
# 02 conv1d / correlate1d
# ----------------------------------------------------------------------------------------------
def _same_offset_other_side(x, w, mode="full"):
    """'same' taken from the full result one step later than np.convolve (differs for even kernels)."""
    n, m = len(x), len(w)
    if mode != "same" or m % 2:
        raise ValueError
    full = ref.conv1d(x, w, "full")
    return full[m // 2: m // 2 + max(n, m)]


CONV1D_VARIANTS = [
    Variant(lambda x, w, mode="full": ref.correlate1d(x, w, mode), NOT_FLIPPED),
    Variant(lambda x, w, mode="full": ref.conv1d(x, w, "full"), MODE_IGNORED.format(mode="'full'"),
            shape_only_ok=True),
    Variant(_same_offset_other_side,
            "your 'same' output is centred one step off for even-length kernels. Take the full result "
            "starting at index (len(w) - 1) // 2, as np.convolve does."),
]
CORRELATE1D_VARIANTS = [
    Variant(lambda x, w, mode="valid": ref.conv1d(x, w, mode), FLIPPED),
    Variant(lambda x, w, mode="valid": ref.correlate1d(x, w, "valid"), MODE_IGNORED.format(mode="'valid'"),
            shape_only_ok=True),
    Variant(lambda x, w, mode="valid": ref.correlate1d(x, w, "full"), MODE_IGNORED.format(mode="'full'"),
            shape_only_ok=True),
]


# ----------------------------------------------------------------------------------------------
# 03 correlate2d / convolve2d / edge kernels
# ----------------------------------------------------------------------------------------------
def _flip_rows(k):
    return np.asarray(k)[::-1, :]


def _flip_cols(k):
    return np.asarray(k)[:, ::-1]


CORRELATE2D_VARIANTS = [
    Variant(lambda image, kernel, mode="valid": ref.convolve2d(image, kernel, mode), FLIPPED),
    Variant(lambda image, kernel, mode="valid": ref.correlate2d(image, np.asarray(kernel).T, mode), TRANSPOSED),
    Variant(lambda image, kernel, mode="valid": ref.correlate2d(image, _flip_rows(kernel), mode),
            "your function flips the kernel upside down only; cross-correlation uses it unflipped."),
    Variant(lambda image, kernel, mode="valid": ref.correlate2d(image, _flip_cols(kernel), mode),
            "your function flips the kernel left-right only; cross-correlation uses it unflipped."),
    Variant(lambda image, kernel, mode="valid": ref.correlate2d(image, kernel, "valid"),
            MODE_IGNORED.format(mode="'valid'"), shape_only_ok=True),
]
CONVOLVE2D_VARIANTS = [
    Variant(lambda image, kernel, mode="full": ref.correlate2d(image, kernel, mode), NOT_FLIPPED),
    Variant(lambda image, kernel, mode="full": ref.convolve2d(image, _flip_rows(kernel), mode),
            "your function flips the kernel in one axis only (left-right); a 2-D convolution flips "
            "both axes: kernel[::-1, ::-1]."),
    Variant(lambda image, kernel, mode="full": ref.convolve2d(image, _flip_cols(kernel), mode),
            "your function flips the kernel in one axis only (upside down); a 2-D convolution flips "
            "both axes: kernel[::-1, ::-1]."),
    Variant(lambda image, kernel, mode="full": ref.convolve2d(image, np.asarray(kernel).T, mode), TRANSPOSED),
    Variant(lambda image, kernel, mode="full": ref.convolve2d(image, kernel, "full"),
            MODE_IGNORED.format(mode="'full'"), shape_only_ok=True),
]


# ----------------------------------------------------------------------------------------------
# 04 output_size / zero_pad / conv2d_single
# ----------------------------------------------------------------------------------------------
OUTPUT_SIZE_VARIANTS = [
    Variant(lambda n, f, padding=0, stride=1: math.ceil((n + 2 * padding - f) / stride) + 1, CEIL),
    Variant(lambda n, f, padding=0, stride=1: (n + padding - f) // stride + 1, ONE_SIDED),
    Variant(lambda n, f, padding=0, stride=1: n + 2 * padding - f + 1, STRIDE_IGNORED),
    Variant(lambda n, f, padding=0, stride=1: (n + 2 * padding - f) // stride,
            "your formula is missing the + 1: a window that fits exactly (n = f) still gives one output."),
    Variant(lambda n, f, padding=0, stride=1: (n + 2 * padding - f + 1) // stride,
            "your formula divides (n + 2p - f + 1) by the stride; the + 1 goes *after* the division: "
            "floor((n + 2p - f) / s) + 1."),
]


def _pair(p):
    return (p, p) if np.ndim(p) == 0 else tuple(p)


ZERO_PAD_VARIANTS = [
    Variant(lambda x, pad: np.pad(np.asarray(x), ((0, 0), (_pair(pad)[0], 0), (_pair(pad)[1], 0), (0, 0))),
            ONE_SIDED, shape_only_ok=True),
    Variant(lambda x, pad: np.pad(np.asarray(x), pad),
            "your function pads every axis, including the batch (N) and channel (C) axes. Pad only "
            "H and W: np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))).", shape_only_ok=True),
    Variant(lambda x, pad: np.pad(np.asarray(x), ((_pair(pad)[0],) * 2, (_pair(pad)[1],) * 2, (0, 0), (0, 0))),
            "your function pads axes 0 and 1 (N and H) -- that is the layout (H, W, ...) or channels-first "
            "thinking. x is NHWC, so pad axes 1 (H) and 2 (W).", shape_only_ok=True),
    Variant(lambda x, pad: np.pad(np.asarray(x), ((0, 0), (_pair(pad)[1],) * 2, (_pair(pad)[0],) * 2, (0, 0))),
            "your function swaps the pair: pad=(ph, pw) adds ph rows above/below and pw columns left/right."),
]


def _single_one_sided(image, kernel, stride=1, padding=0):
    x = np.pad(np.asarray(image, float), ((padding, 0), (padding, 0)))
    return ref.conv2d_single(x, kernel, stride, 0)


def _single_subsampled_wrong(image, kernel, stride=1, padding=0):
    # stride applied to the input before correlating (downsample the image, then slide)
    x = np.pad(np.asarray(image, float), padding)[::stride, ::stride]
    return ref.conv2d_single(x, kernel, 1, 0)


CONV2D_SINGLE_VARIANTS = [
    Variant(lambda image, kernel, stride=1, padding=0: ref.conv2d_single(image, _flip_hw(kernel), stride, padding),
            FLIPPED),
    Variant(lambda image, kernel, stride=1, padding=0: ref.conv2d_single(image, kernel, 1, padding),
            STRIDE_IGNORED, shape_only_ok=True),
    Variant(lambda image, kernel, stride=1, padding=0: ref.conv2d_single(image, kernel, stride, 0),
            "your function ignores `padding`: pad the image with zeros (p on every side) before sliding.",
            shape_only_ok=True),
    Variant(_single_one_sided, ONE_SIDED, shape_only_ok=True),
    Variant(lambda image, kernel, stride=1, padding=0: ref.conv2d_single(image, np.asarray(kernel).T, stride, padding),
            TRANSPOSED),
    Variant(_single_subsampled_wrong,
            "your function subsamples the image by the stride before sliding the kernel; instead slide "
            "over the full image and keep every stride-th window position."),
]


# ----------------------------------------------------------------------------------------------
# 05 conv2d (NHWC / HWIO, bias)
# ----------------------------------------------------------------------------------------------
def _conv_nchw(x, w, b=None, stride=1, padding="valid"):
    """What channels-first code computes when handed NHWC/HWIO arrays."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    out = ref.conv2d(x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), b, stride, padding)
    return out.transpose(0, 3, 1, 2)


def _bias_wrong_axis(x, w, b=None, stride=1, padding="valid"):
    if b is None:
        raise ValueError
    out = ref.conv2d(x, w, None, stride, padding)
    shifted = out + np.asarray(b, float).reshape(-1, 1, 1)  # channels-first broadcasting
    if shifted.shape != out.shape:
        raise ValueError
    return shifted


def _conv2d_one_sided(x, w, b=None, stride=1, padding="valid"):
    if isinstance(padding, str) or np.ndim(padding) != 0 or padding == 0:
        raise ValueError
    xp = np.pad(np.asarray(x, float), ((0, 0), (padding, 0), (padding, 0), (0, 0)))
    return ref.conv2d(xp, w, b, stride, 0)


CONV2D_VARIANTS = [
    Variant(lambda x, w, b=None, stride=1, padding="valid": ref.conv2d(x, _flip_hw(w), b, stride, padding),
            FLIPPED + " Deep-learning 'convolution' layers do not flip."),
    Variant(lambda x, w, b=None, stride=1, padding="valid": ref.conv2d(x, w, None, stride, padding),
            "your output is missing the bias: add b[o] to every position of output channel o."),
    Variant(_bias_wrong_axis,
            "your bias is broadcast along the wrong axis (b.reshape(-1, 1, 1) is channels-first thinking). "
            "In NHWC the channel axis is last, so out + b broadcasts correctly."),
    Variant(lambda x, w, b=None, stride=1, padding="valid": ref.conv2d(
                x, w, None if b is None else np.asarray(b, float) * np.asarray(x).shape[3], stride, padding),
            "your bias is added once per input channel; add it once per output position."),
    Variant(_conv_nchw,
            "your function treats the arrays as channels-first (x as N, C, H, W and w as Cout, Cin, KH, KW). "
            "This course uses channels-last like Keras: x is (N, H, W, C) and w is (KH, KW, Cin, Cout).",
            shape_only_ok=True),
    Variant(lambda x, w, b=None, stride=1, padding="valid": ref.conv2d(x, np.asarray(w).transpose(1, 0, 2, 3), b,
                                                                       stride, padding), TRANSPOSED),
    Variant(lambda x, w, b=None, stride=1, padding="valid": ref.conv2d(x, w, b, 1, padding), STRIDE_IGNORED,
            shape_only_ok=True),
    Variant(_conv2d_one_sided, ONE_SIDED, shape_only_ok=True),
]


# ----------------------------------------------------------------------------------------------
# 06 pooling
# ----------------------------------------------------------------------------------------------
def _pool_loop(x, pool_size, stride, reduce, ceil_mode=False, fill=None):
    x = np.asarray(x, float)
    stride = pool_size if stride is None else stride
    n, h, w, c = x.shape
    size = (lambda m: -(-(m - pool_size) // stride) + 1) if ceil_mode else (lambda m: (m - pool_size) // stride + 1)
    oh, ow = size(h), size(w)
    if oh < 1 or ow < 1:
        raise ValueError
    out = np.empty((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * stride: i * stride + pool_size, j * stride: j * stride + pool_size, :]
            out[:, i, j, :] = reduce(win)
    return out


def _max_over_channels(x, pool_size=2, stride=None, padding="valid"):
    return ref.max_pool2d(x, pool_size, stride).max(axis=3, keepdims=True)


MAX_POOL_VARIANTS = [
    Variant(lambda x, pool_size=2, stride=None, padding="valid": ref.max_pool2d(x, pool_size, 1 if stride is None
                                                                                 else stride),
            "your windows overlap: with stride=None the stride must default to pool_size (non-overlapping "
            "windows), not 1.", shape_only_ok=True),
    Variant(lambda x, pool_size=2, stride=None, padding="valid": ref.max_pool2d(x, pool_size, None),
            STRIDE_IGNORED.replace("as if stride were 1", "as if stride were pool_size"), shape_only_ok=True),
    Variant(lambda x, pool_size=2, stride=None, padding="valid": _pool_loop(
                x, pool_size, stride, lambda win: win.max(axis=(1, 2)), ceil_mode=True),
            "your function keeps partial windows at the bottom/right edge (ceil instead of floor). A "
            "window that does not fit entirely inside the input is dropped.", shape_only_ok=True),
    Variant(lambda x, pool_size=2, stride=None, padding="valid": ref.avg_pool2d(x, pool_size, stride),
            "your function averages each window; max pooling takes the largest value."),
    Variant(_max_over_channels,
            "your function takes the maximum across channels too; pool each channel separately "
            "(reduce over the window's rows and columns only).", shape_only_ok=True),
]
AVG_POOL_VARIANTS = [
    Variant(lambda x, pool_size=2, stride=None, padding="valid": ref.avg_pool2d(x, pool_size, 1 if stride is None
                                                                                 else stride),
            MAX_POOL_VARIANTS[0].message, shape_only_ok=True),
    Variant(lambda x, pool_size=2, stride=None, padding="valid": ref.avg_pool2d(x, pool_size, None),
            STRIDE_IGNORED.replace("as if stride were 1", "as if stride were pool_size"), shape_only_ok=True),
    Variant(lambda x, pool_size=2, stride=None, padding="valid": ref.max_pool2d(x, pool_size, stride),
            "your function takes each window's maximum; average pooling takes the mean."),
    Variant(lambda x, pool_size=2, stride=None, padding="valid": ref.avg_pool2d(x, pool_size, stride) * pool_size ** 2,
            "your function sums each window; divide by the number of cells (pool_size ** 2) to average."),
    Variant(lambda x, pool_size=2, stride=None, padding="valid": _pool_loop(
                x, pool_size, stride, lambda win: win.sum(axis=(1, 2)) / pool_size ** 2, ceil_mode=True),
            MAX_POOL_VARIANTS[2].message, shape_only_ok=True),
]


# ----------------------------------------------------------------------------------------------
# 07 backprop
# ----------------------------------------------------------------------------------------------
def _backward_unflipped_dx(dout, x, w, stride=1, padding="valid"):
    dx, dw, db = ref.conv2d_backward(dout, x, _flip_hw(w), stride, padding)
    return dx, ref.conv2d_backward(dout, x, w, stride, padding)[1], db


def _backward_flipped_dw(dout, x, w, stride=1, padding="valid"):
    dx, dw, db = ref.conv2d_backward(dout, x, w, stride, padding)
    return dx, dw[::-1, ::-1], db


def _backward_mean(dout, x, w, stride=1, padding="valid"):
    dx, dw, db = ref.conv2d_backward(dout, x, w, stride, padding)
    n = np.asarray(x).shape[0]
    if n == 1:
        raise ValueError
    return dx, dw / n, db / n


def _backward_swapped(dout, x, w, stride=1, padding="valid"):
    """Gradient w.r.t. the wrong operand: dx and dw computed with x and w exchanged in the formula."""
    dx, dw, db = ref.conv2d_backward(dout, x, w, stride, padding)
    return dw, dx, db


CONV2D_BACKWARD_VARIANTS = [
    Variant(_backward_unflipped_dx,
            "your dx uses the kernel the wrong way round. dx is a *full convolution* of dout with w, "
            "i.e. a correlation with the kernel flipped (w[::-1, ::-1]) -- or scatter w back with "
            "dx[window] += w * dout[i, j]."),
    Variant(_backward_flipped_dw,
            "your dw comes out flipped: dw[u, v] = sum over positions of x[i*s + u, j*s + v] * dout[i, j] "
            "(correlate the input with dout; do not convolve)."),
    Variant(_backward_mean,
            "your dw and db are averaged over the batch; the gradient of a sum over the batch is the sum."),
    Variant(_backward_swapped,
            "your dx and dw are swapped: you returned the gradient with respect to the wrong operand. "
            "Return (dx, dw, db) with dx shaped like x and dw shaped like w."),
    Variant(lambda dout, x, w, stride=1, padding="valid": (
                ref.conv2d_backward(dout, x, w, stride, padding)[0],
                ref.conv2d_backward(dout, x, w, stride, padding)[1],
                np.asarray(dout).sum(axis=(0, 1, 2)) * 0),
            "your db is zero; db[o] is the sum of dout over N, OH and OW."),
]


def _pool_backward_loop(dout, x, pool_size=2, stride=None, padding="valid", mode="first", assign=False):
    x = np.asarray(x, float)
    dout = np.asarray(dout, float)
    stride = pool_size if stride is None else stride
    n, h, w, c = x.shape
    oh, ow = (h - pool_size) // stride + 1, (w - pool_size) // stride + 1
    if dout.shape != (n, oh, ow, c):
        raise ValueError
    dx = np.zeros_like(x)
    for i in range(oh):
        for j in range(ow):
            sl = (slice(None), slice(i * stride, i * stride + pool_size), slice(j * stride, j * stride + pool_size))
            win = x[sl]
            g = dout[:, i, j, :][:, None, None, :]
            if mode == "spread":
                contrib = np.broadcast_to(g / pool_size ** 2, win.shape)
            elif mode == "all_max":
                contrib = (win == win.max(axis=(1, 2), keepdims=True)) * g
            else:
                flat = win.transpose(0, 3, 1, 2).reshape(n, c, -1)
                onehot = (np.arange(flat.shape[-1]) == flat.argmax(-1)[..., None])
                contrib = onehot.reshape(n, c, pool_size, pool_size).transpose(0, 2, 3, 1) * g
            if assign:
                region = dx[sl]
                dx[sl] = np.where(contrib != 0, contrib, region)
            else:
                dx[sl] += contrib
    return dx


MAX_POOL_BACKWARD_VARIANTS = [
    Variant(lambda dout, x, pool_size=2, stride=None, padding="valid": _pool_backward_loop(
                dout, x, pool_size, stride, mode="spread"),
            "your gradient is spread over the whole window (that is average pooling's gradient). In max "
            "pooling only the cell holding the maximum receives dout; the others get 0."),
    Variant(lambda dout, x, pool_size=2, stride=None, padding="valid": _pool_backward_loop(
                dout, x, pool_size, stride, mode="all_max"),
            "when several cells tie for the maximum your function sends the gradient to all of them; send "
            "it to the first maximum only (np.argmax's choice), as TensorFlow does."),
    Variant(lambda dout, x, pool_size=2, stride=None, padding="valid": _pool_backward_loop(
                dout, x, pool_size, stride, assign=True),
            "where windows overlap your function overwrites dx instead of adding to it; use += so a cell "
            "that is the maximum of several windows collects all their gradients."),
]


def _forward_difference(f, x, h=1e-5):
    grad = np.zeros_like(x)
    base = float(f(x))
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        x[idx] = saved + h
        grad[idx] = (float(f(x)) - base) / h
        x[idx] = saved
    return grad


NUMERICAL_GRADIENT_VARIANTS = [
    Variant(lambda f, x, h=1e-5: ref.numerical_gradient(f, x, h) * 2,
            "your difference quotient divides by h instead of 2h: the centred difference "
            "(f(x + h) - f(x - h)) spans a distance of 2h."),
    Variant(lambda f, x, h=1e-5: ref.numerical_gradient(f, x, h) / 2,
            "your difference quotient divides by 4h (or by 2h twice); the centred difference is "
            "(f(x + h) - f(x - h)) / (2h)."),
    Variant(_forward_difference,
            "your function uses the one-sided (forward) difference (f(x + h) - f(x)) / h. Use the centred "
            "difference (f(x + h) - f(x - h)) / (2h): its error shrinks like h**2 instead of h."),
]


# ----------------------------------------------------------------------------------------------
# 08 dropout
# ----------------------------------------------------------------------------------------------
DROPOUT_BACKWARD_VARIANTS = [
    Variant(lambda dout, mask: np.asarray(dout) * (np.asarray(mask) != 0),
            "your gradient drops the scaling: the mask already contains 1 / (1 - rate), and the gradient "
            "is dout * mask."),
    Variant(lambda dout, mask: np.asarray(dout),
            "your gradient passes dout straight through; dropped units must get zero gradient (dout * mask)."),
]


def known_causes() -> frozenset[str]:
    """Every message a variant can give. A ``Likely cause:`` line with other text did not come from
    a diagnosis: a student's exception text can contain one, so reports count only these."""
    return frozenset(v.message for value in list(globals().values()) if isinstance(value, list)
                     for v in value if isinstance(v, Variant))
