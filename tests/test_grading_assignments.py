"""Grade simulated submissions of every real exercise with the instructor pipeline.

Per exercise, one workspace `release`, one `collect` and one parallel `grade`: the source notebook
(full marks) and the blank release (0 on every graded cell); for 02-conv1d also partial work, a
common mistake whose diagnosis must reach the report, and a forbidden shortcut; for 13 and 14
planted mistakes the report must name, and results that do (a NamedTuple of NumPy integers) and do
not (a dataclass) cross the bridge as plain data. The Keras exercises only get the solution and the
blank (they train models).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from autograder.cli import main
from autograder.sandbox import probe
from autograder.course import REPO

pytestmark = pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}")

SOURCE = REPO / "exercises" / "source"
IDS = sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists())
KERAS = {"09-keras-mnist", "10-keras-cifar10"}


def _solution(nb: dict, grade_id: str, code: str) -> None:
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    cell["source"] = code


EXTRA = {  # 02-conv1d: student -> edit of the source notebook
    "partial": lambda nb: _solution(nb, "correlate1d", "def correlate1d(x, w, mode='valid'):\n"
                                                       "    raise NotImplementedError()"),
    # a cross-correlation: the kernel used as it is, not flipped (its own code: the notebook's later
    # correlate1d cell calls conv1d, and verdicts read the notebook's final state)
    "noflip": lambda nb: _solution(nb, "conv1d", "def conv1d(x, w, mode='full'):\n"
                                                 "    x, w = np.asarray(x, float), np.asarray(w, float)\n"
                                                 "    n, m = len(x), len(w)\n"
                                                 "    p = np.concatenate([np.zeros(m - 1), x, np.zeros(m - 1)])\n"
                                                 "    full = np.array([p[i:i + m] @ w for i in range(n + m - 1)])\n"
                                                 "    s = {'full': 0, 'same': (m - 1) // 2, 'valid': m - 1}[mode]\n"
                                                 "    return full[s:s + {'full': n + m - 1, 'same': n, 'valid': n - m + 1}[mode]]"),
    # right for the odd kernels of the visible tests, off by one for even kernels (hidden checks)
    "sameoffset": lambda nb: _solution(nb, "conv1d", "def conv1d(x, w, mode='full'):\n"
                                                     "    x, w = np.asarray(x, float), np.asarray(w, float)\n"
                                                     "    n, m = len(x), len(w)\n"
                                                     "    p = np.concatenate([np.zeros(m - 1), x, np.zeros(m - 1)])\n"
                                                     "    full = np.array([p[i:i + m] @ w[::-1] for i in range(n + m - 1)])\n"
                                                     "    s = {'full': 0, 'same': m // 2, 'valid': m - 1}[mode]\n"
                                                     "    return full[s:s + {'full': n + m - 1, 'same': n, 'valid': n - m + 1}[mode]]"),
    "shortcut": lambda nb: _solution(nb, "conv1d", "def conv1d(x, w, mode='full'):\n"
                                                   "    return np.convolve(x, w, mode)"),
}


EXTRA_08 = {  # 08: the reference dropout fetched past the static scan is a stub in the kernel
    "reference": lambda nb: _solution(nb, "dropout", "import importlib\n"
                                                     "given = importlib.import_module('solu' + 'tions.layers')\n"
                                                     "def dropout(x, rate, rng=None, training=True):\n"
                                                     "    return given.dropout(x, rate, rng, training)"),
}


def _edit(grade_id: str, *edits: tuple[str, str], prefix: str = ""):
    """A student who wrote the source's solution of ``grade_id`` with ``edits`` (old -> new) and ``prefix`` first."""
    def edit(nb: dict) -> None:
        cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
        code = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for old, new in edits:
            assert code.count(old) == 1, old
            code = code.replace(old, new)
        cell["source"] = prefix + code
    return edit


_COST_RETURN = "return params, weights * uses, oh * ow * out_channels"
EXTRA_13 = {
    "flipped": _edit("conv2d_transpose", ("np.tensordot(x[:, i, j, :], w, axes", "np.tensordot(x[:, i, j, :], w[::-1, ::-1], axes")),
    # the counts as a NamedTuple of NumPy integers: the bridge hands back a plain tuple of numbers
    "namedtuple": _edit("conv_layer_cost", (_COST_RETURN, "return Cost(*map(np.int64, (params, weights * uses, "
                                                          "oh * ow * out_channels)))"),
                        prefix="from typing import NamedTuple\nclass Cost(NamedTuple):\n    params: int\n"
                               "    multiply_adds: int\n    activations: int\n\n"),
    # a dataclass is not plain data: it cannot cross the bridge, and the message says so
    "dataclass": _edit("conv_layer_cost", (_COST_RETURN, "return Cost(params, weights * uses, oh * ow * out_channels)"),
                       prefix="from dataclasses import dataclass\n@dataclass\nclass Cost:\n    params: int\n"
                              "    multiply_adds: int\n    activations: int\n\n"),
}
EXTRA_14 = {
    "unbiased": _edit("batch_norm_forward", ("var = x.var(axis=axes)  #", "var = x.var(axis=axes, ddof=1)  #")),
    "noshortcut": _edit("residual_block_backward", ("return dx + dx_short, grads", "return dx, grads")),
}


def _train_in_this_process() -> None:
    """One step of Keras training here, which starts TensorFlow's thread pools in the grader's caller."""
    import solutions._tf  # noqa: F401  (TensorFlow with the course's settings)
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=1, verbose=0)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assignments")
    return ["--course", str(tmp / "course"), "--release", str(tmp / "release")], tmp


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_solution_full_marks_blank_zero(workspace, assignment):
    if assignment in KERAS:
        if not os.environ.get("CNN_COURSE_DATA"):
            pytest.skip("Keras exercises need CNN_COURSE_DATA")
        _train_in_this_process()  # as an instructor's notebook may have: the checks must not hang
    common, tmp = workspace
    assert main([*common, "release", assignment]) == 0
    source = json.loads((SOURCE / assignment / f"{assignment}.ipynb").read_text())
    lms = tmp / "lms" / assignment
    lms.mkdir(parents=True)
    (lms / "solution_1.ipynb").write_text(json.dumps(source))
    blank = (tmp / "release" / assignment / f"{assignment}.ipynb").read_text()
    (lms / "blank_1.ipynb").write_text(blank)
    extra = {"02-conv1d": EXTRA, "08-dropout-weight-sharing": EXTRA_08, "13-conv-variants": EXTRA_13,
             "14-deeper-networks": EXTRA_14}.get(assignment, {})
    if extra:
        for student, edit in extra.items():
            nb = json.loads(json.dumps(source))
            edit(nb)
            (lms / f"{student}_1.ipynb").write_text(json.dumps(nb))
    assert main([*common, "collect", assignment, str(lms)]) == 0
    assert main([*common, "grade", assignment, "--jobs", "2"]) == 0
    rep = json.loads((tmp / "course" / "reports" / f"{assignment}.json").read_text())

    solution, empty = rep["solution"], rep["blank"]
    assert solution["status"] == "graded", solution
    assert solution["score"] == solution["max_score"] > 0, {k: c.get("message") for k, c in solution["cells"].items()}
    assert empty["status"] == "graded" and empty["score"] == 0.0, empty
    assert all(c["score"] == 0 for c in empty["cells"].values())

    if assignment == "02-conv1d":
        cells = {s: rep[s]["cells"] for s in EXTRA}
        # conv1d right, correlate1d missing: exactly the conv1d cells score
        assert rep["partial"]["score"] == sum(c["max_score"] for n, c in cells["partial"].items()
                                              if n.startswith("test_conv1d"))
        assert "raised NotImplementedError" in cells["partial"]["test_correlate1d_values"]["message"]
        # a correlation where a convolution is asked: the check names the mistake
        assert cells["noflip"]["test_conv1d_values"]["score"] == 0
        assert cells["noflip"]["test_conv1d_values"]["error"] == "CheckFailed"
        assert "Likely cause: your function does not flip the kernel" in cells["noflip"]["test_conv1d_values"]["message"]
        assert cells["noflip"]["test_conv1d_shape"]["score"] == 1
        # passes the visible tests; the hidden check finds the mistake and names its likely cause
        same = cells["sameoffset"]["test_conv1d_values"]
        assert same["score"] == 0 and "Likely cause: your 'same' output is centred one step off" in \
            same["message"], same
        assert cells["sameoffset"]["test_conv1d_shape"]["score"] == 1
        # np.convolve is the exercise: the points wait for the instructor, flagged in the gradebook
        held = cells["shortcut"]["test_conv1d_values"]
        assert held["verdict"] == "held" and held["score"] == 0, held
        assert "held for the instructor's review" in held["message"] and ".convolve" in held["message"]
        assert rep["shortcut"]["status"] == "flagged" and rep["shortcut"]["held_points"] >= 2.0

    if assignment == "08-dropout-weight-sharing":
        copied = rep["reference"]["cells"]
        dropout_cells = [copied[f"test_dropout_{part}"] for part in ("mask", "statistics", "inference")]
        assert dropout_cells and all(c["score"] == 0 for c in dropout_cells), copied
        assert any("NotImplementedError" in (c.get("message") or "") for c in dropout_cells), copied

    if assignment == "13-conv-variants":
        flipped = rep["flipped"]["cells"]
        assert flipped["test_transpose_values"]["score"] == 0
        assert "Likely cause: your function flips the kernel. A transposed" in flipped["test_transpose_values"]["message"]
        assert flipped["test_transpose_shape"]["score"] == flipped["test_transpose_shape"]["max_score"]
        cost_cells = [n for n in solution["cells"] if n.startswith("test_cost")]
        assert rep["namedtuple"]["score"] == rep["namedtuple"]["max_score"], rep["namedtuple"]["cells"]
        for name in cost_cells:
            cell = rep["dataclass"]["cells"][name]
            assert cell["score"] == 0 and "got a Cost object, which cannot leave your notebook" in cell["message"], cell

    if assignment == "14-deeper-networks":
        unbiased, noshortcut = rep["unbiased"]["cells"], rep["noshortcut"]["cells"]
        assert unbiased["test_bn_training"]["score"] == 0
        assert "Likely cause: your batch variance is the unbiased one" in unbiased["test_bn_training"]["message"]
        assert unbiased["test_bn_shape"]["score"] == unbiased["test_bn_shape"]["max_score"]
        assert noshortcut["test_block_backward_dx"]["score"] == 0
        assert "Likely cause: your dx is missing the shortcut's gradient" in noshortcut["test_block_backward_dx"]["message"]
        assert noshortcut["test_block_backward_params"]["score"] == noshortcut["test_block_backward_params"]["max_score"]
