"""Convolution in 1-D, 2-D and with batches and channels (NHWC activations, HWIO kernels).

Two families live here:

* signal-processing convolutions, which flip the kernel and match NumPy/SciPy exactly:
  :func:`conv1d`, :func:`correlate1d` (``np.convolve`` / ``np.correlate``) and
  :func:`convolve2d`, :func:`correlate2d` (``scipy.signal.convolve2d`` / ``correlate2d`` with
  zero fill);
* the deep-learning layer :func:`conv2d`, which -- like every framework -- computes a
  cross-correlation (no flip) over a batch with input and output channels, plus its gradient
  :func:`conv2d_backward` and the building blocks :func:`im2col` / :func:`col2im`.

Dtype rule (all functions except :func:`zero_pad`): inputs are converted to float64, unless every
array argument is float32, in which case the result is float32.
"""
from __future__ import annotations

import functools
import queue
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ._validate import (
    as_float_arrays,
    check_ndim,
    check_nonempty,
    nonnegative_int,
    pair,
    positive_int,
    resolve_padding,
    window_output_shape,
)

MODES = ("full", "same", "valid")


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode must be one of 'full', 'same', 'valid'; got {mode!r}")


# --------------------------------------------------------------------------------------------------
# Signal-processing convolutions
# --------------------------------------------------------------------------------------------------


def conv1d(x, w, mode="full"):
    """True 1-D convolution ``(x * w)[n] = sum_k x[k] w[n - k]``, identical to ``np.convolve(x, w, mode)``.

    Parameters
    ----------
    x : array_like, shape (n,)
    w : array_like, shape (m,)
    mode : {"full", "same", "valid"}
        ``"full"``: every overlap, length ``n + m - 1``; ``"same"``: length ``max(n, m)``, centred on
        the full result; ``"valid"``: only complete overlaps, length ``max(n, m) - min(n, m) + 1``.

    Returns
    -------
    ndarray, shape as described for ``mode``.

    Notes
    -----
    Convolution is commutative, so when ``w`` is longer than ``x`` the two are swapped -- exactly what
    NumPy does -- and ``"same"``/``"valid"`` are measured against the longer array.
    """
    _check_mode(mode)
    x, w = as_float_arrays(x, w, names=("x", "w"))
    check_ndim(x, 1, "x")
    check_ndim(w, 1, "w")
    check_nonempty(x, "x")
    check_nonempty(w, "w")
    if w.size > x.size:
        x, w = w, x
    m = w.size
    if mode == "full":
        lo = hi = m - 1
    elif mode == "same":
        lo = (m - 1) // 2  # output[i] = full[i + (m - 1) // 2], as NumPy centres it
        lo, hi = m - 1 - lo, lo
    else:
        lo = hi = 0
    xp = np.pad(x, (lo, hi))
    # Each row of the window view is one overlap; the flip turns correlation into convolution.
    return sliding_window_view(xp, m) @ w[::-1]


def correlate1d(x, w, mode="valid"):
    """1-D cross-correlation ``c[k] = sum_n x[n + k] w[n]``, identical to ``np.correlate(x, w, mode)``.

    Same shapes as :func:`conv1d`: it is :func:`conv1d` with ``w`` reversed.  When ``w`` is longer
    than ``x``, NumPy correlates ``w`` with ``x`` and reads the result backwards (which changes the
    ``"same"`` centring for even lengths); this function does the same.
    """
    _check_mode(mode)
    x, w = np.asarray(x), np.asarray(w)
    check_ndim(x, 1, "x")
    check_ndim(w, 1, "w")
    if w.size > x.size:
        return conv1d(w, x[::-1], mode)[::-1]
    return conv1d(x, w[::-1], mode)


def _slide2d(image, kernel, mode, same_start):
    """Cross-correlate 2-D ``image`` with ``kernel`` on the grid of ``mode`` (zero fill).

    ``same_start`` = (row, col) offset of the ``"same"`` output inside the ``"full"`` one.
    """
    kh, kw = kernel.shape
    if mode == "full":
        pads = ((kh - 1, kh - 1), (kw - 1, kw - 1))
    elif mode == "same":
        # same[i] = full[i + start]; full pads k - 1 on the leading side, so pad k - 1 - start there.
        pads = tuple((k - 1 - s, s) for k, s in zip((kh, kw), same_start))
    else:
        pads = ((0, 0), (0, 0))
    padded = np.pad(image, pads)
    windows = sliding_window_view(padded, (kh, kw))  # (OH, OW, kh, kw), a view: no copy
    return np.tensordot(windows, kernel, axes=2)


def _check_2d_pair(image, kernel, mode):
    _check_mode(mode)
    image, kernel = as_float_arrays(image, kernel, names=("image", "kernel"))
    check_ndim(image, 2, "image")
    check_ndim(kernel, 2, "kernel")
    check_nonempty(image, "image")
    check_nonempty(kernel, "kernel")
    swap = False
    if mode == "valid":
        fits = all(k <= i for k, i in zip(kernel.shape, image.shape))
        covers = all(k >= i for k, i in zip(kernel.shape, image.shape))
        if not (fits or covers):
            raise ValueError(
                f"for mode='valid' one of image {image.shape} and kernel {kernel.shape} must be at "
                "least as large as the other in every dimension"
            )
        swap = not fits
    return image, kernel, swap


def convolve2d(image, kernel, mode="full"):
    """True 2-D convolution (kernel flipped in both axes), zero outside the image.

    Equal to ``scipy.signal.convolve2d(image, kernel, mode, boundary="fill", fillvalue=0)``.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (KH, KW)
    mode : {"full", "same", "valid"}
        Output shape ``(H + KH - 1, W + KW - 1)``, ``(H, W)`` or ``(H - KH + 1, W - KW + 1)``.
        For ``"valid"``, if the kernel is at least as large as the image in both axes the two are
        swapped (as SciPy does, convolution being commutative).

    Returns
    -------
    ndarray, shape as described for ``mode``.
    """
    image, kernel, swap = _check_2d_pair(image, kernel, mode)
    if swap:
        image, kernel = kernel, image
    kh, kw = kernel.shape
    return _slide2d(image, kernel[::-1, ::-1], mode, ((kh - 1) // 2, (kw - 1) // 2))


def conv2d_single(image, kernel, stride=1, padding=0):
    """Strided, zero-padded 2-D cross-correlation of one single-channel image (exercise 04).

    image : (H, W), kernel : (KH, KW), stride : int >= 1, padding : int >= 0 (zeros on every side).
    Returns (OH, OW) with OH = (H + 2 padding - KH) // stride + 1 (same for W): ``conv2d`` on a
    batch of one image with one channel and one filter.
    """
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    for name, arr in (("image", image), ("kernel", kernel)):
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (one single-channel image / kernel), got shape {arr.shape}")
    return conv2d(image[None, :, :, None], kernel[:, :, None, None], stride=stride, padding=padding)[0, :, :, 0]


def correlate2d(image, kernel, mode="valid"):
    """2-D cross-correlation ``c[i, j] = sum_{u,v} image[i + u, j + v] kernel[u, v]``, zero fill.

    Equal to ``scipy.signal.correlate2d(image, kernel, mode, boundary="fill", fillvalue=0)``,
    including SciPy's centring of ``"same"`` for even kernels (offset ``KH // 2``, ``KW // 2`` into the
    full result) and its swap for ``"valid"`` when the kernel covers the image.

    Parameters and shapes as :func:`convolve2d`.
    """
    image, kernel, swap = _check_2d_pair(image, kernel, mode)
    if swap:
        # correlate(k, x) read backwards == correlate(x, k) for the larger k; this is what SciPy does.
        return _slide2d(kernel, image, mode, (0, 0))[::-1, ::-1]
    kh, kw = kernel.shape
    return _slide2d(image, kernel, mode, (kh // 2, kw // 2))


# --------------------------------------------------------------------------------------------------
# Deep-learning convolution layer (batch, channels, stride, padding)
# --------------------------------------------------------------------------------------------------


def output_size(n, f, padding=0, stride=1):
    """Number of positions of a size-``f`` window on a length-``n`` input: ``floor((n + 2p - f) / s) + 1``.

    Parameters
    ----------
    n : int >= 1      input length (height or width)
    f : int >= 1      kernel (or pooling window) length
    padding : int >= 0   zeros added on *each* side
    stride : int >= 1

    Raises ``ValueError`` when the window does not fit in the padded input (result < 1), and
    ``TypeError``/``ValueError`` for non-integer or out-of-range arguments.
    """
    n = positive_int(n, "n")
    f = positive_int(f, "f")
    padding = nonnegative_int(padding, "padding")
    stride = positive_int(stride, "stride")
    if f > n + 2 * padding:
        raise ValueError(
            f"kernel size {f} is larger than the padded input size {n + 2 * padding} "
            f"(n={n}, padding={padding})"
        )
    return (n + 2 * padding - f) // stride + 1


def zero_pad(x, pad):
    """Add ``pad`` zero rows/columns on both sides of H and W of an NHWC batch (dtype kept).

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    pad : int or (ph, pw)
        Rows added above *and* below (``ph``), columns left *and* right (``pw``).

    Returns
    -------
    ndarray, shape (N, H + 2 ph, W + 2 pw, C)
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real numeric array, got dtype {x.dtype}")
    check_ndim(x, 4, "x", "N, H, W, C")
    ph, pw = pair(pad, "pad", check=nonnegative_int)
    return np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))


def _pad_hw(x, pads):
    """Zero-pad H and W of an NHWC array by ((top, bottom), (left, right)); no copy when all zero."""
    (t, b), (l, r) = pads
    if t == b == l == r == 0:
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))


def _window_view(xp, kh, kw, sh, sw, oh, ow):
    """Read-only view of shape (N, OH, OW, KH, KW, C): element [n, i, j, u, v, c] = xp[n, i*sh+u, j*sw+v, c]."""
    sn, sy, sx, sc = xp.strides
    shape = (xp.shape[0], oh, ow, kh, kw, xp.shape[3])
    return as_strided(xp, shape, (sn, sy * sh, sx * sw, sy, sx, sc), writeable=False)


def _geometry(x_shape, kh, kw, stride, padding, what="kernel"):
    """Validate stride/padding for an NHWC input; return ((sh, sw), pads, (oh, ow))."""
    sh, sw = pair(stride, "stride")
    pads = resolve_padding(padding, x_shape[1:3], (kh, kw), (sh, sw))
    oh, ow = window_output_shape(x_shape[1:3], (kh, kw), (sh, sw), pads, what)
    return (sh, sw), pads, (oh, ow)


def _check_x(x):
    check_ndim(x, 4, "x", "N, H, W, C")
    check_nonempty(x, "x")


def im2col(x, kh, kw, stride=1, padding="valid"):
    """Unfold every receptive field of an NHWC batch into one row of a matrix.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    kh, kw : int    kernel height and width
    stride : int or (sh, sw)
    padding : "valid", "same", int or (ph, pw)   (as :func:`conv2d`)

    Returns
    -------
    ndarray, shape (N * OH * OW, KH * KW * C)
        Row ``(n * OH + i) * OW + j`` holds the patch feeding output pixel ``(n, i, j)``; column
        ``(u * KW + v) * C + c`` holds padded-input element ``(n, i * sh + u, j * sw + v, c)``.  This is
        the C order of an HWIO kernel, so ``im2col(x, ...) @ w.reshape(-1, Cout)`` is the convolution.
    """
    (x,) = as_float_arrays(x, names=("x",))
    _check_x(x)
    kh, kw = positive_int(kh, "kh"), positive_int(kw, "kw")
    (sh, sw), pads, (oh, ow) = _geometry(x.shape, kh, kw, stride, padding)
    windows = _window_view(_pad_hw(x, pads), kh, kw, sh, sw, oh, ow)
    return windows.reshape(x.shape[0] * oh * ow, kh * kw * x.shape[3])  # the one copy


def col2im(cols, x_shape, kh, kw, stride=1, padding="valid"):
    """Adjoint of :func:`im2col`: add every row's entries back onto the input pixels they came from.

    Parameters
    ----------
    cols : array_like, shape (N * OH * OW, KH * KW * C)   layout as returned by :func:`im2col`
    x_shape : (N, H, W, C)   shape of the input that was unfolded
    kh, kw, stride, padding : as passed to :func:`im2col`

    Returns
    -------
    ndarray, shape ``x_shape``
        Pixels covered by several (overlapping) windows receive the sum of their entries; entries
        that fell on padding are dropped.  Satisfies ``<im2col(x), c> == <x, col2im(c)>``.
    """
    (cols,) = as_float_arrays(cols, names=("cols",))
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, H, W, C), got {tuple(x_shape)}")
    n, h, w, c = (positive_int(v, "x_shape entry") for v in x_shape)
    kh, kw = positive_int(kh, "kh"), positive_int(kw, "kw")
    (sh, sw), pads, (oh, ow) = _geometry((n, h, w, c), kh, kw, stride, padding)
    expected = (n * oh * ow, kh * kw * c)
    if cols.shape != expected:
        raise ValueError(f"cols must have shape {expected} for x_shape {tuple(x_shape)}, got {cols.shape}")
    return _col2im(cols.reshape(n, oh, ow, kh, kw, c), (n, h, w, c), (sh, sw), pads)


def _col2im(patches, x_shape, stride, pads):
    """patches (N, OH, OW, KH, KW, C) -> (N, H, W, C), summing overlaps; one strided add per kernel offset."""
    _, oh, ow, kh, kw, _ = patches.shape

    def piece(u, v):
        return patches[:, :, :, u, v, :]

    return _scatter_offsets(piece, x_shape, (kh, kw), (oh, ow), stride, pads, patches.dtype)


def _scatter_offsets(piece, x_shape, kernel_hw, out_hw, stride, pads, dtype):
    """Sum ``piece(u, v)`` (N, OH, OW, C) onto the input pixels that kernel offset (u, v) reads; crop padding."""
    (kh, kw), (oh, ow), (sh, sw) = kernel_hw, out_hw, stride
    (t, b), (l, r) = pads
    n, h, w, c = x_shape
    out = np.zeros((n, h + t + b, w + l + r, c), dtype=dtype)
    for u in range(kh):
        for v in range(kw):
            out[:, u : u + sh * (oh - 1) + 1 : sh, v : v + sw * (ow - 1) + 1 : sw, :] += piece(u, v)
    return out[:, t : t + h, l : l + w, :]


# Products whose inner and output widths multiply to at most _THIN (e.g. 3x3 kernels on one input
# channel) are memory-bound: BLAS threads cannot speed them up, and on a busy machine OpenBLAS's
# threads make them many times slower (measured with solutions.benchmark).  They are computed in row
# blocks of about _BLOCK_WORK multiply-adds, below the size at which OpenBLAS starts threads.
_THIN = 4096
_BLOCK_WORK = 2**17


def _block_rows(m, k, p):
    """Rows per block for a thin (M, K) @ (K, P) product, or 0 to use a single product."""
    if k * p > _THIN:
        return 0
    rows = max(16, _BLOCK_WORK // (k * p))
    return rows if m >= 2 * rows else 0


def _matmul(a, b, out=None):
    """``a @ b`` for a tall ``a`` (M, K) and a small ``b`` (K, P), written into ``out`` (M, P) if given."""
    (m, k), p = a.shape, b.shape[1]
    if out is None:
        out = np.empty((m, p), dtype=np.result_type(a, b))
    rows = _block_rows(m, k, p)
    if not rows:
        return np.matmul(a, b, out=out)
    split = m - m % rows
    np.matmul(a[:split].reshape(-1, rows, k), b, out=out[:split].reshape(-1, rows, p))
    np.matmul(a[split:], b, out=out[split:])
    return out


def _matmul_tn(a, b):
    """``a.T @ b`` for tall ``a`` (M, K) and ``b`` (M, P): a sum over M, done blockwise when thin."""
    (m, k), p = a.shape, b.shape[1]
    rows = _block_rows(m, k, p)
    if not rows:
        # (b.T @ a).T is the same product; on 1024 x 288 patches and 64 filters OpenBLAS took half
        # the time of a.T @ b for it (median on the busy development machine; the fastest runs tie)
        return (b.T @ a).T
    split = m - m % rows
    blocks = np.matmul(a[:split].reshape(-1, rows, k).transpose(0, 2, 1), b[:split].reshape(-1, rows, p))
    return blocks.sum(axis=0) + a[split:].T @ b[split:]


# The patch matrix of a whole batch is many times the size of the CPU cache (75 MiB for 64 CIFAR-sized
# images with 32 channels).  Building it a few images at a time into a reused buffer of about
# _CHUNK_BYTES keeps each piece in cache between its copy and its product, which is faster than one
# big product (measured with solutions.benchmark).
_CHUNK_BYTES = 2**21


@functools.cache
def _blas():
    """threadpoolctl's handle on the BLAS libraries in the process (made once: it scans them all)."""
    return threadpoolctl.ThreadpoolController().select(user_api="blas")


def _blas_threads() -> int:
    """How many threads NumPy's BLAS is set to use; 1 in a browser's Pyodide, which has no threads."""
    if sys.platform == "emscripten":
        return 1
    return max((pool["num_threads"] for pool in _blas().info()), default=1)


# The BLAS thread count is one setting for the whole process: one parallel section changes it at a time.
_BLAS_SETTING = threading.Lock()


def _place(n_src, n_canvas, offset):
    """Slices ``(canvas, source)`` that put ``source[i]`` at ``canvas[offset + i]``, dropping what falls outside."""
    first = max(0, -offset)
    last = max(first, min(n_src, n_canvas - offset))
    return slice(offset + first, offset + last), slice(first, last)


def _map_chunks(work, a, canvas_hw, origin, kernel_hw, stride, out_hw, threaded=True):
    """``[work(lo, hi, cols) for each chunk]``, over the im2col of ``a`` on a zero canvas.

    ``a`` (N, Ha, Wa, C) goes at rows/columns ``origin`` = (top, left) of a zero canvas of shape
    (N, *canvas_hw, C) -- ``top, left >= 0`` is zero padding, negative values crop ``a``.  The chunks
    are consecutive image ranges ``lo:hi``; ``cols`` (``(hi - lo) * OH * OW``, ``KH * KW * C``) has
    the layout of :func:`im2col` and is reused once ``work`` returns.  Returns the results in
    chunk order.

    With ``threaded``, the chunks are handed out, as threads become free, to as many threads as
    NumPy's BLAS is set to use, each calling BLAS single-threaded.  On a busy machine a product split
    across BLAS's own threads waits for the slowest of them, on every one of the many small products;
    here a thread that is held up just takes fewer chunks.  Thin layers' products are memory-bound
    (see ``_THIN``) and gain nothing from threads: they run in the calling thread.
    """
    (kh, kw), (sh, sw), (oh, ow) = kernel_hw, stride, out_hw
    n, c = a.shape[0], a.shape[3]
    rows_hi, src_rows = _place(a.shape[1], canvas_hw[0], origin[0])
    cols_hi, src_cols = _place(a.shape[2], canvas_hw[1], origin[1])
    per = max(1, min(n, _CHUNK_BYTES // (oh * ow * kh * kw * c * a.itemsize)))
    starts = range(0, n, per)
    todo = queue.SimpleQueue()
    for i in range(len(starts)):
        todo.put(i)
    results = [None] * len(starts)

    def worker():
        canvas = np.zeros((per, *canvas_hw, c), dtype=a.dtype)  # only the placed region is ever rewritten
        buffer = np.empty((per * oh * ow, kh * kw * c), dtype=a.dtype)
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            lo, hi = starts[i], min(n, starts[i] + per)
            canvas[: hi - lo, rows_hi, cols_hi] = a[lo:hi, src_rows, src_cols]
            cols = buffer[: (hi - lo) * oh * ow]
            np.copyto(cols.reshape(hi - lo, oh, ow, kh, kw, c), _window_view(canvas[: hi - lo], kh, kw, sh, sw, oh, ow))
            results[i] = work(lo, hi, cols)

    threads = min(len(starts), _blas_threads()) if threaded else 1
    if threads == 1:
        worker()  # one chunk (or one BLAS thread): BLAS keeps its own threads for the product
    else:
        with _BLAS_SETTING, _blas().limit(limits=1), ThreadPoolExecutor(threads) as pool:
            for done in [pool.submit(worker) for _ in range(threads)]:
                done.result()
    return results


def _check_conv_args(x, w, b=None):
    _check_x(x)
    check_ndim(w, 4, "w", "KH, KW, Cin, Cout")
    check_nonempty(w, "w")
    if x.shape[3] != w.shape[2]:
        raise ValueError(
            f"channel mismatch: x has {x.shape[3]} channels (last axis) but w expects "
            f"Cin={w.shape[2]} (w.shape[2])"
        )
    if b is not None and b.shape != (w.shape[3],):
        raise ValueError(f"b must have shape (Cout,) = ({w.shape[3]},), got {b.shape}")


def conv2d(x, w, b=None, stride=1, padding="valid"):
    """Convolution layer forward pass (cross-correlation, as in Keras/TensorFlow/PyTorch).

    ``out[n, i, j, o] = b[o] + sum_{u, v, c} xp[n, i*sh + u, j*sw + v, c] * w[u, v, c, o]``
    where ``xp`` is ``x`` zero-padded.  Equal to ``tf.nn.conv2d(x, w, strides, padding) + b``.

    Parameters
    ----------
    x : array_like, shape (N, H, W, Cin)
    w : array_like, shape (KH, KW, Cin, Cout)
    b : array_like, shape (Cout,), optional
    stride : int or (sh, sw)
    padding : "valid" (none), "same" (TensorFlow rule, output ``ceil(H / sh)`` by ``ceil(W / sw)``,
        odd extra row/column at the bottom/right), int ``p`` or ``(ph, pw)`` (symmetric zeros).

    Returns
    -------
    ndarray, shape (N, OH, OW, Cout) with ``OH = (H + pad_top + pad_bottom - KH) // sh + 1`` (same for W).
    """
    arrays = (x, w) if b is None else (x, w, b)
    names = ("x", "w", "b")[: len(arrays)]
    x, w, *rest = as_float_arrays(*arrays, names=names)
    b = rest[0] if rest else None
    _check_conv_args(x, w, b)
    kh, kw, cin, cout = w.shape
    (sh, sw), pads, (oh, ow) = _geometry(x.shape, kh, kw, stride, padding)
    (top, bottom), (left, right) = pads
    out = np.empty((x.shape[0], oh, ow, cout), dtype=x.dtype)
    w2 = w.reshape(-1, cout)
    canvas_hw = (x.shape[1] + top + bottom, x.shape[2] + left + right)

    def product(lo, hi, cols):
        _matmul(cols, w2, out=out[lo:hi].reshape(-1, cout))

    _map_chunks(product, x, canvas_hw, (top, left), (kh, kw), (sh, sw), (oh, ow), kh * kw * cin * cout > _THIN)
    if b is not None:
        out += b
    return out


def conv2d_backward(dout, x, w, stride=1, padding="valid"):
    """Gradients of ``L = sum(conv2d(x, w, b, stride, padding) * dout)``.

    Parameters
    ----------
    dout : array_like, shape (N, OH, OW, Cout)   upstream gradient dL/d(out)
    x, w, stride, padding : as given to :func:`conv2d`

    Returns
    -------
    dx : ndarray, shape (N, H, W, Cin)
    dw : ndarray, shape (KH, KW, Cin, Cout)
    db : ndarray, shape (Cout,)
        The bias gradient (sum of ``dout`` over N, OH, OW); it does not depend on whether a bias
        was used.
    """
    dout, x, w = as_float_arrays(dout, x, w, names=("dout", "x", "w"))
    _check_conv_args(x, w)
    kh, kw, cin, cout = w.shape
    (sh, sw), pads, (oh, ow) = _geometry(x.shape, kh, kw, stride, padding)
    expected = (x.shape[0], oh, ow, cout)
    if dout.shape != expected:
        raise ValueError(f"dout must have the output shape {expected}, got {dout.shape}")
    n, h, wd, _ = x.shape
    (t, b), (l, r) = pads
    d2 = dout.reshape(-1, cout)
    db = d2.sum(axis=0)

    def kernel_gradient(lo, hi, cols):
        return _matmul_tn(cols, d2[lo * oh * ow : hi * oh * ow])

    wide = kh * kw * cin * cout > _THIN
    parts = _map_chunks(kernel_gradient, x, (h + t + b, wd + l + r), (t, l), (kh, kw), (sh, sw), (oh, ow), wide)
    dw = np.sum(parts, axis=0).reshape(w.shape)  # summed in chunk order, whichever thread made them
    if not wide:
        # Patch gradients in one product, added back onto the input by col2im.
        dpatches = _matmul(d2, w.reshape(-1, cout).T).reshape(n, oh, ow, kh, kw, cin)
        dx = _col2im(dpatches, x.shape, (sh, sw), pads)
    elif (sh, sw) == (1, 1):
        # dx[n, i, j, c] = sum_{u, v, o} dout[n, i + t - u, j + l - v, o] w[u, v, c, o]: the correlation
        # of dout, padded by KH - 1 - t above (KW - 1 - l left), with the kernel flipped in H and W and
        # its channel axes swapped -- one chunked product, like the forward pass.
        w_flip = w[::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, cin)
        dx = np.empty(x.shape, dtype=x.dtype)
        canvas_hw = (h + kh - 1, wd + kw - 1)

        def input_gradient(lo, hi, cols):
            _matmul(cols, w_flip, out=dx[lo:hi].reshape(-1, cin))

        _map_chunks(input_gradient, dout, canvas_hw, (kh - 1 - t, kw - 1 - l), (kh, kw), (1, 1), (h, wd))
    else:
        # Strided wide layers: the correlation above would multiply the zeros between the strided
        # entries of dout; add one product per kernel offset onto the pixels that offset reads instead.
        def piece(u, v):
            return _matmul(d2, w[u, v].T).reshape(n, oh, ow, cin)

        dx = _scatter_offsets(piece, x.shape, (kh, kw), (oh, ow), (sh, sw), pads, dout.dtype)
    return dx, dw, db
