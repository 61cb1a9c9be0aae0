"""Training code of Part III: quick runs learn, records are complete, caches are keyed by mode."""
from __future__ import annotations

import hashlib
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from solutions import models, train  # noqa: E402
from solutions.datasets import DatasetUnavailableError  # noqa: E402


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def _have_data(name):
    try:
        train.load_data(name, n_train=10, n_test=10)
    except DatasetUnavailableError:
        return False
    return True


def test_confusion_matrix_counts_pairs():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    counts = train.confusion_matrix(y_true, y_pred, n_classes=3)
    loop = np.zeros((3, 3), int)
    for t, p in zip(y_true, y_pred):
        loop[t, p] += 1
    np.testing.assert_array_equal(counts, loop)
    assert counts.sum() == 6 and np.trace(counts) == 4
    with pytest.raises(ValueError, match="same length"):
        train.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="labels"):
        train.confusion_matrix([0, 3], [0, 1], n_classes=3)


def test_flip_averaged_predictions_are_mirror_invariant():
    keras.utils.set_random_seed(0)
    model = models.cifar10_convnet(models.CIFAR_STEPS["baseline"])  # not mirror-symmetric
    x = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3)).astype("float32")
    mirrored = x[:, :, ::-1]
    one_view = train.predict(model, x)
    np.testing.assert_allclose(one_view, model.predict(x, verbose=0), rtol=1e-6)
    assert not np.allclose(one_view, train.predict(model, mirrored), atol=1e-4)
    both = train.predict(model, x, flips=True)
    np.testing.assert_allclose(both, train.predict(model, mirrored, flips=True), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(both.sum(axis=1), 1, rtol=1e-5)
    symmetric = (x + mirrored) / 2  # an image equal to its mirror image gains nothing from the flip
    np.testing.assert_allclose(train.predict(model, symmetric, flips=True), train.predict(model, symmetric),
                               rtol=1e-5, atol=1e-7)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown"):
        train.load_data("imagenet")
    with pytest.raises(ValueError, match="unknown"):
        train.run("imagenet", quick=True)
    with pytest.raises(SystemExit):
        train.main(["imagenet"])


@pytest.mark.slow
def test_quick_mnist_cli_learns_writes_record_and_caches(isolated_cache, monkeypatch):
    if not _have_data("mnist"):
        pytest.skip("MNIST not available")
    out = isolated_cache / "mnist.json"
    assert train.main(["mnist", "--quick", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    history = record["history"]
    assert record["mode"] == "quick" and record["epochs"] == len(history["loss"]) >= 2
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert record["test_accuracy"] > 0.5  # chance is 0.1
    assert record["params"] == models.mnist_convnet().count_params()
    for key in ("tensorflow", "keras", "cpu", "cpu_count", "device", "loadavg_1_5_15"):
        assert key in record["environment"]
    assert record["train_seconds"] > 0 and record["val_accuracy"] == history["val_accuracy"][-1]

    # The cached quick model is reused without training; a full-mode request does not see it.
    def no_training(*args, **kwargs):
        raise RuntimeError("trained instead of using the cache")

    monkeypatch.setattr(train, "run", no_training)
    model, cached = train.load_or_train("mnist", quick=True)
    assert cached["test_accuracy"] == record["test_accuracy"]
    (_, _), (x_test, y_test) = train.load_data("mnist", 10, 1000)
    acc = model.evaluate(x_test, y_test, verbose=0)[1]
    assert np.isclose(acc, record["test_accuracy"], atol=1e-6)
    with pytest.raises(RuntimeError, match="trained instead"):
        train.load_or_train("mnist", quick=False)


@pytest.mark.slow
def test_final_cifar_recipe_learns_on_a_small_subset():
    if not _have_data("cifar10"):
        pytest.skip("CIFAR-10 not available")
    (x, y), _ = train.load_data("cifar10", n_train=1500, n_test=1, seed=0)
    data = ((x[:1000], y[:1000]), (x[1000:], y[1000:]))
    result = train.train_recipe(models.CIFAR_FINAL, data, epochs=3, batch_size=32)
    history = result["history"]
    assert history["loss"][-1] < history["loss"][0]
    # Chance is 0.1; on 500 validation images its standard deviation is about 0.013.
    assert result["val_accuracy"] > 0.16
    assert result["params"] == models.cifar10_convnet().count_params()


def test_results_path_keeps_quick_runs_out_of_the_book(isolated_cache):
    assert train.results_path("cifar10", quick=False) == train.RESULTS_DIR / "cifar10.json"
    quick = train.results_path("cifar10", quick=True)
    assert train.RESULTS_DIR not in quick.parents and quick.name == "cifar10-quick.json"


def test_load_note_grades_how_busy_the_machine_was():
    def note(load):
        return train.load_note({"loadavg_1_5_15": [load, 0, 0], "cpu_count": 2})
    assert note(0.3) == "the machine was otherwise nearly idle"
    assert "may not have had every core" in note(1.5)
    assert "only a fraction of its cores" in note(6.7)


class _Clock:
    """A fake clock for :class:`train.EpochBudget`: each reading returns the next of ``times``."""

    def __init__(self, *times):
        self.times = iter(times)

    def __call__(self):
        return next(self.times)


def _drive(budget, max_epochs=30):
    """Run ``budget``'s hooks as ``fit`` would; returns after which epochs it asked to stop."""
    budget.set_model(SimpleNamespace(stop_training=False))
    budget.on_train_begin()
    stopped = []
    for epoch in range(max_epochs):
        budget.on_epoch_begin(epoch)
        budget.on_epoch_end(epoch)
        stopped.append(budget.model.stop_training)
        if budget.model.stop_training:
            break
    return stopped


def test_epoch_budget_plans_from_the_first_epoch():
    schedule = models.WarmupCosine(1e-3, warmup_steps=10, total_steps=300)
    budget = train.EpochBudget(130, max_epochs=30, steps_per_epoch=10, schedule=schedule,
                               clock=_Clock(0.0, 40.0, 80.0, 120.0))
    assert _drive(budget) == [False, False, True]  # 130 // 40 = 3 epochs
    assert budget.first_epoch_s == 40 and budget.epochs == 3
    # The schedule now ends at step 30: halfway through its decay at step 20, zero at the end.
    assert float(schedule(20)) == pytest.approx(0.5e-3, rel=1e-5)
    assert float(schedule(30)) == pytest.approx(0, abs=1e-9)

    slow = train.EpochBudget(10, max_epochs=30, steps_per_epoch=10, clock=_Clock(0.0, 40.0))
    assert _drive(slow) == [True] and slow.epochs == 1  # over budget already: one epoch


def test_epoch_budget_cuts_the_plan_when_epochs_slow_down():
    schedule = models.WarmupCosine(1e-3, warmup_steps=10, total_steps=300)
    # Planned 1000 // 100 = 10 epochs; from the third on they take 150 s, so after epoch 3 (350 s
    # spent, 650 s left = 4 more) the plan is cut to 7, and the run ends within its budget.
    ticks = [0.0, 100.0, 200.0] + [200.0 + 150 * k for k in range(1, 8)]
    budget = train.EpochBudget(1000, max_epochs=30, steps_per_epoch=10, schedule=schedule, clock=_Clock(*ticks))
    stopped = _drive(budget)
    assert budget.epochs == len(stopped) == 7 and stopped[-1] and not any(stopped[:-1])
    assert ticks[len(stopped)] <= 1000
    assert float(schedule(70)) == pytest.approx(0, abs=1e-9) and float(schedule(69)) > 0
    # Faster epochs never lengthen the plan: the schedule was set for the first estimate.
    fast = train.EpochBudget(300, max_epochs=30, steps_per_epoch=10, clock=_Clock(0.0, 100.0, 110.0, 120.0))
    assert _drive(fast) == [False, False, True]


def test_budgeted_fit_stops_with_the_learning_rate_at_zero():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28, 1), dtype=np.uint8)
    y = rng.integers(0, 10, 64)
    steps = 4  # 58 training images (10 % held out) in batches of 16
    model = train.build("mnist", steps, epochs=6)
    schedule = model.optimizer._learning_rate
    budget = train.EpochBudget(3.0, max_epochs=6, steps_per_epoch=steps, schedule=schedule, clock=_Clock(0.0, 1.5, 3.0))
    history, _ = train.fit(model, x, y, epochs=6, batch_size=16, verbose=0, callbacks=[budget])
    assert len(history["loss"]) == budget.epochs == 2
    assert int(model.optimizer.iterations) == 2 * steps
    assert float(model.optimizer.learning_rate) == pytest.approx(0, abs=1e-9)


def test_measure_recipe_reuses_a_result_only_while_nothing_changed(isolated_cache):
    rng = np.random.default_rng(1)
    data = ((rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 40)),
            (rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 20)))
    recipe = models.CIFAR_STEPS["baseline"]
    first = train.measure_recipe(recipe, data, epochs=1, batch_size=16)
    again = train.measure_recipe(recipe, data, epochs=1, batch_size=16)
    assert not first["cached"] and again["cached"] and "model" not in first
    assert {k: v for k, v in again.items() if k != "cached"} == {k: v for k, v in first.items() if k != "cached"}
    assert len(first["history"]["loss"]) == 1 and 0 <= first["val_accuracy"] <= 1
    # Another schedule, or other data, is trained afresh.
    assert not train.measure_recipe(recipe, data, epochs=2, batch_size=16)["cached"]
    changed = ((data[0][0][::-1].copy(), data[0][1]), data[1])
    assert not train.measure_recipe(recipe, changed, epochs=1, batch_size=16)["cached"]


def _fake_cifar(n_train=100, n_test=30):
    """A stand-in for ``train.load_data("cifar10")``: training image i has pixel [0, 0, 0] = i; every
    test pixel is 255 (a sentinel no training image has), so any use of test data is visible."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 200, (n_train, 32, 32, 3), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(n_train)
    x_test = np.full((n_test, 32, 32, 3), 255, dtype=np.uint8)
    return (x, rng.integers(0, 10, n_train)), (x_test, np.full(n_test, 9))


def test_ladder_selects_on_held_out_training_images_never_on_test(monkeypatch, isolated_cache):
    monkeypatch.setattr(train, "load_data", lambda *args, **kwargs: _fake_cifar())
    monkeypatch.setitem(train.LADDER, "quick", {"n_train": 40, "n_validation": 6, "epochs": 1, "batch_size": 16})
    (x_fit, _), (x_val, _) = data = train.ladder_data("quick")
    fit_ids, val_ids = set(x_fit[:, 0, 0, 0]), set(x_val[:, 0, 0, 0])
    assert fit_ids == set(range(40)) and len(val_ids) == 6 and not fit_ids & val_ids
    assert val_ids <= set(range(90, 100))  # the last tenth: the final run's validation images

    seen = []  # every image array Keras is given while the ladder trains and measures a step

    def spy(method):
        def wrapper(self, x=None, *args, **kwargs):
            validation = kwargs.get("validation_data")
            seen.extend(a for a in (x, validation[0] if validation else None) if isinstance(a, np.ndarray))
            return method(self, x, *args, **kwargs)
        return wrapper

    for name in ("fit", "evaluate", "predict"):
        monkeypatch.setattr(keras.Model, name, spy(getattr(keras.Model, name)))
    result = train.measure_recipe(models.CIFAR_STEPS["baseline"], data, epochs=1, batch_size=16)
    assert seen and not any((a == 255).all(axis=(1, 2, 3)).any() for a in seen)
    assert "test_accuracy" not in result and 0 <= result["val_accuracy"] <= 1
    with pytest.raises(ValueError, match="mode"):
        train.ladder_data("medium")
    monkeypatch.setitem(train.LADDER, "quick", {"n_train": 95, "n_validation": 6, "epochs": 1, "batch_size": 16})
    with pytest.raises(ValueError, match="ladder needs 95 training"):
        train.ladder_data("quick")


def test_seed_spread_matches_numpy_statistics():
    records = [{"seed": s, "test_accuracy": a, "test_accuracy_flips": None, "val_accuracy": v}
               for s, a, v in [(0, 0.81, 0.80), (1, 0.84, 0.82), (2, 0.80, 0.83)]]
    study = train.seed_spread(records)
    assert study["seeds"] == [0, 1, 2] and "test_accuracy_flips" not in study  # None: not measured
    accs = np.array([0.81, 0.84, 0.80])
    assert study["test_accuracy"]["values"] == accs.tolist()
    assert study["test_accuracy"]["mean"] == pytest.approx(accs.mean())
    assert study["test_accuracy"]["std"] == pytest.approx(np.sqrt(np.sum((accs - accs.mean()) ** 2) / 2))
    assert study["test_accuracy"]["spread"] == pytest.approx(0.04)
    assert study["val_accuracy"]["spread"] == pytest.approx(0.03)
    with pytest.raises(ValueError, match="distinct seeds"):
        train.seed_spread(records[:1])
    with pytest.raises(ValueError, match="distinct seeds"):
        train.seed_spread([records[0], records[0]])


def test_cli_seeds_records_their_spread_and_keeps_seed_0s_model(isolated_cache, monkeypatch):
    calls, saved = [], []

    class FakeModel:
        def save(self, path):
            saved.append(self)

    def fake_run(name, quick=None, verbose=0, seed=0):
        calls.append(seed)
        model = FakeModel()
        model.seed = seed
        return model, {"seed": seed, "test_accuracy": 0.80 + seed / 100, "test_accuracy_flips": 0.81 + seed / 100,
                       "val_accuracy": 0.79, "epochs": 12 - seed, "train_seconds": 100.0 + seed, "params": 1}

    monkeypatch.setattr(train, "run", fake_run)
    out = isolated_cache / "cifar10.json"
    assert train.main(["cifar10", "--quick", "--seeds", "3", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert calls == [0, 1, 2] and [m.seed for m in saved] == [0]
    study = record["seed_study"]
    assert record["seed"] == 0 and study["seeds"] == [0, 1, 2] and study["epochs"] == [12, 11, 10]
    assert study["test_accuracy"]["mean"] == pytest.approx(0.81)
    assert study["test_accuracy_flips"]["spread"] == pytest.approx(0.02)
    assert train.main(["cifar10", "--quick", "--out", str(out)]) == 0
    assert "seed_study" not in json.loads(out.read_text())  # one seed: no spread to report
    with pytest.raises(SystemExit):
        train.main(["cifar10", "--seeds", "0"])


def test_data_source_names_file_and_checksum_but_no_machine_path(tmp_path, monkeypatch):
    (tmp_path / "mnist.npz").write_bytes(b"not really an npz")
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path))
    source = train.data_source("mnist")
    assert source == {"file": "mnist.npz", "sha256": hashlib.sha256(b"not really an npz").hexdigest(),
                      "note": "course copy, bit-identical to the official MNIST"}
    assert str(tmp_path) not in json.dumps(source)
    assert train.data_source("cifar10") == {"file": None, "sha256": None,
                                            "note": "keras.datasets.cifar10.load_data()"}


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_recorded_runs_name_their_data_portably(name):
    source = json.loads((train.RESULTS_DIR / f"{name}.json").read_text())["data_source"]
    assert source["file"] == f"{name}.npz" and re.fullmatch("[0-9a-f]{64}", source["sha256"])
    assert "/" not in json.dumps(source) and source["note"]
    local = train.data_dir() / source["file"] if train.data_dir() else None
    if local is None or not local.exists():
        pytest.skip("no local copy to check the checksum against")
    assert train.data_source(name)["sha256"] == source["sha256"]


def test_fit_verdict_reads_overfitting_from_the_validation_loss():
    rising = {"val_loss": [1.0, 0.8, 0.9, 1.1], "accuracy": [0.5, 0.7, 0.8, 0.9],
              "val_accuracy": [0.5, 0.6, 0.6, 0.58]}
    verdict = train.fit_verdict(rising)
    assert verdict.startswith("had begun to overfit") and "after epoch 2 of 4" in verdict
    assert "32.0 points above validation" in verdict
    flat = {"val_loss": [1.0, 0.9, 0.898, 0.899], "accuracy": [0.4, 0.5, 0.55, 0.57],
            "val_accuracy": [0.45, 0.5, 0.58, 0.6]}
    verdict = train.fit_verdict(flat)  # 0.899 is within 1 % of the lowest, 0.898
    assert verdict.startswith("had not begun to overfit") and "3.0 points below validation" in verdict
    assert train.fit_verdict(flat, tolerance=0.0001).startswith("had begun to overfit")
    with pytest.raises(ValueError, match="same epochs"):
        train.fit_verdict({"val_loss": [1.0], "accuracy": [], "val_accuracy": [0.5]})


def test_recomputed_bn_accuracy_uses_the_exact_training_statistics_and_restores_the_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(4, name="first")(inputs)
    normed = keras.layers.BatchNormalization(name="bn")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(normed))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x_fit, x_val = rng.normal(3, 2, (200, 5)).astype("float32"), rng.normal(3, 2, (60, 5)).astype("float32")
    y_val = rng.integers(0, 3, 60)
    bn = model.get_layer("bn")
    gamma, beta, _, _ = bn.get_weights()
    wrong = [gamma, beta, np.full(4, 50.0, "float32"), np.full(4, 0.01, "float32")]
    bn.set_weights(wrong)
    recomputed = train.recomputed_bn_accuracy(model, x_fit, x_val, y_val)
    for got, want in zip(bn.get_weights(), wrong):  # the model's own statistics are back
        np.testing.assert_array_equal(got, want)
    kernel, bias = model.get_layer("first").get_weights()
    h = x_fit @ kernel + bias  # the oracle: the batch-norm input computed by hand
    bn.set_weights([gamma, beta, h.mean(axis=0), h.var(axis=0)])
    expected = np.mean(model.predict(x_val, verbose=0).argmax(axis=1) == y_val)
    assert recomputed == pytest.approx(expected)
    with pytest.raises(ValueError, match="no BatchNormalization"):
        train.recomputed_bn_accuracy(keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)]),
                                     x_fit, x_val, y_val)


def test_gradient_norms_match_the_softmax_regression_gradient():
    # A convolution whose kernel covers the whole input, then softmax: multinomial logistic regression,
    # whose mean cross-entropy has the gradient X^T (P - Y) / N.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 2, 2, 3)).astype("float32")
    y = rng.integers(0, 4, 8)
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Conv2D(4, 2, use_bias=False, name="c"),
                              keras.layers.Flatten(), keras.layers.Softmax()])
    kernel = model.get_layer("c").get_weights()[0].reshape(12, 4)
    flat = x.reshape(8, 12)
    logits = flat @ kernel
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = np.linalg.norm(flat.T @ (p - np.eye(4)[y]) / 8)
    norms = train.gradient_norms(model, x, y)
    assert list(norms) == ["c"] and norms["c"] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="Conv2D"):
        train.gradient_norms(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), x[:, 0, 0], y)


def test_compare_recipes_reports_every_seed_and_reuses_runs(isolated_cache):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 48)
    data = ((x[:32], y[:32]), (x[32:], y[32:]))
    recipes = {"small": models.CIFAR_STEPS["baseline"]}
    record = train.compare_recipes(recipes, data, epochs=1, batch_size=16, seeds=(0, 1))
    entry = record["recipes"]["small"]
    assert (record["n_train"], record["n_validation"], record["seeds"]) == (32, 16, [0, 1])
    assert [r["seed"] for r in entry["runs"]] == [0, 1] and not any(r["cached"] for r in entry["runs"])
    values = [r["val_accuracy"] for r in entry["runs"]]
    assert entry["val_accuracy"]["values"] == values
    assert entry["val_accuracy"]["spread"] == pytest.approx(max(values) - min(values))
    assert entry["params"] == models.cifar10_convnet(recipes["small"]).count_params()
    again = train.compare_recipes(recipes, data, epochs=1, batch_size=16, seeds=(0, 1))
    assert all(r["cached"] for r in again["recipes"]["small"]["runs"])
    with pytest.raises(ValueError, match="recipes"):
        train.compare_recipes({}, data, epochs=1)
