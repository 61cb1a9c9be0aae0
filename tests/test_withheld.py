"""What a kernel is given of the course's own code: the helpers its set-up cell imports, never the answers.

Exercise 08 composes earlier layers, so its kernel imports ``solutions``; it gets a copy without the
functions the student writes (autograder/withheld.py). No kernel sees the installed ``solutions`` or
``autograder``, even where they lie inside the Python tree the kernel runs from.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from autograder import sandbox, withheld
from autograder.assignment import load
from autograder.course import REPO
from autograder.sandbox import KernelDirs, bwrap_argv, probe

EXERCISE = "08-dropout-weight-sharing"
needs_sandbox = pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}")


@pytest.fixture(scope="module")
def spec():
    return load(REPO / "exercises" / "source", REPO / "exercises" / "release", EXERCISE)


@pytest.fixture()
def package(spec, tmp_path):
    return withheld.build(REPO / "solutions", spec.course_imports, spec.student_functions, tmp_path / "pkg")


def test_the_assignment_knows_its_helpers_and_its_answers(spec):
    assert "solutions.conv2d" in spec.course_imports
    assert "solutions.layers.softmax_cross_entropy" in spec.course_imports
    assert {"dropout", "dropout_backward", "train_step"} <= spec.student_functions


def test_the_copy_holds_only_what_the_imports_need(package):
    names = {p.stem for p in package.glob("*.py")}
    assert {"conv", "pooling", "layers", "numpy_net"} <= names  # what the set-up cell imports
    assert not names & {"models", "train", "normalization", "residual", "conv_variants"}


def _run_in_sandbox(tmp_path, packages, code: str) -> subprocess.CompletedProcess:
    dirs = KernelDirs.create(tmp_path / "kernel", packages)
    argv = bwrap_argv(dirs) + ["--", sys.executable, "-I", "-c",
                               f"import sys; sys.path.insert(0, {sandbox.PACKAGES!r})\n{code}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@needs_sandbox
def test_helpers_work_and_answers_raise_inside_the_sandbox(package, tmp_path):
    run = _run_in_sandbox(tmp_path, (package,), """
import importlib
import numpy as np
from solutions.numpy_net import init_params
from solutions import conv2d, max_pool2d, relu
from solutions.layers import softmax_cross_entropy
out = max_pool2d(relu(conv2d(np.ones((1, 6, 6, 1)), np.ones((3, 3, 1, 1)))), 2)
loss, _ = softmax_cross_entropy(np.zeros((2, 10)), np.array([1, 2]))
print("helpers", out.shape, round(float(loss), 4), sorted(init_params(0))[0])
layers = importlib.import_module("solu" + "tions.layers")
try:
    layers.dropout(np.ones(4), 0.5)
except NotImplementedError as exc:
    print("withheld", exc)
for name in ("solutions.models", "solutions.train", "autograder"):
    try:
        importlib.import_module(name)
        print("IMPORTED", name)
    except ImportError:
        print("absent", name)
""")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"helpers (1, 2, 2, 1) {round(float(__import__('numpy').log(10)), 4)} W1", lines
    assert lines[1].startswith("withheld dropout is what this exercise asks you to write")
    assert lines[2:] == ["absent solutions.models", "absent solutions.train", "absent autograder"]


@needs_sandbox
def test_an_installed_course_package_is_hidden_from_the_kernel(tmp_path, monkeypatch):
    # As if the course were pip-installed into the kernel's own Python tree: the tree is shown,
    # the course's packages in it are not.
    trees = sorted({*sandbox._python_trees(), str(REPO)})
    monkeypatch.setattr(sandbox, "_python_trees", lambda: trees)
    run = _run_in_sandbox(tmp_path, (), f"""
import os
print(sorted(os.listdir({str(REPO / 'solutions')!r})), sorted(os.listdir({str(REPO / 'autograder')!r})))
print(os.path.isfile({str(REPO / 'README.md')!r}))
""")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["[] []", "True"]
