"""Checks for the Keras exercises (09 MNIST, 10 CIFAR-10): structure, parameter count, short training.

The student writes ``build_model()`` returning an (uncompiled or compiled) ``keras.Model``. While
grading, the model comes back from the student's kernel as a ``.keras`` file (architecture and
weights as data) that the grader loads with ``safe_mode=True``; the check inspects its layers, then
compiles and trains *its own* fresh, seeded copy for a fixed number of steps on its own subset of
the data, so the score depends neither on how the student trained in their notebook nor on any code
of theirs. TensorFlow is imported only when one of these checks runs.

Sizes follow ``CNN_COURSE_QUICK`` (CI) versus full mode; both are stated in the notebooks and both
run well under a minute on a laptop CPU.
"""
from __future__ import annotations

import os
import time

import solutions as ref

from ._core import Case, CheckFailed, call_student, run_property, with_parts

MNIST_PARAM_BUDGET = 20_000
CIFAR_PARAM_BUDGET = 150_000

#: (n_train, n_test, epochs, required test accuracy) in quick / full mode
MNIST_TRAINING = {"quick": (2000, 500, 2, 0.85), "full": (6000, 1000, 2, 0.92)}
# The same in both modes: a short run that shows the model learns, sized for a 60 s cell limit.
CIFAR_TRAINING = {"quick": (2000, 500, 2, 0.25), "full": (2000, 500, 2, 0.25)}

BATCH_SIZE = 32
AUGMENTATION_PREFIX = "Random"  # keras.layers.RandomFlip, RandomTranslation, RandomRotation, ...
REGULARISERS = ("Dropout", "SpatialDropout2D", "BatchNormalization", "GaussianNoise", "GaussianDropout")


def _mode() -> str:
    return "quick" if ref.quick_mode() else "full"


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def _layers(model):
    """Every layer, descending into nested models (e.g. an augmentation Sequential)."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out += _layers(layer)
    return out


def _build(build_model, name):
    model, exc = call_student(name, build_model, Case(()))
    if exc is not None:
        raise CheckFailed(f"{name}() raised {type(exc).__name__}: {exc}")
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise CheckFailed(f"{name}() should return a keras.Model (e.g. keras.Sequential([...])), got "
                          f"{type(model).__name__}")
    return model


def _check_io(model, name, input_shape):
    try:
        in_shape = tuple(model.input_shape)[1:]
        out_shape = tuple(model.output_shape)[1:]
    except (AttributeError, ValueError):
        raise CheckFailed(f"the model from {name}() has no defined input; start it with "
                          f"keras.Input(shape={input_shape})") from None
    if in_shape != input_shape:
        raise CheckFailed(f"the model's input shape is {in_shape}; it must be {input_shape}")
    if out_shape != (10,):
        raise CheckFailed(f"the model's output shape is {out_shape}; it must be (10,): one score per class")


def _outputs_probabilities(model) -> bool:
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    name = getattr(activation, "__name__", "")
    return name == "softmax" or type(last).__name__ == "Softmax"


def _train_and_score(model_fn, x_train, y_train, x_test, y_test, epochs, seed):
    keras = _keras()
    keras.utils.set_random_seed(seed)
    # fresh, seeded weights: the score must not depend on how the student's notebook initialised them
    model = keras.models.clone_model(model_fn())
    probs = _outputs_probabilities(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not probs), metrics=["accuracy"])
    start = time.perf_counter()
    probe = (x_train[:512], y_train[:512])  # a fixed training batch: its loss before and after
    loss_before = float(model.evaluate(*probe, verbose=0, batch_size=256)[0])
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=0, shuffle=True)
    _recalibrate_batch_norm(model, x_train[:1000])
    loss_after = float(model.evaluate(*probe, verbose=0, batch_size=256)[0])
    _, accuracy = model.evaluate(x_test, y_test, verbose=0, batch_size=256)
    return float(accuracy), (loss_before, loss_after), time.perf_counter() - start


def _recalibrate_batch_norm(model, x):
    """Set batch-norm moving statistics to those of a large training batch.

    After only a few dozen steps the moving averages (momentum 0.99) are still near their initial
    values, so a perfectly good model with BatchNormalization would score near chance at inference.
    One pass in training mode with momentum 0 replaces them by the statistics of ``x``; the weights
    are not touched.
    """
    norms = [layer for layer in _layers(model) if type(layer).__name__ == "BatchNormalization"]
    if not norms:
        return
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(x, training=True)
    for layer, momentum in zip(norms, saved):
        layer.momentum = momentum


def _structure_mnist(model):
    _check_io(model, "build_model", (28, 28, 1))
    kinds = [type(layer).__name__ for layer in _layers(model)]
    if not any(k.startswith("Conv2D") or k == "Conv2D" for k in kinds):
        raise CheckFailed(f"the model has no Conv2D layer (layers: {', '.join(kinds)}); this is a convnet exercise")
    if not any("Pool" in k for k in kinds) and not any(getattr(layer, "strides", (1, 1)) != (1, 1)
                                                         for layer in _layers(model)):
        raise CheckFailed("the model never reduces the spatial size: add a MaxPooling2D layer (or strided conv)")
    return len(kinds)


def _params(model, budget):
    n = int(model.count_params())
    if n > budget:
        raise CheckFailed(f"the model has {n:,} parameters; the budget is {budget:,}. Use fewer filters, or "
                          "pool/stride before the Dense layer (Dense layers on big feature maps are expensive).")
    print(f"  {n:,} parameters (budget {budget:,})")
    return 1


@with_parts("structure", "params", "accuracy")
def check_mnist_model(build_model, part=None):
    """Parts: "structure" (28x28x1 input, 10 outputs, Conv2D + pooling), "params" (at most
    MNIST_PARAM_BUDGET), "accuracy" (a fixed short training run reaches the stated test accuracy)."""

    def body_for(p):
        def body(rng):
            model = _build(build_model, "build_model")
            if p == "structure":
                return _structure_mnist(model)
            if p == "params":
                _check_io(model, "build_model", (28, 28, 1))
                return _params(model, MNIST_PARAM_BUDGET)
            n_train, n_test, epochs, target = MNIST_TRAINING[_mode()]
            (xtr, ytr), (xte, yte) = ref.load_mnist(n_train, n_test, seed=0)
            prep = lambda x: (x.astype("float32") / 255.0)[..., None]
            accuracy, losses, seconds = _train_and_score(lambda: _build(build_model, "build_model"), prep(xtr), ytr,
                                                         prep(xte), yte, epochs, seed=0)
            print(f"  test accuracy {accuracy:.1%} after {epochs} epochs on {n_train} images ({seconds:.1f} s)")
            if not accuracy >= target:
                raise CheckFailed(f"after {epochs} epochs on {n_train} MNIST images (Adam, lr 1e-3, batch {BATCH_SIZE}) the "
                                  f"model reaches {accuracy:.1%} test accuracy; at least {target:.0%} is required.")
            return 1
        return body

    for p in check_mnist_model.parts if part is None else (part,):
        run_property("build_model", build_model, body_for(p), p)


@with_parts("structure", "params", "training")
def check_cifar10_model(build_model, part=None):
    """Parts: "structure" (32x32x3 input, 10 outputs, Conv2D, augmentation layers, dropout or batch
    norm), "params" (at most CIFAR_PARAM_BUDGET), "training" (loss falls and a short fixed run beats
    the stated accuracy)."""

    def body_for(p):
        def body(rng):
            model = _build(build_model, "build_model")
            if p == "structure":
                _check_io(model, "build_model", (32, 32, 3))
                kinds = [type(layer).__name__ for layer in _layers(model)]
                if "Conv2D" not in kinds:
                    raise CheckFailed("the model has no Conv2D layer")
                if not any(k.startswith(AUGMENTATION_PREFIX) for k in kinds):
                    raise CheckFailed("the model has no data-augmentation layer; add e.g. keras.layers.RandomFlip("
                                      "'horizontal') and RandomTranslation(0.1, 0.1) right after the input")
                if not any(k in REGULARISERS for k in kinds):
                    raise CheckFailed("the model has neither Dropout nor BatchNormalization; add at least one")
                return len(kinds)
            if p == "params":
                _check_io(model, "build_model", (32, 32, 3))
                return _params(model, CIFAR_PARAM_BUDGET)
            n_train, n_test, epochs, target = CIFAR_TRAINING[_mode()]
            (xtr, ytr), (xte, yte) = ref.load_cifar10(n_train, n_test, seed=0)
            accuracy, losses, seconds = _train_and_score(lambda: _build(build_model, "build_model"),
                                                         xtr.astype("float32") / 255.0, ytr.ravel(),
                                                         xte.astype("float32") / 255.0, yte.ravel(), epochs, seed=0)
            print(f"  test accuracy {accuracy:.1%} after {epochs} epochs on {n_train} images ({seconds:.1f} s); "
                  f"loss on 512 training images {losses[0]:.3f} -> {losses[-1]:.3f}")
            if not losses[-1] < losses[0]:
                raise CheckFailed(f"the training loss did not fall ({losses[0]:.3f} -> {losses[-1]:.3f}); is the "
                                  "output layer right (10 units; softmax, or no activation for logits)?")
            if not accuracy >= target:
                raise CheckFailed(f"after {epochs} epochs on {n_train} CIFAR-10 images the model reaches {accuracy:.1%} "
                                  f"test accuracy; at least {target:.0%} is required.")
            return 1
        return body

    for p in check_cifar10_model.parts if part is None else (part,):
        run_property("build_model", build_model, body_for(p), p)

