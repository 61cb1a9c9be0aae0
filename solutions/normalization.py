"""Batch normalisation over the last (channel) axis, forward and backward, as Keras ``BatchNormalization``.

The statistics are taken over every axis but the last: over N for (N, C) activations of a dense
layer, over N, H and W for NHWC feature maps (one mean and variance per channel, shared by all
positions, like the channel's kernel).  Defaults follow Keras: ``momentum=0.99``, ``epsilon=1e-3``,
the biased batch variance both for normalising and for the running average.

Dtype rule as in :mod:`solutions.conv`: float64 unless every array argument is float32.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_float_arrays, check_nonempty


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def batch_norm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.99, epsilon=1e-3):
    """Normalise each channel, then scale by ``gamma`` and shift by ``beta``.

    ``y = gamma * (x - mu) / sqrt(var + epsilon) + beta`` where, per channel,

    * ``training=True``: ``mu`` and ``var`` are the mean and (biased) variance of the batch, and the
      running statistics move towards them:
      ``running = momentum * running + (1 - momentum) * batch_statistic``;
    * ``training=False`` (inference): ``mu = running_mean``, ``var = running_var``, and nothing is
      updated, so each example's output no longer depends on the rest of the batch.

    Parameters
    ----------
    x : array_like, shape (N, C) or (N, H, W, C) (any ndim >= 2, channels last)
    gamma, beta : array_like, shape (C,)   learned scale and shift
    running_mean, running_var : array_like, shape (C,)   not modified in place
    training : bool
    momentum : float in [0, 1]   weight of the old running value (Keras' convention, not PyTorch's)
    epsilon : float > 0

    Returns
    -------
    y : ndarray, shape of ``x``
    new_mean, new_var : ndarray, shape (C,)   the updated running statistics (copies of the old
        ones when ``training`` is False)
    cache : dict   what :func:`batch_norm_backward` needs
    """
    x, gamma, beta, running_mean, running_var = as_float_arrays(
        x, gamma, beta, running_mean, running_var, names=("x", "gamma", "beta", "running_mean", "running_var")
    )
    if x.ndim < 2:
        raise ValueError(f"x must have a batch axis and a channel axis (N, ..., C), got shape {x.shape}")
    check_nonempty(x, "x")
    channels = x.shape[-1]
    for arr, name in ((gamma, "gamma"), (beta, "beta"), (running_mean, "running_mean"), (running_var, "running_var")):
        if arr.shape != (channels,):
            raise ValueError(f"{name} must have shape (C,) = ({channels},), got {arr.shape}")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be True or False, got {training!r}")
    momentum, epsilon = _real(momentum, "momentum"), _real(epsilon, "epsilon")
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")

    axes = tuple(range(x.ndim - 1))
    if training:
        mu = x.mean(axis=axes)
        var = x.var(axis=axes)
        new_mean = momentum * running_mean + (1 - momentum) * mu
        new_var = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1 / np.sqrt(var + epsilon)
    x_hat = (x - mu) * inv_std
    y = gamma * x_hat + beta
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": bool(training)}
    return y, new_mean.astype(x.dtype), new_var.astype(x.dtype), cache


def batch_norm_backward(dout, cache):
    """Gradients of ``L = sum(y * dout)`` for ``y`` from :func:`batch_norm_forward`.

    Parameters
    ----------
    dout : array_like, shape of ``y``   upstream gradient dL/dy
    cache : dict returned by :func:`batch_norm_forward`

    Returns
    -------
    dx : ndarray, shape of ``x``
    dgamma, dbeta : ndarray, shape (C,)

    Notes
    -----
    In training mode the batch mean and variance depend on every element, so with ``M`` the number
    of values per channel, ``dx = gamma * inv_std / M * (M * dout - sum(dout) - x_hat * sum(dout * x_hat))``
    (sums per channel).  In inference mode they are constants and ``dx = gamma * inv_std * dout``.
    """
    if not isinstance(cache, dict) or not {"x_hat", "inv_std", "gamma", "training"} <= cache.keys():
        raise TypeError("cache must be the dict returned by batch_norm_forward")
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dout, x_hat = as_float_arrays(dout, x_hat, names=("dout", "x_hat"))
    if dout.shape != x_hat.shape:
        raise ValueError(f"dout must have the shape of the forward output {x_hat.shape}, got {dout.shape}")
    axes = tuple(range(dout.ndim - 1))
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    if not cache["training"]:
        return gamma * inv_std * dout, dgamma, dbeta
    m = dout.size // dout.shape[-1]
    dx = (gamma * inv_std / m) * (m * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
