"""solutions.plotting: the figures have the panels, scales and errors the chapters rely on."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from solutions import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_use_book_style_gives_white_backgrounds():
    plt.rcParams["figure.facecolor"] = "black"
    plotting.use_book_style()
    fig = plt.figure()
    assert matplotlib.colors.to_hex(fig.get_facecolor()) == "#ffffff"
    assert plt.rcParams["savefig.facecolor"] == "white"


def test_show_images_grid_and_titles():
    images = np.random.default_rng(0).random((5, 8, 8))
    fig = plotting.show_images(images, titles=list("abcde"), ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 5 and len(fig.axes) == 6  # 2 rows x 3 columns, last one hidden
    assert [ax.get_title() for ax in visible] == list("abcde")


def test_show_images_accepts_mixed_grey_and_rgb():
    fig = plotting.show_images([np.zeros((4, 4)), np.zeros((4, 4, 3))])
    assert fig.axes[0].images[0].get_cmap().name == "gray"
    assert fig.axes[1].images[0].get_array().shape == (4, 4, 3)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4)), "images must be"),
    ([np.zeros(4)], "each image must be"),
    ([], "empty"),
])
def test_show_images_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        plotting.show_images(bad)


def test_show_images_title_count_must_match():
    with pytest.raises(ValueError, match="titles"):
        plotting.show_images([np.zeros((3, 3))] * 2, titles=["only one"])


def test_feature_maps_are_symmetric_about_zero():
    maps = np.zeros((5, 5, 2))
    maps[1, 1, 0], maps[2, 2, 0] = 3.0, -1.0
    fig = plotting.show_feature_maps(maps)
    assert len(fig.axes) == 2
    assert fig.axes[0].images[0].get_clim() == (-3.0, 3.0)
    assert fig.axes[1].images[0].get_clim() == (-1.0, 1.0)  # all-zero map: unit scale, no division by 0


def test_feature_maps_percentile_clips_outliers():
    m = np.ones((10, 10))
    m[0, 0] = 1000.0
    fig = plotting.show_feature_maps([m], percentile=90)
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)
    with pytest.raises(ValueError, match="percentile"):
        plotting.show_feature_maps([m], percentile=0)
    with pytest.raises(ValueError, match="2-D"):
        plotting.show_feature_maps([np.zeros((2, 2, 2))])


def test_show_matrix_writes_every_finite_value():
    values = np.array([[1.0, np.nan], [2.5, -3.0]])
    ax = plotting.show_matrix(values, fmt="{:g}")
    assert sorted(t.get_text() for t in ax.texts) == ["-3", "1", "2.5"]
    with pytest.raises(ValueError, match="2-D"):
        plotting.show_matrix(np.zeros(3))


def test_draw_grid_with_kernel_draws_cells_and_windows():
    ax = plotting.draw_grid_with_kernel(5, 3, padding=1, stride=2, positions=[(0, 0), (2, 2)])
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    cells = [r for r in rects if r.get_width() == 1]
    windows = [r for r in rects if r.get_width() == 3]
    assert len(cells) == 7 * 7
    grey = [r for r in cells if r.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len(grey) == 7 * 7 - 5 * 5  # the padding ring
    assert sorted(w.get_xy() for w in windows) == [(0, 0), (4, 4)]


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=3, f=5), "larger than the padded input"),
    (dict(n=5, f=3, stride=0), "stride"),
    (dict(n=5, f=3, positions=[(3, 0)]), "outside"),
])
def test_draw_grid_with_kernel_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plotting.draw_grid_with_kernel(**kwargs)


def test_animation_visits_the_requested_positions():
    image = np.arange(36.0).reshape(6, 6)
    fmap = np.arange(16.0).reshape(4, 4)
    anim = plotting.animate_sliding_window(image, fmap, kernel_size=3, positions=[(0, 0), (1, 2)])
    html = plotting.animation_html(anim)
    assert html.count("frames[") >= 2 and "<img" in html
    assert "http://" not in html and "https://" not in html  # works offline: nothing from a CDN
    with pytest.raises(ValueError, match="2-D"):
        plotting.animate_sliding_window(image[None], fmap, kernel_size=3)


def test_figure_to_png_renders_and_closes():
    fig = plotting.show_images([np.zeros((4, 4))])
    png = plotting.figure_to_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG") and len(png) > 100
    assert not plt.fignum_exists(fig.number)
