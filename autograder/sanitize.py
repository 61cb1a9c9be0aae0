"""Make what a submission produced safe to show people: no script, no event handler, no link trick.

Everything a submission wrote (its markdown, its outputs) reaches the instructor's browser in
formgrader and the student's in the feedback page. Only inert content is kept: plain text,
PNG/JPEG images, and the student's markdown shown as literal text. The instructor's own cells
(restored from the release) are kept as written.
"""
from __future__ import annotations

import base64
import binascii
import re

from nbformat import from_dict

SAFE_DATA = ("text/plain", "image/png", "image/jpeg")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FENCE = re.compile(r"`{3,}|~{3,}")


def _image_ok(value) -> bool:
    try:
        base64.b64decode("".join(value) if isinstance(value, list) else str(value), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _output(out: dict) -> dict | None:
    kind = out.get("output_type")
    if kind == "stream":
        return {"output_type": "stream", "name": "stderr" if out.get("name") == "stderr" else "stdout",
                "text": _ANSI.sub("", str(out.get("text", "")))}
    if kind == "error":
        return {"output_type": "error", "ename": str(out.get("ename", "Error"))[:200],
                "evalue": _ANSI.sub("", str(out.get("evalue", ""))),
                "traceback": [_ANSI.sub("", str(t)) for t in out.get("traceback", [])]}
    if kind in ("display_data", "execute_result"):
        data = {k: v for k, v in dict(out.get("data", {})).items() if k in SAFE_DATA}
        data = {k: v for k, v in data.items() if k == "text/plain" or _image_ok(v)}
        if not data:
            return None
        return {"output_type": "display_data", "data": data, "metadata": {}}
    return None


def as_literal_markdown(text: str) -> str:
    """Markdown that shows ``text`` verbatim (a fenced block), whatever it contains."""
    return "```text\n" + _FENCE.sub(lambda m: "\u02cb" * len(m.group()), text) + "\n```"


def sanitize(nb) -> None:
    """Strip ``nb`` in place down to inert content (see the module docstring)."""
    nb.metadata = from_dict({k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")})
    for cell in nb.cells:
        trusted = cell.metadata.get("nbgrader", {}).get("locked", False)
        cell.metadata = from_dict({k: v for k, v in cell.metadata.items() if k == "nbgrader"})
        cell.pop("attachments", None)
        if cell.cell_type in ("markdown", "raw") and not trusted:
            cell.cell_type = "markdown"
            cell.source = as_literal_markdown(cell.source)
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        elif cell.cell_type == "code":
            cell.outputs = [from_dict(o) for o in map(_output, cell.get("outputs", [])) if o is not None]
