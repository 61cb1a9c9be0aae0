"""Exercise 8: Dropout, and training a small convnet: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('08-dropout-weight-sharing', (
    Markdown('intro', r'''# Exercise 8: Dropout, and training a small convnet

**Inverted dropout** zeroes each activation with probability `rate` during training and
multiplies the survivors by `1 / (1 - rate)`, so the expected output equals the input and
nothing changes at inference. Return the mask *including* that scale; the backward pass is then
simply `dout * mask`. Draw the random numbers from the `rng` argument
(`rng = np.random.default_rng(rng)` accepts a seed, a generator or None).

Then write `train_step`, one step of stochastic gradient descent for this network, built from
the layer functions imported in the setup cell (the reference versions of exercises 5-7):

    x (N, 28, 28, 1) -> conv 3x3, 8 filters ("valid") -> ReLU -> 2x2 max pool -> dropout(rate)
      -> flatten (N, 13*13*8) -> dense to 10 logits -> softmax cross-entropy

`params` holds `W1 (3, 3, 1, 8)`, `b1 (8,)`, `W2 (1352, 10)`, `b2 (10,)`; update these arrays in
place (`params["W1"] -= lr * dW1`, ...) and return the batch loss. Note how `dW1` sums the
contributions of all 26 x 26 positions: the kernel's weights are *shared*. Two things the
imports do not do for you:

* there is no ReLU backward to import. ReLU's derivative is 1 where its input was positive and
  0 elsewhere, so multiply the gradient arriving from the pooling layer by `z1 > 0` (`z1` the
  convolution's output) before passing it to `conv2d_backward`;
* `softmax_cross_entropy` returns the *mean* loss over the batch, and its `dlogits` is already
  divided by N: do not divide any gradient by the batch size again.

The hidden tests compare one step with a reference and then train with your `train_step` for
one epoch on 2000 MNIST images (batch 32, learning rate 0.1, dropout 0.25): the network must
reach at least 80 % test accuracy on 500 test images. Not allowed: TensorFlow/Keras, SciPy.

**Points**: 10.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np
from solutions.numpy_net import init_params  # the network's parameters, He-initialised
from solutions import conv2d, conv2d_backward, max_pool2d, max_pool2d_backward, relu
from solutions.layers import softmax_cross_entropy  # (loss, dlogits) for logits (N, 10), labels (N,)'''),
    Solution(solutions.dropout,
             doc=r'''    """Inverted dropout.

    Parameters
    ----------
    x : array_like, any shape
    rate : float in [0, 1), probability of dropping each element
    rng : numpy Generator, int seed or None
    training : bool; when False the layer does nothing

    Returns
    -------
    y : ndarray, shape of x, y = x * mask
    mask : ndarray, shape of x, entries 0 or 1 / (1 - rate); all ones when not training or rate == 0
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    if not training or rate == 0:
        return x.copy(), np.ones_like(x)
    rng = np.random.default_rng(rng)
    mask = (rng.random(x.shape) >= rate) / (1 - rate)
    return x * mask, mask
'''),
    Part('test_dropout_mask', 2, checks.check_dropout, 'mask', 'dropout',
         r'''
y, mask = dropout(np.ones((100, 100)), 0.5, rng=0)
assert not set(np.unique(mask)) <= {0.0, 1.0}, (
    "your mask holds only 0 and 1: inverted dropout scales the survivors by 1 / (1 - rate), 2 here")
assert set(np.unique(mask)) <= {0.0, 2.0}, f"with rate 0.5 the mask holds 0 and 1 / (1 - 0.5) = 2, got {np.unique(mask)[:5]}"
np.testing.assert_allclose(y, mask, err_msg="y = x * mask")
'''),
    Part('test_dropout_statistics', 1, checks.check_dropout, 'statistics', 'dropout',
         r'''
_, mask = dropout(np.ones((100, 100)), 0.2, rng=0)
dropped = np.mean(mask == 0)
assert abs(dropped - 0.8) > 0.03, f"you drop {dropped:.0%} of the units with rate 0.2: rate is the probability of *dropping*"
assert abs(dropped - 0.2) < 0.03, f"with rate 0.2 about 20 % of the units should be dropped, got {dropped:.1%}"
again = dropout(np.ones((100, 100)), 0.2, rng=0)[1]
np.testing.assert_array_equal(mask, again, err_msg="the same seed must give the same mask: draw from rng")
'''),
    Part('test_dropout_inference', 1, checks.check_dropout, 'inference', 'dropout',
         r'''y, mask = dropout(np.arange(4.0), 0.5, training=False)
np.testing.assert_allclose(y, np.arange(4.0), err_msg="at inference dropout does nothing")
'''),
    Solution(solutions.dropout_backward,
             doc=r'''    """Gradient of dropout: dout * mask (the mask from dropout, scale included). Shapes: as dout."""
''',
             body=r'''    return np.asarray(dout, dtype=float) * mask
'''),
    Part('test_dropout_backward', 1, checks.check_dropout_backward, 'values', 'dropout_backward',
         r'''
got = dropout_backward(np.ones(3), np.array([0.0, 2.0, 2.0]))
assert not np.allclose(got, [0.0, 1.0, 1.0]), "your gradient drops the scaling: the mask already holds 1 / (1 - rate)"
np.testing.assert_allclose(got, [0.0, 2.0, 2.0], err_msg="the gradient is dout * mask")
'''),
    Solution(name='train_step', code=r'''def train_step(params, x, y, lr, rate, rng):
    """One SGD step of the exercise network; updates params in place.

    Parameters
    ----------
    params : dict with "W1" (3, 3, 1, 8), "b1" (8,), "W2" (1352, 10), "b2" (10,)
    x : ndarray, shape (N, 28, 28, 1), pixel values in [0, 1]
    y : ndarray of int, shape (N,), labels 0..9
    lr : float, learning rate
    rate : float, dropout rate after the pooling layer
    rng : numpy Generator for dropout

    Returns
    -------
    float, the mean cross-entropy of the batch before the update
    """
    ### BEGIN SOLUTION
    z1 = conv2d(x, params["W1"], params["b1"])
    a1 = relu(z1)
    p1 = max_pool2d(a1, 2)
    d1, mask = dropout(p1, rate, rng)
    flat = d1.reshape(len(x), -1)
    loss, dlogits = softmax_cross_entropy(flat @ params["W2"] + params["b2"], y)
    grads = {"W2": flat.T @ dlogits, "b2": dlogits.sum(axis=0)}
    dp1 = dropout_backward((dlogits @ params["W2"].T).reshape(p1.shape), mask)
    dz1 = max_pool2d_backward(dp1, a1, 2) * (z1 > 0)
    _, grads["W1"], grads["b1"] = conv2d_backward(dz1, x, params["W1"])
    for key, grad in grads.items():
        params[key] -= lr * grad
    return float(loss)
    ### END SOLUTION'''),
    Part('test_train_step_loss', 1, checks.check_train_step, 'loss', 'train_step',
         r'''
params = init_params(0)
first = train_step(params, np.zeros((2, 28, 28, 1)), np.array([3, 3]), 0.1, 0.0, np.random.default_rng(0))
assert abs(first - np.log(10)) < 1e-9, f"blank images, zero biases: the first loss is log(10) = 2.3026, got {first}"
'''),
    Part('test_train_step_one_step', 2, checks.check_train_step, 'one_step', 'train_step',
         r'''
# Four blank images of label 3 and zero biases: the logits are 0, softmax gives 0.1 per class, and b2 moves by
# -lr * (the batch mean of p - onehot): class 3 by 0.1 * 0.9 = 0.09, the other classes by -0.01.
params = init_params(0)
train_step(params, np.zeros((4, 28, 28, 1)), np.full(4, 3), 0.1, 0.0, np.random.default_rng(0))
moved = params["b2"][3]
assert not np.isclose(moved, 0.09 / 4), ("b2 moved 4 times too little with a batch of 4: softmax_cross_entropy's "
                                         "dlogits is already divided by N; do not divide the gradients by N again")
assert not np.isclose(moved, -0.09), "b2 moved the wrong way: gradient descent subtracts, params[k] -= lr * grad"
np.testing.assert_allclose(params["b2"], np.where(np.arange(10) == 3, 0.09, -0.01), atol=1e-12,
                           err_msg="b2 after one step on four blank images of label 3")
# db1 against centred differences of your own loss (with lr=0 a step changes nothing and returns the loss).
rng = np.random.default_rng(1)
x, y, start = rng.random((2, 28, 28, 1)), np.array([1, 7]), init_params(2)
def loss_at(b1):
    trial = {k: v.copy() for k, v in start.items()}
    trial["b1"] = b1
    return train_step(trial, x, y, 0.0, 0.0, np.random.default_rng(0))
h, eye = 1e-5, np.eye(8)
numeric = np.array([(loss_at(start["b1"] + h * e) - loss_at(start["b1"] - h * e)) / (2 * h) for e in eye])
stepped = {k: v.copy() for k, v in start.items()}
train_step(stepped, x, y, 1.0, 0.0, np.random.default_rng(0))
db1 = start["b1"] - stepped["b1"]
assert np.allclose(db1, numeric, rtol=1e-4, atol=1e-7), (
    "db1 differs from the numerical gradient of your loss: is the ReLU derivative missing? There is no ReLU\n"
    "backward to import: multiply the gradient coming out of max_pool2d_backward by (z1 > 0).\n"
    f"your db1:  {np.round(db1, 5)}\nnumerical: {np.round(numeric, 5)}")
'''),
    Part('test_train_step_accuracy', 2, checks.check_train_step, 'accuracy', 'train_step',
         r'''
# Graded after submission: the grader trains the network with your train_step for one epoch on 2000 MNIST images
# (batch 32, learning rate 0.1, dropout 0.25) and needs at least 80 % accuracy on 500 test images.
# Here only a quick sign of learning: ten steps on the same eight images must lower their loss.
rng = np.random.default_rng(3)
params, x, y = init_params(0), rng.random((8, 28, 28, 1)), np.arange(8)
losses = [train_step(params, x, y, 0.1, 0.0, rng) for _ in range(10)]
assert losses[-1] < losses[0], f"ten steps on the same batch did not lower its loss ({losses[0]:.3f} -> {losses[-1]:.3f})"
'''),
), mistakes=(
    Mistake('dropout: survivors not scaled', 'dropout',
            ((') / (1 - rate)', ') * 1.0'),),
            'test_dropout_mask', 'holds only 0 and 1'),
    Mistake('dropout: rate read as the keep probability', 'dropout',
            (('>= rate)', '< rate)'),),
            'test_dropout_statistics', 'probability of *dropping*'),
    Mistake('dropout: rng ignored', 'dropout',
            (('rng = np.random.default_rng(rng)', 'rng = np.random.default_rng()'),),
            'test_dropout_statistics', 'draw from rng'),
    Mistake('dropout backward: scale dropped', 'dropout_backward',
            (('dtype=float) * mask', 'dtype=float) * (mask != 0)'),),
            'test_dropout_backward', 'drops the scaling'),
    Mistake('train_step: ReLU derivative missing', 'train_step',
            ((' * (z1 > 0)', ''),),
            'test_train_step_one_step', 'ReLU derivative', uses=('dropout', 'dropout_backward')),
    Mistake('train_step: gradients divided by N twice', 'train_step',
            (('    grads = {', '    dlogits = dlogits / len(x)\n    grads = {'),),
            'test_train_step_one_step', 'already divided by N', uses=('dropout', 'dropout_backward')),
    Mistake('train_step: ascent instead of descent', 'train_step',
            (('params[key] -= lr', 'params[key] += lr'),),
            'test_train_step_one_step', 'moved the wrong way', uses=('dropout', 'dropout_backward')),
))
