"""Name the mistake: known-wrong versions of each exercise function, and matching against them.

When a student's function disagrees with the reference, the check runs every *variant* below on
the same inputs.  A variant "explains" the student's function when the student's outputs equal the
variant's on every case the variant can compute, and the variant differs from the reference on at
least one of them (so an innocent variant never takes the blame).  Each variant carries a
plain-English message saying what went wrong and how to fix it.
"""
from __future__ import annotations

import copy
import inspect
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


# ----------------------------------------------------------------------------------------------
# 13 transposed and depthwise convolution, the cost of a layer
# ----------------------------------------------------------------------------------------------
def _transposed(x, w, b=None, stride=1, padding="valid"):
    return ref.conv2d_transpose(x, w, b, stride=stride, padding=padding)


def _depthwise(x, w, b=None, stride=1, padding="valid"):
    return ref.depthwise_conv2d(x, w, b, stride=stride, padding=padding)


def _stamp(x, w, b, stride, padding, add=True, crop=None):
    """Transposed convolution by stamping; ``add=False`` overwrites overlaps, ``crop`` picks the rows cut."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    n, h, wd, _ = x.shape
    kh, kw, cout, _ = w.shape
    p = 0 if padding == "valid" else padding
    full = np.zeros((n, (h - 1) * stride + kh, (wd - 1) * stride + kw, cout))
    for i in range(h):
        for j in range(wd):
            piece = np.tensordot(x[:, i, j, :], w, axes=([1], [3]))  # (N, KH, KW, Cout)
            region = full[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            if add:
                region += piece
            else:
                region[...] = piece
    oh, ow = full.shape[1] - 2 * p, full.shape[2] - 2 * p
    top = p if crop is None else crop(p)
    out = full[:, top:top + oh, top:top + ow, :]
    return out if b is None else out + np.asarray(b, float)


def _transpose_one_sided(x, w, b=None, stride=1, padding="valid"):
    return _stamp(x, w, b, stride, padding, crop=lambda p: 2 * p)


def _transpose_overwrite(x, w, b=None, stride=1, padding="valid"):
    return _stamp(x, w, b, stride, padding, add=False)


def _transpose_io_swapped(x, w, b=None, stride=1, padding="valid"):
    return _transposed(x, np.asarray(w).transpose(0, 1, 3, 2), b, stride, padding)


TRANSPOSE_VARIANTS = [
    Variant(lambda x, w, b=None, stride=1, padding="valid": _transposed(x, _flip_hw(w), b, stride, padding),
              "your function flips the kernel. A transposed convolution stamps the kernel as it is: "
              "out[i*s + u, j*s + v] += x[i, j] * w[u, v] (it is the gradient of a cross-correlation)."),
    Variant(_transpose_overwrite,
              "where the stamps of neighbouring input pixels overlap (kernel larger than the stride) your function "
              "overwrites the output instead of adding to it; use += so overlapping stamps sum."),
    Variant(_transpose_one_sided,
              "your function crops all 2p rows and columns from the top and left; padding p removes p from "
              "*each* side of the full (H - 1) * s + KH result.", shape_only_ok=True),
    Variant(lambda x, w, b=None, stride=1, padding="valid": _transposed(x, w, b, stride, 0),
              "your function ignores `padding`: the forward convolution's padding p is cropped off the full "
              "result, p rows and columns on each side.", shape_only_ok=True),
    Variant(lambda x, w, b=None, stride=1, padding="valid": _transposed(x, w, b, 1, padding),
              "your function ignores `stride`: input pixel (i, j) stamps its kernel at output (i*s, j*s), so the "
              "output grows by the stride.", shape_only_ok=True),
    Variant(lambda x, w, b=None, stride=1, padding="valid": _transposed(x, w, None, stride, padding),
              "your output is missing the bias: add b[o] to every position of output channel o."),
    Variant(_transpose_io_swapped,
              "your function reads the kernel as (KH, KW, Cin, Cout). A transposed kernel is the forward "
              "convolution's: (KH, KW, Cout, Cin), so the input channel is the last axis, w[u, v, :, c]."),
]


def _depthwise_multiplier_first(x, w, b=None, stride=1, padding="valid"):
    c, m = np.shape(w)[2:]
    out = _depthwise(x, w, None, stride, padding)
    n, oh, ow, _ = out.shape
    out = out.reshape(n, oh, ow, c, m).transpose(0, 1, 2, 4, 3).reshape(n, oh, ow, c * m)
    return out if b is None else out + np.asarray(b, float)


DEPTHWISE_VARIANTS = [
    Variant(lambda x, w, b=None, stride=1, padding="valid": _depthwise(x, _flip_hw(w), b, stride, padding),
              FLIPPED),
    Variant(_depthwise_multiplier_first,
              "your output channels are in the wrong order (multiplier first). Output channel c * M + m comes from "
              "input channel c and its kernel w[:, :, c, m]: reshape (N, OH, OW, C, M) to (N, OH, OW, C * M)."),
    Variant(lambda x, w, b=None, stride=1, padding="valid": ref.conv2d(x, w, None, stride, padding),
              "your function sums over the input channels: that is an ordinary convolution with M filters. A "
              "depthwise convolution keeps the channels apart and returns C * M of them.", shape_only_ok=True),
    Variant(lambda x, w, b=None, stride=1, padding="valid": _depthwise(x, w, None, stride, padding),
              "your output is missing the bias: add b[k] to every position of output channel k."),
    Variant(lambda x, w, b=None, stride=1, padding="valid": _depthwise(x, w, b, 1, padding), STRIDE_IGNORED,
              shape_only_ok=True),
]


def _cost_args(args, kwargs) -> dict:
    bound = inspect.signature(ref.conv_layer_cost).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _cost_variant(change: Callable[[dict, tuple], tuple]):
    """A wrong counter: the reference's (params, multiply_adds, activations) edited by ``change(arguments, cost)``."""
    def variant(*args, **kwargs):
        a = _cost_args(args, kwargs)
        return change(a, tuple(ref.conv_layer_cost(**a)))
    return variant


def _hw(value):
    """An int or a pair, as a pair (the description's kernel_size, stride, input_hw)."""
    return (value, value) if np.ndim(value) == 0 else tuple(value)


def _with(a, **changes):
    return tuple(ref.conv_layer_cost(**{**a, **changes}))


def _bias_per_input(a, cost):
    if not a["use_bias"]:
        return cost
    return (cost[0] - a["out_channels"] + a["in_channels"],) + cost[1:]


def _depthwise_as_full(a, cost):
    if a["kind"] != "depthwise":
        return cost
    full = _with(a, kind="conv2d")
    return full[0], full[1], cost[2]


def _transpose_per_output(a, cost):
    if a["kind"] != "transpose":
        return cost
    kh, kw = _hw(a["kernel_size"])
    return cost[0], kh * kw * a["in_channels"] * cost[2], cost[2]


def _same_floor(a, cost):
    if a["padding"] != "same" or a["kind"] == "transpose":
        return cost
    stride = _hw(a["stride"])
    oh, ow = a["input_hw"][0] // stride[0], a["input_hw"][1] // stride[1]
    if min(oh, ow) < 1:
        raise ValueError
    per_position = cost[1] // (cost[2] // a["out_channels"])
    return cost[0], per_position * oh * ow, oh * ow * a["out_channels"]


def _transpose_no_max(a, cost):
    if a["kind"] != "transpose" or a["padding"] != "valid":
        return cost
    (kh, kw), (sh, sw), (h, w) = _hw(a["kernel_size"]), _hw(a["stride"]), a["input_hw"]
    return cost[0], cost[1], ((h - 1) * sh + kh) * ((w - 1) * sw + kw) * a["out_channels"]


COST_VARIANTS = [
    Variant(_cost_variant(lambda a, cost: _with(a, use_bias=False)),
              "your parameter count leaves out the biases: a layer with use_bias=True has one per output channel."),
    Variant(_cost_variant(lambda a, cost: _with(a, use_bias=True)),
              "your parameter count adds biases even when use_bias=False."),
    Variant(_cost_variant(_bias_per_input),
              "your count has one bias per input channel; there is one per output channel."),
    Variant(_cost_variant(_depthwise_as_full),
              "your depthwise count sums over the input channels as an ordinary convolution does: a depthwise layer "
              "has KH * KW * Cout weights (each input channel only its own M kernels), used once per position."),
    Variant(_cost_variant(_transpose_per_output),
              "your transposed layer applies the whole kernel once per *output* pixel. A transposed convolution "
              "stamps it once per *input* pixel: H * W * KH * KW * Cin * Cout multiply-adds."),
    Variant(_cost_variant(lambda a, cost: (cost[0], 2 * cost[1], cost[2])),
              "your multiply-adds are twice too many: you counted FLOPs (a multiplication and an addition are "
              "2 FLOPs but one multiply-add)."),
    Variant(_cost_variant(lambda a, cost: (cost[0], cost[1], cost[2] // a["out_channels"])),
              "your activation count leaves out the channels: the layer outputs OH * OW * Cout values."),
    Variant(_cost_variant(_same_floor),
              "your 'same' output size rounds down; 'same' padding gives ceil(H / s) positions (integer division "
              "rounding up: -(-H // s))."),
    Variant(_cost_variant(lambda a, cost: _with(a, dilation=1) if a["dilation"] != 1 else cost),
              "your output size ignores the dilation: a dilated kernel covers (K - 1) * d + 1 pixels, so a 'valid' "
              "layer has fewer positions (its weights and their count do not change)."),
    Variant(_cost_variant(_transpose_no_max),
              "your 'valid' transposed output is (H - 1) * s + K; Keras keeps the gap a kernel smaller than the "
              "stride leaves: (H - 1) * s + max(K, s)."),
]


# ----------------------------------------------------------------------------------------------
# 14 batch normalisation and the residual block
# ----------------------------------------------------------------------------------------------
def _bn_wrong(x, gamma, beta, running_mean, running_var, training=True, momentum=0.99, epsilon=1e-3, *,
              ddof=0, running_ddof=0, update=True, torch_momentum=False, axes=None, eps_outside=False,
              inference_batch=False, inference_update=False):
    """Batch norm with one classic mistake switched on (the arguments after ``*``)."""
    x = np.asarray(x, float)
    axes = tuple(range(x.ndim - 1)) if axes is None else axes
    m_old, v_old = np.asarray(running_mean, float), np.asarray(running_var, float)
    keep = 1 - momentum if torch_momentum else momentum
    if training or inference_batch:
        mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, ddof=ddof, keepdims=True)
    else:
        mu, var = m_old, v_old
    new_mean, new_var = m_old.copy(), v_old.copy()
    if (training and update) or inference_update:
        flat = x.reshape(-1, x.shape[-1])
        new_mean = keep * m_old + (1 - keep) * flat.mean(axis=0)
        new_var = keep * v_old + (1 - keep) * flat.var(axis=0, ddof=running_ddof or ddof)
    scale = np.sqrt(var) + epsilon if eps_outside else np.sqrt(var + epsilon)
    return gamma * (x - mu) / scale + beta, new_mean, new_var, 0.0


def _bn_variant(message, **mistake):
    def fn(*args, **kwargs):
        return _bn_wrong(*args, **kwargs, **mistake)
    return Variant(fn, message)


BN_FORWARD_VARIANTS = [
    _bn_variant("your running variance averages the unbiased batch variance (M - 1 in the denominator, as PyTorch "
                "does); Keras, like this exercise, averages the biased one that normalised the batch.", running_ddof=1),
    _bn_variant("your batch variance is the unbiased one (divided by M - 1). Batch norm normalises with the biased "
                "variance, the mean of (x - mean)**2 (np.var's default ddof=0), and Keras also averages that one.",
                ddof=1),
    _bn_variant("your running statistics are not updated in training: return momentum * running + (1 - momentum) "
                "* batch statistic for both the mean and the variance.", update=False),
    _bn_variant("your running statistics use PyTorch's momentum convention. Here (as in Keras) momentum weighs the "
                "*old* value: running = momentum * running + (1 - momentum) * batch.", torch_momentum=True),
    _bn_variant("your statistics are taken over the batch axis only, one per position and channel. Batch norm after "
                "a convolution has one mean and variance per channel, over N, H and W (every axis but the last).",
                axes=(0,)),
    _bn_variant("your function adds epsilon outside the square root; divide by sqrt(var + epsilon).", eps_outside=True),
    _bn_variant("in inference (training=False) your function normalises with the batch's own statistics; use the "
                "running mean and variance, so an example's output does not depend on the rest of the batch.",
                inference_batch=True),
    _bn_variant("in inference (training=False) your function updates the running statistics; they change only "
                "while training (return copies of the old ones).", inference_update=True),
]


def _bn_backward_wrong(dout, cache, *, constant_stats=False, no_mean=False, no_xhat=False, swap=False,
                       mean_grads=False, no_gamma=False, always_training=False):
    dout = np.asarray(dout, float)
    x_hat, inv_std = cache["x_hat"], cache["inv_std"]
    gamma = 1.0 if no_gamma else cache["gamma"]
    axes = tuple(range(dout.ndim - 1))
    m = dout.size // dout.shape[-1]
    dbeta, dgamma = dout.sum(axis=axes), (dout * x_hat).sum(axis=axes)
    if (cache["training"] or always_training) and not constant_stats:
        dx = gamma * inv_std / m * (m * dout - (0 if no_mean else dbeta) - (0 if no_xhat else x_hat * dgamma))
    else:
        dx = gamma * inv_std * dout
    if mean_grads:
        dgamma, dbeta = dgamma / m, dbeta / m
    return (dx, dbeta, dgamma) if swap else (dx, dgamma, dbeta)


def _bn_backward_variant(message, **mistake):
    return Variant(lambda dout, cache: _bn_backward_wrong(dout, cache, **mistake), message)


BN_BACKWARD_VARIANTS = [
    _bn_backward_variant("your dx treats the batch mean and variance as constants (dx = gamma * inv_std * dout). In "
                         "training they are computed from x, so dx also has the terms - mean(dout) and "
                         "- x_hat * mean(dout * x_hat) per channel.", constant_stats=True),
    _bn_backward_variant("your dx leaves out the gradient through the batch mean: subtract mean(dout) per channel.",
                         no_mean=True),
    _bn_backward_variant("your dx leaves out the gradient through the batch variance: subtract "
                         "x_hat * mean(dout * x_hat) per channel.", no_xhat=True),
    _bn_backward_variant("your dgamma and dbeta are swapped: dgamma = sum(dout * x_hat), dbeta = sum(dout).",
                         swap=True),
    _bn_backward_variant("your dgamma and dbeta are averaged; the gradient of a sum is the sum over every axis but "
                         "the channel axis.", mean_grads=True),
    _bn_backward_variant("your dx is missing the factor gamma (y = gamma * x_hat + beta).", no_gamma=True),
    _bn_backward_variant("in inference (cache['training'] False) the statistics are constants and dx = gamma * "
                         "inv_std * dout; your function uses the training formula.", always_training=True),
]


def _block_wrong(x, params, stride=1, training=True, momentum=0.99, epsilon=1e-3, *, final_relu=True,
                 relu_first=False, shortcut=True, proj_bn=True, stride_second=False):
    def bn(h, key):
        p = params[key]
        return ref.batch_norm_forward(h, p["gamma"], p["beta"], p["mean"], p["var"], training, momentum, epsilon)[0]

    h = ref.relu(bn(ref.conv2d(x, params["conv1"], stride=1 if stride_second else stride, padding="same"), "bn1"))
    a2 = bn(ref.conv2d(h, params["conv2"], stride=stride if stride_second else 1, padding="same"), "bn2")
    if "proj" in params:
        side = ref.conv2d(x, params["proj"], stride=stride, padding="same")
        side = bn(side, "bn_proj") if proj_bn else side
    else:
        side = np.asarray(x, float)
    if not shortcut:
        side = 0.0
    z = ref.relu(a2) + side if relu_first else a2 + side
    return (ref.relu(z) if final_relu and not relu_first else z), 0.0, 0.0


def _block_variant(message, **mistake):
    def fn(x, params, stride=1, **kwargs):
        return _block_wrong(x, params, stride, **kwargs, **mistake)
    return Variant(fn, message)


BLOCK_FORWARD_VARIANTS = [
    _block_variant("your block leaves out the shortcut: out = relu(bn2(conv2(...)) + shortcut(x)); add x (or its "
                   "projection) before the last ReLU.", shortcut=False),
    _block_variant("your block has no ReLU after the addition: out = relu(bn2(conv2(...)) + shortcut(x)).",
                   final_relu=False),
    _block_variant("your block applies the last ReLU before adding the shortcut; ResNet adds first, then applies "
                   "the ReLU to the sum.", relu_first=True),
    _block_variant("your projection shortcut has no batch norm: the shortcut is bn_proj(conv(x, proj)).",
                   proj_bn=False),
    _block_variant("your block puts the stride on the second convolution; the first one (and the projection) carry "
                   "it.", stride_second=True),
]


def block_grad_arrays(result):
    dx, grads = result
    def bn(key):
        g = grads.get(key)
        return np.zeros(0) if g is None else np.stack([np.asarray(g.get("gamma")), np.asarray(g.get("beta"))])
    return (dx, grads["conv1"], grads["conv2"], bn("bn1"), bn("bn2"), grads.get("proj", np.zeros(0)), bn("bn_proj"))


def block_backward_wrong(dout, cache, *, shortcut_grad=True, mask=True, mask_shortcut=True):
    """The block's backward pass with one classic mistake switched on; returns (dx, grads) as the student's does."""
    x, params, stride = cache["x"], cache["params"], cache["stride"]
    dout = np.asarray(dout, float)
    dz = dout * (cache["z"] > 0) if mask else dout
    dh2, dg2, db2 = ref.batch_norm_backward(dz, cache["bn2"])
    dr1, dconv2, _ = ref.conv2d_backward(dh2, cache["r1"], params["conv2"], padding="same")
    dh1, dg1, db1 = ref.batch_norm_backward(dr1 * (cache["a1"] > 0), cache["bn1"])
    dx, dconv1, _ = ref.conv2d_backward(dh1, x, params["conv1"], stride=stride, padding="same")
    grads = {"conv1": dconv1, "conv2": dconv2, "bn1": {"gamma": dg1, "beta": db1}, "bn2": {"gamma": dg2, "beta": db2}}
    dside = dz if mask_shortcut else dout
    if "proj" in params:
        dp, dgp, dbp = ref.batch_norm_backward(dside, cache["bn_proj"])
        dx_short, grads["proj"], _ = ref.conv2d_backward(dp, x, params["proj"], stride=stride, padding="same")
        grads["bn_proj"] = {"gamma": dgp, "beta": dbp}
    else:
        dx_short = dside
    return (dx + dx_short if shortcut_grad else dx), grads


BLOCK_BACKWARD_VARIANTS = [
    Variant(lambda dout, cache: block_grad_arrays(block_backward_wrong(dout, cache, shortcut_grad=False)),
              "your dx is missing the shortcut's gradient: the shortcut adds dz (through the projection, if there "
              "is one) straight onto dx -- dx = dx_through_the_convolutions + dx_through_the_shortcut."),
    Variant(lambda dout, cache: block_grad_arrays(block_backward_wrong(dout, cache, mask=False)),
              "your backward pass skips the last ReLU: multiply dout by (z > 0), z the sum before that ReLU, "
              "before splitting it between the two paths."),
    Variant(lambda dout, cache: block_grad_arrays(block_backward_wrong(dout, cache, mask_shortcut=False)),
              "your shortcut gradient is dout itself; the ReLU comes after the addition, so the shortcut receives "
              "dz = dout * (z > 0), as the main path does."),
]


def known_causes() -> frozenset[str]:
    """Every message a variant can give. A ``Likely cause:`` line with other text did not come from
    a diagnosis: a student's exception text can contain one, so reports count only these."""
    return frozenset(v.message for value in list(globals().values()) if isinstance(value, list)
                     for v in value if isinstance(v, Variant))
