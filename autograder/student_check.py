"""``check NOTEBOOK``: run a student's notebook in a fresh kernel and summarise the visible tests."""

from __future__ import annotations

import io
import re
import time
import tokenize
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .repair import InvalidSubmission, load_submission

#: How much of an error message ``check`` prints (NumPy already trims long arrays to a few lines).
MAX_MESSAGE_LINES = 24
MAX_LINE_CHARS = 200
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def error_message(error: dict) -> str:
    """The whole message of an error output (err_msg, mismatch counts, ACTUAL and DESIRED), trimmed."""
    lines = [ln.rstrip() for ln in _ANSI.sub("", str(error.get("evalue", ""))).strip("\n").splitlines()]
    lines = [ln if len(ln) <= MAX_LINE_CHARS else ln[:MAX_LINE_CHARS - 3] + "..." for ln in lines]
    if len(lines) > MAX_MESSAGE_LINES:
        lines = lines[:MAX_MESSAGE_LINES] + [f"... ({len(lines) - MAX_MESSAGE_LINES} more lines)"]
    head = f"{error.get('ename', 'Error')}: {lines[0]}" if lines and lines[0] else error.get("ename", "Error")
    return "\n".join([head, *lines[1:]])


def run_checks(path: str | Path, timeout: int = 120) -> list[dict]:
    """Execute the notebook; return one entry per test cell: cell, points, status, message.

    ``status`` is "pass", "fail" or "after submission" (a cell whose tests are all hidden).
    """
    path = Path(path)
    nb, _ = load_submission(path)
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute()
    except (DeadKernelError, CellTimeoutError) as exc:
        stopped = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    else:
        stopped = ""
    results = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        entry = {"cell": meta.get("grade_id", f"cell {index}"), "points": meta.get("points", 0)}
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if not errors and not visible_code(cell.source):
            results.append({**entry, "status": "after submission", "message": _comment_text(cell.source)})
        elif errors:
            results.append({**entry, "status": "fail", "message": error_message(errors[-1])})
        elif cell.get("execution_count") is None:
            results.append({**entry, "status": "fail", "message": stopped or "not run"})
        else:
            results.append({**entry, "status": "pass", "message": ""})
    return results


def main(path: str, timeout: int = 120) -> int:
    start = time.monotonic()
    try:
        results = run_checks(path, timeout)
    except InvalidSubmission as exc:
        print(f"{path}: cannot be checked: {exc}")
        return 2
    if not results:
        print(f"{path}: no test cells found (is this an exercise notebook?)")
        return 2
    marks = {"pass": "PASS", "fail": "FAIL", "after submission": "LATER"}
    for r in results:
        message = r["message"].replace("\n", "\n    ")
        if r["status"] == "after submission":
            message = message or "graded after submission"
        print(f"[{marks[r['status']]}] {r['cell']} ({r['points']:g} pt)" + (f": {message}" if message else ""))
    visible = [r for r in results if r["status"] != "after submission"]
    passed = sum(r["status"] == "pass" for r in visible)
    later = len(results) - len(visible)
    print(f"{passed}/{len(visible)} visible test cells pass ({time.monotonic() - start:.1f} s)"
          + (f"; {later} graded after submission only" if later else "")
          + ". Hidden tests run when your notebook is graded.")
    return 0 if passed == len(visible) else 1
