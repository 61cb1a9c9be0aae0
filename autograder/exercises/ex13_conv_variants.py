"""Exercise 13: Convolution variants and what they cost: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('13-conv-variants', (
    Markdown('intro', r'''# Exercise 13: Convolution variants and what they cost

Arrays are NHWC and kernels HWIO, as in exercise 5; `padding` is `"valid"` (= 0) or an int `p`.

* `conv2d_transpose(x, w, b, stride, padding)`: the **transposed convolution**, the gradient of a
  convolution used as a layer. Every input pixel `(i, j)` *stamps* a copy of the kernel, scaled by
  its value, onto the output at rows `i*s ... i*s+KH-1` and columns `j*s ... j*s+KW-1`; where the
  stamps overlap they add. `w` is the kernel of the forward convolution that maps the output back
  to `x`'s shape, so it is laid out `(KH, KW, Cout, Cin)`. The full result has
  `(H - 1) * s + KH` rows; the forward convolution's padding `p` is cut off it, `p` rows and
  columns on each side. (Kernels are at least as large as the stride here.) Checked against
  `tf.nn.conv2d_transpose`.
* `depthwise_conv2d(x, w, b, stride, padding)`: every input channel `c` is correlated with its
  own `M` kernels `w[:, :, c, m]` and nothing is summed over channels; output channel `c * M + m`
  comes from input channel `c` and kernel `m`. Checked against `tf.nn.depthwise_conv2d`.
* `conv_layer_cost(kind, kernel_size, in_channels, out_channels, input_hw, ...)`: what one
  Keras convolution layer costs for one image, from its description -- the number of parameters
  (what Keras' `count_params()` reports), of multiply-adds and of output values.

Not allowed (0 points): TensorFlow/Keras, SciPy, `np.convolve`/`np.correlate`/`sliding_window_view`.
**Points**: 14.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Solution(solutions.conv2d_transpose,
             doc=r'''    """Transposed convolution: each input pixel stamps the kernel onto the output; overlaps add.

    Parameters
    ----------
    x : array_like, shape (N, H, W, Cin)
    w : array_like, shape (KH, KW, Cout, Cin)   the forward convolution's kernel, KH and KW >= stride
    b : array_like, shape (Cout,), or None
    stride : int >= 1
    padding : int >= 0, or "valid" (= 0): p rows and columns are cut from each side of the result
    output_hw : None (other output sizes are not asked for here)

    Returns
    -------
    ndarray, shape (N, (H - 1) * stride + KH - 2p, (W - 1) * stride + KW - 2p, Cout)
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    n, h, wd, cin = x.shape
    kh, kw, cout, _ = w.shape
    s = stride
    p = 0 if padding == "valid" else padding
    full = np.zeros((n, (h - 1) * s + kh, (wd - 1) * s + kw, cout))
    for i in range(h):
        for j in range(wd):
            stamp = np.tensordot(x[:, i, j, :], w, axes=([1], [3]))  # (N, KH, KW, Cout)
            full[:, i * s:i * s + kh, j * s:j * s + kw, :] += stamp
    out = full[:, p:full.shape[1] - p, p:full.shape[2] - p, :]
    if b is not None:
        out = out + np.asarray(b, dtype=float)
    return out
'''),
    Part('test_transpose_shape', 1, checks.check_conv2d_transpose, 'shape', 'conv2d_transpose',
         r'''
got = np.shape(conv2d_transpose(np.ones((2, 3, 4, 5)), np.ones((3, 3, 6, 5)), stride=2))
assert got == (2, 7, 9, 6), f"stride 2, a 3x3 kernel on 3x4: ((3 - 1) * 2 + 3, (4 - 1) * 2 + 3) = (7, 9) and Cout = 6; got {got}"
got = np.shape(conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), stride=2, padding=1))
assert got == (1, 5, 5, 4), f"padding 1 cuts one row and column from each side of the 7x7 result: (1, 5, 5, 4), got {got}"
'''),
    Part('test_transpose_values', 2, checks.check_conv2d_transpose, 'values', 'conv2d_transpose',
         r'''
# One input pixel of value 1 stamps the kernel itself.
k = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
got = conv2d_transpose(np.ones((1, 1, 1, 1)), k)[0, :, :, 0]
assert not np.allclose(got, [[4, 3], [2, 1]]), ("your function flips the kernel: a transposed convolution stamps "
                                               "it as it is, out[i*s + u, j*s + v] += x[i, j] * w[u, v]")
np.testing.assert_allclose(got, [[1, 2], [3, 4]], err_msg="a single pixel of value 1 stamps the kernel")
# Stride 2, a 3x3 kernel of ones: neighbouring stamps share a row or a column, where they must add.
got = conv2d_transpose(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), stride=2)[0, :, :, 0]
assert got[2, 2] != 1, ("where stamps overlap your function overwrites the output instead of adding to it (+=); "
                        "the uneven sums are the checkerboard artefact")
np.testing.assert_allclose(got, [[1, 1, 2, 1, 1], [1, 1, 2, 1, 1], [2, 2, 4, 2, 2], [1, 1, 2, 1, 1], [1, 1, 2, 1, 1]],
                           err_msg="four overlapping stamps of ones")
b = conv2d_transpose(np.zeros((1, 2, 2, 1)), np.ones((2, 2, 3, 1)), b=np.array([1.0, 2.0, 3.0]))
assert not np.allclose(b, 0), "your output is missing the bias: add b[o] to every position of output channel o"
np.testing.assert_allclose(b[0, 0, 0], [1, 2, 3], err_msg="zero input: the output is the bias")
'''),
    Part('test_transpose_edge', 1, checks.check_conv2d_transpose, 'edge_cases', 'conv2d_transpose',
         r'''
# Graded after submission: 1x1 kernels, stamps that touch or overlap, a single input pixel, padding with
# strides 2 and 3, as many or more input than output channels. Here: padding 1 is cut from both sides.
got = conv2d_transpose(np.arange(4.0).reshape(1, 2, 2, 1), np.ones((3, 3, 1, 1)), stride=2, padding=1)[0, :, :, 0]
assert not np.allclose(got, [[6, 4, 4], [5, 3, 3], [5, 3, 3]]), (
    "your function crops all 2p rows and columns from the top and left; padding p removes p from each side")
np.testing.assert_allclose(got, [[0, 1, 1], [2, 6, 4], [2, 5, 3]], err_msg="x = [[0, 1], [2, 3]], stride 2, padding 1")
'''),
    Solution(solutions.depthwise_conv2d,
             doc=r'''    """Depthwise convolution: each input channel is correlated with its own M kernels.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    w : array_like, shape (KH, KW, C, M)   M is the depth multiplier
    b : array_like, shape (C * M,), or None
    stride : int >= 1
    padding : int >= 0, or "valid" (= 0)

    Returns
    -------
    ndarray, shape (N, OH, OW, C * M): out[..., c * M + m] = b[c * M + m]
        + sum over u, v of xpad[n, i*s + u, j*s + v, c] * w[u, v, c, m]
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    n, h, wd, c = x.shape
    kh, kw, _, m = w.shape
    p = 0 if padding == "valid" else padding
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    oh = (h + 2 * p - kh) // stride + 1
    ow = (wd + 2 * p - kw) // stride + 1
    out = np.zeros((n, oh, ow, c, m))
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + stride * (oh - 1) + 1, stride)
            cols = slice(v, v + stride * (ow - 1) + 1, stride)
            out += xp[:, rows, cols, :, None] * w[u, v]  # (N, OH, OW, C, M)
    out = out.reshape(n, oh, ow, c * m)
    if b is not None:
        out = out + np.asarray(b, dtype=float)
    return out
'''),
    Part('test_depthwise_shape', 1, checks.check_depthwise_conv2d, 'shape', 'depthwise_conv2d',
         r'''
got = np.shape(depthwise_conv2d(np.ones((2, 6, 5, 3)), np.ones((3, 3, 3, 2))))
assert got == (2, 4, 3, 6), f"3 channels times multiplier 2 give 6 output channels: expected (2, 4, 3, 6), got {got}"
got = np.shape(depthwise_conv2d(np.ones((1, 6, 6, 2)), np.ones((3, 3, 2, 1)), stride=2, padding=1))
assert got == (1, 3, 3, 2), f"stride 2, padding 1: expected (1, 3, 3, 2), got {got}"
'''),
    Part('test_depthwise_values', 2, checks.check_depthwise_conv2d, 'values', 'depthwise_conv2d',
         r'''
x = np.arange(9.0).reshape(1, 3, 3, 1)
got = depthwise_conv2d(x, np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1))[0, :, :, 0]
assert not np.allclose(got, [[13, 23], [43, 53]]), ("your function flips the kernel; a depthwise convolution, like "
                                                   "every convolution layer here, is a cross-correlation")
np.testing.assert_allclose(got, [[27, 37], [57, 67]], err_msg="x = 0..8, kernel [[1, 2], [3, 4]]")
# Channel c = 0 holds ones, c = 1 twos; 1x1 kernels w[0, 0, c, m] = [[1, 10], [100, 1000]].
x2 = np.concatenate([np.ones((1, 2, 2, 1)), 2 * np.ones((1, 2, 2, 1))], axis=3)
got = depthwise_conv2d(x2, np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(1, 1, 2, 2))[0, 0, 0]
assert not np.allclose(got, [1, 200, 10, 2000]), (
    "your output channels are in the wrong order: channel c * M + m comes from input channel c and kernel m")
np.testing.assert_allclose(got, [1, 10, 200, 2000], err_msg="output channels c * M + m, from input channel c")
'''),
    Part('test_depthwise_edge', 1, checks.check_depthwise_conv2d, 'edge_cases', 'depthwise_conv2d',
         r'''
# Graded after submission: 1x1 kernels, kernels as large as the input, stride 2 with padding 1, one channel with
# multiplier 3, no bias. Here: the bias is added per output channel.
got = depthwise_conv2d(np.zeros((1, 3, 3, 2)), np.ones((3, 3, 2, 1)), b=np.array([5.0, -1.0]))
assert not np.allclose(got, 0), "your output is missing the bias: add b[k] to every position of output channel k"
np.testing.assert_allclose(got[0, 0, 0], [5, -1], err_msg="zero input: the output is the bias")
'''),
    Markdown('cost_md', r'''## What a layer costs

`conv_layer_cost` describes one Keras layer by plain values: `kind` is `"conv2d"` (`Conv2D`),
`"depthwise"` (`DepthwiseConv2D`, `out_channels = in_channels * M`) or `"transpose"`
(`Conv2DTranspose`); `kernel_size`, `stride` and `dilation` are ints or pairs (rows, columns);
`input_hw` is `(H, W)`; `padding` is `"valid"` or `"same"`. Return a tuple of three ints,
`(params, multiply_adds, activations)`, for one image:

* **output size** per axis, as Keras computes it, with `span = (K - 1) * d + 1` the window a
  dilated kernel covers: `"same"` gives `ceil(H / s)`, `"valid"` gives `(H - span) // s + 1` (raise
  `ValueError` when the window does not fit). A transpose gives `H * s` (`"same"`) or
  `(H - 1) * s + max(span, s)` (`"valid"`; `max`: a kernel narrower than the stride leaves gaps);
* **params**: the weights -- `KH KW Cin Cout` for `conv2d` and `transpose`, `KH KW Cout` for
  `depthwise` (each input channel has only its own kernels) -- plus `Cout` biases if `use_bias`;
* **multiply_adds**: each weight is used once per output position (`conv2d`, `depthwise`), or once
  per *input* pixel for a transpose (every input pixel stamps the whole kernel). A multiply-add
  is one multiplication and one addition (about 2 FLOPs); bias additions are not counted;
* **activations**: the output values, `OH * OW * Cout`.

The hidden tests' counts are those of Keras layers built from the same description
(`count_params()` and the output shape).'''),
    Solution(solutions.conv_layer_cost,
             doc=r'''    """(params, multiply_adds, activations) of one convolution layer, for one image.

    Parameters
    ----------
    kind : "conv2d", "depthwise" or "transpose"
    kernel_size, stride, dilation : int or (rows, columns)
    in_channels, out_channels : int   (depthwise: out_channels = in_channels * M)
    input_hw : (H, W)
    padding : "valid" or "same"
    use_bias : bool

    Returns
    -------
    tuple of 3 ints
    """
''',
             body=r'''    kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    dh, dw = (dilation, dilation) if np.ndim(dilation) == 0 else dilation
    h, w = input_hw
    sizes = []
    for n, k, s, d in ((h, kh, sh, dh), (w, kw, sw, dw)):
        span = (k - 1) * d + 1
        if kind == "transpose":
            sizes.append(n * s if padding == "same" else (n - 1) * s + max(span, s))
        elif padding == "same":
            sizes.append(-(-n // s))
        elif span > n:
            raise ValueError(f"the kernel spans {span} pixels, more than the input's {n}")
        else:
            sizes.append((n - span) // s + 1)
    oh, ow = sizes
    if kind == "depthwise":
        weights, uses = kh * kw * out_channels, oh * ow
    elif kind == "transpose":
        weights, uses = kh * kw * in_channels * out_channels, h * w
    else:
        weights, uses = kh * kw * in_channels * out_channels, oh * ow
    params = weights + (out_channels if use_bias else 0)
    return params, weights * uses, oh * ow * out_channels
'''),
    Part('test_cost_params', 2, checks.check_conv_layer_cost, 'params', 'conv_layer_cost',
         r'''
params = conv_layer_cost("conv2d", 3, 16, 32, (28, 28), padding="same")[0]
assert params != 3 * 3 * 16 * 32, "your parameter count leaves out the biases: one per output channel"
assert params == 3 * 3 * 16 * 32 + 32, f"Conv2D(32, 3) on 16 channels has 4,640 parameters, got {params}"
params = conv_layer_cost("depthwise", 3, 16, 32, (28, 28))[0]
assert params != 3 * 3 * 16 * 32 + 32, ("your depthwise count sums over the input channels as an ordinary "
                                        "convolution does; each input channel has only its own kernels")
assert params == 3 * 3 * 32 + 32, f"DepthwiseConv2D(3, depth_multiplier=2) on 16 channels has 320 parameters, got {params}"
assert conv_layer_cost("transpose", 4, 8, 3, (7, 7), use_bias=False)[0] == 4 * 4 * 8 * 3, "a bias-free transpose"
'''),
    Part('test_cost_multiply_adds', 2, checks.check_conv_layer_cost, 'multiply_adds', 'conv_layer_cost',
         r'''
madds = conv_layer_cost("conv2d", 5, 3, 8, (32, 32))[1]
assert madds != 2 * 28 * 28 * 5 * 5 * 3 * 8, ("your multiply-adds are twice too many: you counted FLOPs (a "
                                              "multiplication and an addition), not multiply-adds")
assert madds == 28 * 28 * 5 * 5 * 3 * 8, f"28 x 28 positions times 600 weights, got {madds}"
madds = conv_layer_cost("transpose", 4, 8, 3, (7, 7), stride=2, padding="same")[1]
assert madds != 14 * 14 * 4 * 4 * 8 * 3, ("your transposed layer applies its kernel once per output pixel; it "
                                          "stamps it once per input pixel")
assert madds == 7 * 7 * 4 * 4 * 8 * 3, f"7 x 7 input pixels, each stamping 384 weights: got {madds}"
'''),
    Part('test_cost_activations', 1, checks.check_conv_layer_cost, 'activations', 'conv_layer_cost',
         r'''
acts = conv_layer_cost("conv2d", 3, 3, 8, (7, 7), stride=2, padding="same")[2]
assert acts != 3 * 3 * 8, "your 'same' output size rounds down; it is ceil(7 / 2) = 4 positions per axis"
assert acts == 4 * 4 * 8, f"'same', stride 2 on 7x7: a 4x4x8 output, got {acts}"
assert conv_layer_cost("transpose", 4, 8, 3, (7, 7), stride=2, padding="same")[2] == 14 * 14 * 3, "a transpose"
'''),
    Part('test_cost_edge', 1, checks.check_conv_layer_cost, 'edge_cases', 'conv_layer_cost',
         r'''
# Graded after submission: 1x1 kernels, a kernel as large as the input, pairs for kernel_size and stride,
# dilation, a transpose whose kernel is smaller than its stride, and a kernel too large for 'valid' padding.
got = conv_layer_cost("conv2d", 3, 8, 8, (10, 10), dilation=2)
assert got[2] == 6 * 6 * 8, f"dilation 2: the 3x3 kernel spans 5 pixels, so 'valid' leaves 6 x 6 positions; got {got}"
'''),
), mistakes=(
    Mistake('transpose: flipped kernel', 'conv2d_transpose',
            (('np.tensordot(x[:, i, j, :], w, axes', 'np.tensordot(x[:, i, j, :], w[::-1, ::-1], axes'),),
            'test_transpose_values', 'flips the kernel'),
    Mistake('transpose: overlaps overwrite', 'conv2d_transpose',
            (('j * s:j * s + kw, :] += stamp', 'j * s:j * s + kw, :] = stamp'),),
            'test_transpose_values', 'overwrites the output'),
    Mistake('transpose: no bias', 'conv2d_transpose',
            (('out = out + np.asarray(b, dtype=float)', 'out = out'),),
            'test_transpose_values', 'missing the bias'),
    Mistake('transpose: padding cut from one side', 'conv2d_transpose',
            (('out = full[:, p:full.shape[1] - p, p:full.shape[2] - p, :]', 'out = full[:, 2 * p:, 2 * p:, :]'),),
            'test_transpose_edge', 'from the top and left'),
    Mistake('depthwise: flipped kernel', 'depthwise_conv2d',
            (('* w[u, v]  #', '* w[kh - 1 - u, kw - 1 - v]  #'),),
            'test_depthwise_values', 'flips the kernel'),
    Mistake('depthwise: channels multiplier first', 'depthwise_conv2d',
            (('out = out.reshape(n, oh, ow, c * m)', 'out = out.transpose(0, 1, 2, 4, 3).reshape(n, oh, ow, c * m)'),),
            'test_depthwise_values', 'wrong order'),
    Mistake('depthwise: no bias', 'depthwise_conv2d',
            (('out = out + np.asarray(b, dtype=float)', 'out = out'),),
            'test_depthwise_edge', 'missing the bias'),
    Mistake('cost: no biases', 'conv_layer_cost',
            (('params = weights + (out_channels if use_bias else 0)', 'params = weights'),),
            'test_cost_params', 'leaves out the biases'),
    Mistake('cost: depthwise counted as a full convolution', 'conv_layer_cost',
            (('weights, uses = kh * kw * out_channels, oh * ow', 'weights, uses = kh * kw * in_channels * out_channels, oh * ow'),),
            'test_cost_params', 'sums over the input channels'),
    Mistake('cost: FLOPs for multiply-adds', 'conv_layer_cost',
            (('return params, weights * uses,', 'return params, 2 * weights * uses,'),),
            'test_cost_multiply_adds', 'twice too many'),
    Mistake('cost: transpose per output pixel', 'conv_layer_cost',
            (('in_channels * out_channels, h * w', 'in_channels * out_channels, oh * ow'),),
            'test_cost_multiply_adds', 'once per output pixel'),
    Mistake("cost: 'same' rounded down", 'conv_layer_cost',
            (('sizes.append(-(-n // s))', 'sizes.append(n // s)'),),
            'test_cost_activations', 'rounds down'),
))
