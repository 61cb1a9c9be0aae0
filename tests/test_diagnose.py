"""Each common mistake, written as a small wrong implementation, is named in the failure message.

The wrong versions wrap the correct solutions from the source notebooks, so each differs from a
right answer by exactly the one mistake under test.
"""
from __future__ import annotations

import numpy as np
import pytest


from autograder import checks
from autograder.checks import CheckFailed, numpy_checks
from autograder.checks._core import run_check
from exercise_ns import namespace

N1 = namespace("01-why-convolution")
N2 = namespace("02-conv1d")
N3 = namespace("03-conv2d")
N4 = namespace("04-padding-stride")
N5 = namespace("05-channels")
N6 = namespace("06-pooling")
N7 = namespace("07-backprop")
N8 = namespace("08-dropout-weight-sharing")


def _expect(check, func, part, *phrases):
    with pytest.raises(CheckFailed) as info:
        check(func, part=part)
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, f"expected {phrase!r} in:\n{message}"
    return message


# --- 01 ------------------------------------------------------------------------------------------
def test_dense_count_without_bias():
    _expect(checks.check_dense_param_count, lambda n_in, n_out, bias=True: n_in * n_out, "values",
            "Likely cause", "leaves out the biases")


def test_conv_count_ignoring_input_channels():
    _expect(checks.check_conv_param_count, lambda kh, kw, cin, cout, bias=True: kh * kw * cout + (cout if bias else 0),
            "values", "ignores the input channels")


def test_ratio_upside_down():
    ratio = N1["weight_sharing_ratio"]
    _expect(checks.check_weight_sharing_ratio, lambda *args: 1 / ratio(*args), "values", "upside down")


# --- 02 ------------------------------------------------------------------------------------------
def test_conv1d_without_flip():
    conv1d = N2["conv1d"]
    _expect(checks.check_conv1d, lambda x, w, mode="full": conv1d(x, np.asarray(w)[::-1], mode), "values",
            "does not flip the kernel")


def test_correlate1d_with_flip():
    conv1d = N2["conv1d"]
    _expect(checks.check_correlate1d, lambda x, w, mode="valid": conv1d(x, w, mode), "values",
            "flips the kernel", "cross-correlation")


def test_conv1d_ignoring_mode():
    conv1d = N2["conv1d"]
    _expect(checks.check_conv1d, lambda x, w, mode="full": conv1d(x, w, "full"), "shape", "ignores `mode`")


def test_conv1d_same_centred_on_the_other_side():
    conv1d = N2["conv1d"]

    def shifted(x, w, mode="full"):
        if mode == "same" and len(w) % 2 == 0:
            full = conv1d(x, w, "full")
            return full[len(w) // 2: len(w) // 2 + len(x)]
        return conv1d(x, w, mode)

    _expect(checks.check_conv1d, shifted, "values", "centred one step off")


# --- 03 ------------------------------------------------------------------------------------------
def test_correlate2d_computing_a_convolution():
    convolve2d = N3["convolve2d"]
    _expect(checks.check_correlate2d, lambda image, kernel, mode="valid": convolve2d(image, kernel, mode), "values",
            "flips the kernel")


def test_correlate2d_with_transposed_kernel():
    correlate2d = N3["correlate2d"]
    _expect(checks.check_correlate2d, lambda image, kernel, mode="valid": correlate2d(image, np.asarray(kernel).T, mode),
            "values", "transposed")


def test_convolve2d_not_flipping():
    correlate2d = N3["correlate2d"]
    _expect(checks.check_convolve2d, lambda image, kernel, mode="full": correlate2d(image, kernel, mode), "values",
            "does not flip the kernel")


def test_convolve2d_flipping_one_axis():
    correlate2d = N3["correlate2d"]
    _expect(checks.check_convolve2d, lambda image, kernel, mode="full": correlate2d(image, np.asarray(kernel)[:, ::-1], mode),
            "values", "one axis only")


# --- 04 ------------------------------------------------------------------------------------------
def test_output_size_with_ceil():
    import math

    _expect(checks.check_output_size, lambda n, f, padding=0, stride=1: math.ceil((n + 2 * padding - f) / stride) + 1,
            "values", "rounds up (ceil)")


def test_output_size_padding_counted_once():
    _expect(checks.check_output_size, lambda n, f, padding=0, stride=1: (n + padding - f) // stride + 1, "values",
            "one side only")


def test_output_size_ignoring_stride():
    _expect(checks.check_output_size, lambda n, f, padding=0, stride=1: n + 2 * padding - f + 1, "values",
            "ignores `stride`")


def test_zero_pad_on_one_side():
    def zero_pad(x, pad):
        ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
        return np.pad(x, ((0, 0), (ph, 0), (pw, 0), (0, 0)))

    _expect(checks.check_zero_pad, zero_pad, "shape", "one side only")


def test_zero_pad_padding_every_axis():
    _expect(checks.check_zero_pad, lambda x, pad: np.pad(x, pad), "shape", "pads every axis")


def test_conv2d_single_ignoring_stride():
    conv = N4["conv2d_single"]
    _expect(checks.check_conv2d_single, lambda image, kernel, stride=1, padding=0: conv(image, kernel, 1, padding),
            "shape", "ignores `stride`")


def test_conv2d_single_flipping():
    conv = N4["conv2d_single"]
    _expect(checks.check_conv2d_single,
            lambda image, kernel, stride=1, padding=0: conv(image, np.asarray(kernel)[::-1, ::-1], stride, padding),
            "values", "flips the kernel")


# --- 05 ------------------------------------------------------------------------------------------
CONV2D = N5["conv2d"]


def test_conv2d_without_bias():
    _expect(checks.check_conv2d, lambda x, w, b=None, stride=1, padding="valid": CONV2D(x, w, None, stride, padding),
            "values", "missing the bias")


def test_conv2d_true_convolution():
    _expect(checks.check_conv2d,
            lambda x, w, b=None, stride=1, padding="valid": CONV2D(x, np.asarray(w)[::-1, ::-1], b, stride, padding),
            "values", "flips the kernel", "do not flip")


def test_conv2d_channels_first():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        # written for x (N, C, H, W) and w (Cout, Cin, KH, KW)
        out = CONV2D(np.transpose(x, (0, 2, 3, 1)), np.transpose(w, (2, 3, 1, 0)), b, stride, padding)
        return out.transpose(0, 3, 1, 2)

    _expect(checks.check_conv2d, conv2d, "edge_cases", "channels-first", "(N, H, W, C)")


def test_conv2d_bias_on_the_wrong_axis():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        out = CONV2D(x, w, None, stride, padding)
        return out if b is None else out + np.asarray(b).reshape(-1, 1, 1)

    _expect(checks.check_conv2d, conv2d, "edge_cases", "wrong axis")


def test_conv2d_ignoring_stride():
    _expect(checks.check_conv2d, lambda x, w, b=None, stride=1, padding="valid": CONV2D(x, w, b, 1, padding),
            "shape", "ignores `stride`")


def test_conv2d_padding_one_side():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        if isinstance(padding, int) and padding:
            x = np.pad(x, ((0, 0), (padding, 0), (padding, 0), (0, 0)))
            padding = 0
        return CONV2D(x, w, b, stride, padding)

    _expect(checks.check_conv2d, conv2d, "shape", "one side only")


def test_conv2d_transposed_kernel():
    _expect(checks.check_conv2d,
            lambda x, w, b=None, stride=1, padding="valid": CONV2D(x, np.transpose(w, (1, 0, 2, 3)), b, stride, padding),
            "edge_cases", "transposed")


# --- 06 ------------------------------------------------------------------------------------------
def test_max_pool_with_stride_defaulting_to_one():
    pool = N6["max_pool2d"]
    _expect(checks.check_max_pool2d,
            lambda x, pool_size=2, stride=None, padding="valid": pool(x, pool_size, 1 if stride is None else stride),
            "edge_cases", "windows overlap")


def test_avg_pool_summing():
    pool = N6["avg_pool2d"]
    _expect(checks.check_avg_pool2d,
            lambda x, pool_size=2, stride=None, padding="valid": pool(x, pool_size, stride) * pool_size ** 2,
            "values", "sums each window")


def test_max_pool_across_channels():
    pool = N6["max_pool2d"]
    _expect(checks.check_max_pool2d,
            lambda x, pool_size=2, stride=None, padding="valid": pool(x, pool_size, stride).max(axis=3, keepdims=True),
            "shape", "across channels")


def test_max_pool_keeping_partial_windows():
    def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
        s = pool_size if stride is None else stride
        n, h, w, c = x.shape
        oh, ow = -(-(h - pool_size) // s) + 1, -(-(w - pool_size) // s) + 1
        return np.array([[x[:, i * s:i * s + pool_size, j * s:j * s + pool_size].max(axis=(1, 2))
                          for j in range(ow)] for i in range(oh)]).transpose(2, 0, 1, 3)

    _expect(checks.check_max_pool2d, max_pool2d, "shape", "partial windows")


# --- 07 ------------------------------------------------------------------------------------------
BACKWARD = N7["conv2d_backward"]


def test_backward_dx_with_unflipped_kernel():
    def conv2d_backward(dout, x, w, stride=1, padding=0):
        dx, _, _ = BACKWARD(dout, x, np.asarray(w)[::-1, ::-1], stride, padding)
        _, dw, db = BACKWARD(dout, x, w, stride, padding)
        return dx, dw, db

    _expect(checks.check_conv2d_backward, conv2d_backward, "dx", "wrong way round")
    checks.check_conv2d_backward(conv2d_backward, part="dw")  # the other gradients still earn their points


def test_backward_averaging_over_the_batch():
    def conv2d_backward(dout, x, w, stride=1, padding=0):
        dx, dw, db = BACKWARD(dout, x, w, stride, padding)
        return dx, dw / len(x), db / len(x)

    _expect(checks.check_conv2d_backward, conv2d_backward, "dw", "averaged over the batch")


def test_backward_gradient_wrt_wrong_operand():
    def conv2d_backward(dout, x, w, stride=1, padding=0):
        dx, dw, db = BACKWARD(dout, x, w, stride, padding)
        return dw, dx, db

    _expect(checks.check_conv2d_backward, conv2d_backward, "shape", "wrong operand")


def test_backward_flipped_dw():
    def conv2d_backward(dout, x, w, stride=1, padding=0):
        dx, dw, db = BACKWARD(dout, x, w, stride, padding)
        return dx, dw[::-1, ::-1], db

    _expect(checks.check_conv2d_backward, conv2d_backward, "dw", "dw comes out flipped")


POOL_BACKWARD = N7["max_pool2d_backward"]


def test_pool_backward_spreading_the_gradient():
    def max_pool2d_backward(dout, x, pool_size=2, stride=None, padding="valid"):
        s = pool_size if stride is None else stride
        dx = np.zeros_like(np.asarray(x, dtype=float))
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                dx[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :] += dout[:, i:i + 1, j:j + 1, :] / pool_size ** 2
        return dx

    _expect(checks.check_max_pool2d_backward, max_pool2d_backward, "values", "spread over the whole window")


def test_pool_backward_sending_to_every_tied_maximum():
    def max_pool2d_backward(dout, x, pool_size=2, stride=None, padding="valid"):
        s = pool_size if stride is None else stride
        dx = np.zeros_like(np.asarray(x, dtype=float))
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                win = x[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :]
                dx[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :] += \
                    (win == win.max(axis=(1, 2), keepdims=True)) * dout[:, i:i + 1, j:j + 1, :]
        return dx

    _expect(checks.check_max_pool2d_backward, max_pool2d_backward, "edge_cases", "tie")


def test_numerical_gradient_forward_difference():
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros(x.shape)
        base = float(f(x))
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + h
            grad[idx] = (float(f(x)) - base) / h
            x[idx] = old
        return grad

    _expect(checks.check_numerical_gradient, numerical_gradient, "values", "one-sided (forward) difference")


def test_numerical_gradient_dividing_by_h():
    good = N7["numerical_gradient"]
    _expect(checks.check_numerical_gradient, lambda f, x, h=1e-5: good(f, x, h) * 2, "values", "instead of 2h")


def test_numerical_gradient_not_restoring_x():
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + h
            up = float(f(x))
            x[idx] = old - h
            down = float(f(x))
            grad[idx] = (up - down) / (2 * h)  # forgot to restore x[idx]
        return grad

    _expect(checks.check_numerical_gradient, numerical_gradient, "edge_cases", "left x changed")


# --- 08 ------------------------------------------------------------------------------------------
def test_dropout_not_rescaled():
    def dropout(x, rate, rng=None, training=True):
        x = np.asarray(x, dtype=float)
        if not training or rate == 0:
            return x.copy(), np.ones_like(x)
        mask = (np.random.default_rng(rng).random(x.shape) >= rate).astype(float)
        return x * mask, mask

    _expect(checks.check_dropout, dropout, "mask", "not rescaled", "1 / (1 - rate)")


def test_dropout_rate_as_keep_probability():
    good = N8["dropout"]
    _expect(checks.check_dropout, lambda x, rate, rng=None, training=True: good(x, 1 - rate, rng, training),
            "statistics", "probability of *dropping*")


def test_dropout_at_inference():
    good = N8["dropout"]
    _expect(checks.check_dropout, lambda x, rate, rng=None, training=True: good(x, rate or 0.5, rng, True),
            "inference", "only applied while training")


def test_dropout_ignoring_rng():
    def dropout(x, rate, rng=None, training=True):
        x = np.asarray(x, dtype=float)
        if not training or rate == 0:
            return x.copy(), np.ones_like(x)
        mask = (np.random.random(x.shape) >= rate) / (1 - rate)
        return x * mask, mask

    _expect(checks.check_dropout, dropout, "mask", "from the `rng` argument")


def test_dropout_backward_dropping_the_scale():
    _expect(checks.check_dropout_backward, lambda dout, mask: np.asarray(dout) * (np.asarray(mask) != 0), "values",
            "drops the scaling")


def test_unexplained_wrong_answer_has_no_false_diagnosis():
    message = _expect(checks.check_conv2d,
                      lambda x, w, b=None, stride=1, padding="valid": CONV2D(x, w, b, stride, padding) ** 2,
                      "values", "differs from the expected result")
    assert "Likely cause" not in message


@pytest.mark.parametrize("name", sorted(numpy_checks.SPECS))
def test_every_known_variant_is_recognised(name):
    """Handing in a variant itself must fail some part with that variant's message."""
    spec = numpy_checks.SPECS[name]
    for variant in spec.variants:
        messages = []
        for part in spec.parts:
            try:
                run_check(spec, variant.fn, part, quiet=True)
            except CheckFailed as exc:
                messages.append(str(exc))
        assert messages, f"{name}: variant passed every part: {variant.message}"
        assert any(variant.message in m for m in messages), (variant.message, messages)
