"""Training of Part III's models: ``python -m solutions.train {mnist,cifar10,resnet} [--quick]``.

A run sets every seed, shows Keras' progress bar, evaluates on the test set and writes a JSON record
(test accuracy, for CIFAR-10 also with mirrored test images averaged in; epochs, wall time, parameter
count, versions, CPU/GPU, machine load, data source, per-epoch history). Full runs write
``book/results/<name>.json``, the record the book cites; quick runs (``--quick`` or
``CNN_COURSE_QUICK=1``) write under :func:`solutions.cache_dir` so they never replace it.

Full runs have a time budget: the run times its first epoch (the learning rate's warm-up), plans how
many epochs fit (capped) and shortens the plan if later epochs run slower; the learning-rate schedule
follows the plan, so it always runs to its end.

``resnet`` is chapter 14's comparison instead (:func:`compare_recipes`): chapter 10's final recipe and
its ResNet version, trained with several seeds on chapter 10's ladder images and judged on validation
images, recorded in ``book/results/resnet.json`` (full runs) like the final models.

Trained models are cached by :func:`load_or_train` for chapters 11 and 12, keyed by quick/full mode
and by the recipe.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import _tf  # noqa: F401  (before Keras: TensorFlow's settings)

import keras
import numpy as np
import tensorflow as tf

from .config import cache_dir, cpu_model, data_dir, quick_mode
from .datasets import load_cifar10, load_mnist
from .models import CIFAR_FINAL, CIFAR_RESNET, CifarRecipe, cifar10_convnet, loss, mnist_convnet, optimizer

RESULTS_DIR = Path(__file__).resolve().parents[1] / "book" / "results"
SEED = 0
# Every final run holds out the last tenth of its (shuffled) training images for validation, as Keras'
# ``validation_split`` does; chapter 10's ladder is judged on the same held-out images.
VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class RunConfig:
    """How one chapter's final model is trained in full or quick mode."""

    n_train: int | None      # None: the whole training set (10 % of it held out for validation)
    n_test: int | None
    max_epochs: int
    budget_s: float | None   # seconds of training; None: always ``max_epochs``
    batch_size: int = 128
    test_flips: bool = False  # also test with mirrored copies (see :func:`predict`)


CONFIGS = {
    "mnist": {"full": RunConfig(None, None, max_epochs=15, budget_s=270),
              "quick": RunConfig(3000, 1000, max_epochs=2, budget_s=None, batch_size=32)},
    "cifar10": {"full": RunConfig(None, None, max_epochs=30, budget_s=1700, test_flips=True),
                "quick": RunConfig(2000, 500, max_epochs=3, budget_s=None, batch_size=32, test_flips=True)},
}


def load_data(name: str, n_train: int | None = None, n_test: int | None = None, seed: int = SEED):
    """``(x_train, y_train), (x_test, y_test)`` ready for the models: NHWC uint8 images, labels (N,)."""
    if name == "mnist":
        (x, y), (xt, yt) = load_mnist(n_train, n_test, seed=seed)
        return (x[..., None], y), (xt[..., None], yt)
    if name == "cifar10":
        (x, y), (xt, yt) = load_cifar10(n_train, n_test, seed=seed)
        return (x, y[:, 0]), (xt, yt[:, 0])
    raise ValueError(f"unknown data set {name!r}; expected one of {sorted(CONFIGS)}")


def build(name: str, steps_per_epoch: int, epochs: int, recipe: CifarRecipe = CIFAR_FINAL,
          seed: int = SEED) -> keras.Model:
    """A compiled model for ``name``: chapter 9's MNIST net or the CIFAR-10 net of ``recipe``."""
    keras.utils.set_random_seed(seed)
    if name == "mnist":
        # The MNIST net uses the final CIFAR recipe's optimiser minus weight decay: Adam, cosine schedule.
        model, recipe = mnist_convnet(), CifarRecipe(schedule="cosine", learning_rate=2e-3)
    elif name == "cifar10":
        model = cifar10_convnet(recipe, seed=seed)
    else:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(CONFIGS)}")
    model.compile(optimizer=optimizer(recipe, steps_per_epoch, epochs), loss=loss(recipe),
                  metrics=["accuracy"])
    return model


class EpochBudget(keras.callbacks.Callback):
    """Ends training after as many whole epochs as fit in ``budget_s`` seconds.

    After the first epoch (validation included; it also pays for tracing the graph) the plan becomes
    ``budget_s // first`` epochs, at least 1 and at most ``max_epochs``. After each later epoch the
    plan is cut if the time left no longer holds the remaining epochs at the pace of the one just
    finished (a machine can slow down during a long run); it never grows. The
    :class:`~solutions.models.WarmupCosine` ``schedule`` is kept the length of the plan, so the
    learning rate reaches 0 at the last epoch.
    """

    def __init__(self, budget_s: float, max_epochs: int, steps_per_epoch: int, schedule=None,
                 clock=time.perf_counter):
        super().__init__()
        self.budget_s, self.steps_per_epoch, self.schedule, self.clock = budget_s, steps_per_epoch, schedule, clock
        self.first_epoch_s, self.epochs = None, max_epochs  # ``epochs``: the plan, only ever cut

    def on_train_begin(self, logs=None):
        self._start = self._last = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        pace, self._last = now - self._last, now
        if epoch == 0:
            self.first_epoch_s = pace
        left = self.budget_s - (now - self._start)
        plan = int(np.clip(epoch + 1 + left // pace, epoch + 1, self.epochs))
        if plan != self.epochs:
            print(f"epoch {epoch + 1} took {pace:.0f} s: {plan} epochs fit in {self.budget_s:.0f} s")
            self.epochs = plan
            if self.schedule is not None and plan > epoch + 1:
                self.schedule.set_total_steps(plan * self.steps_per_epoch)
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def fit(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int = 128,
        validation_split: float = VALIDATION_FRACTION, verbose: int | str = "auto", callbacks=(),
        validation_data=None):
    """Train with the last ``validation_split`` of the data held out (or on all of it, validating on
    ``validation_data = (x_val, y_val)`` when given); returns (history dict, seconds)."""
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=list(callbacks),
                        **({"validation_data": validation_data} if validation_data is not None
                           else {"validation_split": validation_split}))
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}, time.perf_counter() - start


def predict(model: keras.Model, x: np.ndarray, flips: bool = False, batch_size: int = 500) -> np.ndarray:
    """Class probabilities (N, K) of ``model`` for images ``x`` (N, H, W, C).

    With ``flips`` (test-time augmentation) each image's probabilities are averaged with those of its
    mirror image: a photo flipped left to right shows the same class, and the network, trained on
    random flips, errs differently on the two views.
    """
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    if flips:
        probabilities = (probabilities + model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2
    return probabilities


def confusion_matrix(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """Counts (n_classes, n_classes): entry [i, j] = how many images of class i were predicted as j."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.size} and {y_pred.size}")
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


# Chapter 10's ladder is compared on a subset with a short, fixed schedule (the final model gets more),
# and judged on ``n_validation`` of the images the final run holds out for validation; never on test data.
# Quick runs use small batches: with a few hundred images, batches of 128 would give too few steps.
LADDER = {"full": {"n_train": 10000, "n_validation": 5000, "epochs": 8, "batch_size": 128},
          "quick": {"n_train": 600, "n_validation": 500, "epochs": 2, "batch_size": 32}}


def ladder_data(mode: str):
    """``((x_fit, y_fit), (x_val, y_val))`` for chapter 10's ladder in ``mode`` (``"full"``/``"quick"``).

    The training set is shuffled as the final run shuffles it (seed :data:`SEED`); the ladder trains on
    its first ``n_train`` images and validates on the first ``n_validation`` of its last tenth, the
    images the final full run validates on. The test set is not returned: selection never sees it.
    """
    if mode not in LADDER:
        raise ValueError(f"mode must be one of {sorted(LADDER)}, got {mode!r}")
    cfg = LADDER[mode]
    (x, y), _ = load_data("cifar10", n_test=1, seed=SEED)
    n_held_out = int(VALIDATION_FRACTION * len(x))
    if cfg["n_train"] > len(x) - n_held_out or cfg["n_validation"] > n_held_out:
        raise ValueError(f"the ladder needs {cfg['n_train']} training and {cfg['n_validation']} validation "
                         f"images; the data set has {len(x) - n_held_out} and {n_held_out}")
    start = len(x) - n_held_out
    return ((x[:cfg["n_train"]], y[:cfg["n_train"]]),
            (x[start:start + cfg["n_validation"]], y[start:start + cfg["n_validation"]]))


def recomputed_bn_accuracy(model: keras.Model, x_fit: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                           batch_size: int = 500) -> float:
    """Validation accuracy of ``model`` after its batch-norm running statistics are recomputed.

    Each :class:`~keras.layers.BatchNormalization` layer, first to last, gets the exact mean and
    variance of its input over ``x_fit`` with the network in inference mode (no dropout, no
    augmentation, earlier layers already recomputed): the statistics the layer should use at test
    time. The model's own statistics are restored afterwards. A large gain over the plain validation
    accuracy means the running averages recorded during training were off.
    """
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        raise ValueError("model has no BatchNormalization layer")
    saved = [layer.get_weights() for layer in norms]
    try:
        for layer in norms:
            inputs = keras.Model(model.inputs, layer.input).predict(x_fit, batch_size=batch_size, verbose=0)
            axes = tuple(range(inputs.ndim - 1))
            gamma, beta, _, _ = layer.get_weights()
            layer.set_weights([gamma, beta, inputs.mean(axis=axes), inputs.var(axis=axes)])
        _, accuracy = model.evaluate(x_val, y_val, batch_size=batch_size, verbose=0)
    finally:
        for layer, weights in zip(norms, saved):
            layer.set_weights(weights)
    return float(accuracy)


def train_recipe(recipe: CifarRecipe, data, epochs: int, batch_size: int = 128, seed: int = SEED,
                 verbose: int | str = 0) -> dict:
    """Train the CIFAR-10 model of ``recipe`` on ``data = ((x, y), (x_val, y_val))``; measure it.

    ``(x_val, y_val)`` are validation images (for example from :func:`ladder_data`), not test images:
    this is the function recipes are compared and chosen with. Returns a dict: ``model``, ``history``,
    ``seconds`` (training wall time), ``seed``, ``val_accuracy`` (after the last epoch), ``params``
    and, for a recipe with batch norm, ``val_accuracy_bn_recomputed`` (:func:`recomputed_bn_accuracy`).
    """
    (x, y), (x_val, y_val) = data
    steps = int(np.ceil(len(x) / batch_size))
    model = build("cifar10", steps, epochs, recipe=recipe, seed=seed)
    history, seconds = fit(model, x, y, epochs, batch_size, verbose=verbose, validation_data=(x_val, y_val))
    result = {"model": model, "history": history, "seconds": seconds, "seed": seed,
              "val_accuracy": history["val_accuracy"][-1], "params": int(model.count_params())}
    if recipe.batchnorm:
        result["val_accuracy_bn_recomputed"] = recomputed_bn_accuracy(model, x, x_val, y_val)
    return result


def measure_recipe(recipe: CifarRecipe, data, epochs: int, batch_size: int = 128,
                   seed: int = SEED) -> dict:
    """:func:`train_recipe`'s measurements (no model), stored on disk and reused when nothing changed.

    The key covers the recipe, the data's bytes, the schedule, the seed, the library versions and the
    source of this module and of :mod:`solutions.models`, so any change trains afresh. Chapter 10
    rebuilds in seconds after an edit that leaves its ladder alone; a reused result says
    ``"cached": True`` and keeps the ``seconds`` measured when it was trained. Delete
    ``<cache>/ladder`` to retrain everything.
    """
    key = hashlib.sha256(json.dumps([asdict(recipe), epochs, batch_size, seed, tf.__version__,
                                     keras.__version__]).encode())
    for source in (Path(__file__), Path(__file__).with_name("models.py")):
        key.update(source.read_bytes())
    for array in (*data[0], *data[1]):
        key.update(np.ascontiguousarray(array).tobytes())
    path = cache_dir() / "ladder" / f"{key.hexdigest()[:20]}.json"
    if path.exists():
        return {**json.loads(path.read_text()), "cached": True}
    result = train_recipe(recipe, data, epochs, batch_size, seed)
    result = {k: v for k, v in result.items() if k != "model"}
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result))
    return {**result, "cached": False}


def seed_spread(records: list[dict]) -> dict:
    """Mean and spread of runs that differ only in their seed (the noise any comparison must beat).

    ``records``: :func:`run` records (or :func:`train_recipe` results with a ``seed``), one per seed.
    For each accuracy they all carry (``test_accuracy``, ``test_accuracy_flips``, ``val_accuracy``)
    the result holds the values, their mean, their sample standard deviation (``std``, ddof=1) and
    ``spread`` (largest minus smallest).
    """
    seeds = [r["seed"] for r in records]
    if len(records) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"need runs with at least two distinct seeds, got seeds {seeds}")
    study = {"seeds": seeds}
    for key in ("test_accuracy", "test_accuracy_flips", "val_accuracy"):
        values = [r.get(key) for r in records]
        if all(v is not None for v in values):
            values = np.asarray(values, dtype=float)
            study[key] = {"values": values.tolist(), "mean": float(values.mean()),
                          "std": float(values.std(ddof=1)), "spread": float(values.max() - values.min())}
    return study


def compare_recipes(recipes: dict[str, CifarRecipe], data, epochs: int, batch_size: int = 128,
                    seeds=(0, 1, 2)) -> dict:
    """Train every recipe once per seed on ``data = ((x, y), (x_val, y_val))``; compare on validation.

    Each run goes through :func:`measure_recipe` (so a run chapter 10 already made is reused).
    ``data`` must hold validation images (:func:`ladder_data`), never test images. Returns a
    JSON-ready record: the sizes and schedule, ``seeds``, the machine, and per recipe name its
    ``recipe``, ``params``, ``runs`` (seed, validation accuracy, seconds, history) and
    ``val_accuracy``, the :func:`seed_spread` of its runs.
    """
    if not recipes:
        raise ValueError("recipes must name at least one recipe")
    seeds = list(seeds)
    record = {"epochs": epochs, "batch_size": batch_size, "n_train": len(data[0][0]),
              "n_validation": len(data[1][0]), "seeds": seeds, "environment": environment(), "recipes": {}}
    for name, recipe in recipes.items():
        runs = [measure_recipe(recipe, data, epochs, batch_size, seed=seed) for seed in seeds]
        record["recipes"][name] = {
            "recipe": asdict(recipe), "params": runs[0]["params"],
            "runs": [{k: r[k] for k in ("seed", "val_accuracy", "seconds", "cached", "history")} for r in runs],
            "val_accuracy": seed_spread(runs)["val_accuracy"]}
    record["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return record


# Chapter 14's comparison: chapter 10's final network against the same recipe on a small ResNet.
RESNET_COMPARISON = {"chapter 10 (VGG-style)": CIFAR_FINAL, "ResNet": CIFAR_RESNET}


def gradient_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Euclidean norm of the loss gradient for each convolution kernel, first layer to last.

    The loss is the model's sparse categorical cross-entropy on the batch ``x`` (N, H, W, C), ``y``
    (N,), averaged over the batch, with the model in training mode (batch norm uses batch statistics).
    Returns ``{layer name: norm}`` in the order of ``model.layers``.
    """
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise ValueError("model has no Conv2D layer")
    with tf.GradientTape() as tape:
        probabilities = model(x, training=True)
        batch_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))
    grads = tape.gradient(batch_loss, [layer.kernel for layer in convs])
    return {layer.name: float(tf.norm(g)) for layer, g in zip(convs, grads)}


# What chapter 10 asks of the recorded full run: the flip-averaged test accuracy within the training time.
CIFAR10_TARGET = {"test_accuracy_flips": 0.85, "train_minutes": 30}


def fit_verdict(history: dict, tolerance: float = 0.01) -> str:
    """What a run's per-epoch ``history`` says about its fit, as a clause ("it had ...").

    Overfitting shows as a validation loss that has risen from its minimum: a last epoch more than
    ``tolerance`` (relative) above the lowest counts as risen. The clause also compares the last
    epoch's training accuracy (averaged over the epoch, with dropout and augmentation, if any, on)
    with validation accuracy.
    """
    val_loss, n = np.asarray(history["val_loss"], dtype=float), len(history["val_loss"])
    if n == 0 or any(len(history[k]) != n for k in ("accuracy", "val_accuracy")):
        raise ValueError("history needs accuracy, val_accuracy and val_loss for the same epochs (at least one)")
    best = int(np.argmin(val_loss)) + 1
    gap = 100 * (history["accuracy"][-1] - history["val_accuracy"][-1])
    if val_loss[-1] > (1 + tolerance) * val_loss.min():
        fit = f"had begun to overfit: its validation loss was lowest after epoch {best} of {n} and higher later"
    else:
        fit = (f"had not begun to overfit: its validation loss in the last of its {n} epochs was within "
               f"{100 * tolerance:.0f} % of its lowest")
    side = (f"training accuracy ended {gap:.1f} points above validation accuracy" if gap > 0 else
            f"training accuracy ended {-gap:.1f} points below validation accuracy")
    return f"{fit}; {side}"


def environment() -> dict:
    """Versions, hardware and current load: what a reader needs to compare timings."""
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "cpu": cpu_model(), "cpu_count": os.cpu_count(),
            "gpus": gpus, "device": "GPU" if gpus else "CPU",
            "loadavg_1_5_15": [round(v, 2) for v in os.getloadavg()]}


def load_note(environment: dict) -> str:
    """Plain words for how busy the machine was when a run started, from its one-minute load average."""
    load, cores = environment["loadavg_1_5_15"][0], environment["cpu_count"]
    if load > cores:
        return "other jobs kept the machine busy, so the run had only a fraction of its cores"
    if load > cores / 2:
        # The one-minute average lags: it also counts work that ended just before the run started.
        return ("the machine had been busy within the last minute (other work, or work that had just "
                "ended), so the run may not have had every core to itself at first")
    return "the machine was otherwise nearly idle"


_COURSE_COPY_NOTES = {
    "cifar10": "course copy: 53,898 of 60,000 images decoded from JPEG, not bit-identical to Keras'",
    "mnist": "course copy, bit-identical to the official MNIST",
}


def data_source(name: str) -> dict:
    """Where the arrays came from, portably: file name, SHA-256 and a provenance note (no machine path).

    ``file`` and ``sha256`` are None when the arrays came from ``keras.datasets``' own download.
    """
    directory = data_dir()
    path = directory / f"{name}.npz" if directory else None
    if path is None or not path.exists():
        return {"file": None, "sha256": None, "note": f"keras.datasets.{name}.load_data()"}
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "sha256": digest.hexdigest(), "note": _COURSE_COPY_NOTES[name]}


def run(name: str, quick: bool | None = None, verbose: int | str = "auto", seed: int = SEED):
    """Train ``name``'s final model as configured; return ``(model, record)``.

    ``record`` holds everything the JSON file does. ``quick`` defaults to :func:`quick_mode`. ``seed``
    sets the initial weights, the batch order and the augmentation; the split into training,
    validation and test images is always :data:`SEED`'s, so runs of several seeds differ only in those.
    """
    quick = quick_mode() if quick is None else quick
    if name not in CONFIGS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(CONFIGS)}")
    cfg = CONFIGS[name]["quick" if quick else "full"]
    (x, y), (x_test, y_test) = load_data(name, cfg.n_train, cfg.n_test, seed=SEED)
    n_fit = len(x) - int(VALIDATION_FRACTION * len(x))
    steps = int(np.ceil(n_fit / cfg.batch_size))
    env_before = environment()
    model = build(name, steps, cfg.max_epochs, seed=seed)
    budget = None
    if cfg.budget_s is not None:
        # Keras has no public accessor for an optimiser's schedule (``learning_rate`` is its value).
        budget = EpochBudget(cfg.budget_s, cfg.max_epochs, steps, model.optimizer._learning_rate)
    history, seconds = fit(model, x, y, cfg.max_epochs, cfg.batch_size, verbose=verbose,
                           callbacks=[budget] if budget else [])
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    flips_acc = (float(np.mean(predict(model, x_test, flips=True).argmax(axis=1) == y_test))
                 if cfg.test_flips else None)
    record = {
        "name": name, "mode": "quick" if quick else "full", "seed": seed,
        # The test set's one use: the final model, after every choice was made on validation data.
        "test_accuracy": float(test_acc), "test_accuracy_flips": flips_acc, "test_loss": float(test_loss),
        "val_accuracy": history["val_accuracy"][-1],
        "epochs": len(history["loss"]), "batch_size": cfg.batch_size, "budget_s": cfg.budget_s,
        "first_epoch_s": budget.first_epoch_s if budget else None, "train_seconds": seconds,
        "params": int(model.count_params()),
        "n_train": n_fit, "n_validation": len(x) - n_fit, "n_test": len(x_test),
        "data_source": data_source(name),
        "recipe": asdict(CIFAR_FINAL) if name == "cifar10" else None,
        "environment": env_before,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "history": history,
    }
    return model, record


def _cached_paths(name: str, quick: bool) -> tuple[Path, Path]:
    """Cache files named by mode and by a fingerprint of the recipe, so stale models are never reused."""
    mode = "quick" if quick else "full"
    recipe = asdict(CIFAR_FINAL) if name == "cifar10" else inspect.getsource(mnist_convnet)
    spec = json.dumps([name, asdict(CONFIGS[name][mode]), recipe], sort_keys=True)
    stem = cache_dir() / f"{name}-{mode}-{hashlib.sha256(spec.encode()).hexdigest()[:10]}"
    return stem.with_suffix(".keras"), stem.with_suffix(".json")


def load_or_train(name: str, quick: bool | None = None, verbose: int | str = 2):
    """The trained final model of ``name`` and its record, from the cache or trained now (then cached).

    Quick and full models are cached under different names, so quick weights never stand in for full ones.
    """
    quick = quick_mode() if quick is None else quick
    model_path, record_path = _cached_paths(name, quick)
    if model_path.exists() and record_path.exists():
        return keras.models.load_model(model_path), json.loads(record_path.read_text())
    model, record = run(name, quick=quick, verbose=verbose)
    model.save(model_path)
    record_path.write_text(json.dumps(record, indent=1))
    return model, record


def results_path(name: str, quick: bool) -> Path:
    """Full runs: ``book/results/<name>.json``; quick runs: ``<cache>/results/<name>-quick.json``."""
    if quick:
        out = cache_dir() / "results"
        out.mkdir(exist_ok=True)
        return out / f"{name}-quick.json"
    return RESULTS_DIR / f"{name}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solutions.train", description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=[*sorted(CONFIGS), "resnet"],
                        help="which chapter's final model to train, or 'resnet' for chapter 14's comparison")
    parser.add_argument("--quick", action="store_true", help="small subsets and few epochs (as CI)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="train with seeds 0..N-1 and record their mean and spread (seed 0's model is kept)")
    parser.add_argument("--out", type=Path, help="where to write the JSON record (default: see above)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    quick = args.quick or quick_mode()
    if args.name == "resnet":
        # Chapter 14 needs a seed spread, so at least three seeds.
        mode = "quick" if quick else "full"
        record = compare_recipes(RESNET_COMPARISON, ladder_data(mode), LADDER[mode]["epochs"],
                                 LADDER[mode]["batch_size"], seeds=range(max(3, args.seeds)))
        record["mode"] = mode
        out = args.out or results_path("resnet", quick)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1) + "\n")
        for name, entry in record["recipes"].items():
            acc = entry["val_accuracy"]
            print(f"{name}: validation accuracy {acc['mean']:.4f} (spread {acc['spread']:.4f}) over seeds "
                  f"{record['seeds']}, {entry['params']:,} parameters")
        print(f"wrote {out}")
        return 0
    model, record = run(args.name, quick=quick, verbose=1, seed=SEED)
    if args.seeds > 1:
        others = [run(args.name, quick=quick, verbose=1, seed=SEED + i)[1] for i in range(1, args.seeds)]
        record["seed_study"] = {**seed_spread([record, *others]),
                                "epochs": [r["epochs"] for r in (record, *others)],
                                "train_seconds": [r["train_seconds"] for r in (record, *others)]}
    # Also refresh the cache chapters 11-12 read, so they reuse this run instead of training again.
    model_path, record_path = _cached_paths(args.name, quick)
    model.save(model_path)
    record_path.write_text(json.dumps(record, indent=1))
    out = args.out or results_path(args.name, quick)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    flips = record["test_accuracy_flips"]
    print(f"test accuracy {record['test_accuracy']:.4f}"
          + (f" ({flips:.4f} with mirrored copies)" if flips is not None else "")
          + f" after {record['epochs']} epochs "
          f"({record['train_seconds']:.0f} s, {record['params']:,} parameters); wrote {out}")
    if "seed_study" in record:
        study = record["seed_study"]["test_accuracy"]
        print(f"over seeds {record['seed_study']['seeds']}: mean {study['mean']:.4f}, "
              f"std {study['std']:.4f}, spread {study['spread']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
