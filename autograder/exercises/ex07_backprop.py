"""Exercise 7: Backpropagation through convolution and pooling: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('07-backprop', (
    Markdown('intro', r'''# Exercise 7: Backpropagation through convolution and pooling

Given the upstream gradient `dout = dL/d(out)`, a layer's backward pass returns the gradients of
the loss with respect to its inputs and parameters. Arrays are NHWC, kernels HWIO, and the
forward pass is `out = conv2d(x, w, b, stride, padding)` (cross-correlation; `padding` is an int
or `"valid"`, which means 0).

* `conv2d_backward(dout, x, w, stride, padding)` returns `(dx, dw, db)`, shaped like `x`, `w`
  and `(Cout,)`. Every output pixel `(n, i, j, o)` used the window
  `xpad[n, i*s:i*s+KH, j*s:j*s+KW, :]` with weights `w[..., o]`, so it sends `dout[n, i, j, o]`
  back to both: `dw[..., o] += window * dout` and `dxpad[window] += w[..., o] * dout`.
* `max_pool2d_backward(dout, x, pool_size, stride)`: each window sends its gradient to the cell
  that held its maximum (on ties: the first in row-major order, as `np.argmax` picks); where
  windows overlap, a cell collects the sum.
* `numerical_gradient(f, x, h)`: the centred difference `(f(x + h e_i) - f(x - h e_i)) / (2h)`
  for every entry `i`, perturbing `x` in place and restoring it -- the standard way to check
  a backward pass.

Not allowed (0 points): TensorFlow (e.g. `GradientTape`), SciPy, `sliding_window_view` in
pooling. **Points**: 14.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Solution(solutions.conv2d_backward,
             doc=r'''    """Gradients of L = sum(conv2d(x, w, b, stride, padding) * dout).

    Parameters
    ----------
    dout : array_like, shape (N, OH, OW, Cout)
    x : array_like, shape (N, H, W, Cin)
    w : array_like, shape (KH, KW, Cin, Cout)
    stride : int >= 1
    padding : int >= 0, or "valid" (= 0)

    Returns
    -------
    dx : ndarray, shape (N, H, W, Cin)
    dw : ndarray, shape (KH, KW, Cin, Cout)
    db : ndarray, shape (Cout,)
    """
''',
             body=r'''    dout = np.asarray(dout, dtype=float)
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    n, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    _, oh, ow, _ = dout.shape
    p = 0 if padding == "valid" else padding
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + stride * (oh - 1) + 1, stride)
            cols = slice(v, v + stride * (ow - 1) + 1, stride)
            patch = xp[:, rows, cols, :]                                   # (N, OH, OW, Cin)
            dw[u, v] = np.tensordot(patch, dout, axes=([0, 1, 2], [0, 1, 2]))  # (Cin, Cout)
            dxp[:, rows, cols, :] += dout @ w[u, v].T                      # (N, OH, OW, Cin)
    db = dout.sum(axis=(0, 1, 2))
    return dxp[:, p:p + h, p:p + wd, :], dw, db
'''),
    Code('example', r'''
# A hand-checkable case: one 3x3 image, one 2x2 filter [[1, 2], [3, 4]], upstream gradient of ones.
x_small = np.arange(9.0).reshape(1, 3, 3, 1)
w_small = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
dout_small = np.ones((1, 2, 2, 1))'''),
    Part('test_conv_backward_shape', 1, checks.check_conv2d_backward, 'shape', 'conv2d_backward',
         r'''
dx, dw, db = conv2d_backward(np.ones((2, 3, 4, 5)), np.ones((2, 5, 6, 3)), np.ones((3, 3, 3, 5)))
got = (np.shape(dx), np.shape(dw), np.shape(db))
assert got == ((2, 5, 6, 3), (3, 3, 3, 5), (5,)), (
    f"expected dx like x (2, 5, 6, 3), dw like w (3, 3, 3, 5) and db (Cout,) = (5,); got {got}")
dx, dw, db = conv2d_backward(np.ones((1, 4, 4, 2)), np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 2)), padding=1)
assert np.shape(dx) == (1, 4, 4, 1), f"padding=1: dx is still shaped like x (1, 4, 4, 1), got {np.shape(dx)}"
'''),
    Part('test_conv_backward_dx', 2, checks.check_conv2d_backward, 'dx', 'conv2d_backward',
         r'''
# Each output pixel sends w back onto its window: dx[p] sums the kernel entries that touched pixel p.
dx, _, _ = conv2d_backward(dout_small, x_small, w_small)
assert not np.allclose(dx[0, :, :, 0], [[4, 7, 3], [6, 10, 4], [2, 3, 1]]), (
    "your dx uses the kernel the wrong way round: scatter w back as it is, dx[window] += w * dout[i, j] "
    "(or correlate the padded dout with the kernel flipped)")
np.testing.assert_allclose(dx[0, :, :, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]],
                           err_msg="dx for w = [[1, 2], [3, 4]] and dout of ones")
'''),
    Part('test_conv_backward_dw', 2, checks.check_conv2d_backward, 'dw', 'conv2d_backward',
         r'''
# dw[u, v] = sum of the input pixels that kernel entry (u, v) touched
_, dw, _ = conv2d_backward(dout_small, x_small, w_small)
assert not np.allclose(dw[:, :, 0, 0], [[24, 20], [12, 8]]), (
    "your dw comes out flipped: dw[u, v] = sum over positions of x[i*s + u, j*s + v] * dout[i, j]")
np.testing.assert_allclose(dw[:, :, 0, 0], [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5], [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]],
                           err_msg="dw for x = 0..8 and dout of ones")
# A batch of two: the loss sums over the batch, so dw sums over it too.
_, dw2, _ = conv2d_backward(np.ones((2, 2, 2, 3)), np.ones((2, 3, 3, 1)), np.ones((2, 2, 1, 3)))
assert not np.allclose(dw2, 4.0), "your dw is averaged over the batch; the gradient of a sum over the batch is the sum"
np.testing.assert_allclose(dw2, 8.0, err_msg="two images of ones, 4 windows each: every dw entry is 2 * 4 = 8")
'''),
    Part('test_conv_backward_db', 1, checks.check_conv2d_backward, 'db', 'conv2d_backward',
         r'''
_, _, db = conv2d_backward(dout_small, x_small, w_small)
np.testing.assert_allclose(db, [4.0], err_msg="db sums dout over N, OH and OW")
# A batch of two, three output channels.
_, _, db2 = conv2d_backward(np.ones((2, 2, 2, 3)), np.ones((2, 3, 3, 1)), np.ones((2, 2, 1, 3)))
assert not np.allclose(db2, 4.0), "your db is averaged over the batch; the gradient of a sum over the batch is the sum"
np.testing.assert_allclose(db2, [8.0, 8.0, 8.0], err_msg="db sums dout over N, OH and OW: 2 * 2 * 2 = 8 per channel")
'''),
    Part('test_conv_backward_edge', 1, checks.check_conv2d_backward, 'edge_cases', 'conv2d_backward',
         r'''
# Graded after submission: 1x1 kernels, kernels as large as the input, stride 3 with a 2x2 kernel and
# padding 1 with stride 2, on random arrays. Here: pixels in no window get no gradient, and padding is cut off.
dx, _, _ = conv2d_backward(np.ones((1, 2, 2, 1)), np.ones((1, 5, 5, 1)), np.ones((2, 2, 1, 1)), stride=3)
np.testing.assert_allclose(dx[0, :, :, 0], [[1, 1, 0, 1, 1], [1, 1, 0, 1, 1], [0, 0, 0, 0, 0], [1, 1, 0, 1, 1],
                                            [1, 1, 0, 1, 1]], err_msg="stride 3, a 2x2 kernel: row and column 2 are in no window")
dx, _, _ = conv2d_backward(np.ones((1, 3, 3, 1)), np.ones((1, 3, 3, 1)), np.ones((3, 3, 1, 1)), padding=1)
np.testing.assert_allclose(dx[0, :, :, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]],
                           err_msg="padding 1, a 3x3 kernel of ones: dx counts the windows that hold each real pixel")
'''),
    Solution(solutions.max_pool2d_backward,
             doc=r'''    """Gradient of sum(max_pool2d(x, pool_size, stride) * dout) with respect to x.

    Parameters
    ----------
    dout : array_like, shape (N, OH, OW, C)
    x : array_like, shape (N, H, W, C)   the input of the forward pass
    pool_size : int; stride : int or None (= pool_size); padding : "valid"

    Returns
    -------
    dx : ndarray, shape (N, H, W, C)
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    dout = np.asarray(dout, dtype=float)
    s = pool_size if stride is None else stride
    n, h, w, c = x.shape
    _, oh, ow, _ = dout.shape
    dx = np.zeros_like(x)
    batch, chan = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")  # (N, C) index grids
    for i in range(oh):
        for j in range(ow):
            window = x[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :]
            first = window.reshape(n, pool_size * pool_size, c).argmax(axis=1)  # (N, C), row-major
            u, v = np.unravel_index(first, (pool_size, pool_size))
            dx[batch, i * s + u, j * s + v, chan] += dout[:, i, j, :]
    return dx
'''),
    Part('test_pool_backward_shape', 1, checks.check_max_pool2d_backward, 'shape', 'max_pool2d_backward',
         r'''
got = np.shape(max_pool2d_backward(np.ones((1, 2, 2, 3)), np.ones((1, 4, 5, 3))))
assert got == (1, 4, 5, 3), f"dx has x's shape (1, 4, 5, 3), got {got}"
'''),
    Part('test_pool_backward_values', 2, checks.check_max_pool2d_backward, 'values', 'max_pool2d_backward',
         r'''
x4 = np.array([[1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0], [9.0, 1.0, 0.0, 2.0], [1.0, 1.0, 4.0, 3.0]]).reshape(1, 4, 4, 1)
dx = max_pool2d_backward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1), x4)
assert not np.allclose(dx[0, :, :, 0], np.kron([[0.25, 0.5], [0.75, 1.0]], np.ones((2, 2)))), (
    "your gradient is spread over the whole window (that is average pooling's); in max pooling only the cell "
    "that held the maximum receives dout")
np.testing.assert_allclose(dx[0, :, :, 0], [[0, 0, 0, 0], [0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 4, 0]],
                           err_msg="each window's dout goes to its maximum")
# Overlapping windows (pool 2, stride 1): the 5 in the middle is the maximum of all four windows.
x3 = np.array([[1.0, 2.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 3.0]]).reshape(1, 3, 3, 1)
dx = max_pool2d_backward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1), x3, pool_size=2, stride=1)
assert dx[0, 1, 1, 0] != 4.0, ("where windows overlap your function overwrites dx instead of adding to it; a cell "
                               "that is the maximum of several windows collects all their gradients (+=)")
np.testing.assert_allclose(dx[0, :, :, 0], [[0, 0, 0], [0, 10, 0], [0, 0, 0]],
                           err_msg="overlapping windows: the middle cell collects 1 + 2 + 3 + 4")
'''),
    Part('test_pool_backward_edge', 1, checks.check_max_pool2d_backward, 'edge_cases', 'max_pool2d_backward',
         r'''
got = max_pool2d_backward(np.ones((1, 1, 1, 1)), np.ones((1, 2, 2, 1)))[0, :, :, 0]
assert not np.allclose(got, 1.0), ("all four cells tie for the maximum and your function sends the gradient to all "
                                   "of them; send it to the first maximum only (row-major, as np.argmax picks)")
np.testing.assert_allclose(got, [[1, 0], [0, 0]], err_msg="ties: only the first maximum (row-major) gets the gradient")
'''),
    Solution(solutions.numerical_gradient,
             doc=r'''    """Centred-difference gradient of a scalar function f at x.

    Parameters
    ----------
    f : callable, f(x) -> float (it may also ignore its argument and read x directly)
    x : ndarray of float, any shape -- perturbed in place one entry at a time and restored
    h : float > 0

    Returns
    -------
    ndarray, shape of x: grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)
    """
''',
             body=r'''    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            up = float(f(x))
            x[idx] = old - h
            down = float(f(x))
        finally:
            x[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad
'''),
    Part('test_numerical_gradient_values', 2, checks.check_numerical_gradient, 'values', 'numerical_gradient',
         r'''
x = np.array([1.0, -2.0, 3.0])
before = x.copy()
grad = numerical_gradient(lambda v: np.sum(v ** 2), x)
np.testing.assert_array_equal(x, before, err_msg="numerical_gradient changed x: put each entry back after perturbing it")
assert not np.allclose(grad, 4 * before, rtol=1e-6), "your difference quotient divides by h instead of 2h"
assert not np.allclose(grad, before, rtol=1e-6), "your difference quotient divides by 4h (or by 2h twice)"
assert not np.allclose(grad, 2 * before + 1e-5, rtol=1e-6, atol=0), (
    "your function uses the one-sided difference (f(x + h) - f(x)) / h; use the centred (f(x + h) - f(x - h)) / (2h)")
np.testing.assert_allclose(grad, 2 * before, rtol=1e-6, err_msg="the gradient of sum(x**2) is 2x")
'''),
    Markdown('gradcheck_md', r'''## A gradient check

The cell below uses your `numerical_gradient` to check your `conv2d_backward` on a small random
problem: with `L = sum(conv2d(x, w) * dout)`, `dL/dw` must equal the `dw` you computed.'''),
    Part('test_gradient_check', 1, checks.check_numerical_gradient, 'edge_cases', 'numerical_gradient',
         r'''def conv_forward(x, w, stride=1, padding=0):
    """Plain-loop convolution layer used only to build the loss for the gradient check."""
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    kh, kw, _, cout = w.shape
    oh = (xp.shape[1] - kh) // stride + 1
    ow = (xp.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(window, w, axes=([1, 2, 3], [0, 1, 2]))
    return out

rng = np.random.default_rng(0)
xg, wg = rng.standard_normal((2, 5, 5, 2)), rng.standard_normal((3, 3, 2, 3))
doutg = rng.standard_normal((2, 2, 2, 3))
loss_w = lambda w_: np.sum(conv_forward(xg, w_, stride=2, padding=0) * doutg)
loss_x = lambda x_: np.sum(conv_forward(x_, wg, stride=2, padding=0) * doutg)
dxg, dwg, _ = conv2d_backward(doutg, xg, wg, stride=2, padding=0)
np.testing.assert_allclose(dwg, numerical_gradient(loss_w, wg.copy()), rtol=1e-5, atol=1e-7, err_msg="dw of conv2d_backward against numerical_gradient")
np.testing.assert_allclose(dxg, numerical_gradient(loss_x, xg.copy()), rtol=1e-5, atol=1e-7, err_msg="dx of conv2d_backward against numerical_gradient")
'''),
), mistakes=(
    Mistake('dx with the kernel turned around', 'conv2d_backward',
            (('dout @ w[u, v].T', 'dout @ w[kh - 1 - u, kw - 1 - v].T'),),
            'test_conv_backward_dx', 'wrong way round'),
    Mistake('dw flipped', 'conv2d_backward',
            (('], dw, db', '], dw[::-1, ::-1], db'),),
            'test_conv_backward_dw', 'comes out flipped'),
    Mistake('dw and db averaged over the batch', 'conv2d_backward',
            (('db = dout.sum(axis=(0, 1, 2))', 'db = dout.sum(axis=(0, 1, 2)) / n'), ('], dw, db', '], dw / n, db'),),
            'test_conv_backward_db', 'averaged over the batch'),
    Mistake('dx and dw swapped', 'conv2d_backward',
            (('return dxp[:, p:p + h, p:p + wd, :], dw, db', 'return dw, dxp[:, p:p + h, p:p + wd, :], db'),),
            'test_conv_backward_shape', 'expected dx like x'),
    Mistake('pool: gradient spread over the window', 'max_pool2d_backward',
            (('dx[batch, i * s + u, j * s + v, chan] += dout[:, i, j, :]', 'dx[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :] += dout[:, i:i + 1, j:j + 1, :] / pool_size ** 2'),),
            'test_pool_backward_values', 'spread over the whole window'),
    Mistake('pool: overlapping windows overwrite', 'max_pool2d_backward',
            (('chan] += dout[:, i, j, :]', 'chan] = dout[:, i, j, :]'),),
            'test_pool_backward_values', 'overwrites dx'),
    Mistake('pool: every tied maximum', 'max_pool2d_backward',
            (('dx[batch, i * s + u, j * s + v, chan] += dout[:, i, j, :]', 'dx[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :] += (\n                (window == window.max(axis=(1, 2), keepdims=True)) * dout[:, i:i + 1, j:j + 1, :])'),),
            'test_pool_backward_edge', 'tie for the maximum'),
    Mistake('numerical gradient: divides by h', 'numerical_gradient',
            (('/ (2 * h)', '/ h'),),
            'test_numerical_gradient_values', 'divides by h instead of 2h'),
    Mistake('numerical gradient: one-sided', 'numerical_gradient',
            (('x[idx] = old - h\n', 'x[idx] = old\n'), ('/ (2 * h)', '/ h'),),
            'test_numerical_gradient_values', 'one-sided difference'),
    Mistake('numerical gradient: x not restored', 'numerical_gradient',
            (('        finally:\n            x[idx] = old\n', '        finally:\n            pass\n'),),
            'test_numerical_gradient_values', 'changed x'),
))
