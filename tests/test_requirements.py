"""The NumPy-only and Binder requirements: subsets of requirements.txt with its very pins, without
TensorFlow (NumPy-only) or the book, test and instructor tooling (Binder); and Binder's postBuild."""

from __future__ import annotations

import re

import pytest

import requirements_files as rf

# requirements.txt's pins that only build the book, run the test suite or serve instructors.
TOOLING = {"jupyter-book", "sphinx-exercise", "sphinxcontrib-bibtex", "sphinx-mathjax-offline",
           "pytest", "pytest-xdist", "pytest-timeout", "hypothesis", "selenium", "copydetect",
           "distributed", "dask", "jupyterlite-core", "jupyterlite-pyodide-kernel"}
TOOLING_NAME = re.compile(r"^(pytest|sphinx|jupyter-book|hypothesis|selenium|copydetect|dask|distributed|jupyterlite)")
DEEP_LEARNING = {"tensorflow", "tensorflow-cpu", "keras"}


@pytest.mark.parametrize("path", [rf.NUMPY_ONLY, rf.BINDER], ids=lambda p: str(p.relative_to(rf.ROOT)))
def test_every_pin_is_the_main_requirements_pin(path):
    main = rf.by_name(rf.MAIN)
    for name, lines in rf.by_name(path).items():
        assert name in main, f"{name} is pinned in {path.name} but not in requirements.txt"
        assert lines == main[name], f"{name}: {lines} here, {main[name]} in requirements.txt"
    for req in rf.read(path):
        assert str(req.specifier).startswith("=="), f"{req} is not pinned"


def test_binder_has_the_runtime_and_notebook_pins_and_no_tooling():
    binder, main = rf.by_name(rf.BINDER), rf.by_name(rf.MAIN)
    assert not {name for name in binder if name in TOOLING or TOOLING_NAME.match(name)}
    # Every other pin is what a chapter or exercise runs on, so Binder needs it.
    assert set(main) - TOOLING == set(binder)


def test_numpy_only_is_parts_one_and_two_without_deep_learning_or_grading():
    numpy_only = rf.by_name(rf.NUMPY_ONLY)
    assert {"numpy", "scipy", "matplotlib", "scikit-image", "jupyterlab", "ipykernel", "nbclient"} <= set(numpy_only)
    assert not set(numpy_only) & (DEEP_LEARNING | {"nbgrader"} | TOOLING)


def test_binder_postbuild_turns_off_nbgraders_instructor_parts():
    script = (rf.ROOT / "binder" / "postBuild").read_text()
    for plugin in ("formgrader", "create-assignment", "course-list", "assignment-list"):
        assert f"@jupyter/nbgrader:{plugin}" in script
    assert "jupyter labextension disable" in script and "jupyter labextension lock" in script
    disabled = re.search(r"jupyter server extension disable (.*?)(?<!\\)\n", script, re.DOTALL).group(1)
    for extension in ("formgrader", "course_list", "assignment_list"):
        assert f"nbgrader.server_extensions.{extension}" in disabled
    # Students keep the Validate button.
    assert "validate" not in disabled and "validate-assignment" not in script
