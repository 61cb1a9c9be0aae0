"""autograder.checks.variant_checks: the checks of exercises 13 and 14.

Their expectations are checked against independent oracles on the checks' own cases (tf.nn, Keras
BatchNormalization and count_params(), numerical gradients); every known mistake is named; and
what a student's function returns crosses the bridge's encoding as plain data.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest

import solutions as S
from autograder import bridge, checks
from autograder.checks import CheckFailed
from autograder.checks import variant_checks as V
from autograder import diagnose as D
from autograder.diagnose import known_causes
from autograder.kernel_bridge import _cnn_bridge_install
from autograder.results import LIKELY_CAUSE

RNG = np.random.default_rng(5)


def _all_cases(spec):
    return spec.cases(np.random.default_rng(1)) + spec.edge_cases(np.random.default_rng(2))


# -- the references pass, the known mistakes are named ---------------------------------------------
REFERENCES = {
    checks.check_conv2d_transpose: lambda x, w, b=None, stride=1, padding="valid": S.conv2d_transpose(
        x, w, b, stride, padding),
    checks.check_depthwise_conv2d: S.depthwise_conv2d,
    checks.check_conv_layer_cost: S.conv_layer_cost,
    checks.check_batch_norm_forward: S.batch_norm_forward,
    checks.check_batch_norm_backward: S.batch_norm_backward,
    checks.check_residual_block_forward: S.residual_block_forward,
    checks.check_residual_block_backward: S.residual_block_backward,
}


@pytest.mark.parametrize("check", list(REFERENCES), ids=lambda c: c.__name__)
def test_the_reference_passes_every_part(check, capsys):
    for part in check.parts:
        check(REFERENCES[check], part=part)
    assert capsys.readouterr().out.count("\u2714") == len(check.parts)


def _named(check, student, message):
    """Some part of ``check`` fails ``student`` naming ``message`` (a crash in part "shape" names nothing)."""
    said = []
    for part in check.parts:
        try:
            check(student, part=part)
        except CheckFailed as failure:
            said.append(str(failure))
    assert said, "every part passed"
    assert any(LIKELY_CAUSE + message in s for s in said), said


SPEC_CHECKS = [(checks.check_conv2d_transpose, D.TRANSPOSE_VARIANTS),
               (checks.check_depthwise_conv2d, D.DEPTHWISE_VARIANTS),
               (checks.check_conv_layer_cost, D.COST_VARIANTS)]


@pytest.mark.parametrize("check,variant", [(c, v) for c, vs in SPEC_CHECKS for v in vs],
                         ids=lambda v: getattr(v, "__name__", "")[:40])
def test_each_known_mistake_of_13_is_named(check, variant):
    _named(check, variant.fn, variant.message)


def _as_forward(variant):
    """A batch-norm forward variant as a student writes it: it returns a cache (here a dict) too."""
    def student(*args, **kwargs):
        y, mean, var, _ = variant.fn(*args, **kwargs)
        return y, mean, var, {"anything": np.zeros(1)}
    return student


def _as_block_forward(variant):
    def student(*args, **kwargs):
        return variant.fn(*args, **kwargs)[0], {}, {}
    return student


BLOCK_BACKWARD_FLAGS = [{"shortcut_grad": False}, {"mask": False}, {"mask_shortcut": False}]


@pytest.mark.parametrize("index", range(len(D.BN_FORWARD_VARIANTS)))
def test_each_batch_norm_forward_mistake_is_named(index):
    variant = D.BN_FORWARD_VARIANTS[index]
    _named(checks.check_batch_norm_forward, _as_forward(variant), variant.message)


@pytest.mark.parametrize("index", range(len(D.BN_BACKWARD_VARIANTS)))
def test_each_batch_norm_backward_mistake_is_named(index):
    variant = D.BN_BACKWARD_VARIANTS[index]
    _named(checks.check_batch_norm_backward, variant.fn, variant.message)


@pytest.mark.parametrize("index", range(len(D.BLOCK_FORWARD_VARIANTS)))
def test_each_residual_forward_mistake_is_named(index):
    variant = D.BLOCK_FORWARD_VARIANTS[index]
    _named(checks.check_residual_block_forward, _as_block_forward(variant), variant.message)


@pytest.mark.parametrize("index", range(len(BLOCK_BACKWARD_FLAGS)))
def test_each_residual_backward_mistake_is_named(index):
    flags = BLOCK_BACKWARD_FLAGS[index]
    _named(checks.check_residual_block_backward, lambda dout, cache: D.block_backward_wrong(dout, cache, **flags),
           D.BLOCK_BACKWARD_VARIANTS[index].message)


def test_the_messages_are_known_causes():
    messages = {v.message for vs in (D.TRANSPOSE_VARIANTS, D.DEPTHWISE_VARIANTS, D.COST_VARIANTS,
                                     D.BN_FORWARD_VARIANTS, D.BN_BACKWARD_VARIANTS, D.BLOCK_FORWARD_VARIANTS,
                                     D.BLOCK_BACKWARD_VARIANTS) for v in vs}
    assert messages <= known_causes()


def test_a_wrong_structure_is_explained_before_values():
    with pytest.raises(CheckFailed, match=r"should return a tuple \(y, new_mean, new_var, cache\) of 4 items, got tuple"
                                          r" of length 3"):
        checks.check_batch_norm_forward(lambda *a, **k: S.batch_norm_forward(*a, **k)[:3], part="training")
    with pytest.raises(CheckFailed, match=r"grads has no 'conv2'"):
        checks.check_residual_block_backward(
            lambda dout, cache: (S.residual_block_backward(dout, cache)[0], {"conv1": 0, "bn1": {}, "bn2": {}}))
    with pytest.raises(CheckFailed, match=r"tuple \(params, multiply_adds, activations\) of 3 items, got dict"):
        checks.check_conv_layer_cost(lambda *a, **k: S.conv_layer_cost(*a, **k)._asdict(), part="params")


# -- the expectations are the oracles' -------------------------------------------------------------
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
from test_costs import keras_agrees  # noqa: E402


def _same_as(a, b, rtol=1e-9, atol=1e-9):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


def test_transpose_cases_are_tensorflows():
    for case in _all_cases(V.SPECS["conv2d_transpose"]):
        x, w, *b = case.args
        stride, padding = case.kwargs["stride"], case.kwargs["padding"]
        expected = V.SPECS["conv2d_transpose"].reference(*case.args, **case.kwargs)
        pads = "VALID" if padding in ("valid", 0) else [[0, 0], [padding, padding], [padding, padding], [0, 0]]
        got = tf.nn.conv2d_transpose(x, w, (x.shape[0], *expected.shape[1:]), stride, pads).numpy()
        _same_as(expected, got + (b[0] if b else 0), atol=1e-10)


def test_depthwise_cases_are_tensorflows():
    for case in _all_cases(V.SPECS["depthwise_conv2d"]):
        x, w, *b = case.args
        stride, padding = case.kwargs["stride"], case.kwargs["padding"]
        xp = x if padding in ("valid", 0) else np.pad(x, ((0, 0), (padding,) * 2, (padding,) * 2, (0, 0)))
        got = tf.nn.depthwise_conv2d(xp, w, (1, stride, stride, 1), "VALID").numpy()
        _same_as(V.SPECS["depthwise_conv2d"].reference(*case.args, **case.kwargs), got + (b[0] if b else 0),
                 atol=1e-10)


def test_cost_cases_are_keras():
    for case in _all_cases(V.SPECS["conv_layer_cost"]):
        if case.raises is None:
            keras_agrees(*case.args, **case.kwargs)


def _keras_bn(x, gamma, beta, mean, var, training, momentum=0.99, epsilon=1e-3):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon, dtype="float64")
    layer.build((None,) * (x.ndim - 1) + (gamma.size,))
    layer.set_weights([gamma, beta, mean, var])
    return layer


def test_batch_norm_cases_are_keras_batch_normalization():
    for spec in (V.BN_TRAIN, V.BN_INFER):
        for case in spec.cases(np.random.default_rng(3)):
            layer = _keras_bn(*case.args, **case.kwargs)
            y, mean, var, _ = spec.reference(*case.args, **case.kwargs)
            _same_as(y, layer(case.args[0], training=case.kwargs["training"]).numpy())
            _same_as(mean, layer.moving_mean.numpy())
            _same_as(var, layer.moving_variance.numpy())


def _loss_grad(f, x, h=1e-6):
    return S.numerical_gradient(f, x.copy(), h)


def test_batch_norm_backward_cases_are_numerical_gradients():
    for spec in (V.BNB_TRAIN, V.BNB_INFER):
        for case in spec.cases(np.random.default_rng(4))[:4]:
            dout, cache = case.args
            dx, dgamma, _ = spec.reference(dout, cache)
            x = cache["x_hat"] / cache["inv_std"]  # mean 0: any x with the same batch statistics
            gamma, beta = cache["gamma"], np.zeros_like(cache["gamma"])
            mean, var = np.zeros_like(gamma), 1 / cache["inv_std"] ** 2 - 1e-3
            training = cache["training"]

            def loss(x_, g_=gamma):
                return float(np.sum(S.batch_norm_forward(x_, g_, beta, mean, var, training)[0] * dout))

            if training:
                _same_as(dx, _loss_grad(loss, x), rtol=1e-5, atol=1e-6)
            _same_as(dgamma, _loss_grad(lambda g: loss(x, g), gamma), rtol=1e-5, atol=1e-6)


def test_residual_backward_cases_are_numerical_gradients():
    case = V.BLOCKB_PROJECTION.cases(np.random.default_rng(6))[0]
    dout, cache = case.args
    dx = V.BLOCKB_PROJECTION.reference(dout, cache)[0]
    x, params, stride = cache["x"], cache["params"], cache["stride"]
    numeric = _loss_grad(lambda x_: float(np.sum(S.residual_block_forward(x_, params, stride)[0] * dout)), x)
    _same_as(dx, numeric, rtol=1e-4, atol=1e-6)


# -- what a student's function returns survives the bridge ------------------------------------------
class _Cost(NamedTuple):
    params: int
    multiply_adds: int
    activations: int


def _round_trip(value, tmp_path):
    """``value`` as the student's kernel encodes it and the grader reads it back (no kernel: the two codecs)."""
    dirs = SimpleNamespace(inbox=tmp_path / "in", outbox=tmp_path / "out")
    dirs.inbox.mkdir(exist_ok=True)
    dirs.outbox.mkdir(exist_ok=True)
    serve = _cnn_bridge_install(str(dirs.inbox), str(dirs.outbox), {"f": lambda: value})
    bridge.write_batch(dirs.inbox, 1, [bridge._request("f", (), {})])
    serve(1)
    return bridge.BridgeSession(None, dirs, 1, 1 << 20)._read_reply("1-0").apply((), {})


@pytest.mark.parametrize("returned", [
    lambda c: tuple(c), lambda c: list(c), lambda c: _Cost(*c), lambda c: S.ConvCost(*c),
    lambda c: tuple(np.int64(v) for v in c)], ids=["tuple", "list", "namedtuple", "ConvCost", "numpy-ints"])
def test_cost_results_survive_the_bridge_and_pass(returned, tmp_path):
    def student(*args, **kwargs):
        return _round_trip(returned(S.conv_layer_cost(*args, **kwargs)), tmp_path)
    checks.check_conv_layer_cost(student, part="params")


def test_a_dataclass_result_does_not_cross_and_is_explained(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class Cost:
        params: int

    def student(*args, **kwargs):
        return _round_trip(Cost(1), tmp_path)

    with pytest.raises(CheckFailed, match=r"should be a tuple \(params, multiply_adds, activations\) of 3 items, "
                                          r"got a Cost object, which cannot leave your notebook"):
        checks.check_conv_layer_cost(student, part="params")


def test_caches_and_gradient_dicts_survive_the_bridge(tmp_path):
    x = RNG.standard_normal((3, 2, 2, 2))
    y, mean, var, cache = S.batch_norm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    back = _round_trip((y, mean, var, cache), tmp_path)
    assert isinstance(back, tuple) and set(back[3]) == set(cache) and back[3]["training"] is True
    _same_as(S.batch_norm_backward(np.ones_like(y), back[3])[0], S.batch_norm_backward(np.ones_like(y), cache)[0])
    params = S.init_residual_block(2, 3, 2, rng=0)
    out, running, block_cache = S.residual_block_forward(x, params, 2)
    dx, grads = _round_trip(S.residual_block_backward(np.ones_like(out), block_cache), tmp_path)
    assert set(grads) == {"conv1", "conv2", "bn1", "bn2", "proj", "bn_proj"} and set(grads["bn1"]) == {"gamma", "beta"}
