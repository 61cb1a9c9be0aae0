"""``check NOTEBOOK``: run a student's notebook in a fresh kernel and summarise the visible tests."""

from __future__ import annotations

import time
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .check_report import (  # noqa: F401  (MAX_*, visible_code: this module's public names too)
    MAX_LINE_CHARS, MAX_MESSAGE_LINES, CellCheck, all_visible_pass, format_report, graded_cell, judge_cell,
    visible_code)
from .repair import InvalidSubmission, load_submission


def run_checks(path: str | Path, timeout: int = 120) -> list[CellCheck]:
    """Execute the notebook in a fresh kernel; return the outcome of each test cell, in order."""
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
        ids = graded_cell(cell, index)
        if ids is None:
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        error = (errors[-1].get("ename", "Error"), errors[-1].get("evalue", "")) if errors else None
        results.append(judge_cell(*ids, cell.source, error, cell.get("execution_count") is not None, stopped))
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
    print(format_report(results, time.monotonic() - start))
    return 0 if all_visible_pass(results) else 1
