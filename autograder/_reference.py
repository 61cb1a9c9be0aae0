"""A private copy of the reference package, loaded when the autograder is imported.

The checks compare a student's function with ``solutions``.  If they called ``solutions.conv2d``
directly, a notebook could make every comparison vacuous with ``solutions.conv2d = conv2d`` (or by
patching a helper inside ``solutions.conv``).  So the autograder executes the package's source files a
second time under a private module name and drops that name from ``sys.modules``: the functions below
share no module objects with the ``solutions`` a student can import, while the code stays the one
reference implementation (nothing is duplicated).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from . import _safe

_PRIVATE = "autograder._private_solutions"


def _load_private_copy():
    spec = importlib.util.find_spec("solutions")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the reference package 'solutions' is not installed (pip install -e .)")
    root = Path(next(iter(spec.submodule_search_locations)))
    private = importlib.util.spec_from_file_location(
        _PRIVATE, root / "__init__.py", submodule_search_locations=[str(root)])
    module = importlib.util.module_from_spec(private)
    sys.modules[_PRIVATE] = module
    try:
        private.loader.exec_module(module)
    finally:
        loaded = [name for name in sys.modules if name == _PRIVATE or name.startswith(_PRIVATE + ".")]
        submodules = {name: sys.modules.pop(name) for name in loaded}
    for mod in submodules.values():
        _safe.protect_module(mod)
    return module


ref = _load_private_copy()
