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
