"""The check library grades the source notebooks' reference solutions full marks, and fails bad work.

Mistake naming is in test_diagnose.py, the shortcut scan in test_scan.py, hostile submissions in
test_robustness.py.
"""
from __future__ import annotations

import os

import numpy as np
import solutions
import pytest

from autograder import checks
from autograder.checks import CheckFailed, student_seed
from exercise_ns import ASSIGNMENTS, SOURCE, hidden_tests, namespace, run_hidden

NUMPY_ASSIGNMENTS = [a for a in ASSIGNMENTS if not a.startswith(("09", "10"))]
DATA = os.environ.get("CNN_COURSE_DATA") or ("/work/shared/data" if os.path.isdir("/work/shared/data") else "")


def test_all_twelve_assignments_exist():
    assert ASSIGNMENTS == ["01-why-convolution", "02-conv1d", "03-conv2d", "04-padding-stride", "05-channels",
                           "06-pooling", "07-backprop", "08-dropout-weight-sharing", "09-keras-mnist",
                           "10-keras-cifar10", "13-conv-variants", "14-deeper-networks"]


@pytest.mark.parametrize("assignment", NUMPY_ASSIGNMENTS)
def test_reference_solution_passes_every_hidden_test(assignment, capsys, monkeypatch):
    if assignment.startswith("08"):
        if not DATA:
            pytest.skip("CNN_COURSE_DATA not set: the training check needs MNIST")
        monkeypatch.setenv("CNN_COURSE_DATA", DATA)
    ns = namespace(assignment)
    tests = hidden_tests(assignment)
    assert tests, "every assignment has hidden tests"
    for grade_id, hidden in tests:
        run_hidden(assignment, hidden, dict(ns))
    out = capsys.readouterr().out
    assert out.count("\u2714") >= len(tests), out


def _conv2d():
    return namespace("05-channels")["conv2d"]


def test_unknown_part_is_a_clear_error():
    with pytest.raises(ValueError, match="parts"):
        checks.check_conv2d(_conv2d(), part="colour")
    with pytest.raises(ValueError, match="parts"):
        checks.check_dropout(namespace("08-dropout-weight-sharing")["dropout"], part="shape")


def test_missing_return_is_explained():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        _conv2d()(x, w, b, stride, padding)  # forgot the return

    with pytest.raises(CheckFailed, match="forget a `return`"):
        checks.check_conv2d(conv2d, part="shape")


def test_exception_in_student_code_is_reported_with_the_input():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        raise IndexError("index 3 is out of bounds")

    with pytest.raises(CheckFailed, match=r"conv2d\(<array of shape .*raised IndexError: index 3"):
        checks.check_conv2d(conv2d, part="values")


def test_not_a_function():
    with pytest.raises(CheckFailed, match="expected your function conv2d"):
        checks.check_conv2d(np.zeros(3))


def test_in_place_modification_of_the_input_fails():
    good = namespace("06-pooling")["max_pool2d"]

    def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
        out = good(x, pool_size, stride, padding)
        x *= 0  # clobbers the caller's array
        return out

    with pytest.raises(CheckFailed, match="changed its input array in place"):
        checks.check_max_pool2d(max_pool2d, part="values")


def test_wrong_values_fail_with_the_first_differing_index():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        return _conv2d()(x, w, b, stride, padding) + 0.01

    with pytest.raises(CheckFailed, match=r"differs from the expected result at .* first at index \(0, 0, 0, 0\)"):
        checks.check_conv2d(conv2d, part="values")
    # ...but the shape part still passes: partial credit
    checks.check_conv2d(conv2d, part="shape")


def test_off_by_tiny_rounding_passes():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        return _conv2d()(x, w, b, stride, padding) * (1 + 1e-12)

    checks.check_conv2d(conv2d, part="values")


def test_output_size_must_raise_for_a_kernel_that_does_not_fit():
    def output_size(n, f, padding=0, stride=1):
        return max((n + 2 * padding - f) // stride + 1, 0)

    checks.check_output_size(output_size, part="values")
    with pytest.raises(CheckFailed, match="should raise ValueError"):
        checks.check_output_size(output_size, part="edge_cases")


def test_edge_kernel_properties():
    sobel = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    checks.check_edge_kernel(sobel)
    with pytest.raises(CheckFailed, match="flip its sign"):
        checks.check_edge_kernel(-sobel, part="detects")
    with pytest.raises(CheckFailed, match="horizontal edges rather than vertical"):
        checks.check_edge_kernel(sobel.T, part="selective")
    with pytest.raises(CheckFailed, match="sum to zero"):
        checks.check_edge_kernel(sobel + 0.1, part="flat")
    with pytest.raises(CheckFailed, match="3x3"):
        checks.check_edge_kernel(np.ones((2, 2)))


def test_train_step_that_never_updates_fails():
    ns = namespace("08-dropout-weight-sharing")

    def train_step(params, x, y, lr, rate, rng):
        return ns["train_step"]({k: v.copy() for k, v in params.items()}, x, y, lr, rate, rng)

    with pytest.raises(CheckFailed, match="not updated at all"):
        checks.check_train_step(train_step, part="one_step")


# --- seeding ------------------------------------------------------------------------------------
def test_seed_is_fixed_outside_a_course_and_overridable(monkeypatch, tmp_path):
    monkeypatch.delenv("CNN_AUTOGRADER_SEED", raising=False)
    monkeypatch.chdir(tmp_path)
    assert student_seed() == student_seed()
    monkeypatch.setenv("CNN_AUTOGRADER_SEED", "42")
    assert student_seed() == 42


def test_seed_differs_between_students_and_secrets_and_is_stable(monkeypatch):
    from autograder.checks import grade_as

    monkeypatch.delenv("CNN_AUTOGRADER_SEED", raising=False)
    seeds = {}
    try:
        for key in ("s3cret/alice/05", "s3cret/bob/05", "other/alice/05"):
            grade_as(key)
            seeds[key] = student_seed()
            assert student_seed() == seeds[key], "the same submission gets the same cases when regraded"
    finally:
        grade_as("")
    assert len(set(seeds.values())) == 3, seeds


def test_checks_pass_for_several_students_seeds(monkeypatch):
    for seed in ("1", "2", "3"):
        monkeypatch.setenv("CNN_AUTOGRADER_SEED", seed)
        checks.check_conv2d(_conv2d())


# --- Keras exercises, with tiny training runs -----------------------------------------------------
keras = pytest.importorskip("keras") if os.environ.get("CNN_SKIP_KERAS") != "1" else None


@pytest.fixture
def tiny_training(monkeypatch):
    if not DATA:
        pytest.skip("CNN_COURSE_DATA not set")
    from autograder.checks import keras_checks

    monkeypatch.setenv("CNN_COURSE_DATA", DATA)
    monkeypatch.setitem(keras_checks.MNIST_TRAINING, "quick", (256, 128, 1, 0.15))
    monkeypatch.setitem(keras_checks.MNIST_TRAINING, "full", (256, 128, 1, 0.15))
    monkeypatch.setitem(keras_checks.CIFAR_TRAINING, "quick", (256, 128, 1, 0.0))
    monkeypatch.setitem(keras_checks.CIFAR_TRAINING, "full", (256, 128, 1, 0.0))
    return keras_checks


@pytest.mark.slow
def test_keras_reference_solutions_pass(tiny_training):
    checks.check_mnist_model(namespace("09-keras-mnist")["build_model"])
    checks.check_cifar10_model(namespace("10-keras-cifar10")["build_model"])


@pytest.mark.slow
def test_keras_accuracy_below_target_fails(tiny_training, monkeypatch):
    monkeypatch.setitem(tiny_training.MNIST_TRAINING, "quick", (256, 128, 1, 1.01))
    monkeypatch.setitem(tiny_training.MNIST_TRAINING, "full", (256, 128, 1, 1.01))
    with pytest.raises(CheckFailed, match="at least 101% is required"):
        checks.check_mnist_model(namespace("09-keras-mnist")["build_model"], part="accuracy")


def test_keras_structure_and_budget_failures():
    from keras import layers

    def dense_only():
        return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])

    def too_big():
        return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3), layers.MaxPooling2D(),
                                 layers.Flatten(), layers.Dense(128), layers.Dense(10)])

    def five_classes():
        return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3), layers.MaxPooling2D(),
                                 layers.Flatten(), layers.Dense(5)])

    def not_a_model():
        return [layers.Dense(10)]

    def cifar_plain():
        return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(8, 3), layers.GlobalAveragePooling2D(),
                                 layers.Dense(10)])

    def cifar_no_regulariser():
        return keras.Sequential([keras.Input((32, 32, 3)), layers.RandomFlip("horizontal"), layers.Conv2D(8, 3),
                                 layers.GlobalAveragePooling2D(), layers.Dense(10)])

    with pytest.raises(CheckFailed, match="no Conv2D layer"):
        checks.check_mnist_model(dense_only, part="structure")
    with pytest.raises(CheckFailed, match=r"parameters; the budget is 20,000"):
        checks.check_mnist_model(too_big, part="params")
    with pytest.raises(CheckFailed, match=r"output shape is \(5,\)"):
        checks.check_mnist_model(five_classes, part="structure")
    with pytest.raises(CheckFailed, match="should return a keras.Model"):
        checks.check_mnist_model(not_a_model, part="structure")
    with pytest.raises(CheckFailed, match="no data-augmentation layer"):
        checks.check_cifar10_model(cifar_plain, part="structure")
    with pytest.raises(CheckFailed, match="neither Dropout nor BatchNormalization"):
        checks.check_cifar10_model(cifar_no_regulariser, part="structure")


def test_checks_return_none():
    assert checks.check_conv2d(_conv2d(), part="shape") is None
    assert checks.check_output_size(namespace("04-padding-stride")["output_size"], part="values") is None
    assert checks.check_dropout(namespace("08-dropout-weight-sharing")["dropout"], part="inference") is None


# --- the references the checks add on top of `solutions` -----------------------------------------
from hypothesis import given, strategies as st  # noqa: E402


@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       stride=st.integers(1, 4), padding=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_conv2d_single_reference_matches_scipy(h, w, kh, kw, stride, padding, seed):
    import scipy.signal


    if kh > h + 2 * padding or kw > w + 2 * padding:
        return
    rng = np.random.default_rng(seed)
    image, kernel = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    dense = scipy.signal.correlate2d(np.pad(image, padding), kernel, mode="valid")
    np.testing.assert_allclose(solutions.conv2d_single(image, kernel, stride, padding), dense[::stride, ::stride],
                               rtol=1e-10, atol=1e-12)


def test_weight_sharing_ratio_reference_by_hand():

    # 28x28x1 -> 26x26x32: dense 784 * 21632 + 21632 weights, conv 3*3*1*32 + 32 = 320
    assert solutions.weight_sharing_ratio(28, 28, 1, 3, 3, 32) == (784 * 21632 + 21632) / 320
    assert solutions.weight_sharing_ratio(5, 5, 1, 5, 5, 1) == 1.0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stated_points_match_the_graded_cells(assignment):
    import json
    import re

    from exercise_ns import cells

    graded = [c["metadata"]["nbgrader"] for c in cells(assignment) if c["metadata"].get("nbgrader", {}).get("grade")]
    intro = "".join(cells(assignment)[0]["source"])
    stated = int(re.search(r"\*\*Points\*\*: (\d+)", intro).group(1))
    assert stated == sum(m["points"] for m in graded)
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells(assignment)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert all(c["metadata"]["nbgrader"]["schema_version"] == 3 for c in cells(assignment))
    nb = json.loads((SOURCE / assignment / f"{assignment}.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("seed", range(50))
def test_1d_value_cases_catch_an_off_by_one_same_centring(seed):
    """Every draw of conv1d's value cases holds even kernels in 'same' mode, where that mistake shows."""
    import solutions as S
    from autograder.checks import numpy_checks

    def centred_one_step_off(x, w, mode="full"):
        full = np.convolve(x, w)
        start = {"full": 0, "same": len(w) // 2, "valid": len(w) - 1}[mode]  # right for odd kernels only
        return full[start:start + {"full": len(full), "same": len(x), "valid": len(x) - len(w) + 1}[mode]]

    cases = numpy_checks._1d_cases(np.random.default_rng(seed))
    assert any(not np.allclose(centred_one_step_off(*c.args, **c.kwargs), S.conv1d(*c.args, **c.kwargs))
               for c in cases)
