"""Exercise 5: Channels, filters and bias: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('05-channels', (
    Markdown('intro', r'''# Exercise 5: Channels, filters and bias

A convolution layer takes a batch of images with several channels and applies several filters,
each spanning *all* input channels, then adds one bias per filter. This course stores arrays
**channels-last**, as Keras does:

* input `x`: `(N, H, W, Cin)` (NHWC);
* kernels `w`: `(KH, KW, Cin, Cout)` (HWIO);
* bias `b`: `(Cout,)`, or `None` for no bias;
* output: `(N, OH, OW, Cout)` with
  `out[n, i, j, o] = b[o] + sum_{u, v, c} xpad[n, i*s + u, j*s + v, c] * w[u, v, c, o]`.

Like every deep-learning framework, this is a cross-correlation: the kernel is **not** flipped.
`padding` is `"valid"` (none), an int `p` (p zeros on each side of H and W), or `"same"` (only
needed for stride 1 and odd kernel sizes: pad `(KH - 1) // 2` rows and `(KW - 1) // 2` columns).

Not allowed (0 points): SciPy, TensorFlow/Keras, `np.convolve`/`np.correlate`,
`sliding_window_view`. Loops over the kernel positions plus matrix products are a good plan.

**Points**: 8.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Solution(solutions.conv2d,
             doc=r'''    """Forward pass of a convolution layer (cross-correlation), NHWC input, HWIO kernels.

    Parameters
    ----------
    x : array_like, shape (N, H, W, Cin)
    w : array_like, shape (KH, KW, Cin, Cout)
    b : array_like, shape (Cout,), or None
    stride : int >= 1
    padding : "valid", "same" (stride 1, odd kernels) or int >= 0

    Returns
    -------
    ndarray of float, shape (N, OH, OW, Cout), OH = (H + 2 ph - KH) // stride + 1 (same for W)
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    n, h, wd, cin = x.shape
    kh, kw, cin_w, cout = w.shape
    if cin != cin_w:
        raise ValueError(f"x has {cin} channels but w expects {cin_w}")
    if padding == "valid":
        ph, pw = 0, 0
    elif padding == "same":
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
    else:
        ph = pw = int(padding)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    oh = (h + 2 * ph - kh) // stride + 1
    ow = (wd + 2 * pw - kw) // stride + 1
    out = np.zeros((n, oh, ow, cout))
    for u in range(kh):
        for v in range(kw):
            # the input pixels that kernel entry (u, v) meets, for every output position at once
            patch = xp[:, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride, :]
            out += patch @ w[u, v]  # (N, OH, OW, Cin) @ (Cin, Cout)
    if b is not None:
        out += np.asarray(b, dtype=float)  # broadcasts over the last (channel) axis
    return out
'''),
    Code('example', r'''# A small example you can check by hand: one 3x3 image with 2 channels, one 2x2 filter.
x_small = np.zeros((1, 3, 3, 2))
x_small[0, :, :, 0] = np.arange(9.0).reshape(3, 3)   # channel 0: 0..8
x_small[0, :, :, 1] = 1.0                            # channel 1: all ones
w_small = np.zeros((2, 2, 2, 1))
w_small[:, :, 0, 0] = [[1.0, 0.0], [0.0, 0.0]]       # picks the top-left pixel of channel 0
w_small[:, :, 1, 0] = 0.5                            # adds half the sum of a 2x2 block of channel 1
b_small = np.array([10.0])'''),
    Part('test_conv2d_shape', 2, checks.check_conv2d, 'shape', 'conv2d',
         r'''
# x is (N, H, W, Cin), w is (KH, KW, Cin, Cout), the output (N, OH, OW, Cout): channels last.
got = conv2d(np.ones((2, 5, 6, 3)), np.ones((3, 3, 3, 4))).shape
assert got == (2, 3, 4, 4), f"x (2, 5, 6, 3), w (3, 3, 3, 4), 'valid': expected (N, H-2, W-2, Cout) = (2, 3, 4, 4), got {got}"
got = conv2d(np.ones((1, 7, 7, 1)), np.ones((3, 3, 1, 2)), stride=2).shape
assert got != (1, 5, 5, 2), "stride=2 gave (1, 5, 5, 2): your function ignores the stride"
assert got == (1, 3, 3, 2), f"stride 2: floor((7 - 3) / 2) + 1 = 3, so (1, 3, 3, 2), got {got}"
got = conv2d(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 1)), padding=1).shape
assert got != (1, 4, 4, 1), "padding=1 gave (1, 4, 4, 1): pad both sides, p zeros above, below, left and right"
assert got == (1, 5, 5, 1), f"padding 1 keeps H and W: (1, 5, 5, 1), got {got}"
'''),
    Part('test_conv2d_values', 4, checks.check_conv2d, 'values', 'conv2d',
         r'''
out = conv2d(x_small, w_small, b_small)
assert out.shape == (1, 2, 2, 1), f"x_small (1, 3, 3, 2), w_small (2, 2, 2, 1): expected (1, 2, 2, 1), got {out.shape}"
mistakes = {"flips the kernel; deep-learning convolution layers compute a cross-correlation": [[16, 17], [19, 20]],
            "leaves out the bias: add b[o] to every position of output channel o": [[2, 3], [5, 6]],
            "adds the bias once per input channel; add it once per output position": [[22, 23], [25, 26]]}
for mistake, wrong in mistakes.items():
    assert not np.allclose(out[0, :, :, 0], wrong), f"your conv2d {mistake}"
# out[0, i, j, 0] = x[i, j, channel 0] + 0.5 * 4 + 10
np.testing.assert_allclose(out[0, :, :, 0], [[12.0, 13.0], [15.0, 16.0]], err_msg="the example above, with b = [10]")
np.testing.assert_allclose(conv2d(x_small, w_small)[0, :, :, 0], [[2.0, 3.0], [5.0, 6.0]], err_msg="b=None")
# One bias per output channel: every pixel of output channel o gets b[o].
out = conv2d(np.ones((1, 3, 3, 2)), np.zeros((2, 2, 2, 2)), np.array([1.0, 2.0]))
assert out.shape == (1, 2, 2, 2), f"x (1, 3, 3, 2), w (2, 2, 2, 2): expected (1, 2, 2, 2), got {out.shape}"
assert not np.allclose(out[0, :, :, 0], [[1.0, 1.0], [2.0, 2.0]]), (
    "your bias is broadcast along the wrong axis (b.reshape(-1, 1, 1) is channels-first thinking): the channel "
    "axis is last in NHWC, so out + b adds b[o] to channel o")
np.testing.assert_allclose(out[0], np.broadcast_to([1.0, 2.0], (2, 2, 2)),
                           err_msg="zero weights, b = [1, 2]: channel 0 is 1 everywhere, channel 1 is 2")
'''),
    Part('test_conv2d_edge', 2, checks.check_conv2d, 'edge_cases', 'conv2d',
         r'''
x1 = np.arange(12.0).reshape(1, 2, 2, 3)
w1 = np.ones((1, 1, 3, 1))
out = conv2d(x1, w1)
assert out.shape == (1, 2, 2, 1), f"x (1, 2, 2, 3), a 1x1 kernel (1, 1, 3, 1): expected (1, 2, 2, 1), got {out.shape}"
np.testing.assert_allclose(out[..., 0], x1.sum(axis=-1), err_msg="a 1x1 kernel of ones sums the channels")
'''),
), mistakes=(
    Mistake('kernel flipped', 'conv2d',
            (('w = np.asarray(w, dtype=float)', 'w = np.asarray(w, dtype=float)[::-1, ::-1]'),),
            'test_conv2d_values', 'flips the kernel'),
    Mistake('bias missing', 'conv2d',
            (('if b is not None:', 'if False:'),),
            'test_conv2d_values', 'leaves out the bias'),
    Mistake('bias broadcast channels-first', 'conv2d',
            (('out += np.asarray(b, dtype=float)', 'out = out + np.asarray(b, dtype=float).reshape(-1, 1, 1)'),),
            'test_conv2d_values', 'broadcast along the wrong axis'),
    Mistake('bias once per input channel', 'conv2d',
            (('out += np.asarray(b, dtype=float)', 'out += np.asarray(b, dtype=float) * cin'),),
            'test_conv2d_values', 'once per input channel'),
    Mistake('stride ignored', 'conv2d',
            (('    x = np.asarray(x, dtype=float)', '    stride = 1\n    x = np.asarray(x, dtype=float)'),),
            'test_conv2d_shape', 'ignores the stride'),
    Mistake('one-sided padding', 'conv2d',
            (('np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))', 'np.pad(x, ((0, 0), (ph, 0), (pw, 0), (0, 0)))'), ('(h + 2 * ph - kh)', '(h + ph - kh)'), ('(wd + 2 * pw - kw)', '(wd + pw - kw)'),),
            'test_conv2d_shape', 'pad both sides'),
))
