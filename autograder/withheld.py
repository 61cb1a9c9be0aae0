"""The course package as a student's kernel sees it: the helpers its notebook imports, not the answers.

Exercises 08 and 14 compose layers of earlier exercises, so their set-up cells import ``solutions``. The
kernel gets a copy that holds only the modules those imports need (their import closure), an
``__init__`` that re-exports only the names imported from the package itself, and, in place of every
function the assignment asks the student to write, a stub that raises. The reference version of what
is being graded never enters the student's process, however it is imported.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "solutions"


def _package_modules(tree: ast.AST, available: set[str]) -> set[str]:
    """Modules of the package that a module imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 or node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
                base = (node.module or "") if node.level == 1 else (node.module or "").removeprefix(PACKAGE).lstrip(".")
                if base:
                    found.add(base.split(".")[0])
                else:  # from . import conv / from solutions import conv
                    found |= {a.name for a in node.names if a.name in available}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith(PACKAGE + ".")}
    return found & available


def _origins(init: ast.Module) -> dict[str, str]:
    """Name the package's ``__init__`` re-exports -> the module it comes from."""
    return {a.asname or a.name: node.module for node in init.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module for a in node.names}


class _Withhold(ast.NodeTransformer):
    def __init__(self, names: frozenset[str]):
        self.names = names

    def visit_Module(self, node: ast.Module) -> ast.Module:
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in self.names:
                message = f"{stmt.name} is what this exercise asks you to write: it is not provided while grading"
                stmt.body = [ast.Raise(ast.Call(ast.Name("NotImplementedError", ast.Load()),
                                                [ast.Constant(message)], []))]
                stmt.decorator_list = []
        return node


def build(package: Path, imports: tuple[str, ...], withheld: frozenset[str], dest: Path) -> Path:
    """Write the kernel's copy of ``package`` (the ``solutions`` folder) under ``dest``; return it.

    ``imports``: dotted names the release's locked cells import (``solutions.conv2d``,
    ``solutions.layers.relu``, ``solutions``); ``withheld``: the student's functions.
    """
    available = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    init = ast.parse((package / "__init__.py").read_text())
    origins = _origins(init)
    modules, exported, everything = set(), [], False
    for dotted in imports:
        parts = dotted.split(".")[1:]
        if not parts:  # `import solutions`: the whole package (still without the answers)
            everything = True
        elif parts[0] in available:
            modules.add(parts[0])
        elif parts[0] in origins:
            modules.add(origins[parts[0]])
            exported.append(parts[0])
        else:
            raise ValueError(f"the notebook imports {dotted}, which the course package does not define")
    if everything:
        modules |= {m for m in available if m in origins.values()}
    todo, trees = sorted(modules), {}
    while todo:
        name = todo.pop()
        if name in trees:
            continue
        trees[name] = ast.parse((package / f"{name}.py").read_text())
        todo += sorted(_package_modules(trees[name], available) - set(trees))
    out = dest / PACKAGE
    out.mkdir(parents=True)
    stub = _Withhold(withheld)
    for name, tree in trees.items():
        (out / f"{name}.py").write_text(ast.unparse(stub.visit(tree)) + "\n")
    if everything:
        header = ast.unparse(init)
    else:
        header = "\n".join(f"from .{origins[name]} import {name}" for name in dict.fromkeys(exported))
    (out / "__init__.py").write_text(f'"""The course package, as given to this notebook while grading."""\n{header}\n')
    return out
