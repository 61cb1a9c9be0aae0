"""Matplotlib helpers shared by the chapters (grids of images, feature maps, kernel diagrams).

Every function returns the figure (or axes / animation) it draws so that a chapter can caption it,
glue it or test it. Call :func:`use_book_style` once per notebook: it gives figures a white
background so they stay readable when the book is shown in dark mode.
"""
from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.colors import LogNorm
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

BOOK_STYLE = {
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "figure.dpi": 100,
    "image.interpolation": "nearest",  # show pixels as pixels, not smoothed blobs
    "axes.titlesize": "medium",
}


def use_book_style() -> None:
    """Apply the course's matplotlib settings (white backgrounds, unsmoothed pixels)."""
    plt.rcParams.update(BOOK_STYLE)


def figure_to_png(fig, dpi: float | None = None) -> bytes:
    """Render ``fig`` to PNG bytes and close it.

    For widgets: an ``ipywidgets.Image(value=figure_to_png(fig))`` shows a figure without going
    through an ``Output`` widget, and its saved state keeps the picture in the static book.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _as_2d_list(images) -> list[np.ndarray]:
    """Accept a sequence of 2-D/RGB images or one stacked array (N, H, W[, C]); return a list."""
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {images.shape}")
        return list(images)
    images = [np.asarray(im) for im in images]
    for im in images:
        if im.ndim not in (2, 3):
            raise ValueError(f"each image must be (H, W) or (H, W, C), got shape {im.shape}")
    return images


def _bare_axes(ax, title: str | None) -> None:
    """An image panel: no ticks, and the title when one is given."""
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)


def _grid(n: int, ncols: int | None, size: float):
    if n == 0:
        raise ValueError("nothing to show: got an empty list of images")
    ncols = min(n, ncols or n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def show_images(images, titles: Sequence[str] | None = None, ncols: int | None = None,
                cmap: str = "gray", size: float = 2.0, vmin=None, vmax=None):
    """Show images side by side (wrapping after ``ncols``), without axes ticks.

    ``images``: sequence of (H, W) or (H, W, 3) arrays, or an array (N, H, W[, 3]).
    Grey images use ``cmap``; ``vmin``/``vmax`` fix the grey scale (default: per image).
    Returns the matplotlib Figure.
    """
    images = _as_2d_list(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    fig, axes = _grid(len(images), ncols, size)
    for i, (ax, im) in enumerate(zip(axes, images)):
        ax.imshow(im, cmap=None if im.ndim == 3 else cmap, vmin=vmin, vmax=vmax)
        _bare_axes(ax, None if titles is None else titles[i])
    fig.tight_layout()
    return fig


def show_feature_maps(maps, titles: Sequence[str] | None = None, ncols: int | None = None,
                      size: float = 2.0, cmap: str = "RdBu_r", percentile: float = 100.0):
    """Show feature maps with a colour scale symmetric about zero (red positive, blue negative).

    ``maps``: an array (H, W, C) — one map per channel, as a conv layer outputs for one image — or a
    sequence of (H, W) arrays. Each map gets its own scale ``[-m, m]``, so zero is always white;
    ``m`` is the ``percentile`` of ``|map|`` (default 100: the maximum; use e.g. 99 for photographs,
    where a few extreme responses would otherwise wash everything else out). Returns the Figure.
    """
    if isinstance(maps, np.ndarray):
        if maps.ndim != 3:
            raise ValueError(f"maps must be (H, W, C) or a list of (H, W) arrays, got shape {maps.shape}")
        maps = [maps[..., c] for c in range(maps.shape[-1])]
    maps = [np.asarray(m, dtype=float) for m in maps]
    if any(m.ndim != 2 for m in maps):
        raise ValueError("each feature map must be 2-D (H, W)")
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"got {len(titles)} titles for {len(maps)} feature maps")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    fig, axes = _grid(len(maps), ncols, size)
    for i, (ax, m) in enumerate(zip(axes, maps)):
        limit = float(np.percentile(np.abs(m), percentile)) or 1.0
        ax.imshow(m, cmap=cmap, vmin=-limit, vmax=limit)
        _bare_axes(ax, None if titles is None else titles[i])
    fig.tight_layout()
    return fig


def show_matrix(values, ax=None, fmt: str = "{:g}", cmap: str = "Blues", fontsize: float = 10):
    """Draw a small 2-D array as a table of coloured cells with its numbers written in.

    Handy for kernels and toy inputs; NaN entries are drawn as empty cells. Returns the Axes.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"show_matrix needs a 2-D array, got shape {values.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * values.shape[1] + 0.5, 0.5 * values.shape[0] + 0.5))
    # widen the colour range so every cell stays pale and black numbers stay legible
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    span = (high - low) or 1.0
    ax.imshow(values, cmap=cmap, vmin=low - span, vmax=high + span)
    for (i, j), v in np.ndenumerate(values):
        if not np.isnan(v):  # NaN cells are left blank
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize)
    _bare_axes(ax, None)
    return ax


def draw_grid_with_kernel(n: int, f: int, padding: int = 0, stride: int = 1,
                          positions: Sequence[tuple[int, int]] | None = None, ax=None):
    """Draw an ``n x n`` input grid, its zero padding (grey) and ``f x f`` kernel windows.

    ``positions`` are output coordinates ``(i, j)``; window (i, j) covers padded rows
    ``i*stride .. i*stride+f-1``. Default: the first and last window of the first row and the
    last window of the last row. Returns the Axes.
    """
    for name, value, low in (("n", n, 1), ("f", f, 1), ("padding", padding, 0), ("stride", stride, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    total = n + 2 * padding
    if f > total:
        raise ValueError(f"kernel size f={f} is larger than the padded input ({total})")
    out = (total - f) // stride + 1
    if positions is None:
        positions = [(0, 0), (0, out - 1), (out - 1, out - 1)]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.35 * total + 1, 0.35 * total + 1))
    for r in range(total):
        for c in range(total):
            inside = padding <= r < padding + n and padding <= c < padding + n
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="white" if inside else "0.85",
                                   edgecolor="0.5", linewidth=0.5))
    colours = plt.get_cmap("tab10")
    for k, (i, j) in enumerate(positions):
        if not (0 <= i < out and 0 <= j < out):
            raise ValueError(f"window position {(i, j)} is outside the {out}x{out} output")
        ax.add_patch(Rectangle((j * stride, i * stride), f, f, fill=False, linewidth=2.5,
                               edgecolor=colours(k % 10)))
    ax.set_xlim(0, total)
    ax.set_ylim(total, 0)  # row 0 at the top, as in an image
    ax.set_aspect("equal")
    _bare_axes(ax, None)
    return ax


def animate_sliding_window(image, feature_map, kernel_size: int, stride: int = 1,
                           positions: Sequence[tuple[int, int]] | None = None,
                           interval: int = 500, size: float = 3.0):
    """Animate a kernel window sliding over ``image`` while ``feature_map`` fills in.

    ``image`` (H, W) is the (padded) input, ``feature_map`` (H', W') the output computed from it
    with a ``kernel_size`` window moving by ``stride``. ``positions`` lists the output cells to
    visit (default: all, row by row — keep it short for a light web page). Returns a
    ``matplotlib.animation.FuncAnimation``; display it with ``HTML(animation_html(anim))``.
    """
    image = np.asarray(image, dtype=float)
    feature_map = np.asarray(feature_map, dtype=float)
    if image.ndim != 2 or feature_map.ndim != 2:
        raise ValueError("image and feature_map must both be 2-D")
    if positions is None:
        positions = list(np.ndindex(*feature_map.shape))
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(2 * size, size))
    ax_in.imshow(image, cmap="gray")
    ax_in.set_title("input")
    window = Rectangle((-0.5, -0.5), kernel_size, kernel_size, fill=False, edgecolor="red", linewidth=2)
    ax_in.add_patch(window)
    limit = float(np.abs(feature_map).max()) or 1.0
    shown = np.full(feature_map.shape, np.nan)
    out_image = ax_out.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax_out.set_title("feature map")
    marker = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)
    ax_out.add_patch(marker)
    for ax in (ax_in, ax_out):
        _bare_axes(ax, None)
    fig.tight_layout()

    def draw(frame):
        i, j = positions[frame]
        window.set_xy((j * stride - 0.5, i * stride - 0.5))
        marker.set_xy((j - 0.5, i - 0.5))
        shown[i, j] = feature_map[i, j]
        out_image.set_data(shown)
        return window, marker, out_image

    anim = animation.FuncAnimation(fig, draw, frames=len(positions), interval=interval, blit=False)
    plt.close(fig)  # the animation is shown through its HTML, not as a static figure
    return anim


def plot_history(history: dict, metrics: Sequence[str] = ("loss", "accuracy"), title: str | None = None):
    """Training curves: one panel per metric, training vs validation, per epoch.

    ``history``: Keras' ``History.history`` dict (``{"loss": [...], "val_loss": [...], ...}``).
    Returns the Figure.
    """
    missing = [m for m in metrics if m not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(curves: dict, ylabel: str, ax=None, styles: dict | None = None):
    """Several per-epoch curves on one Axes (epochs numbered from 1): ``{label: values}``.

    ``styles`` optionally maps a label to matplotlib keyword arguments (colour, line style...).
    Handy for comparing models, e.g. training vs test accuracy of two networks. Returns the Axes.
    """
    if not curves:
        raise ValueError("curves is empty: give at least one {label: values} entry")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"curve {label!r} must be 1-D (one value per epoch), got shape {values.shape}")
        style = {"marker": "o", "markersize": 3, **(styles or {}).get(label, {})}
        ax.plot(np.arange(1, len(values) + 1), values, label=label, **style)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_confusion_matrix(matrix, class_names: Sequence[str], ax=None):
    """Draw a confusion matrix (rows: true class, columns: predicted class) with counts written in.

    The diagonal dominates a good classifier, so colours use a log scale to keep the mistakes visible.
    Returns the Axes.
    """
    matrix = np.asarray(matrix)
    n = len(class_names)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix must be ({n}, {n}) for {n} class names, got {matrix.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * n + 1.5, 0.55 * n + 1))
    ax.imshow(matrix + 1, cmap="Blues", norm=LogNorm(vmin=1, vmax=matrix.max() + 1))
    threshold = np.sqrt(matrix.max() + 1)
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v + 1 > threshold else "black")
    ax.set_xticks(range(n), class_names, rotation=90 if max(map(len, class_names)) > 2 else 0)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return ax


# matplotlib's player links Font Awesome from a CDN; the book theme already ships the icons, and the
# book must work offline, so the link is dropped.
_CDN_STYLESHEET = re.compile(r"<link\s+rel=\"stylesheet\"\s+href=\"https?://[^\"]*\">")


def animation_html(anim, default_mode: str = "once") -> str:
    """The animation as a self-contained JavaScript player (``anim.to_jshtml``), with no CDN links."""
    return _CDN_STYLESHEET.sub("", anim.to_jshtml(default_mode=default_mode))
