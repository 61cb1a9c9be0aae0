"""Exercise 3: 2-D convolution and an edge detector: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('03-conv2d', (
    Markdown('intro', r'''# Exercise 3: 2-D convolution and an edge detector

For a single-channel image, the **cross-correlation** is
`c[i, j] = sum_{u, v} image[i + u, j + v] * kernel[u, v]` and the **convolution** is the same with
the kernel flipped in both axes (`kernel[::-1, ::-1]`). Outside the image, pixels count as zero.
Modes as in exercise 2, in each axis:

* `"valid"`: shape `(H - KH + 1, W - KW + 1)` (you may assume the kernel fits);
* `"full"`: shape `(H + KH - 1, W + KW - 1)`;
* `"same"`: shape `(H, W)`, centred; you may assume odd kernel sizes for `"same"`.

Not allowed (0 points for that part): `scipy.signal`, `scipy.ndimage`, `np.convolve`,
`np.correlate`, `sliding_window_view`. Loops over the kernel or the output are fine.

**Points**: 11.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Solution(solutions.correlate2d,
             doc=r'''    """2-D cross-correlation (kernel not flipped), zeros outside the image.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (KH, KW)
    mode : "valid" | "full" | "same"

    Returns
    -------
    ndarray of float, shape (H - KH + 1, W - KW + 1), (H + KH - 1, W + KW - 1) or (H, W)
    """
''',
             body=r'''    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    if mode == "valid":
        ph, pw = 0, 0
    elif mode == "full":
        ph, pw = kh - 1, kw - 1
    elif mode == "same":
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
    else:
        raise ValueError(f"mode must be 'valid', 'full' or 'same', got {mode!r}")
    padded = np.pad(image, ((ph, ph), (pw, pw)))
    oh, ow = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    # One shifted copy of the image per kernel entry, weighted by that entry.
    for u in range(kh):
        for v in range(kw):
            out += kernel[u, v] * padded[u:u + oh, v:v + ow]
    return out
'''),
    Part('test_correlate2d_shape', 1, checks.check_correlate2d, 'shape', 'correlate2d',
         r'''
for mode, kernel, expected in [("valid", (2, 3), (4, 4)), ("full", (2, 3), (6, 8)), ("same", (3, 3), (5, 6))]:
    got = np.shape(correlate2d(np.ones((5, 6)), np.ones(kernel), mode))
    assert got == expected, f"a (5, 6) image, a {kernel} kernel, mode={mode!r}: expected shape {expected}, got {got}"
'''),
    Part('test_correlate2d_values', 2, checks.check_correlate2d, 'values', 'correlate2d',
         r'''
image = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
kernel = np.array([[1.0, 2.0], [0.0, 0.0]])
got = correlate2d(image, kernel)
# what correlate2d returns when it turns the kernel around
mistakes = {"flips the kernel in both axes (that is convolve2d)": [[13.0, 16.0], [22.0, 25.0]],
            "flips the kernel upside down": [[14.0, 17.0], [23.0, 26.0]],
            "flips the kernel left-right": [[4.0, 7.0], [13.0, 16.0]],
            "transposes the kernel (kernel[v, u] instead of kernel[u, v])": [[9.0, 12.0], [18.0, 21.0]]}
for mistake, wrong in mistakes.items():
    assert np.shape(got) != (2, 2) or not np.allclose(got, wrong), (
        f"your correlate2d {mistake}; cross-correlation uses the kernel as it is")
# top-left: 1*1 + 2*2 = 5 (kernel used as it is)
np.testing.assert_allclose(got, [[5.0, 8.0], [14.0, 17.0]], err_msg="kernel [[1, 2], [0, 0]], mode='valid'")
'''),
    Part('test_correlate2d_edge', 1, checks.check_correlate2d, 'edge_cases', 'correlate2d',
         r'''identity = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
image = np.arange(12.0).reshape(3, 4)
np.testing.assert_allclose(correlate2d(image, identity, "same"), image, err_msg="the identity kernel in 'same' mode")
'''),
    Solution(solutions.convolve2d,
             doc=r'''    """2-D convolution (kernel flipped in both axes), zeros outside the image.

    Parameters and shapes as correlate2d; note the default mode "full".
    """
''',
             body=r'''    return correlate2d(image, np.asarray(kernel, dtype=float)[::-1, ::-1], mode)
'''),
    Part('test_convolve2d_shape', 1, checks.check_convolve2d, 'shape', 'convolve2d',
         r'''
got = np.shape(convolve2d(np.ones((2, 2)), np.ones((2, 2))))
assert got == (3, 3), f"the default mode is 'full': (2 + 2 - 1, 2 + 2 - 1) = (3, 3), got {got}"
'''),
    Part('test_convolve2d_values', 2, checks.check_convolve2d, 'values', 'convolve2d',
         r'''
image = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
kernel = np.array([[1.0, 2.0], [0.0, 0.0]])
got = convolve2d(image, kernel, "valid")
mistakes = {"does not flip the kernel (that is correlate2d)": [[5.0, 8.0], [14.0, 17.0]],
            "flips the kernel left-right only": [[4.0, 7.0], [13.0, 16.0]],
            "flips the kernel upside down only": [[14.0, 17.0], [23.0, 26.0]],
            "transposes the kernel instead of flipping it": [[9.0, 12.0], [18.0, 21.0]]}
for mistake, wrong in mistakes.items():
    assert np.shape(got) != (2, 2) or not np.allclose(got, wrong), (
        f"your convolve2d {mistake}; a 2-D convolution flips both axes: kernel[::-1, ::-1]")
# flipped kernel [[0, 0], [2, 1]]: top-left valid output is 4*2 + 5*1 = 13
np.testing.assert_allclose(got, [[13.0, 16.0], [22.0, 25.0]], err_msg="kernel [[1, 2], [0, 0]], mode='valid'")
np.testing.assert_allclose(convolve2d([[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]),
                           [[0, 1, 2], [1, 5, 4], [3, 4, 0]], err_msg="lists as input, the default mode 'full'")
'''),
    Part('test_convolve2d_edge', 1, checks.check_convolve2d, 'edge_cases', 'convolve2d',
         r'''np.testing.assert_allclose(convolve2d(np.array([[2.0]]), np.array([[3.0]])), [[6.0]], err_msg="1x1 image and kernel")
'''),
    Markdown('edge_md', r'''## Design an edge detector

Return a 3x3 kernel that, used with `correlate2d`, finds **vertical edges where the image gets
brighter from left to right**: the response must be 0 on flat regions, positive and largest on
such an edge, much weaker on horizontal edges, and not positive on bright-to-dark edges.'''),
    Solution(name='edge_kernel', code=r'''def edge_kernel():
    """A 3x3 kernel detecting dark-to-bright vertical edges (left to right).

    Returns
    -------
    ndarray, shape (3, 3)
    """
    ### BEGIN SOLUTION
    return np.array([[-1.0, 0.0, 1.0],
                     [-2.0, 0.0, 2.0],
                     [-1.0, 0.0, 1.0]])  # the Sobel x kernel
    ### END SOLUTION'''),
    Code('edge_demo', r'''# Try it: a dark-to-bright step between columns 2 and 3.
step = np.zeros((5, 6))
step[:, 3:] = 1.0
print(correlate2d(step, edge_kernel()))'''),
    Part('test_edge_flat', 1, checks.check_edge_kernel, 'flat', 'edge_kernel()',
         r'''assert np.shape(edge_kernel()) == (3, 3), "the kernel must be 3x3"
'''),
    Part('test_edge_detects', 1, checks.check_edge_kernel, 'detects', 'edge_kernel()',
         r'''
step = np.zeros((5, 6))
step[:, 3:] = 1.0  # dark to bright between columns 2 and 3
response = correlate2d(step, edge_kernel())
assert response.max() > 0, f"the response to a dark-to-bright edge should be positive, got at most {response.max():.3g}"
'''),
    Part('test_edge_selective', 1, checks.check_edge_kernel, 'selective', 'edge_kernel()',
         r'''
# Graded after submission as well: the same on other images. Here: the step turned into a horizontal edge
# should give a much weaker response, the step mirrored (bright to dark) no positive one.
step = np.zeros((6, 6))
step[:, 3:] = 1.0
peak = correlate2d(step, edge_kernel()).max()
across = np.abs(correlate2d(step.T, edge_kernel())).max()
assert across <= 2 * max(peak, 0), "your kernel detects horizontal edges rather than vertical ones: transpose it"
assert peak > 0, "no positive response to a dark-to-bright edge (see test_edge_detects)"
assert across <= 0.25 * peak, (f"your kernel responds to a horizontal edge with {across:.3g} (vs {peak:.3g} for the "
                               "vertical one): make the rows of the kernel alike")
backwards = correlate2d(step[:, ::-1], edge_kernel()).max()
assert backwards <= 1e-9 * peak, (f"your kernel responds positively ({backwards:.3g}) to a bright-to-dark edge; it "
                                  "should respond only to dark-to-bright (left to right)")
'''),
), mistakes=(
    Mistake('correlate2d: kernel flipped', 'correlate2d',
            (('kernel = np.asarray(kernel, dtype=float)', 'kernel = np.asarray(kernel, dtype=float)[::-1, ::-1]'),),
            'test_correlate2d_values', 'flips the kernel in both axes'),
    Mistake('correlate2d: kernel transposed', 'correlate2d',
            (('kernel = np.asarray(kernel, dtype=float)', 'kernel = np.asarray(kernel, dtype=float).T'),),
            'test_correlate2d_values', 'transposes the kernel'),
    Mistake('correlate2d: kernel flipped upside down', 'correlate2d',
            (('kernel = np.asarray(kernel, dtype=float)', 'kernel = np.asarray(kernel, dtype=float)[::-1]'),),
            'test_correlate2d_values', 'flips the kernel upside down'),
    Mistake('convolve2d: kernel not flipped', 'convolve2d',
            (('[::-1, ::-1]', ''),),
            'test_convolve2d_values', 'does not flip the kernel', uses=('correlate2d',)),
    Mistake('convolve2d: one axis flipped', 'convolve2d',
            (('[::-1, ::-1]', '[::-1, :]'),),
            'test_convolve2d_values', 'flips the kernel upside down only', uses=('correlate2d',)),
    Mistake('edge kernel: bright-to-dark detector', 'edge_kernel',
            (('return np.array(', 'return -np.array('),),
            'test_edge_detects', 'should be positive', uses=('correlate2d',)),
    Mistake('edge kernel: horizontal edges', 'edge_kernel',
            (('[-1.0, 0.0, 1.0]])', '[-1.0, 0.0, 1.0]]).T'),),
            'test_edge_selective', 'horizontal edge', uses=('correlate2d',)),
    Mistake('edge kernel: both edge directions', 'edge_kernel',
            (('np.array([[-1.0, 0.0, 1.0],\n                     [-2.0, 0.0, 2.0],\n', 'np.array([[-1.0, 2.0, -1.0],\n                     [-1.0, 2.0, -1.0],\n'), ('[-1.0, 0.0, 1.0]])', '[-1.0, 2.0, -1.0]])'),),
            'test_edge_selective', 'bright-to-dark edge', uses=('correlate2d',)),
))
