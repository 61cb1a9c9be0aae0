"""Exercise 2: 1-D convolution and correlation: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('02-conv1d', (
    Markdown('intro', r'''# Exercise 2: 1-D convolution and correlation

Implement the 1-D **convolution** `(x * w)[n] = sum_k x[k] w[n - k]` (the kernel is flipped) and
the **cross-correlation** `c[k] = sum_n x[n + k] w[n]` (not flipped), each with three output
modes:

* `"full"`: every overlap of `w` with `x`, length `len(x) + len(w) - 1`;
* `"same"`: length `len(x)`, the part of `"full"` starting at index `(len(w) - 1) // 2`;
* `"valid"`: only positions where `w` lies entirely inside `x`, length `len(x) - len(w) + 1`.

You may assume `1 <= len(w) <= len(x)`. Loops and array slicing are fine; `np.convolve`,
`np.correlate`, `sliding_window_view` and SciPy are not (a function using them scores 0 for
that part). The hidden tests compare with a reference on many random signals and name common
mistakes.

**Points**: 8.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Solution(solutions.conv1d,
             doc=r'''    """1-D convolution of x with w (w flipped), like np.convolve(x, w, mode).

    Parameters
    ----------
    x : array_like, shape (n,)
    w : array_like, shape (m,) with 1 <= m <= n
    mode : "full" | "same" | "valid"

    Returns
    -------
    ndarray of float, shape (n + m - 1,), (n,) or (n - m + 1,) for "full", "same", "valid"
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    n, m = len(x), len(w)
    flipped = w[::-1]
    padded = np.concatenate([np.zeros(m - 1), x, np.zeros(m - 1)])
    full = np.array([padded[i:i + m] @ flipped for i in range(n + m - 1)])
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return full[start:start + n]
    if mode == "valid":
        return full[m - 1:n]
    raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")
'''),
    Part('test_conv1d_shape', 1, checks.check_conv1d, 'shape', 'conv1d',
         r'''
x, w = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])
for mode, length in [("full", 5), ("same", 3), ("valid", 1)]:
    out = conv1d(x, w, mode)
    assert np.shape(out) == (length,), f"mode={mode!r}, len(x) = 3, len(w) = 3: expected shape ({length},), got {np.shape(out)}"
'''),
    Part('test_conv1d_values', 2, checks.check_conv1d, 'values', 'conv1d',
         r'''
x, w = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])
got = conv1d(x, w, "full")
# full[1] = x[0] w[1] + x[1] w[0] = 1: the kernel is flipped as it slides.
assert np.shape(got) != (5,) or not np.allclose(got, [0.5, 2.0, 3.5, 3.0, 0.0]), (
    "conv1d returned the cross-correlation: a convolution flips the kernel, (x * w)[n] = sum_k x[k] w[n - k]")
np.testing.assert_allclose(got, [0.0, 1.0, 2.5, 4.0, 1.5], err_msg="mode='full'")
np.testing.assert_allclose(conv1d(x, w, "same"), [1.0, 2.5, 4.0], err_msg="mode='same' (odd kernel: the middle of 'full')")
np.testing.assert_allclose(conv1d(x, w, "valid"), [2.5], err_msg="mode='valid'")
# An even-length kernel has no middle: 'same' starts at index (len(w) - 1) // 2 = 0 of 'full' = [1, 4, 7, 10, 8].
same = conv1d(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0]), "same")
assert np.shape(same) != (4,) or not np.allclose(same, [4.0, 7.0, 10.0, 8.0]), (
    "mode='same' with an even-length kernel starts one step late: take 'full' from index (len(w) - 1) // 2, "
    "as np.convolve does")
np.testing.assert_allclose(same, [1.0, 4.0, 7.0, 10.0], err_msg="mode='same' with the even-length kernel [1, 2]")
'''),
    Part('test_conv1d_edge', 1, checks.check_conv1d, 'edge_cases', 'conv1d',
         r'''
np.testing.assert_allclose(conv1d(np.array([1.0, 2.0]), np.array([3.0])), [3.0, 6.0],
                           err_msg="a length-1 kernel just scales the signal")
# An integer signal: the output is still float.
got = conv1d(np.array([1, 2, 3]), np.array([0.5, 0.5]))
assert np.shape(got) != (4,) or not np.allclose(got, [0.0, 1.0, 2.0, 1.0]), (
    "integer x = [1, 2, 3]: your output was truncated to integers (np.zeros_like(x) keeps x's integer dtype); "
    "compute in float, e.g. x = np.asarray(x, dtype=float)")
np.testing.assert_allclose(got, [0.5, 1.5, 2.5, 1.5], err_msg="integer signal [1, 2, 3], kernel [0.5, 0.5]")
'''),
    Solution(solutions.correlate1d,
             doc=r'''    """1-D cross-correlation c[k] = sum_n x[n + k] w[n] (w not flipped), like np.correlate(x, w, mode).

    Parameters
    ----------
    x : array_like, shape (n,)
    w : array_like, shape (m,) with 1 <= m <= n
    mode : "full" | "same" | "valid"   (note the default: "valid")

    Returns
    -------
    ndarray of float, same lengths as conv1d
    """
''',
             body=r'''    # Correlating with w is convolving with w reversed.
    return conv1d(x, np.asarray(w, dtype=float)[::-1], mode)
'''),
    Part('test_correlate1d_shape', 1, checks.check_correlate1d, 'shape', 'correlate1d',
         r'''
got = np.shape(correlate1d(np.ones(6), np.ones(3)))
assert got == (4,), f"the default mode is 'valid': length 6 - 3 + 1 = 4, got shape {got}"
got = np.shape(correlate1d(np.ones(6), np.ones(3), "full"))
assert got == (8,), f"'full' has length 6 + 3 - 1 = 8, got shape {got}"
'''),
    Part('test_correlate1d_values', 2, checks.check_correlate1d, 'values', 'correlate1d',
         r'''
x, w = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 0.0, -1.0])
got = correlate1d(x, w)
# c[0] = x[0]*1 + x[1]*0 + x[2]*(-1) = -2: the kernel is used as it is.
assert np.shape(got) != (2,) or not np.allclose(got, [2.0, 2.0]), (
    "correlate1d flips the kernel (that is conv1d); cross-correlation uses w as it is: c[k] = sum_n x[n + k] w[n]")
np.testing.assert_allclose(got, [-2.0, -2.0], err_msg="mode='valid'")
np.testing.assert_allclose(correlate1d(x, w, "full"), [-1.0, -2.0, -2.0, -2.0, 3.0, 4.0], err_msg="mode='full'")
'''),
    Part('test_correlate1d_edge', 1, checks.check_correlate1d, 'edge_cases', 'correlate1d',
         r'''
np.testing.assert_allclose(correlate1d(np.array([1.0, 2.0]), np.array([1.0, 1.0])), [3.0],
                           err_msg="kernel as long as the signal: one output")
# An integer signal: the output is still float.
got = correlate1d(np.array([1, 2, 3]), np.array([0.5, 0.25]))
assert np.shape(got) != (2,) or not np.allclose(got, [1.0, 1.0]), (
    "integer x = [1, 2, 3]: your output was truncated to integers (np.zeros_like(x) keeps x's integer dtype); "
    "compute in float, e.g. x = np.asarray(x, dtype=float)")
np.testing.assert_allclose(got, [1.0, 1.75], err_msg="integer signal [1, 2, 3], kernel [0.5, 0.25]")
'''),
), mistakes=(
    Mistake('conv1d: kernel not flipped', 'conv1d',
            (('flipped = w[::-1]', 'flipped = w'),),
            'test_conv1d_values', 'returned the cross-correlation'),
    Mistake("conv1d: 'same' one step late for even kernels", 'conv1d',
            (('start = (m - 1) // 2', 'start = m // 2'),),
            'test_conv1d_values', 'even-length kernel starts one step late'),
    Mistake('conv1d: mode ignored', 'conv1d',
            (('if mode == "full":', 'if True:'),),
            'test_conv1d_shape', "mode='same', len(x) = 3, len(w) = 3: expected shape (3,)"),
    Mistake('conv1d: integer input truncated', 'conv1d',
            (('full = np.array([padded[i:i + m] @ flipped for i in range(n + m - 1)])', 'full = np.zeros_like(x, shape=(n + m - 1,))\n    for i in range(n + m - 1):\n        full[i] = padded[i:i + m] @ flipped'), ('x = np.asarray(x, dtype=float)', 'x = np.asarray(x)'),),
            'test_conv1d_edge', 'truncated to integers'),
    Mistake('correlate1d: kernel flipped', 'correlate1d',
            (('np.asarray(w, dtype=float)[::-1]', 'np.asarray(w, dtype=float)'),),
            'test_correlate1d_values', 'flips the kernel', uses=('conv1d',)),
    Mistake('correlate1d: mode ignored', 'correlate1d',
            (('[::-1], mode)', '[::-1], "valid")'),),
            'test_correlate1d_shape', "'full' has length 6 + 3 - 1 = 8", uses=('conv1d',)),
    Mistake('correlate1d: integer input truncated', 'correlate1d',
            (('return conv1d(x, np.asarray(w, dtype=float)[::-1], mode)', 'out = np.zeros_like(np.asarray(x), shape=len(x) - len(w) + 1)\n    for k in range(len(out)):\n        out[k] = np.dot(x[k:k + len(w)], w)\n    return out'),),
            'test_correlate1d_edge', 'truncated to integers'),
))
