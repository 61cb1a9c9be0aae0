"""Recorded full runs cited by chapters 9-10, and the rule that `import solutions` stays Keras-free."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"


def test_import_solutions_does_not_import_keras():
    code = "import sys, solutions; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_recorded_full_run_is_complete_and_consistent(name):
    path = RESULTS / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not recorded yet")
    record = json.loads(path.read_text())
    assert record["name"] == name and record["mode"] == "full"
    assert 0.1 < record["test_accuracy"] <= 1
    history = record["history"]
    assert len(history["loss"]) == len(history["val_accuracy"]) == record["epochs"] >= 1
    assert record["n_test"] == 10000 and record["n_train"] + record["n_validation"] in (50000, 60000)
    assert record["train_seconds"] > 0 and record["budget_s"] is not None
    # The run planned as many epochs as the budget allowed at the pace of its first one.
    assert 0 < record["first_epoch_s"] <= record["train_seconds"]
    assert record["epochs"] * record["first_epoch_s"] <= record["budget_s"] or record["epochs"] == 1
    if name == "cifar10":  # chapter 10 reports the flip-averaged accuracy next to the single view
        assert abs(record["test_accuracy_flips"] - record["test_accuracy"]) < 0.05
    assert record["data_source"]["file"] in {f"{name}.npz", None}  # portable: a file name, no path
    env = record["environment"]
    assert env["device"] in {"CPU", "GPU"} and env["cpu_count"] >= 1 and len(env["loadavg_1_5_15"]) == 3

    keras = pytest.importorskip("keras")  # the parameter count must match the model the code builds
    from solutions import models

    model = models.mnist_convnet() if name == "mnist" else models.cifar10_convnet(
        models.CifarRecipe(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in record["recipe"].items()}))
    assert isinstance(model, keras.Model) and model.count_params() == record["params"]
