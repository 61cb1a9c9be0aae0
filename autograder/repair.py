"""Read a submitted notebook defensively and repair what nbgrader would choke on.

nbgrader's own sanitising step restores edited locked cells, changed cell types and deleted test
cells (``OverwriteCells``) and strips the grading metadata of duplicated grade ids
(``DeduplicateIds``). What is left for us: files that are not notebooks at all, and
nbformat-level problems (duplicate or missing cell ``id``\\ s, nbformat < 4.5) that make
``nbformat.validate`` reject the whole notebook.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat


class InvalidSubmission(ValueError):
    """The file cannot be graded at all; the message says why, for the student."""


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
    data["nbformat"], data["nbformat_minor"] = 4, max(int(data.get("nbformat_minor", 5)), 5)
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several unrelated types for bad structure
        raise InvalidSubmission(f"the notebook structure is invalid: {str(exc)[:300]}") from None
    return nb, repairs
