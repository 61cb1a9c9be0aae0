"""Exercise 14: Batch normalisation and the residual block: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Mistake, Part, Solution

EXERCISE = Exercise('14-deeper-networks', (
    Markdown('intro', r'''# Exercise 14: Batch normalisation and the residual block

**Batch normalisation** normalises each channel with statistics over every axis but the last
(over N for `(N, C)` activations, over N, H and W for NHWC feature maps), then scales and
shifts: `y = gamma * (x - mu) / sqrt(var + epsilon) + beta`.

* `training=True`: `mu` and `var` are the batch's mean and *biased* variance (divided by the
  number `M` of values per channel, as `np.var` does), and the running statistics move towards
  them, `running = momentum * running + (1 - momentum) * batch_statistic` (Keras' convention:
  `momentum` weighs the old value);
* `training=False` (inference): `mu = running_mean`, `var = running_var`, nothing is updated.

`batch_norm_forward` returns `(y, new_mean, new_var, cache)` with the cache exactly
`{"x_hat": x_hat, "inv_std": 1 / sqrt(var + epsilon), "gamma": gamma, "training": training}`:
the grader calls your `batch_norm_backward(dout, cache)` with a cache built this way. In training,
with sums per channel, `dx = gamma * inv_std / M * (M * dout - sum(dout) - x_hat * sum(dout * x_hat))`;
in inference `dx = gamma * inv_std * dout`. The hidden tests' expectations are those of
`keras.layers.BatchNormalization` (its output and moving statistics) and of numerical gradients.

Then the **residual block** of ResNet (the layout of the Keras layers `Conv2D(use_bias=False,
padding="same")`, `BatchNormalization`, `ReLU`, `Add`):

    out = relu(z),  z = bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)

with 3x3 "same" convolutions, the first one carrying the block's `stride`. The shortcut is `x`
itself, or -- when `params` has `"proj"` -- `bn_proj(conv(x, proj))`, a 1x1 convolution with the same
stride. `params` holds the kernels `"conv1"`, `"conv2"` (and `"proj"`) and, for `"bn1"`, `"bn2"` (and
`"bn_proj"`), dicts with `gamma`, `beta`, `mean`, `var`. Use the `conv2d`, `conv2d_backward` and
`relu` of the setup cell and your batch-norm functions. `residual_block_forward` returns
`(out, running, cache)`: `running` maps each batch norm's name to its `(new_mean, new_var)`; the
cache is exactly the dict of the solution cell's docstring (the grader calls your backward pass
with one built that way). `residual_block_backward` returns `(dx, grads)`, `grads` with the
kernel gradients `"conv1"`, `"conv2"` (`"proj"`) and `{"gamma": ..., "beta": ...}` for each batch norm.

Not allowed (0 points): TensorFlow/Keras, SciPy. **Points**: 18.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np
from solutions import conv2d, conv2d_backward, relu  # NHWC convolution ("same" padding too) and its gradients
from solutions import init_residual_block, numerical_gradient  # block parameters; centred differences'''),
    Solution(solutions.batch_norm_forward,
             doc=r'''    """Batch normalisation over every axis but the last, with running statistics.

    Parameters
    ----------
    x : array_like, shape (N, C) or (N, H, W, C)
    gamma, beta, running_mean, running_var : array_like, shape (C,)   (not changed in place)
    training : bool
    momentum, epsilon : float

    Returns
    -------
    y : ndarray, shape of x
    new_mean, new_var : ndarray, shape (C,)   (copies of the running ones when not training)
    cache : dict {"x_hat", "inv_std", "gamma", "training"}
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)
    axes = tuple(range(x.ndim - 1))  # every axis but the channels
    if training:
        mu = x.mean(axis=axes)
        var = x.var(axis=axes)  # biased: divided by M
        new_mean = momentum * running_mean + (1 - momentum) * mu
        new_var = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
        new_mean, new_var = np.array(running_mean, dtype=float), np.array(running_var, dtype=float)
    inv_std = 1 / np.sqrt(var + epsilon)
    x_hat = (x - mu) * inv_std
    y = gamma * x_hat + beta
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": np.asarray(gamma, dtype=float), "training": training}
    return y, new_mean, new_var, cache
'''),
    Code('bn_example', r'''
# A hand-checkable batch: two values, 1 and 3, in one channel (mean 2, biased variance 1).
x_two = np.array([[1.0], [3.0]])
ones, zeros = np.ones(1), np.zeros(1)'''),
    Part('test_bn_shape', 1, checks.check_batch_norm_forward, 'shape', 'batch_norm_forward',
         r'''
out = batch_norm_forward(np.ones((4, 3, 3, 2)), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
assert isinstance(out, tuple) and len(out) == 4, "return the tuple (y, new_mean, new_var, cache)"
assert np.shape(out[0]) == (4, 3, 3, 2), f"y has the shape of x (4, 3, 3, 2), got {np.shape(out[0])}"
assert np.shape(out[1]) == np.shape(out[2]) == (2,), (
    f"the running statistics have one mean per channel, over N, H and W (every axis but the last): shape (2,), "
    f"got {np.shape(out[1])} and {np.shape(out[2])}")
'''),
    Part('test_bn_training', 2, checks.check_batch_norm_forward, 'training', 'batch_norm_forward',
         r'''
y = batch_norm_forward(x_two, ones, zeros, zeros, ones)[0]
assert not np.allclose(y[:, 0], [-1 / np.sqrt(2.001), 1 / np.sqrt(2.001)]), (
    "your batch variance is the unbiased one (divided by M - 1); batch norm uses the biased variance (np.var's default)")
np.testing.assert_allclose(y[:, 0], [-1 / np.sqrt(1.001), 1 / np.sqrt(1.001)], err_msg="(x - 2) / sqrt(1 + 0.001)")
y = batch_norm_forward(x_two, 2 * ones, ones, zeros, ones)[0]
np.testing.assert_allclose(y[:, 0], [1 - 2 / np.sqrt(1.001), 1 + 2 / np.sqrt(1.001)], err_msg="gamma = 2, beta = 1")
'''),
    Part('test_bn_running', 2, checks.check_batch_norm_forward, 'running_stats', 'batch_norm_forward',
         r'''
# Batch mean 2 and variance 1; running statistics 0 and 2; momentum 0.9 keeps 90 % of the old value.
_, new_mean, new_var, _ = batch_norm_forward(x_two, ones, zeros, zeros, 2 * ones, momentum=0.9)
assert not (np.allclose(new_mean, 0) and np.allclose(new_var, 2)), (
    "your running statistics are not updated in training: running = momentum * running + (1 - momentum) * batch")
assert not np.allclose(new_mean, 1.8), ("your running statistics use PyTorch's momentum convention; here momentum "
                                        "weighs the old value: 0.9 * 0 + 0.1 * 2 = 0.2")
np.testing.assert_allclose(new_mean, [0.2], err_msg="0.9 * 0 + 0.1 * 2")
np.testing.assert_allclose(new_var, [1.9], err_msg="0.9 * 2 + 0.1 * 1 (the biased batch variance)")
'''),
    Part('test_bn_inference', 1, checks.check_batch_norm_forward, 'inference', 'batch_norm_forward',
         r'''
# Running mean 1 and variance 4: inference normalises with them, whatever the batch.
y, new_mean, new_var, _ = batch_norm_forward(x_two, 2 * ones, ones, ones, 4 * ones, training=False)
assert not np.allclose(y[:, 0], [1 - 2 / np.sqrt(1.001), 1 + 2 / np.sqrt(1.001)]), (
    "in inference your function normalises with the batch's own statistics; use the running mean and variance")
np.testing.assert_allclose(y[:, 0], [1, 1 + 4 / np.sqrt(4.001)], err_msg="2 * (x - 1) / sqrt(4 + 0.001) + 1")
assert np.allclose(new_mean, 1) and np.allclose(new_var, 4), (
    "in inference your function updates the running statistics; they change only while training")
'''),
    Solution(solutions.batch_norm_backward,
             doc=r'''    """Gradients of L = sum(y * dout) for y = batch_norm_forward(...)[0].

    Parameters
    ----------
    dout : array_like, shape of y
    cache : dict {"x_hat", "inv_std", "gamma", "training"} from batch_norm_forward

    Returns
    -------
    dx : ndarray, shape of y
    dgamma, dbeta : ndarray, shape (C,)
    """
''',
             body=r'''    dout = np.asarray(dout, dtype=float)
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    axes = tuple(range(dout.ndim - 1))
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    if not cache["training"]:
        return gamma * inv_std * dout, dgamma, dbeta
    m = dout.size // dout.shape[-1]  # values per channel
    dx = gamma * inv_std / m * (m * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
'''),
    Part('test_bnb_dx', 2, checks.check_batch_norm_backward, 'dx', 'batch_norm_backward',
         r'''
# With dout of ones, L = sum(y) = M * sum(beta) whatever x is: in training, dx is zero.
_, _, _, cache = batch_norm_forward(x_two, ones, zeros, zeros, ones)
dx = batch_norm_backward(np.ones((2, 1)), cache)[0]
assert not np.allclose(dx, 1 / np.sqrt(1.001)), (
    "your dx treats the batch mean and variance as constants; in training they depend on x")
np.testing.assert_allclose(dx, 0, atol=1e-12, err_msg="sum(y) does not depend on x: dx = 0")
rng = np.random.default_rng(0)
xg, doutg = rng.standard_normal((3, 2, 2, 2)), rng.standard_normal((3, 2, 2, 2))
gammag, betag = np.array([1.5, 0.5]), np.array([0.1, -0.2])
loss = lambda x_: np.sum(batch_norm_forward(x_, gammag, betag, zeros, ones)[0] * doutg)
dx = batch_norm_backward(doutg, batch_norm_forward(xg, gammag, betag, zeros, ones)[3])[0]
np.testing.assert_allclose(dx, numerical_gradient(loss, xg.copy()), rtol=1e-5, atol=1e-7,
                           err_msg="dx against numerical_gradient")
'''),
    Part('test_bnb_dgamma_dbeta', 1, checks.check_batch_norm_backward, 'dgamma_dbeta', 'batch_norm_backward',
         r'''
_, _, _, cache = batch_norm_forward(x_two, ones, zeros, zeros, ones)
_, dgamma, dbeta = batch_norm_backward(np.array([[1.0], [2.0]]), cache)
assert not np.allclose(dgamma, 3), "your dgamma and dbeta are swapped: dgamma = sum(dout * x_hat), dbeta = sum(dout)"
np.testing.assert_allclose(dbeta, [3], err_msg="dbeta = sum(dout) = 1 + 2")
np.testing.assert_allclose(dgamma, [1 / np.sqrt(1.001)], err_msg="dgamma = sum(dout * x_hat) = -1 * 0.9995 + 2 * 0.9995")
'''),
    Part('test_bnb_inference', 1, checks.check_batch_norm_backward, 'inference', 'batch_norm_backward',
         r'''
# In inference the statistics are constants: y = gamma * (x - mean) / sqrt(var + eps) + beta is affine in x.
_, _, _, cache = batch_norm_forward(x_two, 2 * ones, ones, ones, 4 * ones, training=False)
dx = batch_norm_backward(np.array([[1.0], [2.0]]), cache)[0]
np.testing.assert_allclose(dx[:, 0], [2 / np.sqrt(4.001), 4 / np.sqrt(4.001)], err_msg="dx = gamma * inv_std * dout")
'''),
    Solution(solutions.residual_block_forward,
             doc=r'''    """Forward pass of a basic residual block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    Parameters
    ----------
    x : array_like, shape (N, H, W, Cin)
    params : dict   "conv1" (3, 3, Cin, Cout), "conv2" (3, 3, Cout, Cout), optional "proj" (1, 1, Cin, Cout);
        "bn1", "bn2", optional "bn_proj": dicts with "gamma", "beta", "mean", "var", each shape (Cout,)
    stride : int   of conv1 and of the projection
    training, momentum, epsilon : passed to batch_norm_forward

    Returns
    -------
    out : ndarray, shape (N, ceil(H / stride), ceil(W / stride), Cout)
    running : dict   "bn1": (new_mean, new_var), "bn2": ... (and "bn_proj")
    cache : dict   "x" (as a float array), "stride", "params", "a1" (bn1's output), "r1" (relu(a1)),
        "bn1", "bn2" (and "bn_proj"): the batch norms' caches, "z": the sum before the last ReLU
    """
''',
             body=r'''    x = np.asarray(x, dtype=float)

    def bn(h, key):
        p = params[key]
        return batch_norm_forward(h, p["gamma"], p["beta"], p["mean"], p["var"], training, momentum, epsilon)

    a1, m1, v1, bn1 = bn(conv2d(x, params["conv1"], stride=stride, padding="same"), "bn1")
    r1 = relu(a1)
    a2, m2, v2, bn2 = bn(conv2d(r1, params["conv2"], padding="same"), "bn2")
    running = {"bn1": (m1, v1), "bn2": (m2, v2)}
    cache = {"x": x, "stride": stride, "params": params, "a1": a1, "r1": r1, "bn1": bn1, "bn2": bn2}
    if "proj" in params:
        shortcut, mp, vp, cache["bn_proj"] = bn(conv2d(x, params["proj"], stride=stride, padding="same"), "bn_proj")
        running["bn_proj"] = (mp, vp)
    else:
        shortcut = x
    z = a2 + shortcut
    cache["z"] = z
    return relu(z), running, cache
'''),
    Code('block_example', r'''
# A block whose second kernel is zero: its batch norm then outputs beta2 exactly (a constant input has
# variance 0, so x_hat = 0), and the block computes out = relu(beta2 + shortcut(x)).
rng = np.random.default_rng(1)
x_block = rng.standard_normal((2, 4, 4, 2))
flat = init_residual_block(2, 2, rng=0)
flat["conv2"] = np.zeros((3, 3, 2, 2))
flat["bn2"]["beta"] = np.array([0.5, -0.5])
down = init_residual_block(2, 3, stride=2, rng=0)  # 2 -> 3 channels, stride 2: a projection shortcut
down["conv2"] = np.zeros((3, 3, 3, 3))
down["bn2"]["beta"] = np.array([0.5, -0.5, 0.0])'''),
    Part('test_block_identity', 2, checks.check_residual_block_forward, 'identity', 'residual_block_forward',
         r'''
out, running, cache = residual_block_forward(x_block, flat)
assert np.shape(out) == (2, 4, 4, 2), f"stride 1, 2 -> 2 channels: out has x's shape, got {np.shape(out)}"
assert np.all(out >= 0), "your block outputs negative values: the ReLU comes after the addition, relu(z)"
assert not np.allclose(out, relu(np.broadcast_to([0.5, -0.5], out.shape))), (
    "your block leaves out the shortcut: add x before the last ReLU")
np.testing.assert_allclose(out, relu(x_block + [0.5, -0.5]), err_msg="out = relu(beta2 + x)")
assert set(running) == {"bn1", "bn2"}, f"running has the new statistics of bn1 and bn2, got {sorted(running)}"
'''),
    Part('test_block_projection', 2, checks.check_residual_block_forward, 'projection', 'residual_block_forward',
         r'''
out, running, cache = residual_block_forward(x_block, down, stride=2)
assert np.shape(out) == (2, 2, 2, 3), f"stride 2, 2 -> 3 channels: out has shape (2, 2, 2, 3), got {np.shape(out)}"
p = down["bn_proj"]
side = batch_norm_forward(conv2d(x_block, down["proj"], stride=2, padding="same"), p["gamma"], p["beta"], p["mean"],
                          p["var"])[0]
np.testing.assert_allclose(out, relu(side + [0.5, -0.5, 0.0]), err_msg="out = relu(beta2 + bn_proj(conv(x, proj)))")
assert set(running) == {"bn1", "bn2", "bn_proj"}, f"running also has bn_proj's statistics, got {sorted(running)}"
'''),
    Solution(solutions.residual_block_backward,
             doc=r'''    """Gradients of L = sum(out * dout) for out = residual_block_forward(...)[0].

    Parameters
    ----------
    dout : array_like, shape of out
    cache : dict returned by residual_block_forward

    Returns
    -------
    dx : ndarray, shape of x: the main path's gradient plus the shortcut's
    grads : dict   "conv1", "conv2" (and "proj"): kernel gradients; "bn1", "bn2" (and "bn_proj"):
        {"gamma": ..., "beta": ...}
    """
''',
             body=r'''    x, params, stride = cache["x"], cache["params"], cache["stride"]
    dz = np.asarray(dout, dtype=float) * (cache["z"] > 0)  # through the last ReLU
    dh2, dgamma2, dbeta2 = batch_norm_backward(dz, cache["bn2"])
    dr1, dconv2, _ = conv2d_backward(dh2, cache["r1"], params["conv2"], padding="same")
    dh1, dgamma1, dbeta1 = batch_norm_backward(dr1 * (cache["a1"] > 0), cache["bn1"])
    dx, dconv1, _ = conv2d_backward(dh1, x, params["conv1"], stride=stride, padding="same")
    grads = {"conv1": dconv1, "conv2": dconv2, "bn1": {"gamma": dgamma1, "beta": dbeta1},
             "bn2": {"gamma": dgamma2, "beta": dbeta2}}
    if "proj" in params:
        dp, dgammap, dbetap = batch_norm_backward(dz, cache["bn_proj"])
        dx_short, grads["proj"], _ = conv2d_backward(dp, x, params["proj"], stride=stride, padding="same")
        grads["bn_proj"] = {"gamma": dgammap, "beta": dbetap}
    else:
        dx_short = dz
    return dx + dx_short, grads
'''),
    Part('test_block_backward_dx', 2, checks.check_residual_block_backward, 'dx', 'residual_block_backward',
         r'''
# The zero second kernel passes no gradient back along the main path: all of dx comes through the shortcut.
out, _, cache = residual_block_forward(x_block, flat)
dout_block = np.random.default_rng(2).standard_normal(out.shape)
dx, grads = residual_block_backward(dout_block, cache)
assert not np.allclose(dx, 0), "your dx is missing the shortcut's gradient: dx = dx_main + dx_shortcut"
assert not np.allclose(dx, dout_block), ("your backward pass skips the last ReLU: multiply dout by (z > 0) before "
                                         "splitting it between the two paths")
np.testing.assert_allclose(dx, dout_block * (x_block + [0.5, -0.5] > 0), atol=1e-12, err_msg="dx = dout * (z > 0)")
'''),
    Part('test_block_backward_params', 2, checks.check_residual_block_backward, 'params', 'residual_block_backward',
         r'''
# Graded after submission on random blocks of both kinds. Here: every gradient has its parameter's shape, and
# conv1's matches numerical_gradient on a small block.
small = init_residual_block(2, 2, rng=3)
xs = np.random.default_rng(4).standard_normal((2, 3, 3, 2))
out, _, cache = residual_block_forward(xs, small)
douts = np.random.default_rng(5).standard_normal(out.shape)
_, grads = residual_block_backward(douts, cache)
assert np.shape(grads["conv1"]) == (3, 3, 2, 2) and np.shape(grads["bn2"]["gamma"]) == (2,), "gradient shapes"
loss = lambda w_: np.sum(residual_block_forward(xs, small)[0] * douts)  # reads small["conv1"], perturbed in place
np.testing.assert_allclose(grads["conv1"], numerical_gradient(loss, small["conv1"]), rtol=1e-4, atol=1e-6,
                           err_msg="dconv1 against numerical_gradient")
'''),
), mistakes=(
    Mistake('bn: unbiased variance', 'batch_norm_forward',
            (('var = x.var(axis=axes)  #', 'var = x.var(axis=axes, ddof=1)  #'),),
            'test_bn_training', 'unbiased'),
    Mistake('bn: running statistics not updated', 'batch_norm_forward',
            (('new_mean = momentum * running_mean + (1 - momentum) * mu', 'new_mean = np.array(running_mean, dtype=float)'),
             ('new_var = momentum * running_var + (1 - momentum) * var', 'new_var = np.array(running_var, dtype=float)')),
            'test_bn_running', 'not updated'),
    Mistake("bn: PyTorch's momentum", 'batch_norm_forward',
            (('new_mean = momentum * running_mean + (1 - momentum) * mu', 'new_mean = (1 - momentum) * running_mean + momentum * mu'),
             ('new_var = momentum * running_var + (1 - momentum) * var', 'new_var = (1 - momentum) * running_var + momentum * var')),
            'test_bn_running', "PyTorch's momentum"),
    Mistake('bn: batch statistics at inference', 'batch_norm_forward',
            (('mu, var = running_mean, running_var', 'mu, var = x.mean(axis=axes), x.var(axis=axes)'),),
            'test_bn_inference', "batch's own statistics"),
    Mistake('bn: statistics per position', 'batch_norm_forward',
            (('axes = tuple(range(x.ndim - 1))', 'axes = 0'),),
            'test_bn_shape', 'one mean per channel'),
    Mistake('bn backward: statistics as constants', 'batch_norm_backward',
            (('dx = gamma * inv_std / m * (m * dout - dbeta - x_hat * dgamma)', 'dx = gamma * inv_std * dout'),),
            'test_bnb_dx', 'as constants', uses=('batch_norm_forward',)),
    Mistake('bn backward: dgamma and dbeta swapped', 'batch_norm_backward',
            (('    return dx, dgamma, dbeta\n', '    return dx, dbeta, dgamma\n'),),
            'test_bnb_dgamma_dbeta', 'swapped', uses=('batch_norm_forward',)),
    Mistake('block: no shortcut', 'residual_block_forward',
            (('z = a2 + shortcut', 'z = a2'),),
            'test_block_identity', 'leaves out the shortcut', uses=('batch_norm_forward',)),
    Mistake('block: ReLU before the addition', 'residual_block_forward',
            (('z = a2 + shortcut', 'z = relu(a2) + shortcut'), ('return relu(z), running, cache', 'return z, running, cache')),
            'test_block_identity', 'after the addition', uses=('batch_norm_forward',)),
    Mistake('block backward: no shortcut gradient', 'residual_block_backward',
            (('return dx + dx_short, grads', 'return dx, grads'),),
            'test_block_backward_dx', "missing the shortcut's gradient",
            uses=('residual_block_forward', 'batch_norm_forward', 'batch_norm_backward')),
    Mistake('block backward: last ReLU skipped', 'residual_block_backward',
            (('dz = np.asarray(dout, dtype=float) * (cache["z"] > 0)', 'dz = np.asarray(dout, dtype=float)'),),
            'test_block_backward_dx', 'skips the last ReLU',
            uses=('residual_block_forward', 'batch_norm_forward', 'batch_norm_backward')),
))
