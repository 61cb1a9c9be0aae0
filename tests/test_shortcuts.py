"""Forbidden shortcuts earn 0 for the part, whichever way they are reached; clean code is not flagged."""
from __future__ import annotations

import importlib
import sys
import threading

import numpy as np
import pytest
import scipy.signal as helpers  # deliberately innocent-looking alias
from numpy.lib.stride_tricks import sliding_window_view as windows

from autograder import checks, shortcuts
from autograder.checks import CheckFailed
from autograder.checks.training import _POLICY as training_policy
from exercise_ns import ASSIGNMENTS, SOURCE, namespace

ZERO = "0 points for this part"


def _zero(check, func, part="values", detail=""):
    with pytest.raises(CheckFailed) as info:
        check(func, part=part)
    assert ZERO in str(info.value), str(info.value)
    assert detail in str(info.value), str(info.value)


# --- each route to a forbidden routine ---------------------------------------------------------
def test_scipy_through_a_module_alias():
    def correlate2d(image, kernel, mode="valid"):
        return helpers.correlate2d(image, kernel, mode)

    _zero(checks.check_correlate2d, correlate2d, detail="scipy.signal")


def test_scipy_imported_inside_the_function():
    def convolve2d(image, kernel, mode="full"):
        from scipy.signal import convolve2d as c2d

        return c2d(image, kernel, mode)

    _zero(checks.check_convolve2d, convolve2d, detail="scipy.signal")


def test_np_convolve_and_correlate():
    _zero(checks.check_conv1d, lambda x, w, mode="full": np.convolve(x, w, mode), detail="convolve")
    _zero(checks.check_correlate1d, lambda x, w, mode="valid": np.correlate(x, w, mode), detail="correlate")


def test_sliding_window_view_under_another_name():
    def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
        s = pool_size if stride is None else stride
        return windows(x, (pool_size, pool_size), axis=(1, 2))[:, ::s, ::s].max(axis=(-2, -1))

    _zero(checks.check_max_pool2d, max_pool2d, detail="sliding_window_view")


def test_shortcut_hidden_in_a_helper_function():
    def helper(x, w):
        return np.convolve(x, w)

    def conv1d(x, w, mode="full"):
        full = helper(x, w)
        m = len(w)
        return {"full": full, "same": full[(m - 1) // 2:(m - 1) // 2 + len(x)], "valid": full[m - 1:len(x)]}[mode]

    _zero(checks.check_conv1d, conv1d)


def test_dynamic_import_is_caught_at_run_time():
    # Static analysis cannot read "sci" + "py.signal"; the runtime guard sees the call land in SciPy.
    def correlate2d(image, kernel, mode="valid"):
        module = importlib.import_module("sci" + "py.sig" + "nal")
        return getattr(module, "correlate" + "2d")(image, kernel, mode)

    assert shortcuts.call_guarded(correlate2d, (np.ones((3, 3)), np.ones((2, 2))), {},
                                  shortcuts.NO_CONV_SHORTCUTS)[2].shortcuts
    _zero(checks.check_correlate2d, correlate2d)


def test_numpy_routine_reached_through_getattr_on_sys_modules():
    def correlate1d(x, w, mode="valid"):
        return getattr(sys.modules["nu" + "mpy"], "corr" + "elate")(x, w, mode)

    report = shortcuts.call_guarded(correlate1d, (np.arange(5.0), np.ones(2)), {}, shortcuts.NO_CONV_SHORTCUTS)[2]
    assert report.shortcuts == ["called numpy.correlate"]
    _zero(checks.check_correlate1d, correlate1d)


def test_the_reference_package_is_a_shortcut():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        import solutions

        return solutions.conv2d(x, w, b, stride, padding)

    _zero(checks.check_conv2d, conv2d, detail="solutions")


def test_the_autograders_private_reference_is_a_shortcut():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        from autograder._reference import ref

        return ref.conv2d(x, w, b, stride, padding)

    _zero(checks.check_conv2d, conv2d, detail="autograder")


def test_passing_the_library_function_itself():
    _zero(checks.check_correlate2d, helpers.correlate2d, detail="itself")


def test_tensorflow_in_a_numpy_exercise_is_caught_without_running_it():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        import tensorflow as tf

        return tf.nn.conv2d(x, w, stride, padding.upper()).numpy()

    assert "tensorflow" not in sys.modules or True  # static analysis stops it before any import
    _zero(checks.check_conv2d, conv2d, part="shape", detail="tensorflow")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_shortcut_in_a_thread_is_caught():
    def conv1d(x, w, mode="full"):
        result = {}
        worker = threading.Thread(target=lambda: result.setdefault("y", sys.modules["numpy"].__dict__["con" + "volve"](x, w, mode)))
        worker.start()
        worker.join()
        return result.get("y")

    report = shortcuts.call_guarded(conv1d, (np.arange(4.0), np.ones(2)), {}, shortcuts.NO_CONV_SHORTCUTS)[2]
    assert report.shortcuts, "the thread's call to np.convolve went unnoticed"


def test_plain_numpy_is_fine_where_convolution_is_not_the_task():
    # conv2d_backward may use anything in NumPy (np.pad, tensordot...): no false alarm
    checks.check_conv2d_backward(namespace("07-backprop")["conv2d_backward"], part="dx")


# --- no false alarms -------------------------------------------------------------------------
def test_reference_solutions_have_no_static_findings():
    for assignment in ASSIGNMENTS:
        if assignment.startswith(("09", "10")):
            continue
        ns = namespace(assignment)
        for name, value in ns.items():
            if callable(value) and getattr(value, "__code__", None) and "<exercise" in value.__code__.co_filename:
                # train_step is meant to compose the reference layers the notebook imports
                policy = training_policy if name == "train_step" else shortcuts.NO_CONV_SHORTCUTS
                assert shortcuts.static_findings(value, policy) == [], (assignment, name)


def test_source_notebooks_have_no_tampering_findings():
    for assignment in ASSIGNMENTS:
        path = SOURCE / assignment / f"{assignment}.ipynb"
        assert shortcuts.scan_notebook_for_tampering(path) == [], assignment


# --- notebook-level tampering scan ---------------------------------------------------------------
@pytest.mark.parametrize("code, phrase", [
    ("np.allclose = lambda *a, **k: True", "np.allclose"),
    ("import numpy as xp\nxp.testing.assert_allclose = print", "xp.testing.assert_allclose"),
    ("from numpy import testing\ntesting.assert_allclose = print", "testing.assert_allclose"),
    ("check_conv2d = lambda *a, **k: None", "check_conv2d"),
    ("def check_conv2d(f, part=None):\n    pass", "check_conv2d"),
    ("from os import path as check_conv2d", "check_conv2d"),
    ("import sys\nsys.modules['autograder.checks'] = object()", "modules"),
    ("setattr(np, 'allclose', lambda *a: True)", "setattr"),
    ("conv2d.__code__ = other.__code__", "__code__"),
    ("import sys\nsys.setprofile(None)", "setprofile"),
    ("exec('np.allclose = 1')", "exec"),
    ("import builtins\nbuiltins.abs = lambda v: 0", "builtins.abs"),
    ("globals()['check_conv2d'] = print", "globals()"),
    ("import autograder.checks\nvars(autograder.checks)['check_conv2d'] = print", "vars("),
    ("import ctypes", "ctypes"),
    ("from unittest import mock\nmock.patch.object(np, 'allclose')", "mock"),
    ("for check_conv2d in [print]:\n    pass", "check_conv2d"),
])
def test_tampering_patterns_are_flagged(code, phrase):
    findings = shortcuts.scan_source_for_tampering(code)
    assert findings and any(phrase in f for f in findings), findings


@pytest.mark.parametrize("code", [
    "import numpy as np\nnp.testing.assert_allclose(np.ones(2), np.ones(2))",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (4, 3)",
    "from autograder.checks import check_conv2d\ncheck_conv2d(conv2d, part='values')",
    "x = np.zeros(3)\nx[0] = 1\nx.shape = (3, 1)",
    "params = {}\nparams['W1'] = np.ones(3)\nparams['W1'] -= 0.1",
    "%matplotlib inline\nimport numpy as np",
    "def check_shapes(a, b):\n    assert a.shape == b.shape\ncheck_answer = 3",
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'",
    "model.compile(optimizer='adam', loss='mse')\nmodel.evaluate(x, y)\nlayer.trainable = False",
    "def conv2d(x, w):\n    out = np.zeros(3)\n    out += 1\n    return out",
])
def test_ordinary_code_is_not_flagged(code):
    assert shortcuts.scan_source_for_tampering(code) == []


def test_scan_reports_the_cell(tmp_path):
    import json

    nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "conv2d"}},
                     "source": ["import numpy as np\n", "np.allclose = lambda *a, **k: True\n"]}]}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    findings = shortcuts.scan_notebook_for_tampering(path)
    assert findings and findings[0].startswith("cell 0 (conv2d): assigns to np.allclose")
