"""Parameter counts of convolution and dense layers, as Keras ``count_params()`` reports them."""
from __future__ import annotations

from ._validate import positive_int


def conv_param_count(kh, kw, cin, cout, bias=True):
    """Weights of a ``Conv2D`` layer: ``kh * kw * cin * cout`` plus ``cout`` biases if ``bias``.

    The count does not depend on the image size -- the same kernel is shared by every position.
    """
    kh, kw = positive_int(kh, "kh"), positive_int(kw, "kw")
    cin, cout = positive_int(cin, "cin"), positive_int(cout, "cout")
    return kh * kw * cin * cout + (cout if bias else 0)


def dense_param_count(n_in, n_out, bias=True):
    """Weights of a ``Dense`` layer: ``n_in * n_out`` plus ``n_out`` biases if ``bias``."""
    n_in, n_out = positive_int(n_in, "n_in"), positive_int(n_out, "n_out")
    return n_in * n_out + (n_out if bias else 0)


def weight_sharing_ratio(h, w, cin, kh, kw, cout):
    """How many times more parameters a ``Dense`` layer needs than a 'valid' ``Conv2D`` layer.

    Both map an ``(h, w, cin)`` input to the conv layer's ``(h - kh + 1, w - kw + 1, cout)`` output.
    """
    h, w = positive_int(h, "h"), positive_int(w, "w")
    oh, ow = h - positive_int(kh, "kh") + 1, w - positive_int(kw, "kw") + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"a {kh}x{kw} kernel does not fit a {h}x{w} input ('valid' output would be empty)")
    return dense_param_count(h * w * cin, oh * ow * cout) / conv_param_count(kh, kw, cin, cout)
