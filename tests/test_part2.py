"""Claims made by the Part II chapters (07-backprop, 08-weight-sharing-dropout), re-checked.

The chapters assert most of these while they execute; these tests keep the claims true when the
package changes, and check the recorded full run the book cites.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import solutions
from solutions import numpy_net as nn
from solutions.loops import conv2d_backward_loops, conv2d_loops

def test_conv_gradient_check_with_stride_and_padding():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 7, 7, 3)), rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    g = rng.standard_normal(solutions.conv2d(x, w, b, 2, 1).shape)

    def loss(_):
        return np.sum(solutions.conv2d(x, w, b, 2, 1) * g)

    for analytic, param in zip(solutions.conv2d_backward(g, x, w, 2, 1), (x, w, b)):
        assert nn.relative_error(analytic, solutions.numerical_gradient(loss, param)) < 1e-7


def test_a_wrong_gradient_fails_the_check():
    """The 1e-7 threshold is meaningful: dropping one kernel tap (a typical bug) gives a large error."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 5, 5, 1)), rng.standard_normal((3, 3, 1, 1))
    g = rng.standard_normal((1, 3, 3, 1))
    wrong = w.copy()
    wrong[0, 0] = 0.0
    dx_wrong = solutions.conv2d_backward(g, x, wrong)[0]
    numeric = solutions.numerical_gradient(lambda _: np.sum(solutions.conv2d(x, w) * g), x)
    assert nn.relative_error(dx_wrong, numeric) > 1e-3


@pytest.mark.parametrize("forward, backward", [(solutions.max_pool2d, solutions.max_pool2d_backward),
                                               (solutions.avg_pool2d, solutions.avg_pool2d_backward)])
def test_pool_gradient_check_overlapping_windows(forward, backward):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 7, 7, 3))
    g = rng.standard_normal(forward(x, 3, 2).shape)
    numeric = solutions.numerical_gradient(lambda _: np.sum(forward(x, 3, 2) * g), x)
    assert nn.relative_error(backward(g, x, 3, 2), numeric) < 1e-7


def test_input_gradient_is_a_full_convolution():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 6, 6, 1)), rng.standard_normal((3, 3, 1, 1))
    g = rng.standard_normal((1, 4, 4, 1))
    dx = solutions.conv2d_backward(g, x, w)[0][0, :, :, 0]
    np.testing.assert_allclose(dx, scipy.signal.convolve2d(g[0, :, :, 0], w[:, :, 0, 0], "full"), atol=1e-12)


def test_strided_input_gradient_is_a_full_convolution_of_the_dilated_gradient():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 7, 7, 1)), rng.standard_normal((3, 3, 1, 1))
    g = rng.standard_normal((1, 3, 3, 1))
    dilated = np.zeros((5, 5))
    dilated[::2, ::2] = g[0, :, :, 0]
    dx = solutions.conv2d_backward(g, x, w, stride=2)[0][0, :, :, 0]
    np.testing.assert_allclose(dx, scipy.signal.convolve2d(dilated, w[:, :, 0, 0], "full"), atol=1e-12)


def test_im2col_figure_example():
    x = np.arange(1.0, 17.0).reshape(1, 4, 4, 1)
    w = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]).reshape(3, 3, 1, 1)
    cols = solutions.im2col(x, 3, 3)
    assert cols.shape == (4, 9)
    np.testing.assert_array_equal(cols[0], [1, 2, 3, 5, 6, 7, 9, 10, 11])  # the top-left window
    np.testing.assert_allclose((cols @ w.reshape(-1, 1)).reshape(1, 2, 2, 1), conv2d_loops(x, w))


def test_im2col_backward_equals_loops():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 7, 7, 3)), rng.standard_normal((3, 3, 3, 4))
    g = rng.standard_normal(solutions.conv2d(x, w, stride=2).shape)
    dx_loops, dw_loops, _ = conv2d_backward_loops(g, x, w, stride=2)
    G = g.reshape(-1, 4)
    dw = (solutions.im2col(x, 3, 3, stride=2).T @ G).reshape(w.shape)
    dx = solutions.col2im(G @ w.reshape(-1, 4).T, x.shape, 3, 3, stride=2)
    assert nn.relative_error(dw, dw_loops) < 1e-12
    assert nn.relative_error(dx, dx_loops) < 1e-12


def test_pooling_figure_example():
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 2], [6, 2, 3, 1]], float)[None, :, :, None]
    g = np.array([[1.0, 2.0], [3.0, 4.0]])[None, :, :, None]
    dmax = solutions.max_pool2d_backward(g, x, 2)[0, :, :, 0]
    expected = np.zeros((4, 4))
    expected[1, 0], expected[1, 3], expected[3, 0], expected[2, 2] = 1, 2, 3, 4  # the window maxima
    np.testing.assert_array_equal(dmax, expected)
    davg = solutions.avg_pool2d_backward(g, x, 2)[0, :, :, 0]
    np.testing.assert_allclose(davg, np.kron(g[0, :, :, 0], np.ones((2, 2))) / 4)


def test_relu_kink_gives_half_the_slope_numerically():
    x = np.array([0.0, 1.0, -1.0])
    g = np.array([2.0, 3.0, 5.0])
    numeric = solutions.numerical_gradient(lambda _: np.sum(np.maximum(x, 0) * g), x)
    np.testing.assert_allclose(numeric, [1.0, 3.0, 0.0], atol=1e-9)


def test_pooling_keeps_the_convnet_smaller_than_the_dense_net():
    s = nn.FULL
    side = solutions.output_size(28, s["kernel_size"])
    no_pool_out = solutions.dense_param_count(side * side * s["kernels"], 10)
    pooled_out = solutions.dense_param_count((side // 2) ** 2 * s["kernels"], 10)
    assert 3.9 < no_pool_out / pooled_out <= 4
    dense_total = nn.param_count(nn.DenseNet(s["hidden"]))
    assert nn.param_count(nn.ConvNet(s["kernels"], s["kernel_size"])) < dense_total < no_pool_out


def test_recorded_full_run_meets_the_targets_and_is_consistent():
    record = nn.load_recorded_run()
    assert record["settings"] == {**nn.FULL, "extra_seeds": list(nn.FULL["extra_seeds"])}
    for name, m in record["models"].items():
        hist = m["history"]
        assert len(hist["test_acc"]) == len(hist["train_acc"]) == m["epochs"] == nn.FULL["epochs"]
        assert m["final_test_accuracy"] == pytest.approx(hist["test_acc"][-1], abs=1e-5)
        assert m["best_test_accuracy"] == pytest.approx(max(hist["test_acc"]), abs=1e-5)
    conv = record["models"]["conv"]
    assert conv["final_test_accuracy"] >= 0.88  # the chapter's target
    assert conv["train_cpu_seconds"] <= 30  # the CPU work of training; wall time depends on the load
    assert conv["parameters"] == nn.param_count(nn.ConvNet(nn.FULL["kernels"], nn.FULL["kernel_size"]))
    study = record["dropout_seed_study"]
    assert len(study["with_dropout"]) == len(study["without_dropout"]) == len(study["seeds"])
    assert set(record["machine"]) >= {"cpu_model", "loadavg_before", "numpy"}
