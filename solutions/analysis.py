"""Small computations that Part I chapters show and that tests re-check (so both use one definition).

* parameter counts of dense, locally connected and convolutional layers on the same image;
* zero-filled image shifts and the translation-equivariance gap of a convolution;
* a fixed bank of edge detectors, and how much its feature maps change when the input moves by a
  pixel, before and after pooling.
"""
from __future__ import annotations

import numpy as np

from .conv import conv2d, correlate2d, output_size
from .layers import relu
from .params import conv_param_count, dense_param_count

#: Sobel kernel for vertical edges (left column minus right column, centre row weighted twice).
SOBEL_X = np.array([[1.0, 0.0, -1.0],
                    [2.0, 0.0, -2.0],
                    [1.0, 0.0, -1.0]])


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


def shift(image, dy: int, dx: int, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Move ``image`` down by ``dy`` and right by ``dx`` pixels (negative: up/left).

    ``axes`` names the row and column axes: ``(0, 1)`` for (H, W, ...) images, ``(1, 2)`` for an
    NHWC batch. Pixels pushed out are dropped and the uncovered border is filled with zeros (no
    wrap-around).
    """
    image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(f"image must be at least 2-D, got shape {image.shape}")
    row_axis, col_axis = axes
    h, w = image.shape[row_axis], image.shape[col_axis]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"shift ({dy}, {dx}) is as large as the image ({h}, {w})")
    target = [slice(None)] * image.ndim
    source = [slice(None)] * image.ndim
    target[row_axis], source[row_axis] = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h - max(dy, 0))
    target[col_axis], source[col_axis] = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w - max(dx, 0))
    out = np.zeros_like(image)
    out[tuple(target)] = image[tuple(source)]
    return out


def equivariance_gap(image, kernel, dy: int, dx: int) -> float:
    """Largest difference between "shift, then filter" and "filter, then shift".

    Uses valid cross-correlation, as a conv layer does. Away from the border both sides are the same
    sums of the same pixels, and what the shift pushes out of the frame is dropped by both. They can
    differ only in the first ``dy`` rows and ``dx`` columns of the map, where the kernel on the
    shifted image overlaps the zero fill and the image's first ``kernel - 1`` rows or columns (for
    negative shifts: the last ones of each). So the gap is zero when those rows and columns of the
    image are blank, as in the margin of an MNIST digit.
    """
    filtered_shifted = correlate2d(shift(image, dy, dx), kernel, mode="valid")
    shifted_filtered = shift(correlate2d(image, kernel, mode="valid"), dy, dx)
    return float(np.abs(filtered_shifted - shifted_filtered).max())


def relative_change(before, after) -> float:
    """``||after - before|| / ||before||`` (Frobenius norms); 0 means unchanged."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if before.shape != after.shape:
        raise ValueError(f"arrays must have the same shape, got {before.shape} and {after.shape}")
    norm = np.linalg.norm(before)
    if norm == 0:
        raise ValueError("relative change is undefined for an all-zero reference array")
    return float(np.linalg.norm(after - before) / norm)


def edge_features(images) -> np.ndarray:
    """ReLU of four Sobel edge detectors on grey images (N, H, W, 1), same padding.

    Output channels respond to the left, top, right and bottom sides of bright strokes;
    shape (N, H, W, 4).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"images must be grey NHWC (N, H, W, 1), got shape {images.shape}")
    kernels = np.stack([SOBEL_X, SOBEL_X.T, -SOBEL_X, -SOBEL_X.T], axis=-1)[:, :, None, :]
    return relu(conv2d(images, kernels, padding="same"))
