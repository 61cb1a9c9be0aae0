"""``check NOTEBOOK``: run a student's notebook in a fresh kernel and summarise the visible tests."""

from __future__ import annotations

import time
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .repair import InvalidSubmission, load_submission


def run_checks(path: str | Path, timeout: int = 120) -> list[dict]:
    """Execute the notebook; return one entry per test cell: id, points, passed, message."""
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
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        ran = cell.get("execution_count") is not None
        if errors:
            first = (str(errors[-1].get("evalue", "")).strip().splitlines() or [""])[0]
            message = f"{errors[-1].ename}: {first}" if first else errors[-1].ename
        else:
            message = "" if ran else (stopped or "not run")
        results.append({"cell": meta.get("grade_id", f"cell {index}"),
                        "points": meta.get("points", 0), "passed": ran and not errors,
                        "message": message})
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
    for r in results:
        mark = "PASS" if r["passed"] else "FAIL"
        print(f"[{mark}] {r['cell']} ({r['points']:g} pt)" + (f": {r['message']}" if r["message"] else ""))
    passed = sum(r["passed"] for r in results)
    print(f"{passed}/{len(results)} visible test cells pass ({time.monotonic() - start:.1f} s). "
          "Hidden tests run when your notebook is graded.")
    return 0 if passed == len(results) else 1
