"""Read a submitted notebook defensively and repair what nbgrader would choke on.

nbgrader's own sanitising step restores edited locked cells, changed cell types and deleted test
cells (``OverwriteCells``). What is left for us: files that are not notebooks at all,
nbformat-level problems (duplicate or missing cell ``id``\\ s, nbformat < 4.5) that make
``nbformat.validate`` reject the whole notebook, and copy-pasted nbgrader cells. nbgrader 0.9.6's
``DeduplicateIds`` leaves an empty ``nbgrader`` dict on the extra copy, on which
``OverwriteCells.add_missing_task_cells`` raises ``KeyError: 'grade_id'`` and the whole submission
fails (the failure mode of nbgrader issue #1083); we remove the metadata key instead.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat


class InvalidSubmission(ValueError):
    """The file cannot be graded at all; the message says why, for the student."""


def _deduplicate_grade_ids(cells: list, repairs: list[str]) -> None:
    """Keep nbgrader metadata on the last cell of each grade id (as nbgrader does), drop the rest."""
    seen: set[str] = set()
    for cell in reversed(cells):
        meta = cell.setdefault("metadata", {})
        grade_id = meta.get("nbgrader", {}).get("grade_id") if isinstance(meta.get("nbgrader"), dict) else None
        if "nbgrader" in meta and (grade_id is None or grade_id in seen):
            del meta["nbgrader"]
            if grade_id is not None:
                repairs.append(f"cell {grade_id!r} appears more than once; the last copy is graded")
        elif grade_id is not None:
            seen.add(grade_id)


def load_submission(path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """Return the notebook at ``path`` (nbformat 4.5) and the list of repairs made."""
    if not path.exists():
        raise InvalidSubmission("no notebook was submitted")
    raw = path.read_bytes()
    if not raw.strip():
        raise InvalidSubmission("the submitted notebook file is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(f"the file is not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(
            f"the file is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook (no list of cells)")
    repairs: list[str] = []
    seen: set[str] = set()
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in {"code", "markdown", "raw"}:
            raise InvalidSubmission("the notebook contains a malformed cell")
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or cell_id in seen:
            cell["id"] = uuid.uuid4().hex[:8]
            if cell_id is not None:
                repairs.append(f"duplicated cell id {cell_id!r} replaced")
        seen.add(cell["id"])
    _deduplicate_grade_ids(data["cells"], repairs)
    data["nbformat"], data["nbformat_minor"] = 4, max(int(data.get("nbformat_minor", 5)), 5)
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several unrelated types for bad structure
        raise InvalidSubmission(f"the notebook structure is invalid: {str(exc)[:300]}") from None
    return nb, repairs
