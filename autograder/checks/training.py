"""Check for exercise 08: one SGD step of a small NumPy convnet, and the accuracy it reaches.

The network (fixed by the exercise): conv 3x3 with 8 filters -> ReLU -> 2x2 max pool -> dropout ->
flatten -> dense 10 -> softmax cross-entropy.  Parameters live in a dict
``{"W1": (3, 3, 1, 8), "b1": (8,), "W2": (13 * 13 * 8, 10), "b2": (10,)}`` that ``train_step`` updates
in place and ``train_step(params, x, y, lr, rate, rng)`` returns the batch loss.
"""
from __future__ import annotations

import numpy as np

import solutions as ref
from solutions.numpy_net import init_params

from ..bridge import BridgeFailure
from . import compare as _safe
from ._core import Case, CheckFailed, call_student, run_property, with_parts

#: The accuracy part's setting, stated in the notebook too.
N_TRAIN, N_TEST, EPOCHS, BATCH, LR, RATE = 2000, 500, 1, 32, 0.1, 0.25
TARGET_ACCURACY = 0.80


def forward_logits(params, x):
    """Inference forward pass (no dropout): x (N, 28, 28, 1) -> logits (N, 10)."""
    a1 = ref.relu(ref.conv2d(x, params["W1"], params["b1"]))
    p1 = ref.max_pool2d(a1, 2)
    return p1.reshape(len(x), -1) @ params["W2"] + params["b2"]


def reference_train_step(params, x, y, lr, rate, rng):
    """One SGD step; the reference the student's step is compared with."""
    z1 = ref.conv2d(x, params["W1"], params["b1"])
    a1 = ref.relu(z1)
    p1 = ref.max_pool2d(a1, 2)
    d1, mask = ref.dropout(p1, rate, rng)
    flat = d1.reshape(len(x), -1)
    loss, dlogits = ref.softmax_cross_entropy(flat @ params["W2"] + params["b2"], y)
    grads = {"W2": flat.T @ dlogits, "b2": dlogits.sum(axis=0)}
    dp1 = ref.dropout_backward((dlogits @ params["W2"].T).reshape(p1.shape), mask)
    dz1 = ref.max_pool2d_backward(dp1, a1, 2) * (z1 > 0)
    _, grads["W1"], grads["b1"] = ref.conv2d_backward(dz1, x, params["W1"])
    for key, grad in grads.items():
        params[key] -= lr * grad
    return float(loss)


def _data():
    (xtr, ytr), (xte, yte) = ref.load_mnist(N_TRAIN, N_TEST, seed=0)
    prep = lambda x: (x.astype(np.float64) / 255.0)[..., None]
    return prep(xtr), ytr.astype(np.int64), prep(xte), yte.astype(np.int64)


def _call(func, *args):
    """Call train_step on the caller's own objects (its in-place update is the point)."""
    try:
        return func(*args)
    except BridgeFailure:
        raise
    except Exception as exc:
        raise CheckFailed(f"train_step raised {type(exc).__name__}: {exc}") from None


@with_parts("one_step", "loss", "accuracy")
def check_train_step(func, part=None):
    """Parts: "one_step" (the update equals the reference's with dropout off), "loss" (returns the
    batch loss), "accuracy" (training with it reaches TARGET_ACCURACY on the fixed MNIST subset)."""

    def step(params, x, y, lr, rate, rng, label):
        out, exc = call_student("train_step", func, Case((params, x, y, lr, rate, rng)))
        if exc is not None:
            raise CheckFailed(f"train_step raised {type(exc).__name__}: {exc} ({label})")
        return out

    def one_step(rng):
        x = np.round(rng.random((4, 28, 28, 1)), 2)
        y = rng.integers(0, 10, 4)
        expected, got = init_params(1), init_params(1)
        reference_train_step(expected, x, y, 0.05, 0.0, np.random.default_rng(0))
        # called directly (not through call_student, which copies) so the in-place update is visible
        _call(func, got, x, y, 0.05, 0.0, np.random.default_rng(0))
        for key in ("W1", "b1", "W2", "b2"):
            if key not in got:
                raise CheckFailed(f"params no longer has the key {key!r}")
            problem = _safe.compare(got[key], expected[key], rtol=1e-6, atol=1e-9, what=f"params[{key!r}] after one step")
            if problem:
                unchanged = _safe.arrays_equal(got[key], init_params(1)[key], rtol=0, atol=0)
                hint = (" It was not updated at all: update the arrays in params in place, e.g. "
                        "params[key] -= lr * grads[key]." if unchanged else
                        " Check the gradient of this parameter (and that the update is params -= lr * grad).")
                raise CheckFailed(problem + "." + hint)
        return 4

    def loss_part(rng):
        x = np.round(rng.random((6, 28, 28, 1)), 2)
        y = rng.integers(0, 10, 6)
        params = init_params(2)
        expected = reference_train_step(init_params(2), x, y, 0.01, 0.0, np.random.default_rng(0))
        got = step(params, x, y, 0.01, 0.0, np.random.default_rng(0), "loss check")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise CheckFailed(f"train_step should return the batch loss as a number, got {type(got).__name__}") from None
        if abs(got - expected) > 1e-6 * max(1.0, abs(expected)):
            raise CheckFailed(f"train_step returned loss {got:.6g}, expected {expected:.6g} (the mean softmax "
                              "cross-entropy of the batch, computed before the update).")
        return 1

    def accuracy_part(rng):
        xtr, ytr, xte, yte = _data()
        params = init_params(0)
        order_rng = np.random.default_rng(0)
        drop_rng = np.random.default_rng(1)
        for _ in range(EPOCHS):
            order = order_rng.permutation(len(xtr))
            for i in range(0, len(xtr), BATCH):
                idx = order[i: i + BATCH]
                _call(func, params, xtr[idx], ytr[idx], LR, RATE, drop_rng)
        accuracy = float(np.mean(np.argmax(forward_logits(params, xte), axis=1) == yte))
        if not accuracy >= TARGET_ACCURACY:
            raise CheckFailed(f"After {EPOCHS} epochs on {N_TRAIN} MNIST images your training step reaches "
                              f"{accuracy:.1%} test accuracy; at least {TARGET_ACCURACY:.0%} is required. Check the "
                              "gradients (part 'one_step') and that dropout is applied in training only.")
        print(f"  test accuracy after {EPOCHS} epochs: {accuracy:.1%} (target {TARGET_ACCURACY:.0%})")
        return 1

    bodies = {"one_step": one_step, "loss": loss_part, "accuracy": accuracy_part}
    for p in check_train_step.parts if part is None else (part,):
        run_property("train_step", func, bodies[p], p)

