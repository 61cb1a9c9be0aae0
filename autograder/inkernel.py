"""The self-check inside the student's own kernel, for JupyterLite (Pyodide in a browser tab).

``python -m autograder check`` starts a fresh Jupyter kernel; a browser has no processes to start,
no second kernel and (offline) no network. So this runner replays the *saved* notebook's code cells
in a fresh namespace of the running kernel, in order, errors and all (as nbclient does with
``allow_errors``), and reports each visible test cell with the same words as ``check``
(:mod:`autograder.check_report`). What the cells print is kept out of the report.

This is a student's convenience, not grading: student code and the tests share a process here,
which grading never allows. Standard library only (plus IPython where present, for magics).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import time
from pathlib import Path

from .check_report import CellCheck, error_message, format_report, graded_cell, judge_cell

#: Cells the book's JupyterLite copy of an exercise adds (book/_ext/course_lite.py): the set-up that
#: installs the course in the tab, and the cell that calls :func:`check`. Replaying them would
#: reinstall packages and recurse.
LITE_SETUP_ID = "lite-setup"
LITE_CHECK_ID = "lite-self-check"
SKIPPED_CELLS = frozenset({LITE_SETUP_ID, LITE_CHECK_ID})


class NotANotebook(ValueError):
    """The file to check is missing or is not a Jupyter notebook; the message says why."""


def read_cells(path: Path) -> list[dict]:
    """The cells of the notebook at ``path`` (nbformat 4 JSON)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotANotebook(f"{path} not found (save the notebook first, or give its name)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotANotebook(f"{path} is not notebook JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotANotebook(f"{path} is JSON but not a Jupyter notebook (no list of cells)")
    return [c for c in data["cells"] if isinstance(c, dict)]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _python(source: str) -> str:
    """Cell source as plain Python: IPython's own translation of magics (``%matplotlib inline``)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    return TransformerManager().transform_cell(source)


def _fresh_namespace() -> dict:
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        from IPython import get_ipython
    except ImportError:
        return namespace
    namespace["get_ipython"] = get_ipython  # what translated magics call
    return namespace


def _run_cell(source: str, name: str, namespace: dict) -> tuple[str, str] | None:
    """Execute one cell; return the (exception name, message) it raised, or None."""
    try:
        code = compile(_python(source), name, "exec")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(code, namespace)
    except Exception as exc:  # the student's code may raise anything; the report names it
        return type(exc).__name__, str(exc)
    return None


def _cell_name(cell: dict, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return repr(grade_id) if isinstance(grade_id, str) else f"{index + 1}"


def _replay(path: Path) -> tuple[list[CellCheck], list[str]]:
    """Replay the notebook's code cells in a fresh namespace: the outcome of each test cell, and
    what each other cell that raised said (``cell 'setup': ModuleNotFoundError: ...``)."""
    namespace = _fresh_namespace()
    results, broken = [], []
    for index, cell in enumerate(read_cells(path)):
        if cell.get("cell_type") != "code" or cell.get("id") in SKIPPED_CELLS:
            continue
        ids = graded_cell(cell, index)
        error = _run_cell(_source(cell), f"<cell {_cell_name(cell, index)}>", namespace)
        if ids is not None:
            results.append(judge_cell(*ids, _source(cell), error, ran=True))
        elif error is not None:
            broken.append(f"cell {_cell_name(cell, index)}: {error_message(*error).splitlines()[0]}")
    return results, broken


def run_checks_here(path: str | Path) -> list[CellCheck]:
    """Replay the notebook's code cells in a fresh namespace; the outcome of each test cell."""
    return _replay(Path(path))[0]


def _only_notebook_here() -> Path:
    found = sorted(p for p in Path.cwd().glob("*.ipynb") if not p.name.startswith("."))
    if len(found) != 1:
        raise NotANotebook(f"{len(found)} notebooks in {Path.cwd()}: say which one, check('name.ipynb')")
    return found[0]


def check(path: str | Path | None = None) -> None:
    """Print the visible tests' report for the saved notebook ``path`` (default: the only one in the
    working folder). Save the notebook first: the check reads the file, not the cells on screen."""
    path = Path(path) if path is not None else _only_notebook_here()
    start = time.monotonic()
    results, broken = _replay(path)
    if not results:
        print(f"{path}: no test cells found (is this an exercise notebook?)")
        return
    saved = time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime))
    print(f"Checking {path.name} as saved at {saved} (save with Ctrl-S after your last edit).")
    for line in broken:  # a broken set-up or solution cell makes later tests fail: say so first
        print(f"[ERROR] {line}")
    if any("ModuleNotFoundError" in line for line in broken):
        print("        (a missing module: run the notebook's first cell, which installs NumPy & co. in the "
              "browser; it needs a connection the first time)")
    print(format_report(results, time.monotonic() - start))
