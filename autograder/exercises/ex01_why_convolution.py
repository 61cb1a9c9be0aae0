"""Exercise 1: Why convolution? Counting parameters: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('01-why-convolution', (
    Markdown('intro', r'''# Exercise 1: Why convolution? Counting parameters

A dense layer connects every input to every output; a convolution layer re-uses one small kernel
at every position (*weight sharing*). In this exercise you count the parameters of both and
compare them.

**What you will do**: implement `dense_param_count`, `conv_param_count` and
`weight_sharing_ratio`: replace each `raise NotImplementedError()` with your code, then run the
test cell below the function.
Use plain Python or NumPy only -- asking Keras for `count_params()` earns no points.

**Points**: 9 in total; hidden tests check more cases than the visible ones.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np'''),
    Markdown('dense_md', r'''## 1. A dense layer

A `Dense` layer with `n_in` inputs and `n_out` outputs has one weight per (input, output) pair
and, if `bias` is true, one bias per output.'''),
    Solution(solutions.dense_param_count,
             doc=r'''    """Number of parameters of a Dense layer.

    Parameters
    ----------
    n_in : int >= 1    number of inputs (e.g. 28 * 28 = 784 pixels)
    n_out : int >= 1   number of output units
    bias : bool        whether the layer has biases

    Returns
    -------
    int
    """
''',
             body=r'''    return n_in * n_out + (n_out if bias else 0)
'''),
    Part('test_dense_values', 2, checks.check_dense_param_count, 'values', 'dense_param_count',
         r'''
# A 28x28 image flattened into 784 inputs, 30 hidden units: 784 * 30 weights + 30 biases.
got = dense_param_count(784, 30)
assert got != 784 * 30, "784 * 30 = 23520 leaves out the biases: a Dense layer has one bias per output unit"
assert got != 784 * 30 + 784, "784 * 30 + 784 has one bias per input; a Dense layer has one bias per output unit"
assert got == 23550, f"expected 784 * 30 + 30 = 23550, got {got}"
got = dense_param_count(784, 30, bias=False)
assert got == 23520, f"bias=False: only the 784 * 30 = 23520 weights, got {got}" + (
    " (your count adds biases even when bias=False)" if got == 23550 else "")
'''),
    Part('test_dense_edge', 1, checks.check_dense_param_count, 'edge_cases', 'dense_param_count',
         r'''
got = dense_param_count(1, 1)
assert got == 2, f"one input, one output: one weight and one bias = 2, got {got}"
'''),
    Markdown('conv_md', r'''## 2. A convolution layer

A `Conv2D` layer with `cout` filters of size `kh x kw` applied to an input with `cin` channels
has `kh * kw * cin` weights per filter and one bias per filter. The image size does not appear:
the same filters slide over every position.'''),
    Solution(solutions.conv_param_count,
             doc=r'''    """Number of parameters of a Conv2D layer.

    Parameters
    ----------
    kh, kw : int >= 1  kernel height and width
    cin : int >= 1     input channels
    cout : int >= 1    output channels (number of filters)
    bias : bool        whether the layer has biases (one per filter)

    Returns
    -------
    int
    """
''',
             body=r'''    return kh * kw * cin * cout + (cout if bias else 0)
'''),
    Part('test_conv_values', 2, checks.check_conv_param_count, 'values', 'conv_param_count',
         r'''
got = conv_param_count(3, 3, 32, 64)
assert got != 3 * 3 * 64 + 64, "640 ignores the input channels: each filter has 3 * 3 * 32 weights (one 3x3 slice per input channel)"
assert got != 3 * 3 * 32 * 64, "3 * 3 * 32 * 64 = 18432 leaves out the biases: one per filter"
assert got != 3 * 3 * 32 * 64 + 32, "18432 + 32 has one bias per input channel; there is one bias per filter (64)"
assert got == 18496, f"64 filters of 3x3x32 plus 64 biases = 18496, got {got}"
got = conv_param_count(3, 3, 1, 32)
assert got == 320, f"32 filters of 3x3x1 plus 32 biases = 320, got {got}"
'''),
    Part('test_conv_edge', 1, checks.check_conv_param_count, 'edge_cases', 'conv_param_count',
         r'''
got = conv_param_count(1, 1, 3, 1, bias=False)
assert got == 3, f"a 1x1 filter over 3 channels, bias=False: 3 weights, got {got}" + (
    " (your count adds a bias even when bias=False)" if got == 4 else "")
'''),
    Markdown('ratio_md', r'''## 3. The price of not sharing weights

A 'valid' convolution (stride 1, no padding) turns an `h x w x cin` input into an
`(h - kh + 1) x (w - kw + 1) x cout` output. A dense layer producing an output of the *same size*
from the same input needs far more parameters. Return the ratio
`dense parameters / convolution parameters` (biases included in both) as a float. Re-use your
two functions.'''),
    Solution(solutions.weight_sharing_ratio,
             doc=r'''    """How many times more parameters a dense layer needs than a 'valid' Conv2D layer.

    Both layers map an (h, w, cin) input to the conv layer's (h - kh + 1, w - kw + 1, cout) output.

    Returns
    -------
    float   dense_param_count(...) / conv_param_count(...), biases included
    """
''',
             body=r'''    n_out = (h - kh + 1) * (w - kw + 1) * cout
    return dense_param_count(h * w * cin, n_out) / conv_param_count(kh, kw, cin, cout)
'''),
    Part('test_ratio_values', 2, checks.check_weight_sharing_ratio, 'values', 'weight_sharing_ratio',
         r'''
# 28x28 grey image, 32 filters of 3x3: the 'valid' output is 26 x 26 x 32 = 21632 values, so the dense
# layer needs 784 * 21632 + 21632 parameters against the convolution's 3 * 3 * 32 + 32 = 320.
got = weight_sharing_ratio(28, 28, 1, 3, 3, 32)
mistakes = {
    (784 * 25088 + 25088) / 320: "your dense layer has 28 * 28 * 32 outputs; compare layers with the same "
                                 "output size, the 'valid' convolution's 26 * 26 * 32",
    320 / (784 * 21632 + 21632): "your ratio is upside down: dense parameters / convolution parameters",
    784 * 21632 / 288: "your ratio leaves out the biases; count them in both layers",
}
for wrong, mistake in mistakes.items():
    assert not np.isclose(got, wrong, rtol=1e-9, atol=0), f"{mistake} (got {got})"
assert abs(got - 53066.0) < 1e-6, f"expected (784 * 21632 + 21632) / 320 = 53066.0, got {got}"
'''),
    Part('test_ratio_edge', 1, checks.check_weight_sharing_ratio, 'edge_cases', 'weight_sharing_ratio',
         r'''
# a kernel as large as the image: one output per filter, so dense and conv coincide
got = weight_sharing_ratio(5, 5, 1, 5, 5, 1)
assert abs(got - 1.0) < 1e-12, f"a 5x5 kernel on a 5x5 image gives one output: both layers have 26 parameters, ratio 1.0, got {got}"
'''),
), mistakes=(
    Mistake('dense: no biases', 'dense_param_count',
            (('(n_out if bias else 0)', '0'),),
            'test_dense_values', 'leaves out the biases'),
    Mistake('dense: one bias per input', 'dense_param_count',
            (('(n_out if bias else 0)', '(n_in if bias else 0)'),),
            'test_dense_values', 'one bias per input'),
    Mistake('dense: biases despite bias=False', 'dense_param_count',
            (('(n_out if bias else 0)', 'n_out'),),
            'test_dense_values', 'adds biases even when bias=False'),
    Mistake('conv: input channels ignored', 'conv_param_count',
            (('kh * kw * cin * cout', 'kh * kw * cout'),),
            'test_conv_values', 'ignores the input channels'),
    Mistake('conv: no biases', 'conv_param_count',
            (('(cout if bias else 0)', '0'),),
            'test_conv_values', 'leaves out the biases'),
    Mistake('conv: one bias per input channel', 'conv_param_count',
            (('(cout if bias else 0)', '(cin if bias else 0)'),),
            'test_conv_values', 'one bias per input channel'),
    Mistake('ratio: dense output as large as the input', 'weight_sharing_ratio',
            (('n_out = (h - kh + 1) * (w - kw + 1) * cout', 'n_out = h * w * cout'),),
            'test_ratio_values', 'same output size', uses=('dense_param_count', 'conv_param_count')),
    Mistake('ratio: upside down', 'weight_sharing_ratio',
            (('dense_param_count(h * w * cin, n_out) / conv_param_count(kh, kw, cin, cout)', 'conv_param_count(kh, kw, cin, cout) / dense_param_count(h * w * cin, n_out)'),),
            'test_ratio_values', 'upside down', uses=('dense_param_count', 'conv_param_count')),
    Mistake('ratio: biases left out', 'weight_sharing_ratio',
            (('dense_param_count(h * w * cin, n_out) / conv_param_count(kh, kw, cin, cout)', 'dense_param_count(h * w * cin, n_out, bias=False) / conv_param_count(kh, kw, cin, cout, bias=False)'),),
            'test_ratio_values', 'leaves out the biases', uses=('dense_param_count', 'conv_param_count')),
))
