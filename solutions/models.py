"""Keras models of Parts III and IV (chapters 9-14) and the receptive-field calculator of chapter 11.

Importing this module imports Keras; ``import solutions`` never does (see ``solutions/__init__.py``).
All models take uint8-range pixels (0..255) and rescale them inside the network, so the same model
works on raw ``load_mnist``/``load_cifar10`` arrays and on images a reader draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

from . import _tf  # noqa: F401  (before Keras: TensorFlow's settings)

import keras
from keras import layers

MNIST_SHAPE = (28, 28, 1)
CIFAR10_SHAPE = (32, 32, 3)
N_CLASSES = 10


def mnist_convnet(dropout: float = 0.5, hidden: int = 128) -> keras.Sequential:
    """The chapter-9 convnet: two 3x3 conv + max-pool blocks, then a dense classifier with dropout.

    Input (N, 28, 28, 1) pixels in 0..255; output (N, 10) class probabilities. The conv part is the
    Keras MNIST example's; a ``hidden``-unit dense layer is added before the softmax.
    """
    return keras.Sequential([
        keras.Input(shape=MNIST_SHAPE),
        layers.Rescaling(1 / 255, name="rescale"),
        layers.Conv2D(32, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dropout(dropout, name="dropout1"),
        layers.Dense(hidden, activation="relu", name="hidden"),
        layers.Dropout(dropout, name="dropout2"),
        layers.Dense(N_CLASSES, activation="softmax", name="softmax"),
    ], name="mnist_convnet")


@dataclass(frozen=True)
class CifarRecipe:
    """One step of chapter 10's ladder: which ingredients the CIFAR-10 model and its training use.

    ``arch``: ``"small"`` (three conv layers, the TensorFlow tutorial's size), ``"vgg"`` (three blocks
    of two conv layers, ``widths`` filters, each block halving the grid after its first convolution)
    or ``"resnet"`` (chapter 14: a pooled stem convolution, then three :func:`residual_block` of
    ``widths`` filters, the last two with stride 2).
    ``dropout``: rate before the classifier (0 turns it off); for ``"small"`` with ``pool_dropout``
    also after each pooling layer. ``augment``: random flips and shifts while training. ``batchnorm``:
    batch normalisation after every convolution; the ladder then turns ``pool_dropout`` off, since
    dropout in front of a batch-normalised convolution makes its running statistics wrong at test
    time and slows training (chapter 10 measures both). ``weight_decay``: AdamW's decoupled decay (0 = plain Adam).
    ``schedule``: ``"constant"`` learning rate or ``"cosine"`` (linear warm-up, then cosine decay).
    ``label_smoothing``: share of each target spread evenly over all classes (0 = one-hot targets).
    """

    arch: str = "small"
    widths: tuple[int, int, int] = (32, 128, 128)
    dropout: float = 0.0
    pool_dropout: bool = True
    augment: bool = False
    batchnorm: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    learning_rate: float = 1e-3
    label_smoothing: float = 0.0

    def __post_init__(self):
        if self.arch not in {"small", "vgg", "resnet"}:
            raise ValueError(f"arch must be 'small', 'vgg' or 'resnet', got {self.arch!r}")
        if self.schedule not in {"constant", "cosine"}:
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.weight_decay < 0 or self.learning_rate <= 0:
            raise ValueError("weight_decay must be >= 0 and learning_rate > 0")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")


# Chapter 10's ladder: each step adds one ingredient to the one before; the last one is the final model.
CIFAR_STEPS: dict[str, CifarRecipe] = {}
_recipe = CifarRecipe()
for _name, _change in [
    ("baseline", {}),
    ("+ dropout", {"dropout": 0.25}),
    ("+ augmentation", {"augment": True}),
    ("+ batch norm", {"batchnorm": True, "pool_dropout": False}),
    ("+ weight decay", {"weight_decay": 0.05}),
    ("+ capacity", {"arch": "vgg"}),
    ("+ LR schedule", {"schedule": "cosine", "learning_rate": 2e-3}),
    ("+ label smoothing", {"label_smoothing": 0.1}),
]:
    _recipe = replace(_recipe, **_change)
    CIFAR_STEPS[_name] = _recipe
CIFAR_FINAL = _recipe
# Chapter 14: the final recipe with the VGG-style network swapped for a small ResNet.
CIFAR_RESNET = replace(CIFAR_FINAL, arch="resnet")


def augmentation(seed: int | None = None) -> keras.Sequential:
    """Random horizontal flips and shifts of up to 4 pixels (12.5 %); active only in training."""
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(0.125, 0.125, fill_mode="reflect", seed=seed),
    ], name="augment")


def _conv(x, filters: int, recipe: CifarRecipe, name: str, pool: str | None = None):
    # With batch norm the conv bias is redundant (BN's beta shifts the same way), so it is dropped.
    x = layers.Conv2D(filters, 3, padding="same", use_bias=not recipe.batchnorm, name=name)(x)
    if pool:
        # Pooling straight after the convolution: batch norm and ReLU then see a quarter of the values.
        x = layers.MaxPooling2D(2, name=pool)(x)
    if recipe.batchnorm:
        x = _batch_norm(x, f"{name}_bn")
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _batch_norm(x, name: str):
    # momentum 0.9 (not Keras' 0.99) so the running statistics settle within short runs.
    return layers.BatchNormalization(momentum=0.9, name=name)(x)


def residual_block(x, filters: int, stride: int = 1, batchnorm: bool = True, name: str = "block"):
    """He et al.'s basic block on a Keras tensor ``x`` (N, H, W, Cin): ``relu(F(x) + shortcut(x))``.

    ``F`` is conv3x3 (stride ``stride``) - batch norm - ReLU - conv3x3 - batch norm, as in
    :mod:`solutions.residual`; the shortcut is ``x`` itself when the shape is kept and a 1x1
    convolution with the same stride (plus batch norm) otherwise. Output (N, ceil(H / stride),
    ceil(W / stride), ``filters``). Without ``batchnorm`` the convolutions get biases instead.
    """
    def conv(h, size, strides, suffix):
        h = layers.Conv2D(filters, size, strides=strides, padding="same", use_bias=not batchnorm,
                          name=f"{name}_{suffix}")(h)
        return _batch_norm(h, f"{name}_{suffix}_bn") if batchnorm else h

    h = layers.Activation("relu", name=f"{name}_relu1")(conv(x, 3, stride, "conv1"))
    h = conv(h, 3, 1, "conv2")
    shortcut = x if stride == 1 and x.shape[-1] == filters else conv(x, 1, stride, "proj")
    return layers.Activation("relu", name=f"{name}_out")(layers.Add(name=f"{name}_add")([h, shortcut]))


def deep_stack(depth: int, width: int = 16, batchnorm: bool = False, residual: bool = False,
               kernel_initializer: str = "glorot_uniform", seed: int | None = None) -> keras.Model:
    """A stack of ``depth`` 3x3 convolutions for chapter 14's depth experiment, on CIFAR-10 images.

    Input (N, 32, 32, 3) pixels in 0..255, averaged down to 16x16 to keep the stack cheap; output (N, 10)
    probabilities after global average pooling. Layer ``conv1`` maps 3 to ``width`` channels, the
    others ``width`` to ``width``, each followed by batch norm (if ``batchnorm``) and ReLU. With
    ``residual`` the layers after the first are paired into identity residual blocks
    (:func:`residual_block`), so ``depth`` must be odd. The plain layers' kernels start from
    ``kernel_initializer`` (Keras' default, Glorot-uniform, unless told otherwise); ``seed`` seeds them.
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    if residual and depth % 2 == 0:
        raise ValueError(f"a residual stack pairs the layers after the first, so depth must be odd, got {depth}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=CIFAR10_SHAPE, name="image")
    x = layers.AveragePooling2D(2, name="downsample")(layers.Rescaling(1 / 255, name="rescale")(inputs))

    def plain(h, i):
        h = layers.Conv2D(width, 3, padding="same", use_bias=not batchnorm,
                          kernel_initializer=kernel_initializer, name=f"conv{i}")(h)
        h = _batch_norm(h, f"conv{i}_bn") if batchnorm else h
        return layers.Activation("relu", name=f"conv{i}_relu")(h)

    x = plain(x, 1)
    if residual:
        for b in range(1, (depth - 1) // 2 + 1):
            x = residual_block(x, width, batchnorm=batchnorm, name=f"res{b}")
    else:
        for i in range(2, depth + 1):
            x = plain(x, i)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="softmax")(x)
    kind = "residual" if residual else "plain"
    return keras.Model(inputs, outputs, name=f"{kind}{depth}{'_bn' if batchnorm else ''}")


def cifar10_convnet(recipe: CifarRecipe = CIFAR_FINAL, seed: int | None = None) -> keras.Model:
    """The CIFAR-10 model a :class:`CifarRecipe` describes.

    Input (N, 32, 32, 3) pixels in 0..255 (any spatial size for ``arch="vgg"`` and ``"resnet"``, which
    end in global average pooling); output (N, 10) class probabilities. The convolutional part ends in the layer
    named ``features``, where chapter 12 cuts the model.
    """
    spatial = CIFAR10_SHAPE[:2] if recipe.arch == "small" else (None, None)
    inputs = keras.Input(shape=(*spatial, 3), name="image")
    x = augmentation(seed)(inputs) if recipe.augment else inputs
    x = layers.Rescaling(1 / 255, name="rescale")(x)
    if recipe.arch == "small":
        for i, filters in enumerate((32, 64, 64), start=1):
            x = _conv(x, filters, recipe, f"block{i}_conv")
            if i < 3:
                x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
                if recipe.dropout and recipe.pool_dropout:
                    x = layers.Dropout(recipe.dropout, name=f"block{i}_dropout")(x)
        x = layers.Flatten(name="features")(x)
        x = layers.Dense(64, activation="relu", name="hidden")(x)
    elif recipe.arch == "resnet":
        # The stem is the VGG network's first layer, pooled the same way; the blocks then halve the
        # grid with strided convolutions, as ResNet does.
        x = _conv(x, recipe.widths[0], recipe, "stem_conv", pool="stem_pool")
        for i, (filters, stride) in enumerate(zip(recipe.widths, (1, 2, 2)), start=1):
            x = residual_block(x, filters, stride, recipe.batchnorm, name=f"block{i}")
        x = layers.GlobalAveragePooling2D(name="features")(x)
    else:
        # Pooling after the first convolution of a block (as in Jordan's airbench) runs the second
        # one on a quarter of the positions: a wider network for the same training time on a CPU.
        for i, filters in enumerate(recipe.widths, start=1):
            x = _conv(x, filters, recipe, f"block{i}_conv1", pool=f"block{i}_pool")
            x = _conv(x, filters, recipe, f"block{i}_conv2")
        x = layers.GlobalAveragePooling2D(name="features")(x)
    if recipe.dropout:
        x = layers.Dropout(recipe.dropout, name="head_dropout")(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name=f"cifar10_{recipe.arch}")


@keras.saving.register_keras_serializable(package="cnn_course")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate rising linearly from ``peak / 10`` to ``peak`` over ``warmup_steps``, then
    falling along half a cosine to 0 at ``total_steps`` (and staying there).

    ``total_steps`` lives in a variable, so :meth:`set_total_steps` can change the length of a run
    while it trains: ``train.EpochBudget`` fixes it after timing the first epoch (the warm-up) and
    shortens it, bending the decay down sooner, if later epochs run slower.
    """

    def __init__(self, peak: float, warmup_steps: int, total_steps: int):
        if not 1 <= warmup_steps < total_steps:
            raise ValueError(f"need 1 <= warmup_steps < total_steps, got {warmup_steps}, {total_steps}")
        self.peak, self.warmup_steps = float(peak), int(warmup_steps)
        self.total_steps = keras.Variable(float(total_steps), trainable=False, name="total_steps")

    def set_total_steps(self, total_steps: int) -> None:
        if total_steps <= self.warmup_steps:
            raise ValueError(f"total_steps must exceed the {self.warmup_steps} warm-up steps, "
                             f"got {total_steps}")
        self.total_steps.assign(float(total_steps))

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        warm = self.peak / 10 + (self.peak - self.peak / 10) * step / self.warmup_steps
        progress = ops.clip((step - self.warmup_steps) / (self.total_steps - self.warmup_steps), 0.0, 1.0)
        cosine = 0.5 * self.peak * (1 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps,
                "total_steps": int(keras.ops.convert_to_numpy(self.total_steps))}


def optimizer(recipe: CifarRecipe, steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    """Adam (or AdamW when ``recipe.weight_decay`` > 0) with the recipe's learning-rate schedule.

    For ``schedule="cosine"`` the learning rate is a :class:`WarmupCosine` over ``epochs`` epochs
    with one epoch of warm-up (a fifth of the run when that is shorter).
    """
    if steps_per_epoch < 1 or epochs < 1:
        raise ValueError(f"steps_per_epoch and epochs must be >= 1, got {steps_per_epoch}, {epochs}")
    lr = recipe.learning_rate
    if recipe.schedule == "cosine":
        total = max(2, steps_per_epoch * epochs)
        lr = WarmupCosine(lr, warmup_steps=max(1, min(steps_per_epoch, total // 5)), total_steps=total)
    if recipe.weight_decay:
        opt = keras.optimizers.AdamW(learning_rate=lr, weight_decay=recipe.weight_decay)
        # Decay the weights that set a filter's shape, not biases or batch-norm scales and shifts.
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return opt
    return keras.optimizers.Adam(learning_rate=lr)


@keras.saving.register_keras_serializable(package="cnn_course")
class SmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy against integer labels whose one-hot targets are smoothed by ``smoothing``.

    The target puts ``1 - smoothing`` on the true class and spreads ``smoothing`` evenly over all
    ``K`` classes, so the loss is ``-(1 - smoothing) log p_y - smoothing * mean_k log p_k``: Keras'
    ``CategoricalCrossentropy(label_smoothing=...)`` on one-hot labels, without one-hot labels.
    ``y_pred`` holds probabilities (N, K); ``y_true`` class indices (N,) or (N, 1).
    """

    def __init__(self, smoothing: float = 0.1, name: str = "smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        ops = keras.ops
        log_p = ops.log(ops.clip(y_pred, keras.config.epsilon(), 1.0))
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1, 1))
        true_class = ops.squeeze(ops.take_along_axis(log_p, labels, axis=-1), axis=-1)
        return -(1 - self.smoothing) * true_class - self.smoothing * ops.mean(log_p, axis=-1)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def loss(recipe: CifarRecipe) -> keras.losses.Loss | str:
    """The training loss of ``recipe``: cross-entropy, smoothed when ``recipe.label_smoothing`` > 0."""
    if recipe.label_smoothing:
        return SmoothedCrossentropy(recipe.label_smoothing)
    return "sparse_categorical_crossentropy"


def transfer_model(base: keras.Model, n_classes: int, trainable_base: bool = False,
                   dropout: float = 0.25) -> keras.Model:
    """A new classifier head on the ``features`` layer of a chapter-10 model (chapter 12).

    ``base`` is a trained CIFAR-10 model from :func:`cifar10_convnet`; the layers up to ``features``
    are reused (frozen unless ``trainable_base``) and a fresh dropout + ``n_classes`` softmax is added.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    try:
        features = base.get_layer("features").output
    except ValueError as exc:
        raise ValueError("base must be a cifar10_convnet model with a 'features' layer") from exc
    extractor = keras.Model(base.input, features, name="conv_base")
    extractor.trainable = trainable_base
    inputs = keras.Input(shape=base.input_shape[1:], name="image")
    # training=False keeps batch norm in inference mode even while fine-tuning the base.
    x = extractor(inputs, training=False)
    if dropout:
        x = layers.Dropout(dropout, name="new_dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="new_softmax")(x)
    return keras.Model(inputs, outputs, name="transfer")


def multiply_adds(model: keras.Model, input_shape: tuple[int, int, int] = CIFAR10_SHAPE) -> int:
    """Multiply-adds of the convolution and dense layers for one image of ``input_shape`` (H, W, C).

    A measure of compute that, unlike the parameter count, grows with the grid a layer runs on: a
    Conv2D producing an (H', W', C') output costs H' W' C' k_h k_w C_in. ``model`` must be a chain of
    layers (as every model here is); other layers (pooling, batch norm, activations) are not counted.
    """
    shape, total = (1, *input_shape), 0
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        if isinstance(layer.input, (list, tuple)):
            raise ValueError(f"multiply_adds needs a chain of layers, but {layer.name!r} merges several inputs; "
                             "use solutions.costs.layer_costs for a model with branches")
        out = tuple(layer.compute_output_shape(shape))
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            total += out[1] * out[2] * out[3] * kh * kw * shape[3]
        elif isinstance(layer, layers.Dense):
            total += shape[-1] * out[-1]
        shape = out
    return total


def layer_geometry(model: keras.Model) -> list[tuple[str, int, int]]:
    """(name, kernel size, stride) of every layer that changes the spatial grid, input to output.

    Square kernels and strides are assumed (as in this course); dense and global-pooling layers end
    the list because they see the whole image.
    """
    geometry = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):  # nested Sequential, e.g. augmentation
            continue
        if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D)):
            size = layer.kernel_size if isinstance(layer, layers.Conv2D) else layer.pool_size
            geometry.append((layer.name, int(size[0]), int(layer.strides[0])))
        elif isinstance(layer, (layers.Flatten, layers.Dense, layers.GlobalAveragePooling2D,
                                layers.GlobalMaxPooling2D)):
            break
    return geometry


def receptive_field(kernels_strides: Sequence[tuple[int, int]]) -> list[int]:
    """Receptive field (in input pixels, per side) after each layer of a stack.

    ``kernels_strides``: (kernel size k, stride s) per layer, input first. With ``jump`` the distance
    in input pixels between neighbouring outputs of the layer before, each layer grows the field by
    ``(k - 1) * jump`` and multiplies the jump by ``s``: r_l = r_{l-1} + (k_l - 1) j_{l-1}, j_l = j_{l-1} s_l.
    Returns one size per layer. Padding does not change the size, only where the field sits.
    """
    sizes, field, jump = [], 1, 1
    for k, s in kernels_strides:
        if not (isinstance(k, int) and isinstance(s, int)) or k < 1 or s < 1:
            raise ValueError(f"kernel size and stride must be positive integers, got ({k!r}, {s!r})")
        field += (k - 1) * jump
        jump *= s
        sizes.append(field)
    return sizes
