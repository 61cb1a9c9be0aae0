"""What a self-check reports about a notebook's visible test cells, and how it says it.

Shared by the two runners of the visible tests: ``python -m autograder check`` (a fresh Jupyter
kernel, :mod:`autograder.student_check`) and the in-browser check (the running JupyterLite kernel,
:mod:`autograder.inkernel`). Pure Python with no dependencies, so that it imports in Pyodide.
"""

from __future__ import annotations

import enum
import io
import re
import tokenize
from dataclasses import dataclass

#: How much of an error message a check prints (NumPy already trims long arrays to a few lines).
MAX_MESSAGE_LINES = 24
MAX_LINE_CHARS = 200
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CheckStatus(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    LATER = "after submission"  # every test of the cell is hidden: it runs only when graded


@dataclass(frozen=True)
class CellCheck:
    """The outcome of one test cell: its grade id, its points, the status and what the student reads."""

    cell: str
    points: float
    status: CheckStatus
    message: str = ""


def visible_code(source: str) -> bool:
    """Whether a cell holds anything but comments and blank lines (a release cell whose tests are
    all hidden holds only a comment saying what will be checked after submission)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return True  # broken code is code: running it shows the error
    ignorable = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER,
                 tokenize.INDENT, tokenize.DEDENT}
    return any(t.type not in ignorable for t in tokens)


def _comment_text(source: str) -> str:
    return " ".join(line.strip().lstrip("#").strip() for line in source.splitlines() if line.strip())


def error_message(ename: str, evalue: str) -> str:
    """The whole message of an error (err_msg, mismatch counts, ACTUAL and DESIRED), trimmed."""
    lines = [ln.rstrip() for ln in _ANSI.sub("", str(evalue)).strip("\n").splitlines()]
    lines = [ln if len(ln) <= MAX_LINE_CHARS else ln[:MAX_LINE_CHARS - 3] + "..." for ln in lines]
    if len(lines) > MAX_MESSAGE_LINES:
        lines = lines[:MAX_MESSAGE_LINES] + [f"... ({len(lines) - MAX_MESSAGE_LINES} more lines)"]
    head = f"{ename or 'Error'}: {lines[0]}" if lines and lines[0] else (ename or "Error")
    return "\n".join([head, *lines[1:]])


def graded_cell(cell: dict, index: int) -> tuple[str, float] | None:
    """(grade id, points) of a graded test cell of a notebook (JSON dict), None for any other cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") != "code" or not isinstance(meta, dict) or not meta.get("grade"):
        return None
    return meta.get("grade_id", f"cell {index}"), meta.get("points", 0)


def judge_cell(grade_id: str, points: float, source: str, error: tuple[str, str] | None,
               ran: bool, stopped: str = "") -> CellCheck:
    """The outcome of a test cell after a run: ``error`` is the (name, message) of the exception it
    raised, ``ran`` whether it was executed, ``stopped`` why the run ended early (if it did)."""
    if error is None and not visible_code(source):
        return CellCheck(grade_id, points, CheckStatus.LATER, _comment_text(source))
    if error is not None:
        return CellCheck(grade_id, points, CheckStatus.FAIL, error_message(*error))
    if not ran:
        return CellCheck(grade_id, points, CheckStatus.FAIL, stopped or "not run")
    return CellCheck(grade_id, points, CheckStatus.PASS)


_MARKS = {CheckStatus.PASS: "PASS", CheckStatus.FAIL: "FAIL", CheckStatus.LATER: "LATER"}


def format_report(results: list[CellCheck], seconds: float) -> str:
    """One line per test cell (``[FAIL] test_x (2 pt): AssertionError: ...``) and a summary line."""
    lines = []
    for r in results:
        message = r.message.replace("\n", "\n    ")
        if r.status is CheckStatus.LATER:
            message = message or "graded after submission"
        lines.append(f"[{_MARKS[r.status]}] {r.cell} ({r.points:g} pt)" + (f": {message}" if message else ""))
    visible = [r for r in results if r.status is not CheckStatus.LATER]
    passed = sum(r.status is CheckStatus.PASS for r in visible)
    later = len(results) - len(visible)
    lines.append(f"{passed}/{len(visible)} visible test cells pass ({seconds:.1f} s)"
                 + (f"; {later} graded after submission only" if later else "")
                 + ". Hidden tests run when your notebook is graded.")
    return "\n".join(lines)


def all_visible_pass(results: list[CellCheck]) -> bool:
    return all(r.status is not CheckStatus.FAIL for r in results)
