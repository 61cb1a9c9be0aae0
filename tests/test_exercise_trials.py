"""Trials as a student runs them: `python -m autograder check` on filled-in release notebooks.

For every assignment the source notebook's solution, pasted into the release notebook, checks
clean (exit 0), and each classic mistake of the chapter -- the solution with one deliberate error
-- fails a *visible* test whose message names the mistake. Mistakes in different functions share
one notebook run (one kernel) when they cannot disturb each other's tests.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.student_check import run_checks
from exercise_ns import SOURCE, _code, cells

RELEASE = SOURCE.parent / "release"


@dataclass(frozen=True)
class Mistake:
    name: str
    function: str             # grade id of the solution cell that gets the mistake
    edits: tuple              # (old, new) pairs applied to the reference solution of that cell
    cell: str                 # the visible test cell that must fail
    says: str                 # ... with a message containing this
    uses: tuple = ()          # other solution cells the mistaken function calls


def solutions(assignment: str) -> dict[str, str]:
    """Solution cells of the source notebook, as a student would have written them (no markers)."""
    return {c["metadata"]["nbgrader"]["grade_id"]: re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", _code(c))
            for c in cells(assignment) if c["metadata"].get("nbgrader", {}).get("solution")}


def mistaken(assignment: str, mistake: Mistake) -> str:
    code = solutions(assignment)[mistake.function]
    for old, new in mistake.edits:
        assert code.count(old) == 1, f"{mistake.name}: {old!r} is not (once) in {assignment}'s {mistake.function}"
        code = code.replace(old, new)
    return code


def student_notebook(assignment: str, folder: Path, replaced: dict[str, str]) -> Path:
    """The release notebook with every solution cell filled in, ``replaced`` ones by the given code."""
    nb = json.loads((RELEASE / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    code = {**solutions(assignment), **replaced}
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in code and cell["metadata"]["nbgrader"].get("solution"):
            cell["source"] = code[grade_id]
    path = folder / f"{assignment}.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def m(name, function, edits, cell, says, uses=()):
    return Mistake(name, function, tuple(edits), cell, says, tuple(uses))


MISTAKES = {
    "01-why-convolution": [
        m("dense: no biases", "dense_param_count", [("(n_out if bias else 0)", "0")],
          "test_dense_values", "leaves out the biases"),
        m("dense: one bias per input", "dense_param_count", [("(n_out if bias else 0)", "(n_in if bias else 0)")],
          "test_dense_values", "one bias per input"),
        m("dense: biases despite bias=False", "dense_param_count", [("(n_out if bias else 0)", "n_out")],
          "test_dense_values", "adds biases even when bias=False"),
        m("conv: input channels ignored", "conv_param_count", [("kh * kw * cin * cout", "kh * kw * cout")],
          "test_conv_values", "ignores the input channels"),
        m("conv: no biases", "conv_param_count", [("(cout if bias else 0)", "0")],
          "test_conv_values", "leaves out the biases"),
        m("conv: one bias per input channel", "conv_param_count", [("(cout if bias else 0)", "(cin if bias else 0)")],
          "test_conv_values", "one bias per input channel"),
        m("ratio: dense output as large as the input", "weight_sharing_ratio",
          [("n_out = (h - kh + 1) * (w - kw + 1) * cout", "n_out = h * w * cout")],
          "test_ratio_values", "same output size", uses=("dense_param_count", "conv_param_count")),
        m("ratio: upside down", "weight_sharing_ratio",
          [("dense_param_count(h * w * cin, n_out) / conv_param_count(kh, kw, cin, cout)",
            "conv_param_count(kh, kw, cin, cout) / dense_param_count(h * w * cin, n_out)")],
          "test_ratio_values", "upside down", uses=("dense_param_count", "conv_param_count")),
        m("ratio: biases left out", "weight_sharing_ratio",
          [("dense_param_count(h * w * cin, n_out) / conv_param_count(kh, kw, cin, cout)",
            "dense_param_count(h * w * cin, n_out, bias=False) / conv_param_count(kh, kw, cin, cout, bias=False)")],
          "test_ratio_values", "leaves out the biases", uses=("dense_param_count", "conv_param_count")),
    ],
    "02-conv1d": [
        m("conv1d: kernel not flipped", "conv1d", [("flipped = w[::-1]", "flipped = w")],
          "test_conv1d_values", "returned the cross-correlation"),
        m("conv1d: 'same' one step late for even kernels", "conv1d", [("start = (m - 1) // 2", "start = m // 2")],
          "test_conv1d_values", "even-length kernel starts one step late"),
        m("conv1d: mode ignored", "conv1d", [('if mode == "full":', "if True:")],
          "test_conv1d_shape", "mode='same', len(x) = 3, len(w) = 3: expected shape (3,)"),
        m("conv1d: integer input truncated", "conv1d",
          [("full = np.array([padded[i:i + m] @ flipped for i in range(n + m - 1)])",
            "full = np.zeros_like(x, shape=(n + m - 1,))\n"
            "    for i in range(n + m - 1):\n"
            "        full[i] = padded[i:i + m] @ flipped"),
           ("x = np.asarray(x, dtype=float)", "x = np.asarray(x)")],
          "test_conv1d_edge", "truncated to integers"),
        m("correlate1d: kernel flipped", "correlate1d", [("np.asarray(w, dtype=float)[::-1]", "np.asarray(w, dtype=float)")],
          "test_correlate1d_values", "flips the kernel", uses=("conv1d",)),
        m("correlate1d: mode ignored", "correlate1d", [("[::-1], mode)", '[::-1], "valid")')],
          "test_correlate1d_shape", "'full' has length 6 + 3 - 1 = 8", uses=("conv1d",)),
        m("correlate1d: integer input truncated", "correlate1d",
          [("return conv1d(x, np.asarray(w, dtype=float)[::-1], mode)",
            "out = np.zeros_like(np.asarray(x), shape=len(x) - len(w) + 1)\n"
            "    for k in range(len(out)):\n"
            "        out[k] = np.dot(x[k:k + len(w)], w)\n"
            "    return out")],
          "test_correlate1d_edge", "truncated to integers"),
    ],
    "03-conv2d": [
        m("correlate2d: kernel flipped", "correlate2d",
          [("kernel = np.asarray(kernel, dtype=float)", "kernel = np.asarray(kernel, dtype=float)[::-1, ::-1]")],
          "test_correlate2d_values", "flips the kernel in both axes"),
        m("correlate2d: kernel transposed", "correlate2d",
          [("kernel = np.asarray(kernel, dtype=float)", "kernel = np.asarray(kernel, dtype=float).T")],
          "test_correlate2d_values", "transposes the kernel"),
        m("correlate2d: kernel flipped upside down", "correlate2d",
          [("kernel = np.asarray(kernel, dtype=float)", "kernel = np.asarray(kernel, dtype=float)[::-1]")],
          "test_correlate2d_values", "flips the kernel upside down"),
        m("convolve2d: kernel not flipped", "convolve2d", [("[::-1, ::-1]", "")],
          "test_convolve2d_values", "does not flip the kernel", uses=("correlate2d",)),
        m("convolve2d: one axis flipped", "convolve2d", [("[::-1, ::-1]", "[::-1, :]")],
          "test_convolve2d_values", "flips the kernel upside down only", uses=("correlate2d",)),
        m("edge kernel: bright-to-dark detector", "edge_kernel", [("return np.array(", "return -np.array(")],
          "test_edge_detects", "should be positive", uses=("correlate2d",)),
        m("edge kernel: horizontal edges", "edge_kernel", [("[-1.0, 0.0, 1.0]])", "[-1.0, 0.0, 1.0]]).T")],
          "test_edge_selective", "horizontal edge", uses=("correlate2d",)),
        m("edge kernel: both edge directions", "edge_kernel",
          [("np.array([[-1.0, 0.0, 1.0],\n                     [-2.0, 0.0, 2.0],\n",
            "np.array([[-1.0, 2.0, -1.0],\n                     [-1.0, 2.0, -1.0],\n"),
           ("[-1.0, 0.0, 1.0]])", "[-1.0, 2.0, -1.0]])")],
          "test_edge_selective", "bright-to-dark edge", uses=("correlate2d",)),
    ],
    "04-padding-stride": [
        m("output_size: rounds up", "output_size",
          [("(n + 2 * padding - f) // stride + 1", "-(-(n + 2 * padding - f) // stride) + 1")],
          "test_output_size_values", "round down"),
        m("output_size: one-sided padding", "output_size",
          [("(n + 2 * padding - f) // stride + 1", "(n + padding - f) // stride + 1")],
          "test_output_size_values", "*both* sides"),
        m("output_size: stride ignored", "output_size",
          [("(n + 2 * padding - f) // stride + 1", "n + 2 * padding - f + 1")],
          "test_output_size_values", "ignores the stride"),
        m("output_size: + 1 missing", "output_size",
          [("(n + 2 * padding - f) // stride + 1", "(n + 2 * padding - f) // stride")],
          "test_output_size_values", "the + 1 is missing"),
        m("zero_pad: every axis padded", "zero_pad",
          [("    n, h, w, c = x.shape", "    return np.pad(x, ph)\n    n, h, w, c = x.shape")],
          "test_zero_pad_shape", "pads every axis"),
        m("zero_pad: one side only", "zero_pad",
          [("(n, h + 2 * ph, w + 2 * pw, c)", "(n, h + ph, w + pw, c)")],
          "test_zero_pad_shape", "one side only"),
        m("zero_pad: pair swapped", "zero_pad", [("else pad\n", "else pad[::-1]\n")],
          "test_zero_pad_shape", "swapped the pair"),
        m("conv2d_single: kernel flipped", "conv2d_single",
          [("kernel = np.asarray(kernel, dtype=float)", "kernel = np.asarray(kernel, dtype=float)[::-1, ::-1]")],
          "test_conv2d_single_values", "flips the kernel", uses=("zero_pad", "output_size")),
        m("conv2d_single: kernel transposed", "conv2d_single",
          [("kernel = np.asarray(kernel, dtype=float)", "kernel = np.asarray(kernel, dtype=float).T")],
          "test_conv2d_single_values", "transposes the kernel", uses=("zero_pad", "output_size")),
        m("conv2d_single: stride ignored", "conv2d_single",
          [("    image = np.asarray(image, dtype=float)", "    stride = 1\n    image = np.asarray(image, dtype=float)")],
          "test_conv2d_single_shape", "ignores the stride", uses=("zero_pad", "output_size")),
        m("conv2d_single: padding ignored", "conv2d_single",
          [("    image = np.asarray(image, dtype=float)", "    padding = 0\n    image = np.asarray(image, dtype=float)")],
          "test_conv2d_single_shape", "ignores the padding", uses=("zero_pad", "output_size")),
        m("conv2d_single: one-sided padding", "conv2d_single",
          [("padded = zero_pad(image[None, :, :, None], padding)[0, :, :, 0]",
            "padded = np.pad(image, ((padding, 0), (padding, 0)))"),
           ("output_size(image.shape[0], kh, padding, stride)", "(padded.shape[0] - kh) // stride + 1"),
           ("output_size(image.shape[1], kw, padding, stride)", "(padded.shape[1] - kw) // stride + 1")],
          "test_conv2d_single_shape", "pad both sides"),
    ],
    "05-channels": [
        m("kernel flipped", "conv2d", [("w = np.asarray(w, dtype=float)", "w = np.asarray(w, dtype=float)[::-1, ::-1]")],
          "test_conv2d_values", "flips the kernel"),
        m("bias missing", "conv2d", [("if b is not None:", "if False:")],
          "test_conv2d_values", "leaves out the bias"),
        m("bias broadcast channels-first", "conv2d",
          [("out += np.asarray(b, dtype=float)", "out = out + np.asarray(b, dtype=float).reshape(-1, 1, 1)")],
          "test_conv2d_values", "broadcast along the wrong axis"),
        m("bias once per input channel", "conv2d",
          [("out += np.asarray(b, dtype=float)", "out += np.asarray(b, dtype=float) * cin")],
          "test_conv2d_values", "once per input channel"),
        m("stride ignored", "conv2d",
          [("    x = np.asarray(x, dtype=float)", "    stride = 1\n    x = np.asarray(x, dtype=float)")],
          "test_conv2d_shape", "ignores the stride"),
        m("one-sided padding", "conv2d",
          [("np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))", "np.pad(x, ((0, 0), (ph, 0), (pw, 0), (0, 0)))"),
           ("(h + 2 * ph - kh)", "(h + ph - kh)"), ("(wd + 2 * pw - kw)", "(wd + pw - kw)")],
          "test_conv2d_shape", "pad both sides"),
    ],
    "06-pooling": [
        m("max: stride defaults to 1", "max_pool2d", [("s = pool_size if stride is None", "s = 1 if stride is None")],
          "test_max_pool_shape", "stride=None means stride = pool_size"),
        m("max: partial windows kept", "max_pool2d",
          [("oh, ow = (h - pool_size) // s + 1, (w - pool_size) // s + 1",
            "oh, ow = -(-(h - pool_size) // s) + 1, -(-(w - pool_size) // s) + 1\n"
            "    x = np.pad(x, ((0, 0), (0, pool_size), (0, pool_size), (0, 0)), constant_values=-np.inf)")],
          "test_max_pool_shape", "keeps partial windows"),
        m("max: pooled across channels", "max_pool2d", [("return out", "return out.max(axis=3, keepdims=True)")],
          "test_max_pool_shape", "across the channels"),
        m("max: windows averaged", "max_pool2d",
          [("np.full((n, oh, ow, c), -np.inf)", "np.zeros((n, oh, ow, c))"),
           ("np.maximum(out, ", "out + (1 / pool_size ** 2) * (")],
          "test_max_pool_values", "averages each window"),
        m("avg: stride defaults to 1", "avg_pool2d", [("s = pool_size if stride is None", "s = 1 if stride is None")],
          "test_avg_pool_shape", "stride=None means stride = pool_size"),
        m("avg: windows summed", "avg_pool2d", [("return out / pool_size ** 2", "return out")],
          "test_avg_pool_values", "sums each window"),
        m("avg: windows' maximum", "avg_pool2d",
          [("out = np.zeros((n, oh, ow, c))", "out = np.full((n, oh, ow, c), -np.inf)"),
           ("out += x[", "out = np.maximum(out, x["), ("1:s, :]\n    return out / pool_size ** 2", "1:s, :])\n    return out")],
          "test_avg_pool_values", "takes each window's maximum"),
    ],
    "07-backprop": [
        m("dx with the kernel turned around", "conv2d_backward",
          [("dout @ w[u, v].T", "dout @ w[kh - 1 - u, kw - 1 - v].T")],
          "test_conv_backward_dx", "wrong way round"),
        m("dw flipped", "conv2d_backward", [("], dw, db", "], dw[::-1, ::-1], db")],
          "test_conv_backward_dw", "comes out flipped"),
        m("dw and db averaged over the batch", "conv2d_backward",
          [("db = dout.sum(axis=(0, 1, 2))", "db = dout.sum(axis=(0, 1, 2)) / n"), ("], dw, db", "], dw / n, db")],
          "test_conv_backward_db", "averaged over the batch"),
        m("dx and dw swapped", "conv2d_backward",
          [("return dxp[:, p:p + h, p:p + wd, :], dw, db", "return dw, dxp[:, p:p + h, p:p + wd, :], db")],
          "test_conv_backward_shape", "expected dx like x"),
        m("pool: gradient spread over the window", "max_pool2d_backward",
          [("dx[batch, i * s + u, j * s + v, chan] += dout[:, i, j, :]",
            "dx[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :] += dout[:, i:i + 1, j:j + 1, :] / pool_size ** 2")],
          "test_pool_backward_values", "spread over the whole window"),
        m("pool: overlapping windows overwrite", "max_pool2d_backward",
          [("chan] += dout[:, i, j, :]", "chan] = dout[:, i, j, :]")],
          "test_pool_backward_values", "overwrites dx"),
        m("pool: every tied maximum", "max_pool2d_backward",
          [("dx[batch, i * s + u, j * s + v, chan] += dout[:, i, j, :]",
            "dx[:, i * s:i * s + pool_size, j * s:j * s + pool_size, :] += (\n"
            "                (window == window.max(axis=(1, 2), keepdims=True)) * dout[:, i:i + 1, j:j + 1, :])")],
          "test_pool_backward_edge", "tie for the maximum"),
        m("numerical gradient: divides by h", "numerical_gradient", [("/ (2 * h)", "/ h")],
          "test_numerical_gradient_values", "divides by h instead of 2h"),
        m("numerical gradient: one-sided", "numerical_gradient",
          [("x[idx] = old - h\n", "x[idx] = old\n"), ("/ (2 * h)", "/ h")],
          "test_numerical_gradient_values", "one-sided difference"),
        m("numerical gradient: x not restored", "numerical_gradient",
          [("        finally:\n            x[idx] = old\n", "        finally:\n            pass\n")],
          "test_numerical_gradient_values", "changed x"),
    ],
    "08-dropout-weight-sharing": [
        m("dropout: survivors not scaled", "dropout", [(") / (1 - rate)", ") * 1.0")],
          "test_dropout_mask", "holds only 0 and 1"),
        m("dropout: rate read as the keep probability", "dropout", [(">= rate)", "< rate)")],
          "test_dropout_statistics", "probability of *dropping*"),
        m("dropout: rng ignored", "dropout", [("rng = np.random.default_rng(rng)", "rng = np.random.default_rng()")],
          "test_dropout_statistics", "draw from rng"),
        m("dropout backward: scale dropped", "dropout_backward", [("dtype=float) * mask", "dtype=float) * (mask != 0)")],
          "test_dropout_backward", "drops the scaling"),
        m("train_step: ReLU derivative missing", "train_step", [(" * (z1 > 0)", "")],
          "test_train_step_one_step", "ReLU derivative", uses=("dropout", "dropout_backward")),
        m("train_step: gradients divided by N twice", "train_step",
          [("    grads = {", "    dlogits = dlogits / len(x)\n    grads = {")],
          "test_train_step_one_step", "already divided by N", uses=("dropout", "dropout_backward")),
        m("train_step: ascent instead of descent", "train_step", [("params[key] -= lr", "params[key] += lr")],
          "test_train_step_one_step", "moved the wrong way", uses=("dropout", "dropout_backward")),
    ],
}


def rounds(mistakes: list[Mistake]) -> list[list[Mistake]]:
    """Pack mistakes into notebook runs: in one run no two mistakes touch the same function, and no
    mistaken function is called by another mistake's function."""
    packed: list[list[Mistake]] = []
    for mistake in mistakes:
        for group in packed:
            touched = {g.function for g in group}
            used = {u for g in group for u in g.uses}
            if mistake.function not in touched | used and not set(mistake.uses) & touched:
                group.append(mistake)
                break
        else:
            packed.append([mistake])
    return packed


ROUNDS = [pytest.param(aid, group, id=f"{aid}-{i}") for aid, ms in MISTAKES.items() for i, group in enumerate(rounds(ms))]
KERAS = ["09-keras-mnist", "10-keras-cifar10"]


@pytest.mark.parametrize("assignment", sorted(MISTAKES))
def test_correct_solution_checks_clean(assignment, tmp_path, capsys):
    assert main(["check", str(student_notebook(assignment, tmp_path, {}))]) == 0, capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("assignment", KERAS)
def test_correct_keras_model_checks_clean(assignment, tmp_path, capsys):
    assert main(["check", str(student_notebook(assignment, tmp_path, {}))]) == 0, capsys.readouterr().out
    assert "[LATER]" in capsys.readouterr().out


@pytest.mark.slow  # about 2 s per notebook run on an idle machine, 36 runs
@pytest.mark.parametrize("assignment,group", ROUNDS)
def test_classic_mistakes_fail_a_visible_test_that_names_them(assignment, group, tmp_path):
    path = student_notebook(assignment, tmp_path, {g.function: mistaken(assignment, g) for g in group})
    results = {r["cell"]: r for r in run_checks(path)}
    for mistake in group:
        result = results[mistake.cell]
        assert result["status"] == "fail", f"{mistake.name}: {mistake.cell} passed"
        assert mistake.says in result["message"], f"{mistake.name}: {mistake.cell} says\n{result['message']}"


def test_every_chapter_has_trials():
    numpy_assignments = [a for a in (p.name for p in SOURCE.iterdir()) if a not in KERAS and (SOURCE / a / f"{a}.ipynb").exists()]
    assert sorted(MISTAKES) == sorted(numpy_assignments)
