"""Small computations that Part I chapters show and that tests re-check (so both use one definition).

* parameter counts of dense, locally connected and convolutional layers on the same image;
* zero-filled image shifts and the translation-equivariance gap of a convolution;
* how much of a feature map survives a one-pixel shift, before and after pooling.
"""
from __future__ import annotations

import numpy as np

from .conv import correlate2d, output_size
from .params import conv_param_count, dense_param_count


def locally_connected_param_count(height: int, width: int, kh: int, kw: int, c_in: int, c_out: int,
                                  bias: bool = True) -> int:
    """Parameters of a *locally connected* layer: a conv layer whose weights are not shared.

    Each of the ``out_h * out_w`` output positions (valid padding, stride 1) has its own
    ``kh*kw*c_in*c_out`` kernel and, with ``bias``, its own ``c_out`` biases — exactly
    ``out_h * out_w`` times the count of a convolutional layer with the same kernel shape.
    """
    out_h, out_w = output_size(height, kh), output_size(width, kw)
    return out_h * out_w * conv_param_count(kh, kw, c_in, c_out, bias=bias)


def layer_param_counts(height: int, width: int, channels: int, kernel: int = 3, filters: int = 32,
                       hidden_units: int = 64) -> dict[str, int]:
    """Parameter counts of four first layers for an ``height x width x channels`` image.

    Keys:
      ``dense``       a dense layer with ``hidden_units`` units on the flattened image;
      ``dense_same``  a dense layer with as many outputs as the conv layer (out_h*out_w*filters);
      ``local``       a locally connected layer (``kernel x kernel`` windows, no weight sharing);
      ``conv``        a convolutional layer (``filters`` kernels of ``kernel x kernel x channels``).
    All layers have biases; the conv-like layers use valid padding and stride 1.
    """
    n_in = height * width * channels
    n_out = output_size(height, kernel) * output_size(width, kernel) * filters
    return {
        "dense": dense_param_count(n_in, hidden_units),
        "dense_same": dense_param_count(n_in, n_out),
        "local": locally_connected_param_count(height, width, kernel, kernel, channels, filters),
        "conv": conv_param_count(kernel, kernel, channels, filters),
    }


def shift(image, dy: int, dx: int) -> np.ndarray:
    """Move ``image`` (H, W, ...) down by ``dy`` and right by ``dx`` pixels (negative: up/left).

    Pixels pushed out are dropped and the uncovered border is filled with zeros (no wrap-around).
    """
    image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(f"image must be at least 2-D (H, W, ...), got shape {image.shape}")
    h, w = image.shape[:2]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"shift ({dy}, {dx}) is as large as the image ({h}, {w})")
    out = np.zeros_like(image)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def equivariance_gap(image, kernel, dy: int, dx: int) -> float:
    """Largest difference between "shift, then filter" and "filter, then shift".

    Uses valid cross-correlation, as a conv layer does. Zero when the content that the shift moves
    out of the frame (and the border the kernel cannot reach) is zero, as for MNIST digits.
    """
    filtered_shifted = correlate2d(shift(image, dy, dx), kernel, mode="valid")
    shifted_filtered = shift(correlate2d(image, kernel, mode="valid"), dy, dx)
    return float(np.abs(filtered_shifted - shifted_filtered).max())


def fraction_unchanged(a, b, rtol: float = 0.0, atol: float = 1e-12) -> float:
    """Fraction of positions where two same-shaped arrays agree (``np.isclose``)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"arrays must have the same shape, got {a.shape} and {b.shape}")
    return float(np.isclose(a, b, rtol=rtol, atol=atol).mean())
