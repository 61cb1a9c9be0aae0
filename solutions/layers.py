"""Element-wise layers, the softmax classifier loss, dropout, and a numerical gradient checker.

Dtype rule as in :mod:`solutions.conv`: float64 unless every array argument is float32.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_float_arrays, check_ndim


def relu(x):
    """Rectified linear unit ``max(x, 0)``, element-wise; any shape in, same shape out."""
    (x,) = as_float_arrays(x, names=("x",))
    return np.maximum(x, 0)


def softmax(logits, axis=-1):
    """Softmax along ``axis``: ``exp(z_k) / sum_j exp(z_j)``; any shape in, same shape out.

    The maximum along ``axis`` is subtracted first, which leaves the result unchanged but keeps
    ``exp`` from overflowing for huge logits.
    """
    (z,) = as_float_arrays(logits, names=("logits",))
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _check_logits_labels(logits, labels):
    (z,) = as_float_arrays(logits, names=("logits",))
    check_ndim(z, 2, "logits", "N, K")
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({z.shape[0]},), got {labels.shape}")
    if z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must have at least one example and one class, got shape {z.shape}")
    if labels.min() < 0 or labels.max() >= z.shape[1]:
        raise ValueError(f"labels must lie in [0, {z.shape[1] - 1}], got values from {labels.min()} to {labels.max()}")
    return z, labels


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy ``-(1/N) sum_n log softmax(logits_n)[labels_n]``.

    Parameters
    ----------
    logits : array_like, shape (N, K)   unnormalised class scores
    labels : array_like of int, shape (N,)   true classes in ``[0, K)``

    Returns
    -------
    float
        Computed through log-sum-exp, so finite even for logits like 1e4 (where a naive
        ``log(softmax)`` gives ``log(0) = -inf``).
    """
    z, labels = _check_logits_labels(logits, labels)
    return float(-_log_softmax(z)[np.arange(z.shape[0]), labels].mean())


def softmax_cross_entropy(logits, labels):
    """:func:`cross_entropy` and its gradient in one pass.

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, K)
        ``(softmax(logits) - one_hot(labels)) / N``.
    """
    z, labels = _check_logits_labels(logits, labels)
    logp = _log_softmax(z)
    rows = np.arange(z.shape[0])
    dlogits = np.exp(logp)
    dlogits[rows, labels] -= 1
    return float(-logp[rows, labels].mean()), dlogits / z.shape[0]


def dropout(x, rate, rng=None, training=True):
    """Inverted dropout: zero each element with probability ``rate`` and scale the survivors.

    Parameters
    ----------
    x : array_like, any shape
    rate : float in [0, 1)   probability of dropping an element
    rng : numpy.random.Generator, int seed or None   source of randomness
    training : bool   when False (inference) the layer is the identity

    Returns
    -------
    y : ndarray, shape of ``x``   ``x * mask``
    mask : ndarray, shape of ``x``
        Already *includes* the scaling: entries are ``0`` or ``1 / (1 - rate)``, so the expected
        value of ``y`` equals ``x`` and nothing needs rescaling at inference.  All ones when
        ``training`` is False or ``rate == 0``.
    """
    (x,) = as_float_arrays(x, names=("x",))
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"rate must be a number in [0, 1), got {rate!r}")
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    if not training or rate == 0:
        mask = np.ones_like(x)
    else:
        rng = np.random.default_rng(rng)
        mask = (rng.random(x.shape) >= rate).astype(x.dtype) / x.dtype.type(1 - rate)
    return x * mask, mask


def dropout_backward(dout, mask):
    """Gradient of dropout: ``dout * mask`` (the mask returned by :func:`dropout`, scaling included)."""
    dout, mask = as_float_arrays(dout, mask, names=("dout", "mask"))
    if dout.shape != mask.shape:
        raise ValueError(f"dout shape {dout.shape} does not match mask shape {mask.shape}")
    return dout * mask


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference estimate of the gradient of a scalar function ``f`` at ``x``.

    ``grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)`` for every index ``i``: two calls of ``f`` per
    element, so use it on small arrays to *check* analytic gradients.

    Parameters
    ----------
    f : callable   ``f(x)`` returns a scalar; it may also ignore its argument and read ``x`` itself
    x : ndarray of floating dtype   nudged in place, one element at a time, and restored
    h : float > 0   step

    Returns
    -------
    ndarray, shape and dtype of ``x``.  ``x`` is left exactly as it was, even if ``f`` raises.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("x must be a floating-point NumPy array (it is perturbed in place and restored)")
    if not h > 0:
        raise ValueError(f"h must be positive, got {h}")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        try:
            x[idx] = saved + h
            up = float(f(x))
            x[idx] = saved - h
            down = float(f(x))
        finally:
            x[idx] = saved
        grad[idx] = (up - down) / (2 * h)
    return grad
