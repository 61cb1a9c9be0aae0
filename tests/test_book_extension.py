"""book/_ext/course_book.py on its own, without building the book."""

from __future__ import annotations

import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

import bookcheck

sys.path.insert(0, str(bookcheck.ROOT / "book" / "_ext"))
import course_book  # noqa: E402

C_AND_PYTHON_STDERR = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("import os\n_ = os.write(2, b'written by C code\\n')"),
    nbformat.v4.new_code_cell("import sys\nprint('written by Python', file=sys.stderr)"),
    # The default kernel forwards fd 2 from a thread, into whichever cell runs then: give it time.
    nbformat.v4.new_code_cell("import time\ntime.sleep(1)"),
])


def _cell_stderr(monkeypatch, *, build_kernel: bool) -> str:
    monkeypatch.setenv("JUPYTER_PATH", "")
    if build_kernel:
        course_book.use_build_kernel()
    nb = nbformat.from_dict(C_AND_PYTHON_STDERR)
    NotebookClient(nb, kernel_name="python3", timeout=60).execute(env=bookcheck.env_outside_pytest())
    return "".join(o.get("text", "") for cell in nb.cells for o in cell.outputs
                   if o.get("name") == "stderr")


@pytest.mark.slow
def test_build_kernel_leaves_c_level_stderr_out_of_cells_and_keeps_pythons(monkeypatch):
    """TensorFlow's pre-absl start-up lines (fd 2) must not become cell output, which -W fails;
    Python's warnings and tracebacks must still reach the cell."""
    assert "written by C code" in _cell_stderr(monkeypatch, build_kernel=False)  # the default
    assert _cell_stderr(monkeypatch, build_kernel=True) == "written by Python\n"


def test_build_kernel_is_put_first_once(monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", "/elsewhere")
    course_book.use_build_kernel()
    course_book.use_build_kernel()
    assert os.environ["JUPYTER_PATH"].split(os.pathsep) == [str(course_book.BUILD_KERNELS), "/elsewhere"]
