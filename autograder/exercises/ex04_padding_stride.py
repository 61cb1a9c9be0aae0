"""Exercise 4: Padding and stride: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('04-padding-stride', (
    Markdown('intro', r'''# Exercise 4: Padding and stride

With input length `n`, window (kernel) length `f`, `p` zeros added on **each** side and stride
`s`, the window fits at `floor((n + 2p - f) / s) + 1` positions.

Implement `output_size`, `zero_pad` (for NHWC batches: N images, height H, width W, C channels)
and `conv2d_single`, a strided, zero-padded cross-correlation of one single-channel image.
Not allowed in `conv2d_single` (0 points): SciPy, `np.convolve`/`np.correlate`,
`sliding_window_view`.

**Points**: 10.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Solution(solutions.output_size,
             doc=r'''    """Number of window positions along one axis: floor((n + 2 * padding - f) / stride) + 1.

    Parameters
    ----------
    n : int >= 1        input length
    f : int >= 1        window (kernel) length
    padding : int >= 0  zeros added on each side
    stride : int >= 1

    Returns
    -------
    int

    Raises
    ------
    ValueError  if the window is longer than the padded input (f > n + 2 * padding)
    """
''',
             body=r'''    if f > n + 2 * padding:
        raise ValueError(f"window {f} is longer than the padded input {n + 2 * padding}")
    return (n + 2 * padding - f) // stride + 1
'''),
    Part('test_output_size_values', 2, checks.check_output_size, 'values', 'output_size',
         r'''
got = output_size(28, 3)
assert got != 25, "28 pixels, window 3 gave 25: the + 1 is missing, floor((n + 2p - f) / s) + 1 counts the first position too"
assert got == 26, f"valid 3x3 on 28 pixels: 28 - 3 + 1 = 26, got {got}"
got = output_size(28, 3, padding=1)
assert got != 27, "padding=1 gave 27: padding adds p zeros on *both* sides, so the padded length is n + 2p"
assert got == 28, f"padding 1 keeps the size: 28, got {got}"
got = output_size(7, 3, padding=0, stride=2)
assert got != 5, "stride=2 gave 5: your formula ignores the stride"
assert got == 3, f"stride 2 on 7 pixels: window positions 0, 2, 4, so 3, got {got}"
got = output_size(8, 3, padding=0, stride=2)
assert got != 4, "8 pixels, window 3, stride 2 gave 4: round down (//), a window hanging over the edge is dropped"
assert got == 3, f"floor((8 - 3) / 2) + 1 = 3, got {got}"
got = output_size(5, 5)
assert got == 1, f"a window as long as the input fits once: floor((5 - 5) / 1) + 1 = 1, got {got}"
'''),
    Part('test_output_size_edge', 1, checks.check_output_size, 'edge_cases', 'output_size',
         r'''try:
    output_size(3, 5)
except ValueError:
    pass
else:
    raise AssertionError("output_size(3, 5) should raise ValueError: a 5-wide window does not fit in 3 pixels")
'''),
    Solution(solutions.zero_pad,
             doc=r'''    """Add zeros around the height and width of an NHWC batch.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    pad : int, or a pair (ph, pw)   rows added above *and* below, columns left *and* right

    Returns
    -------
    ndarray, shape (N, H + 2 ph, W + 2 pw, C), same dtype as x
    """
''',
             body=r'''    x = np.asarray(x)
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    n, h, w, c = x.shape
    out = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    out[:, ph:ph + h, pw:pw + w, :] = x
    return out
'''),
    Part('test_zero_pad_shape', 1, checks.check_zero_pad, 'shape', 'zero_pad',
         r'''
got = zero_pad(np.ones((2, 3, 4, 5)), 1).shape
assert got != (4, 5, 6, 7), "your zero_pad pads every axis; pad only H and W (axes 1 and 2) of the NHWC batch"
assert got != (2, 4, 5, 5), "your zero_pad pads one side only; pad=1 adds a row above *and* below, a column left *and* right"
assert got == (2, 5, 6, 5), f"pad H and W only, on both sides: (2, 3 + 2, 4 + 2, 5), got {got}"
got = zero_pad(np.ones((1, 3, 4, 1)), (1, 2)).shape
assert got != (1, 7, 6, 1), "pad=(1, 2) gave (1, 7, 6, 1): you swapped the pair; ph = 1 row above and below, pw = 2 columns left and right"
assert got == (1, 5, 8, 1), f"pad=(ph, pw) = (1, 2): (1, 3 + 2, 4 + 4, 1), got {got}"
'''),
    Part('test_zero_pad_values', 1, checks.check_zero_pad, 'values', 'zero_pad',
         r'''padded = zero_pad(np.ones((1, 2, 2, 1)), 1)[0, :, :, 0]
np.testing.assert_array_equal(padded, [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
'''),
    Part('test_zero_pad_edge', 1, checks.check_zero_pad, 'edge_cases', 'zero_pad',
         r'''x = np.arange(6.0).reshape(1, 2, 3, 1)
np.testing.assert_array_equal(zero_pad(x, 0), x, err_msg="pad=0 changes nothing")
'''),
    Solution(solutions.conv2d_single,
             doc=r'''    """Strided, zero-padded 2-D cross-correlation of one single-channel image.

    out[i, j] = sum_{u, v} padded[i * stride + u, j * stride + v] * kernel[u, v]

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (KH, KW)
    stride : int >= 1
    padding : int >= 0   zeros added on each side of H and W

    Returns
    -------
    ndarray of float, shape (output_size(H, KH, padding, stride), output_size(W, KW, padding, stride))
    """
''',
             body=r'''    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    padded = zero_pad(image[None, :, :, None], padding)[0, :, :, 0]
    oh = output_size(image.shape[0], kh, padding, stride)
    ow = output_size(image.shape[1], kw, padding, stride)
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = padded[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = np.sum(window * kernel)
    return out
'''),
    Part('test_conv2d_single_shape', 1, checks.check_conv2d_single, 'shape', 'conv2d_single',
         r'''
got = conv2d_single(np.ones((7, 7)), np.ones((3, 3)), stride=2).shape
assert got != (5, 5), "stride=2 gave shape (5, 5): your function ignores the stride"
assert got == (3, 3), f"stride 2: floor((7 - 3) / 2) + 1 = 3, so (3, 3), got {got}"
got = conv2d_single(np.ones((5, 6)), np.ones((3, 3)), padding=1).shape
assert got != (3, 4), "padding=1 gave shape (3, 4): your function ignores the padding"
assert got != (4, 5), "padding=1 gave shape (4, 5): pad both sides, p zeros above, below, left and right"
assert got == (5, 6), f"padding 1 keeps the size (5, 6), got {got}"
'''),
    Part('test_conv2d_single_values', 2, checks.check_conv2d_single, 'values', 'conv2d_single',
         r'''
image = np.arange(16.0).reshape(4, 4)
kernel = np.array([[1.0, 2.0], [3.0, 4.0]])
got = conv2d_single(image, kernel)
assert np.shape(got) != (3, 3) or not np.allclose(got, [[16, 26, 36], [56, 66, 76], [96, 106, 116]]), (
    "your conv2d_single flips the kernel; like every deep-learning layer it is a cross-correlation: "
    "out[i, j] = sum padded[i*s + u, j*s + v] * kernel[u, v]")
assert np.shape(got) != (3, 3) or not np.allclose(got, [[31, 41, 51], [71, 81, 91], [111, 121, 131]]), (
    "your conv2d_single transposes the kernel (kernel[v, u] instead of kernel[u, v])")
# top-left: 0*1 + 1*2 + 4*3 + 5*4 = 34
np.testing.assert_allclose(got, [[34, 44, 54], [74, 84, 94], [114, 124, 134]], err_msg="kernel [[1, 2], [3, 4]]")
# stride 2 keeps every other window: sums of [[0, 1], [4, 5]], [[2, 3], [6, 7]], ...
np.testing.assert_allclose(conv2d_single(image, np.ones((2, 2)), stride=2), [[10.0, 18.0], [42.0, 50.0]],
                           err_msg="a 2x2 box, stride 2")
# padding 1 with a 3x3 box: the corner sees only 4 real pixels: 0 + 1 + 4 + 5 = 10
corner = conv2d_single(image, np.ones((3, 3)), padding=1)[0, 0]
assert corner == 10.0, f"padding 1, a 3x3 box: the top-left output sums 0 + 1 + 4 + 5 = 10, got {corner}"
'''),
    Part('test_conv2d_single_edge', 1, checks.check_conv2d_single, 'edge_cases', 'conv2d_single',
         r'''np.testing.assert_allclose(conv2d_single(np.ones((3, 3)), np.ones((3, 3))), [[9.0]], err_msg="kernel = image size")
'''),
), mistakes=(
    Mistake('output_size: rounds up', 'output_size',
            (('(n + 2 * padding - f) // stride + 1', '-(-(n + 2 * padding - f) // stride) + 1'),),
            'test_output_size_values', 'round down'),
    Mistake('output_size: one-sided padding', 'output_size',
            (('(n + 2 * padding - f) // stride + 1', '(n + padding - f) // stride + 1'),),
            'test_output_size_values', '*both* sides'),
    Mistake('output_size: stride ignored', 'output_size',
            (('(n + 2 * padding - f) // stride + 1', 'n + 2 * padding - f + 1'),),
            'test_output_size_values', 'ignores the stride'),
    Mistake('output_size: + 1 missing', 'output_size',
            (('(n + 2 * padding - f) // stride + 1', '(n + 2 * padding - f) // stride'),),
            'test_output_size_values', 'the + 1 is missing'),
    Mistake('zero_pad: every axis padded', 'zero_pad',
            (('    n, h, w, c = x.shape', '    return np.pad(x, ph)\n    n, h, w, c = x.shape'),),
            'test_zero_pad_shape', 'pads every axis'),
    Mistake('zero_pad: one side only', 'zero_pad',
            (('(n, h + 2 * ph, w + 2 * pw, c)', '(n, h + ph, w + pw, c)'),),
            'test_zero_pad_shape', 'one side only'),
    Mistake('zero_pad: pair swapped', 'zero_pad',
            (('else pad\n', 'else pad[::-1]\n'),),
            'test_zero_pad_shape', 'swapped the pair'),
    Mistake('conv2d_single: kernel flipped', 'conv2d_single',
            (('kernel = np.asarray(kernel, dtype=float)', 'kernel = np.asarray(kernel, dtype=float)[::-1, ::-1]'),),
            'test_conv2d_single_values', 'flips the kernel', uses=('zero_pad', 'output_size')),
    Mistake('conv2d_single: kernel transposed', 'conv2d_single',
            (('kernel = np.asarray(kernel, dtype=float)', 'kernel = np.asarray(kernel, dtype=float).T'),),
            'test_conv2d_single_values', 'transposes the kernel', uses=('zero_pad', 'output_size')),
    Mistake('conv2d_single: stride ignored', 'conv2d_single',
            (('    image = np.asarray(image, dtype=float)', '    stride = 1\n    image = np.asarray(image, dtype=float)'),),
            'test_conv2d_single_shape', 'ignores the stride', uses=('zero_pad', 'output_size')),
    Mistake('conv2d_single: padding ignored', 'conv2d_single',
            (('    image = np.asarray(image, dtype=float)', '    padding = 0\n    image = np.asarray(image, dtype=float)'),),
            'test_conv2d_single_shape', 'ignores the padding', uses=('zero_pad', 'output_size')),
    Mistake('conv2d_single: one-sided padding', 'conv2d_single',
            (('padded = zero_pad(image[None, :, :, None], padding)[0, :, :, 0]', 'padded = np.pad(image, ((padding, 0), (padding, 0)))'), ('output_size(image.shape[0], kh, padding, stride)', '(padded.shape[0] - kh) // stride + 1'), ('output_size(image.shape[1], kw, padding, stride)', '(padded.shape[1] - kw) // stride + 1'),),
            'test_conv2d_single_shape', 'pad both sides'),
))
