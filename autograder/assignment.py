"""What the grader knows of an assignment, read from the instructor's files only.

The source notebook's graded cells each end in a hidden block (``### BEGIN HIDDEN TESTS``): that
block is the cell's grading declaration. It runs in the grader's process, where the names of the
student's functions are bound to :class:`autograder.bridge.RemoteFunction` proxies, so a check
such as ``check_conv2d(conv2d, part="values")`` compares what the student's ``conv2d`` returns with
the reference without any of it entering the student's kernel. The visible lines above the block
belong to the student's own self-check and score nothing. The source notebooks, hidden blocks
included, are generated from the declarations in :mod:`autograder.exercises`.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
#: Names a hidden block may use without defining them: what every exercise's setup cell imports.
TRUSTED_GLOBALS = ("np",)


class AssignmentError(ValueError):
    """The instructor's files do not define a gradable assignment."""


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    hidden: str  # the grading declaration (Python), run by the grader
    student_names: tuple[str, ...]  # functions of the notebook it calls: proxied over the bridge
    checks: tuple[tuple[str, str], ...] = ()  # (check function, student function passed to it)


@dataclass
class Assignment:
    name: str
    release: nbformat.NotebookNode  # the student version: locked cells are restored from it
    cells: list[GradedCell] = field(default_factory=list)
    kernel_name: str = "python3"
    #: What the release's locked cells import from the course package (``solutions.conv2d``,
    #: ``solutions.layers.softmax_cross_entropy``): the helpers its kernel is given.
    course_imports: tuple[str, ...] = ()

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells)

    @property
    def student_functions(self) -> frozenset[str]:
        """The functions the student writes: their reference versions never reach the kernel."""
        return frozenset(name for c in self.cells for name in c.student_names)


def _hidden_block(source: str) -> str:
    if BEGIN not in source:
        return ""
    return source.split(BEGIN, 1)[1].split(END, 1)[0]


def _free_names(tree: ast.AST) -> list[str]:
    """Names the block reads but neither binds nor imports (in order of appearance)."""
    bound = set(dir(builtins)) | set(TRUSTED_GLOBALS)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
            bound |= {a.arg for a in node.args.args + node.args.kwonlyargs}
            if isinstance(node, ast.FunctionDef):
                bound.add(node.name)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound \
                and node.id not in names:
            names.append(node.id)
    return names


def _checks_called(tree: ast.AST) -> list[tuple[str, str]]:
    """(check_x, student function) for every ``check_x(f, ...)`` or ``check_x(f(), ...)`` call."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("check_") \
                and node.args:
            target = node.args[0].func if isinstance(node.args[0], ast.Call) else node.args[0]
            if isinstance(target, ast.Name):
                out.append((node.func.id, target.id))
    return out


def _course_imports(nb) -> tuple[str, ...]:
    names = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("locked"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names if a.name.split(".")[0] == "solutions"]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "solutions":
                names += [f"{node.module}.{a.name}" for a in node.names]
    return tuple(dict.fromkeys(names))


def load(source_dir: Path, release_dir: Path, name: str) -> Assignment:
    """Read ``name`` from the instructor's source and release folders."""
    source_path = source_dir / name / f"{name}.ipynb"
    release_path = release_dir / name / f"{name}.ipynb"
    for path in (source_path, release_path):
        if not path.is_file():
            raise AssignmentError(f"{path} is missing (run `python -m autograder release {name}`)")
    return _parse(str(source_path), source_path.stat().st_mtime_ns, str(release_path),
                  release_path.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _parse(source_path: str, _source_mtime: int, release_path: str, _release_mtime: int) -> Assignment:
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4)
    name = Path(source_path).stem
    assignment = Assignment(name, release, kernel_name=release.metadata.get("kernelspec", {}).get("name", "python3"),
                            course_imports=_course_imports(release))
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        hidden = _hidden_block(cell.source)
        if not hidden.strip():
            raise AssignmentError(f"{name}: graded cell {meta.get('grade_id')!r} has no hidden block: "
                                  "the grader scores a cell by its hidden tests alone")
        try:
            tree = ast.parse(hidden)
        except SyntaxError as exc:
            raise AssignmentError(f"{name}: the hidden block of {meta.get('grade_id')!r} does not parse: {exc}") from None
        assignment.cells.append(GradedCell(meta["grade_id"], float(meta.get("points", 0)), hidden,
                                           tuple(_free_names(tree)), tuple(_checks_called(tree))))
    if not assignment.cells:
        raise AssignmentError(f"{name}: the source notebook has no graded cells")
    return assignment
