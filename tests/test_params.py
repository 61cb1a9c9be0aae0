"""Parameter counts against Keras ``count_params()``."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import solutions as S

keras = pytest.importorskip("keras")


@settings(max_examples=15)  # building Keras layers is the slow part
@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 64), st.integers(1, 64), st.booleans())
def test_conv_param_count_matches_keras(kh, kw, cin, cout, bias):
    layer = keras.layers.Conv2D(cout, (kh, kw), use_bias=bias)
    layer.build((None, 32, 32, cin))
    assert S.conv_param_count(kh, kw, cin, cout, bias=bias) == layer.count_params()


@settings(max_examples=15)
@given(st.integers(1, 4096), st.integers(1, 1000), st.booleans())
def test_dense_param_count_matches_keras(n_in, n_out, bias):
    layer = keras.layers.Dense(n_out, use_bias=bias)
    layer.build((None, n_in))
    assert S.dense_param_count(n_in, n_out, bias=bias) == layer.count_params()


def test_known_counts():
    # 3x3 conv, 1 -> 32 channels: 288 weights + 32 biases; a 784 -> 10 dense layer: 7850
    assert S.conv_param_count(3, 3, 1, 32) == 320
    assert S.dense_param_count(784, 10) == 7850
    assert S.dense_param_count(784, 10, bias=False) == 7840


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: S.conv_param_count(0, 3, 1, 1), ValueError, "kh must be >= 1"),
        (lambda: S.conv_param_count(3, 3, 1.5, 1), TypeError, "cin must be a positive integer"),
        (lambda: S.conv_param_count(3, 3, 1, -4), ValueError, "cout must be >= 1"),
        (lambda: S.dense_param_count("784", 10), TypeError, "n_in must be a positive integer"),
        (lambda: S.dense_param_count(784, 0), ValueError, "n_out must be >= 1"),
    ],
)
def test_param_count_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_weight_sharing_ratio_refuses_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match="does not fit"):
        S.weight_sharing_ratio(3, 3, 1, 5, 5, 1)
    with pytest.raises(ValueError, match="2-D"):
        S.conv2d_single([[[1.0]]], [[1.0]])
