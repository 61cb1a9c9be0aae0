"""The project's pip requirements files, read as packaging's Requirement objects."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import bookcheck

ROOT = bookcheck.ROOT
MAIN = ROOT / "requirements.txt"
NUMPY_ONLY = ROOT / "requirements-numpy.txt"
BINDER = ROOT / "binder" / "requirements.txt"


def read(path: Path) -> list[Requirement]:
    """Every requirement line of ``path`` (comments dropped; no option lines such as ``-r`` allowed)."""
    found = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            assert not line.startswith("-"), f"{path.name}: option line {line!r} (list the pins instead)"
            found.append(Requirement(line))
    return found


def by_name(path: Path) -> dict[str, list[str]]:
    """Canonical name -> its requirement lines as text (a name appears once per marker)."""
    found: dict[str, list[str]] = {}
    for req in read(path):
        found.setdefault(canonicalize_name(req.name), []).append(str(req))
    return found
