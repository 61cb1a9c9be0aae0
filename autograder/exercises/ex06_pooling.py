"""Exercise 6: Pooling: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('06-pooling', (
    Markdown('intro', r'''# Exercise 6: Pooling

Pooling summarises each `pool_size x pool_size` window of every channel by its maximum (max
pooling) or mean (average pooling). Windows start every `stride` pixels; `stride=None` means
`stride = pool_size` (non-overlapping windows, the usual choice). Windows that would hang over
the bottom or right edge are dropped, so `OH = (H - pool_size) // stride + 1`. Arrays are NHWC:
`(N, H, W, C)` in, `(N, OH, OW, C)` out, each channel pooled separately. Only
`padding="valid"` needs to work.

Not allowed (0 points): TensorFlow/Keras, SciPy, `sliding_window_view`.

**Points**: 8.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Solution(solutions.max_pool2d,
             doc=r'''    """Max pooling over H and W of an NHWC batch.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    pool_size : int >= 1
    stride : int >= 1, or None for stride = pool_size
    padding : "valid" (the only value required)

    Returns
    -------
    ndarray of float, shape (N, (H - pool_size) // stride + 1, (W - pool_size) // stride + 1, C)
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    s = pool_size if stride is None else stride
    n, h, w, c = x.shape
    oh, ow = (h - pool_size) // s + 1, (w - pool_size) // s + 1
    out = np.full((n, oh, ow, c), -np.inf)
    # Visit each offset inside the window; a strided slice gives it for every window at once.
    for u in range(pool_size):
        for v in range(pool_size):
            out = np.maximum(out, x[:, u:u + s * (oh - 1) + 1:s, v:v + s * (ow - 1) + 1:s, :])
    return out
'''),
    Code('example', r'''x_small = np.array([[1.0, 2.0, 5.0, 6.0],
                    [3.0, 4.0, 7.0, 8.0],
                    [9.0, 1.0, 0.0, 2.0],
                    [1.0, 1.0, 4.0, 3.0]]).reshape(1, 4, 4, 1)'''),
    Part('test_max_pool_shape', 1, checks.check_max_pool2d, 'shape', 'max_pool2d',
         r'''
got = max_pool2d(np.ones((2, 6, 4, 3))).shape
assert got != (2, 5, 3, 3), "stride=None gave overlapping windows: stride=None means stride = pool_size"
assert got != (2, 3, 2, 1), "your function pools across the channels too; pool each channel separately"
assert got == (2, 3, 2, 3), f"2x2 windows halve H and W and keep the channels: (2, 3, 2, 3), got {got}"
got = max_pool2d(np.ones((1, 5, 5, 1)), pool_size=2).shape
assert got != (1, 3, 3, 1), "your function keeps partial windows at the edge; a window that does not fit is dropped"
assert got == (1, 2, 2, 1), f"the last row/column is dropped: (1, 2, 2, 1), got {got}"
got = max_pool2d(np.ones((1, 5, 5, 1)), pool_size=3, stride=1).shape
assert got == (1, 3, 3, 1), f"overlapping windows, pool 3, stride 1: (1, 3, 3, 1), got {got}"
'''),
    Part('test_max_pool_values', 2, checks.check_max_pool2d, 'values', 'max_pool2d',
         r'''
got = max_pool2d(x_small)
assert np.shape(got) == (1, 2, 2, 1), f"x_small is (1, 4, 4, 1): expected (1, 2, 2, 1), got {np.shape(got)}"
assert not np.allclose(got[0, :, :, 0], [[2.5, 6.5], [3.0, 2.25]]), (
    "your max_pool2d averages each window; max pooling takes the largest value")
np.testing.assert_allclose(got[0, :, :, 0], [[4.0, 8.0], [9.0, 4.0]], err_msg="the largest value of each 2x2 window")
two = np.concatenate([x_small, -x_small], axis=3)  # channel 1 = -channel 0
got = max_pool2d(two)
assert np.shape(got) == (1, 2, 2, 2), f"two channels in, two out: expected (1, 2, 2, 2), got {np.shape(got)}"
np.testing.assert_allclose(got[0, :, :, 1], [[-1.0, -5.0], [-1.0, 0.0]],
                           err_msg="each channel is pooled separately (here channel 1 = -channel 0)")
'''),
    Part('test_max_pool_edge', 1, checks.check_max_pool2d, 'edge_cases', 'max_pool2d',
         r'''np.testing.assert_allclose(max_pool2d(-np.ones((1, 2, 2, 1)))[0, 0, 0, 0], -1.0, err_msg="all-negative window")
'''),
    Solution(solutions.avg_pool2d,
             doc=r'''    """Average pooling over H and W of an NHWC batch; parameters and shapes as max_pool2d."""
''',
             body=r'''    x = np.asarray(x, dtype=float)
    s = pool_size if stride is None else stride
    n, h, w, c = x.shape
    oh, ow = (h - pool_size) // s + 1, (w - pool_size) // s + 1
    out = np.zeros((n, oh, ow, c))
    for u in range(pool_size):
        for v in range(pool_size):
            out += x[:, u:u + s * (oh - 1) + 1:s, v:v + s * (ow - 1) + 1:s, :]
    return out / pool_size ** 2
'''),
    Part('test_avg_pool_shape', 1, checks.check_avg_pool2d, 'shape', 'avg_pool2d',
         r'''
got = avg_pool2d(np.ones((2, 6, 4, 3))).shape
assert got != (2, 5, 3, 3), "stride=None gave overlapping windows: stride=None means stride = pool_size"
assert got == (2, 3, 2, 3), f"2x2 windows halve H and W: (2, 3, 2, 3), got {got}"
'''),
    Part('test_avg_pool_values', 2, checks.check_avg_pool2d, 'values', 'avg_pool2d',
         r'''
got = avg_pool2d(x_small)
assert np.shape(got) == (1, 2, 2, 1), f"x_small is (1, 4, 4, 1): expected (1, 2, 2, 1), got {np.shape(got)}"
assert not np.allclose(got[0, :, :, 0], [[10.0, 26.0], [12.0, 9.0]]), (
    "your avg_pool2d sums each window; divide by the number of cells (pool_size ** 2)")
assert not np.allclose(got[0, :, :, 0], [[4.0, 8.0], [9.0, 4.0]]), (
    "your avg_pool2d takes each window's maximum; average pooling takes the mean")
np.testing.assert_allclose(got[0, :, :, 0], [[2.5, 6.5], [3.0, 2.25]], err_msg="the mean of each 2x2 window")
'''),
    Part('test_avg_pool_edge', 1, checks.check_avg_pool2d, 'edge_cases', 'avg_pool2d',
         r'''np.testing.assert_allclose(avg_pool2d(x_small, pool_size=4)[0, 0, 0, 0], x_small.mean(), err_msg="one window")
'''),
), mistakes=(
    Mistake('max: stride defaults to 1', 'max_pool2d',
            (('s = pool_size if stride is None', 's = 1 if stride is None'),),
            'test_max_pool_shape', 'stride=None means stride = pool_size'),
    Mistake('max: partial windows kept', 'max_pool2d',
            (('oh, ow = (h - pool_size) // s + 1, (w - pool_size) // s + 1', 'oh, ow = -(-(h - pool_size) // s) + 1, -(-(w - pool_size) // s) + 1\n    x = np.pad(x, ((0, 0), (0, pool_size), (0, pool_size), (0, 0)), constant_values=-np.inf)'),),
            'test_max_pool_shape', 'keeps partial windows'),
    Mistake('max: pooled across channels', 'max_pool2d',
            (('return out', 'return out.max(axis=3, keepdims=True)'),),
            'test_max_pool_shape', 'across the channels'),
    Mistake('max: windows averaged', 'max_pool2d',
            (('np.full((n, oh, ow, c), -np.inf)', 'np.zeros((n, oh, ow, c))'), ('np.maximum(out, ', 'out + (1 / pool_size ** 2) * ('),),
            'test_max_pool_values', 'averages each window'),
    Mistake('avg: stride defaults to 1', 'avg_pool2d',
            (('s = pool_size if stride is None', 's = 1 if stride is None'),),
            'test_avg_pool_shape', 'stride=None means stride = pool_size'),
    Mistake('avg: windows summed', 'avg_pool2d',
            (('return out / pool_size ** 2', 'return out'),),
            'test_avg_pool_values', 'sums each window'),
    Mistake("avg: windows' maximum", 'avg_pool2d',
            (('out = np.zeros((n, oh, ow, c))', 'out = np.full((n, oh, ow, c), -np.inf)'), ('out += x[', 'out = np.maximum(out, x['), ('1:s, :]\n    return out / pool_size ** 2', '1:s, :])\n    return out'),),
            'test_avg_pool_values', "takes each window's maximum"),
))
