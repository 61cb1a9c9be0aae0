"""The static shortcut scan: what it finds in a student's cells, and that honest work stays clean."""
from __future__ import annotations

import json

import pytest

from autograder import checks
from autograder.assignment import load
from autograder.course import REPO
from autograder.scan import COMPOSE_LAYERS, KERAS, NO_CONV_SHORTCUTS, NUMPY_ONLY, scan

PRELUDE = ("import numpy as np\nimport scipy.signal as helpers\n"
           "from numpy.lib.stride_tricks import sliding_window_view as windows\nfast = np.convolve\n")

FOUND = {  # function source -> a fragment of the finding
    "def f(x, w):\n    return np.convolve(x, w)": "uses .convolve",
    "def f(x, w):\n    return fast(x, w)": "numpy.convolve (through the name 'fast')",
    "def f(x, w):\n    return helpers.convolve2d(x, w)": "scipy.signal",
    "def f(x, w):\n    return windows(x, 3)": "sliding_window_view",
    "def f(x, w):\n    return helper(x, w)\ndef helper(x, w):\n    return np.correlate(x, w)": "in its helper helper",
    "def f(x, w):\n    import solutions\n    return solutions.conv1d(x, w)": "imports solutions",
    "def f(x, w):\n    from scipy import signal\n    return signal.convolve(x, w)": "scipy.signal",
    "def f(x, w):\n    return getattr(np, 'convolve')(x, w)": "getattr",
    "def f(x, w):\n    return __import__('scipy.signal').signal.convolve(x, w)": "__import__",
    "def f(x, w):\n    import tensorflow as tf\n    return tf.nn.conv1d(x, w, 1, 'VALID')": "tensorflow",
}


@pytest.mark.parametrize("code", FOUND)
def test_shortcuts_are_found(code):
    findings = scan([PRELUDE, code], "f", NO_CONV_SHORTCUTS)
    assert any(FOUND[code] in f for f in findings), findings


def test_a_function_that_is_the_library_itself_is_found():
    assert "solutions.conv2d itself" in scan(["from solutions import conv2d"], "conv2d", NUMPY_ONLY)[0]


def test_plain_numpy_and_innocent_names_are_clean():
    code = ("def f(x, w):\n    solutions = keras = 3  # local names that only look like modules\n"
            "    convolved = np.zeros(len(x))\n    return np.dot(x, w) + solutions + keras + convolved.sum()")
    assert scan([PRELUDE, code], "f", NO_CONV_SHORTCUTS) == []


def test_policies_differ_by_exercise():
    compose = "from solutions import conv2d\ndef train_step(p, x):\n    return conv2d(x, p)"
    provided = ("solutions.conv2d", "solutions.layers.relu")  # what 08's set-up cell imports
    assert scan([compose], "train_step", COMPOSE_LAYERS, provided) == []
    assert scan([compose], "train_step", NUMPY_ONLY)
    # only what the set-up cell provides: the reference of the exercise itself stays off limits
    for copied in ("from solutions.layers import dropout as given\ndef train_step(p, x):\n    return given(x, p)",
                   "import solutions\ndef train_step(p, x):\n    return solutions.dropout(x, p)"):
        assert "solutions" in scan([copied], "train_step", COMPOSE_LAYERS, provided)[0], copied
    model = "import keras\ndef build_model():\n    return keras.Sequential([keras.Input((28, 28, 1))])"
    assert scan([model], "build_model", KERAS) == []
    copied = "def build_model():\n    from solutions import models\n    return models.mnist_convnet()"
    assert "solutions" in scan([copied], "build_model", KERAS)[0]
    assert checks.policy_for("check_conv1d") is NO_CONV_SHORTCUTS
    assert checks.policy_for("check_train_step") is COMPOSE_LAYERS
    assert checks.policy_for("check_mnist_model") is KERAS


SOURCE = REPO / "exercises" / "source"


@pytest.mark.parametrize("assignment", sorted(p.name for p in SOURCE.iterdir() if p.is_dir()))
def test_reference_solutions_are_clean(assignment):
    spec = load(SOURCE, REPO / "exercises" / "release", assignment)
    nb = json.loads((SOURCE / assignment / f"{assignment}.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
               and not c["metadata"].get("nbgrader", {}).get("locked")]
    for cell in spec.cells:
        for check_name, function in cell.checks:
            assert scan(sources, function, checks.policy_for(check_name)) == [], (assignment, function)
