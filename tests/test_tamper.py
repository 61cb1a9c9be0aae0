"""Hostile notebooks: patching comparison helpers, rebinding checks, faking arrays must not pass."""
from __future__ import annotations

import builtins
import sys

import numpy as np
import pytest

import autograder
from autograder import _safe, checks
from autograder.checks import CheckFailed
from exercise_ns import hidden_tests, namespace, run_hidden

GOOD = namespace("05-channels")["conv2d"]


def wrong_conv2d(x, w, b=None, stride=1, padding="valid"):
    return np.zeros_like(GOOD(x, w, b, stride, padding))


def test_patched_allclose_does_not_help(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    with pytest.raises(CheckFailed, match="replaced or deleted numpy.allclose"):
        checks.check_conv2d(wrong_conv2d, part="values")


def test_patched_testing_helpers_do_not_help(monkeypatch):
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    monkeypatch.setattr(np.testing, "assert_array_equal", lambda *a, **k: None)
    with pytest.raises(CheckFailed, match=r"numpy.testing.assert_(allclose|array_equal)"):
        checks.check_conv2d(wrong_conv2d, part="values")


def test_patched_ufunc_names_and_builtins_do_not_help(monkeypatch):
    monkeypatch.setattr(np, "abs", lambda v: 0 * v)
    with pytest.raises(CheckFailed, match="numpy.abs"):
        checks.check_conv2d(wrong_conv2d, part="values")
    monkeypatch.undo()
    monkeypatch.setattr(builtins, "abs", lambda v: 0)
    with pytest.raises(CheckFailed, match="builtins.abs"):
        checks.check_conv2d(wrong_conv2d, part="values")


def test_patch_made_inside_the_student_function_is_caught(monkeypatch):
    monkeypatch.setattr(np, "isclose", np.isclose)  # restore after the test

    def conv2d(x, w, b=None, stride=1, padding="valid"):
        np.isclose = lambda *a, **k: np.ones(1, dtype=bool)
        return GOOD(x, w, b, stride, padding)

    with pytest.raises(CheckFailed, match="numpy.isclose"):
        checks.check_conv2d(conv2d, part="shape")


def test_rebinding_the_check_name_in_the_notebook_does_not_help():
    ns = dict(namespace("05-channels"))
    ns["conv2d"] = wrong_conv2d
    ns["check_conv2d"] = lambda *a, **k: print("\u2714 all good")  # the student's fake
    grade_id, hidden = next((g, h) for g, h in hidden_tests("05-channels") if g == "test_conv2d_values")
    with pytest.raises(CheckFailed, match="differs from the expected result"):
        run_hidden("05-channels", hidden, ns)


def test_check_module_attributes_are_read_only():
    with pytest.raises(_safe.TamperError, match="read-only"):
        checks.check_conv2d = lambda *a, **k: None
    with pytest.raises(_safe.TamperError, match="read-only"):
        del checks.check_conv2d
    assert checks.check_conv2d.__name__ == "check_conv2d"


def test_replacing_a_checks_code_is_refused():
    with pytest.raises(_safe.TamperError, match="read-only"):
        checks.check_conv2d.__code__ = (lambda func, part=None: None).__code__
    with pytest.raises(_safe.TamperError, match="read-only"):
        checks.check_conv2d.__defaults__ = ("values",)


def test_writing_through_the_module_dict_is_detected():
    from autograder.checks import numpy_checks

    original = vars(numpy_checks)["check_conv2d"]
    vars(numpy_checks)["check_conv2d"] = lambda *a, **k: None
    try:
        with pytest.raises(_safe.TamperError, match="numpy_checks.check_conv2d"):
            checks.check_conv2d(GOOD, part="shape")  # the genuine function still runs and notices
    finally:
        vars(numpy_checks)["check_conv2d"] = original


def test_patching_solutions_does_not_change_the_reference(monkeypatch):
    import solutions
    import solutions.conv

    monkeypatch.setattr(solutions, "conv2d", wrong_conv2d)
    monkeypatch.setattr(solutions.conv, "conv2d", wrong_conv2d)
    monkeypatch.setattr(solutions.conv, "_window_view", lambda *a, **k: None)
    with pytest.raises(CheckFailed, match="differs from the expected result"):
        checks.check_conv2d(wrong_conv2d, part="values")
    checks.check_conv2d(GOOD, part="values")


def test_patching_the_private_reference_is_detected(monkeypatch):
    from autograder._reference import ref

    monkeypatch.setattr(ref, "conv2d", wrong_conv2d)
    with pytest.raises(_safe.TamperError, match="_private_solutions.conv2d"):
        checks.check_conv2d(wrong_conv2d, part="values")


def test_array_subclass_that_lies_about_comparisons_fails():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, dtype=bool)

        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return np.zeros(np.broadcast_shapes(*(np.shape(i) for i in inputs)), dtype=bool)

        def __sub__(self, other):
            return np.zeros(self.shape)

    def conv2d(x, w, b=None, stride=1, padding="valid"):
        return np.zeros(GOOD(x, w, b, stride, padding).shape).view(Liar)

    with pytest.raises(CheckFailed, match="differs from the expected result"):
        checks.check_conv2d(conv2d, part="values")


def test_object_pretending_to_be_an_array_fails():
    class Fake:
        shape = (1, 1, 1, 1)

        def __eq__(self, other):
            return True

    with pytest.raises(CheckFailed, match="could not be read as an array|has shape"):
        checks.check_conv2d(lambda *a, **k: Fake(), part="values")


def test_switching_off_the_call_monitor_is_tampering():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        sys.setprofile(None)  # anything called after this would be invisible to the monitor
        return GOOD(x, w, b, stride, padding)

    with pytest.raises(CheckFailed, match="switched off or replaced the autograder's call monitor"):
        checks.check_conv2d(conv2d, part="shape")


def test_returning_the_checks_own_reference_output_scores_zero():
    def conv2d(x, w, b=None, stride=1, padding="valid"):
        from autograder.checks.numpy_checks import SPECS

        return SPECS["conv2d"].reference(x, w, b, stride, padding)

    with pytest.raises(CheckFailed, match="0 points for this part"):
        checks.check_conv2d(conv2d, part="values")


def test_tampering_in_the_kernel_history_fails_the_check(monkeypatch):
    class Shell:
        user_ns = {"_ih": ["", "import numpy as np", "np.allclose = lambda *a, **k: True; np.allclose = np.allclose"]}

    monkeypatch.setattr(builtins, "get_ipython", lambda: Shell(), raising=False)
    with pytest.raises(CheckFailed, match="modifies libraries or the autograder"):
        checks.check_conv2d(GOOD, part="shape")


def test_autograder_import_captures_before_student_code():
    # The first code cell of every exercise imports autograder before any solution cell.
    from exercise_ns import ASSIGNMENTS, cells

    for assignment in ASSIGNMENTS:
        code = [c for c in cells(assignment) if c["cell_type"] == "code"]
        first = "".join(code[0]["source"])
        meta = code[0]["metadata"]["nbgrader"]
        assert "import autograder.checks" in first and meta["locked"] and not meta["solution"], assignment
    assert autograder._safe is _safe


@pytest.mark.slow
def test_tampering_in_a_real_kernel_is_caught(tmp_path):
    """End to end in Jupyter: the locked first cell captures numpy before the student patches it."""
    import nbformat
    from nbclient import NotebookClient

    from exercise_ns import cells

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("".join(next(c for c in cells("02-conv1d") if c["cell_type"] == "code")["source"])),
        nbformat.v4.new_code_cell("def conv1d(x, w, mode='full'):\n    return np.zeros(3)\n"
                                  "np.allclose = lambda *a, **k: True\n"
                                  "np.testing.assert_allclose = lambda *a, **k: None"),
        nbformat.v4.new_code_cell("from autograder.checks import check_conv1d\ncheck_conv1d(conv1d, part='values')"),
    ]
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "TamperError", nb.cells[2].outputs
    assert "numpy.allclose" in errors[0].evalue or "modifies libraries" in errors[0].evalue
