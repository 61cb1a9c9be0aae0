"""Load the reference solutions written in the exercise source notebooks, for the checker tests.

The correct implementations the tests grade are exactly the ones in ``exercises/source`` (so the
tests also prove that every source notebook's solution scores full marks); nothing is re-typed.
"""
from __future__ import annotations

import functools
import json
import linecache
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "exercises" / "source"
ASSIGNMENTS = sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists()) if SOURCE.exists() else []


def cells(assignment: str):
    nb = json.loads((SOURCE / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    return nb["cells"]


def _code(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


@functools.lru_cache(maxsize=None)
def namespace(assignment: str) -> dict:
    """Run the setup and solution cells (not the tests) of a source notebook; return its namespace.

    Each cell is compiled under a pseudo file name registered with :mod:`linecache`, so
    ``inspect.getsource`` works on the functions as it does in Jupyter.
    """
    ns = {"__name__": "__main__"}
    for cell in cells(assignment):
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] != "code" or meta.get("grade"):
            continue
        source = _code(cell)
        filename = f"<exercise {assignment} cell {meta.get('grade_id')}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), ns)
    return ns


def hidden_tests(assignment: str) -> list[tuple[str, str]]:
    """(grade_id, hidden-test source) of every graded cell."""
    out = []
    for cell in cells(assignment):
        meta = cell["metadata"].get("nbgrader", {})
        source = _code(cell)
        if meta.get("grade") and "### BEGIN HIDDEN TESTS" in source:
            hidden = source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            out.append((meta["grade_id"], hidden))
    return out


def run_hidden(assignment: str, hidden: str, ns: dict) -> None:
    exec(compile(hidden, f"<hidden test {assignment}>", "exec"), ns)
