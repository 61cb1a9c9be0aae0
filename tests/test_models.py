"""Part III models: parameter counts against the chapter-5 formulas, receptive fields against gradients."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from solutions import conv_param_count, dense_param_count  # noqa: E402
from solutions import models  # noqa: E402
from solutions.residual import residual_block_forward  # noqa: E402


def test_mnist_convnet_counts_match_formulas_layer_by_layer():
    model = models.mnist_convnet()
    expected = {
        "conv1": conv_param_count(3, 3, 1, 32),
        "conv2": conv_param_count(3, 3, 32, 64),
        "hidden": dense_param_count(5 * 5 * 64, 128),  # 28 -> 26 -> 13 -> 11 -> 5
        "softmax": dense_param_count(128, 10),
    }
    for layer in model.layers:
        assert layer.count_params() == expected.get(layer.name, 0), layer.name
    assert model.count_params() == sum(expected.values()) == 225_034
    assert model.output_shape == (None, 10)


def _bn(c):  # gamma, beta (trained) + moving mean, moving variance
    return 4 * c


def test_cifar_small_and_vgg_counts_match_formulas():
    small = models.cifar10_convnet(models.CIFAR_STEPS["baseline"])
    # 'same' padding keeps 32 -> 32, pools halve twice: 8 x 8 x 64 features into the dense layer.
    assert small.count_params() == (conv_param_count(3, 3, 3, 32) + conv_param_count(3, 3, 32, 64)
                                    + conv_param_count(3, 3, 64, 64) + dense_param_count(8 * 8 * 64, 64)
                                    + dense_param_count(64, 10))
    w1, w2, w3 = models.CIFAR_FINAL.widths
    vgg = models.cifar10_convnet(models.CIFAR_FINAL)
    convs = [(3, w1), (w1, w1), (w1, w2), (w2, w2), (w2, w3), (w3, w3)]
    expected = sum(conv_param_count(3, 3, a, b, bias=False) + _bn(b) for a, b in convs)
    expected += dense_param_count(w3, 10)  # global average pooling: one feature per channel
    assert vgg.count_params() == expected
    # Without batch norm the convolutions keep their biases.
    plain = models.cifar10_convnet(replace(models.CIFAR_FINAL, batchnorm=False))
    assert plain.count_params() == sum(conv_param_count(3, 3, a, b) for a, b in convs) + \
        dense_param_count(w3, 10)


def test_cifar_resnet_count_matches_a_hand_count_and_its_blocks_halve_the_grid():
    w1, w2, w3 = models.CIFAR_RESNET.widths
    model = models.cifar10_convnet(models.CIFAR_RESNET)

    def block(cin, cout, projection):  # two 3x3 convs (no bias) with batch norm, maybe a 1x1 projection
        n = conv_param_count(3, 3, cin, cout, bias=False) + conv_param_count(3, 3, cout, cout, bias=False)
        n += 2 * _bn(cout)
        return n + (conv_param_count(1, 1, cin, cout, bias=False) + _bn(cout) if projection else 0)

    expected = (conv_param_count(3, 3, 3, w1, bias=False) + _bn(w1)  # stem
                + block(w1, w1, False) + block(w1, w2, True) + block(w2, w3, True) + dense_param_count(w3, 10))
    assert model.count_params() == expected
    shapes = {layer.name: layer.output.shape for layer in model.layers}
    assert shapes["stem_pool"] == (None, None, None, w1)
    sized = keras.Model(model.input, [model.get_layer(f"block{i}_out").output for i in (1, 2, 3)])
    outs = sized.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
    assert [o.shape for o in outs] == [(2, 16, 16, w1), (2, 8, 8, w2), (2, 4, 4, w3)]
    assert model.output_shape == (None, 10) and model.get_layer("features").output.shape == (None, w3)
    names = {layer.name for layer in model.layers}
    assert "block1_proj" not in names and {"block2_proj", "block3_proj"} <= names
    assert models.CIFAR_RESNET == replace(models.CIFAR_FINAL, arch="resnet")
    with pytest.raises(ValueError, match="chain"):  # the shortcuts branch; costs.layer_costs handles them
        models.multiply_adds(model)


def _keras_block(shape, filters, stride, rng):
    inputs = keras.Input(shape)
    block = keras.Model(inputs, models.residual_block(inputs, filters, stride, name="b"))
    weights = [rng.normal(size=w.shape) if "moving_variance" not in w.path else rng.uniform(0.5, 2, w.shape)
               for w in block.weights]
    block.set_weights(weights)
    return block


@pytest.mark.parametrize("shape,filters,stride", [((6, 6, 4), 4, 1), ((7, 7, 3), 5, 2), ((8, 8, 4), 6, 1)])
def test_keras_residual_block_matches_the_numpy_block(shape, filters, stride):
    """Identity shortcut when the shape is kept, projection otherwise; inference and training mode."""
    rng = np.random.default_rng(sum(shape) + filters)
    block = _keras_block(shape, filters, stride, rng)
    projection = stride != 1 or shape[-1] != filters
    assert any(layer.name == "b_proj" for layer in block.layers) == projection

    def get(name):
        return block.get_layer(name).get_weights()

    def bn(name):
        gamma, beta, mean, var = get(name)
        return {"gamma": gamma, "beta": beta, "mean": mean, "var": var}

    params = {"conv1": get("b_conv1")[0], "bn1": bn("b_conv1_bn"), "conv2": get("b_conv2")[0],
              "bn2": bn("b_conv2_bn")}
    if projection:
        params.update(proj=get("b_proj")[0], bn_proj=bn("b_proj_bn"))
    x = rng.normal(size=(3, *shape)).astype("float32")
    for training in (False, True):
        ours, _, _ = residual_block_forward(x, params, stride=stride, training=training)
        theirs = keras.ops.convert_to_numpy(block(x, training=training))
        np.testing.assert_allclose(theirs, ours, rtol=1e-3, atol=1e-3)
    assert ours.shape == (3, -(-shape[0] // stride), -(-shape[1] // stride), filters)


def test_identity_block_passes_its_input_through_when_the_residual_is_zero():
    rng = np.random.default_rng(0)
    block = _keras_block((5, 5, 3), 3, 1, rng)
    conv2 = block.get_layer("b_conv2")
    conv2.set_weights([np.zeros_like(conv2.get_weights()[0])])
    bn2 = block.get_layer("b_conv2_bn")
    bn2.set_weights([np.ones(3), np.zeros(3), np.zeros(3), np.ones(3)])
    x = rng.uniform(0, 1, (2, 5, 5, 3)).astype("float32")  # non-negative: relu(x) = x
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x, training=False)), x, rtol=1e-6)


@pytest.mark.parametrize("depth,width", [(1, 8), (4, 16), (9, 8)])
def test_deep_stack_counts_match_formulas(depth, width):
    plain = conv_param_count(3, 3, 3, width) + (depth - 1) * conv_param_count(3, 3, width, width)
    head = dense_param_count(width, 10)
    assert models.deep_stack(depth, width).count_params() == plain + head
    normed = conv_param_count(3, 3, 3, width, bias=False) + _bn(width) + (depth - 1) * (
        conv_param_count(3, 3, width, width, bias=False) + _bn(width))
    model = models.deep_stack(depth, width, batchnorm=True)
    assert model.count_params() == normed + head
    assert sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers) == depth
    assert model.output_shape == (None, 10)
    if depth % 2:  # identity shortcuts add no parameters
        residual = models.deep_stack(depth, width, batchnorm=True, residual=True)
        assert residual.count_params() == normed + head
        assert sum(isinstance(layer, keras.layers.Add) for layer in residual.layers) == (depth - 1) // 2


def test_deep_stack_rejects_bad_depths():
    with pytest.raises(ValueError, match="odd"):
        models.deep_stack(4, residual=True)
    for bad in (0, 2.0):
        with pytest.raises(ValueError, match="depth"):
            models.deep_stack(bad)


def test_ladder_adds_one_ingredient_per_step():
    steps = list(models.CIFAR_STEPS.values())
    assert steps[-1] == models.CIFAR_FINAL
    for before, after in zip(steps, steps[1:]):
        changed = {k for k in before.__dataclass_fields__ if getattr(before, k) != getattr(after, k)}
        assert 1 <= len(changed) <= 2, changed  # the schedule step also sets its peak learning rate
    baseline = steps[0]
    assert (baseline.dropout, baseline.augment, baseline.batchnorm, baseline.weight_decay) == (0, False, False, 0)


def test_pool_dropout_places_dropout_after_the_small_networks_pooling_layers():
    def dropouts(recipe):
        return [layer.name for layer in models.cifar10_convnet(recipe).layers
                if isinstance(layer, keras.layers.Dropout)]
    assert dropouts(models.CIFAR_STEPS["+ dropout"]) == ["block1_dropout", "block2_dropout", "head_dropout"]
    # With batch norm the ladder keeps only the dropout in front of the classifier.
    assert dropouts(models.CIFAR_STEPS["+ batch norm"]) == ["head_dropout"]
    assert dropouts(replace(models.CIFAR_STEPS["+ batch norm"], pool_dropout=True)) == \
        ["block1_dropout", "block2_dropout", "head_dropout"]
    assert dropouts(models.CIFAR_FINAL) == ["head_dropout"]


@pytest.mark.parametrize("bad", [{"arch": "resnext"}, {"schedule": "step"}, {"dropout": 1.0},
                                 {"weight_decay": -1.0}, {"learning_rate": 0.0},
                                 {"label_smoothing": 1.0}, {"label_smoothing": -0.1}])
def test_recipe_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        models.CifarRecipe(**bad)


def test_vgg_accepts_any_input_size_and_augmentation_is_inactive_at_inference():
    model = models.cifar10_convnet(models.CIFAR_FINAL, seed=0)
    for size in (32, 48, 64):
        x = np.random.default_rng(size).uniform(0, 255, (2, size, size, 3)).astype("float32")
        p1, p2 = model.predict(x, verbose=0), model.predict(x, verbose=0)
        assert p1.shape == (2, 10)
        np.testing.assert_allclose(p1.sum(axis=1), 1, rtol=1e-5)
        np.testing.assert_array_equal(p1, p2)  # no random flips or shifts outside training


def test_optimizer_schedule_warms_up_then_decays():
    opt = models.optimizer(models.CIFAR_FINAL, steps_per_epoch=10, epochs=5)
    schedule = opt.learning_rate if callable(opt.learning_rate) else opt._learning_rate
    lrs = np.array([float(schedule(s)) for s in range(50)])
    peak = models.CIFAR_FINAL.learning_rate
    assert lrs.argmax() in (9, 10) and np.isclose(lrs.max(), peak, rtol=1e-3)
    assert lrs[-1] < 0.05 * peak and lrs[0] < peak / 5
    assert isinstance(opt, keras.optimizers.AdamW)
    assert isinstance(models.optimizer(models.CIFAR_STEPS["baseline"], 10, 5), keras.optimizers.Adam)
    with pytest.raises(ValueError):
        models.optimizer(models.CIFAR_FINAL, 0, 5)


@pytest.mark.parametrize("warmup,total", [(1, 2), (10, 50), (352, 5280)])
def test_warmup_cosine_matches_keras_cosine_decay(warmup, total):
    ours = models.WarmupCosine(2e-3, warmup_steps=warmup, total_steps=total)
    oracle = keras.optimizers.schedules.CosineDecay(2e-4, decay_steps=total - warmup, alpha=0.0,
                                                   warmup_target=2e-3, warmup_steps=warmup)
    steps = np.unique(np.linspace(0, total + 5, 40).astype(int))
    np.testing.assert_allclose([float(ours(s)) for s in steps], [float(oracle(s)) for s in steps],
                               rtol=1e-4, atol=1e-9)
    # A shorter run, set during the warm-up, follows Keras' schedule of that length.
    ours.set_total_steps(warmup + 1 + (total - warmup) // 2)
    shorter = keras.optimizers.schedules.CosineDecay(2e-4, decay_steps=1 + (total - warmup) // 2, alpha=0.0,
                                                    warmup_target=2e-3, warmup_steps=warmup)
    np.testing.assert_allclose([float(ours(s)) for s in steps], [float(shorter(s)) for s in steps],
                               rtol=1e-4, atol=1e-9)
    copy = models.WarmupCosine.from_config(ours.get_config())
    assert float(copy(warmup + 1)) == pytest.approx(float(ours(warmup + 1)))
    with pytest.raises(ValueError, match="warm-up"):
        ours.set_total_steps(warmup)
    with pytest.raises(ValueError, match="warmup_steps"):
        models.WarmupCosine(1e-3, warmup_steps=5, total_steps=5)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_smoothed_crossentropy_matches_keras_on_one_hot_labels(smoothing):
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(10), size=16).astype("float32")
    labels = rng.integers(0, 10, 16)
    ours = models.SmoothedCrossentropy(smoothing)(labels, probs)
    oracle = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)(np.eye(10)[labels], probs)
    np.testing.assert_allclose(float(ours), float(oracle), rtol=1e-5)
    # Column labels (N, 1), as Keras passes them, give the same loss.
    np.testing.assert_allclose(float(models.SmoothedCrossentropy(smoothing)(labels[:, None], probs)),
                               float(ours), rtol=1e-6)
    with pytest.raises(ValueError, match="smoothing"):
        models.SmoothedCrossentropy(1.0)


def test_recipe_loss_and_a_saved_model_with_it_loads_again(tmp_path):
    assert models.loss(models.CIFAR_STEPS["baseline"]) == "sparse_categorical_crossentropy"
    smoothed = models.loss(models.CIFAR_FINAL)
    assert isinstance(smoothed, models.SmoothedCrossentropy)
    assert smoothed.smoothing == models.CIFAR_FINAL.label_smoothing > 0
    model = models.mnist_convnet()
    model.compile(optimizer="adam", loss=smoothed)
    model.optimizer.build(model.trainable_variables)  # saved as trained models are, optimiser state included
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.loss, models.SmoothedCrossentropy) and loaded.loss.smoothing == smoothed.smoothing


def test_transfer_model_freezes_base_and_adds_a_new_head():
    base = models.cifar10_convnet(models.CIFAR_FINAL, seed=0)
    frozen = models.transfer_model(base, n_classes=4)
    width = models.CIFAR_FINAL.widths[-1]
    assert sum(int(np.prod(w.shape)) for w in frozen.trainable_weights) == dense_param_count(width, 4)
    assert frozen.output_shape == (None, 4)
    tuned = models.transfer_model(models.cifar10_convnet(models.CIFAR_FINAL), 4, trainable_base=True)
    assert len(tuned.trainable_weights) > 2
    with pytest.raises(ValueError, match="n_classes"):
        models.transfer_model(base, 1)
    with pytest.raises(ValueError, match="features"):
        models.transfer_model(models.mnist_convnet(), 3)


# --- receptive fields ---------------------------------------------------------------------------

def test_receptive_field_known_stacks():
    assert models.receptive_field([(3, 1), (3, 1)]) == [3, 5]
    assert models.receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)]) == [3, 4, 8, 10]
    assert models.receptive_field([(3, 2), (3, 2)]) == [3, 7]
    assert models.receptive_field([]) == []
    for bad in [[(0, 1)], [(3, 0)], [(2.5, 1)]]:
        with pytest.raises(ValueError, match="positive integers"):
            models.receptive_field(bad)


def test_layer_geometry_reads_models():
    assert models.layer_geometry(models.mnist_convnet()) == [
        ("conv1", 3, 1), ("pool1", 2, 2), ("conv2", 3, 1), ("pool2", 2, 2)]
    geometry = models.layer_geometry(models.cifar10_convnet(models.CIFAR_FINAL))
    assert [k for _, k, _ in geometry] == [3, 2, 3] * 3  # each block pools after its first conv
    # conv 3, pool 4, conv 8 | conv 12, pool 14, conv 22 | conv 30, pool 34, conv 50
    assert models.receptive_field([(k, s) for _, k, s in geometry]) == [3, 4, 8, 12, 14, 22, 30, 34, 50]


def test_multiply_adds_match_hand_counts():
    # baseline: 32x32 conv (3->32), pool, 16x16 conv (32->64), pool, 8x8 conv (64->64), dense 4096->64->10
    small = models.cifar10_convnet(models.CIFAR_STEPS["baseline"])
    assert models.multiply_adds(small) == (32 * 32 * 32 * 9 * 3 + 16 * 16 * 64 * 9 * 32
                                           + 8 * 8 * 64 * 9 * 64 + 4096 * 64 + 64 * 10)
    # VGG-style: each block's first conv runs on the grid it receives, its second on a quarter of it.
    w1, w2, w3 = models.CIFAR_FINAL.widths
    vgg = models.cifar10_convnet(models.CIFAR_FINAL)
    expected = (32 * 32 * w1 * 9 * 3 + 16 * 16 * w1 * 9 * w1 + 16 * 16 * w2 * 9 * w1
                + 8 * 8 * w2 * 9 * w2 + 8 * 8 * w3 * 9 * w2 + 4 * 4 * w3 * 9 * w3 + w3 * 10)
    assert models.multiply_adds(vgg) == expected
    # A larger image costs more for the size-independent network (global pooling).
    assert models.multiply_adds(vgg, (64, 64, 3)) > 3.9 * (expected - w3 * 10)
    # MNIST: 26x26 conv (1->32), pool, 11x11 conv (32->64), pool, dense 1600->128->10
    assert models.multiply_adds(models.mnist_convnet(), models.MNIST_SHAPE) == (
        26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 1600 * 128 + 128 * 10)


def _gradient_extent(layers_ks, size):
    """Width of the input region that influences the centre output unit (gradient oracle)."""
    model = keras.Sequential([keras.Input((size, size, 1))] + [
        keras.layers.Conv2D(1, k, strides=s, kernel_initializer="ones") if kind == "conv"
        else keras.layers.AveragePooling2D(k, strides=s) for kind, k, s in layers_ks])
    x = tf.ones((1, size, size, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x)
        unit = out[0, out.shape[1] // 2, out.shape[2] // 2, 0]
    cols = np.flatnonzero(tape.gradient(unit, x).numpy()[0, :, :, 0].any(axis=0))
    return cols.max() - cols.min() + 1


@settings(max_examples=12)
@given(st.lists(st.tuples(st.sampled_from(["conv", "pool"]), st.integers(1, 4), st.integers(1, 2)),
                min_size=1, max_size=4))
def test_receptive_field_matches_gradient_support(stack):
    # Linear layers with positive weights: the gradient is non-zero exactly on the receptive field.
    size = 64
    assert models.receptive_field([(k, s) for _, k, s in stack])[-1] == _gradient_extent(stack, size)
