"""One declaration per exercise; its source notebook is generated from it.

Why a Python module per assignment (``autograder/exercises/exNN_<name>.py``, one ``EXERCISE``
each) rather than one registry or a data file: a declaration refers to the real objects it ties
together -- the reference function in :mod:`solutions` whose signature the student implements and
the check function each graded part calls -- so a renamed function, a missing check or an unknown
part is an import error or a :class:`DeclarationError` while generating, not a silent drift; and
the long texts (instructions, visible tests) read as they will appear in the notebook.

What is generated from a declaration (:func:`notebook`), never edited by hand:

* each solution cell: the ``def`` line copied from the reference's source in :mod:`solutions`
  (signature and defaults), the exercise's docstring, then the working solution between
  ``### BEGIN/END SOLUTION`` (see :class:`Solution`);
* each graded cell: the visible self-check, then a hidden block
  ``check_x(f, part="p")`` built from the declared check and part (the grader reads it back with
  :mod:`autograder.assignment`); a part the check does not have is refused;
* nbgrader metadata: cell ids (``grade_id`` with ``-`` for ``_``), grade ids, points, locks.

A declaration also lists the classic mistakes its visible tests name (:class:`Mistake`: an edit
of the solution and the message it must produce); the mistakes its hidden checks can name are the
:mod:`autograder.diagnose` variants of those checks, referenced through the checks, not repeated.

``python -m autograder.exercises [ID ...]`` writes ``exercises/source/<id>/<id>.ipynb``; then
``python -m autograder release`` makes the student version as before. ``tests/test_exercise_sources.py``
fails while a committed source notebook differs from what its declaration generates.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import nbformat

from ..assignment import BEGIN, END
from .. import checks
from ..checks import SPECS

SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class DeclarationError(ValueError):
    """An exercise declaration that cannot become a gradable notebook."""


@dataclass(frozen=True)
class Markdown:
    """Instructions (locked)."""

    grade_id: str
    text: str


@dataclass(frozen=True)
class Code:
    """Code the student runs but does not change (locked): the setup, examples, demos."""

    grade_id: str
    text: str


@dataclass(frozen=True)
class Solution:
    """A function the student writes.

    ``reference`` is the function in :mod:`solutions` it must match: the cell's ``def`` line
    (signature, defaults) is copied from the reference's source, so the two cannot drift. ``doc``
    is the exercise's docstring literal (indented, as it appears in the cell): the student's task
    statement, often narrower than the reference's API (``conv2d``'s ``"same"`` only for stride 1
    and odd kernels, pooling without padding). ``body`` is the worked solution between the markers
    (indented as in the function): written as a student would (loops and slices, no private helpers
    or the shortcuts the scan forbids), it is what ``tests/test_exercise_trials.py`` edits into each
    classic mistake. An exercise function with no reference (a Keras model the student designs)
    gives ``name`` and its whole cell as ``code`` instead.
    """

    reference: Callable | None = None
    doc: str = ""
    body: str = ""
    name: str = ""
    code: str = ""

    @property
    def grade_id(self) -> str:
        return self.name or self.reference.__name__

    def source(self) -> str:
        if self.reference is None:
            return self.code
        return f"{reference_header(self.reference)}{self.doc}    {SOLUTION_BEGIN}\n{self.body}    {SOLUTION_END}"


@dataclass(frozen=True)
class Part:
    """A graded cell: ``points`` for the check's ``part`` on ``target``, after a visible self-check.

    ``target`` is the expression handed to the check: the student's function (``"conv2d"``) or
    what it returns (``"edge_kernel()"``). ``visible`` is the self-check that runs in the student's
    notebook and scores nothing; it names the classic mistakes.
    """

    grade_id: str
    points: int
    check: Callable
    part: str
    target: str
    visible: str

    def hidden(self) -> str:
        name = self.check.__name__
        return f"from autograder.checks import {name}\n{name}({self.target}, part=\"{self.part}\")\n"

    def source(self) -> str:
        return f"{self.visible}{BEGIN}\n{self.hidden()}{END}"


Cell = Union[Markdown, Code, Solution, Part]


@dataclass(frozen=True)
class Mistake:
    """A classic mistake that a visible test names.

    The solution of ``function`` with each ``(old, new)`` of ``edits`` applied (``old`` occurs once)
    fails the visible self-check of graded cell ``cell`` with a message containing ``says``;
    ``uses`` are the other solution functions the mistaken one calls. The hidden checks' own
    diagnoses are the :mod:`autograder.diagnose` variants of each check (:meth:`Exercise.diagnoses`).
    ``tests/test_exercise_trials.py`` runs every one as a student would.
    """

    name: str
    function: str
    edits: tuple[tuple[str, str], ...]
    cell: str
    says: str
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exercise:
    id: str
    cells: tuple[Cell, ...]
    mistakes: tuple[Mistake, ...] = ()

    @property
    def parts(self) -> list[Part]:
        return [c for c in self.cells if isinstance(c, Part)]

    @property
    def functions(self) -> list[Solution]:
        return [c for c in self.cells if isinstance(c, Solution)]

    def graded_parts(self) -> dict[str, tuple[str, ...]]:
        """check name -> the parts this exercise grades, in notebook order."""
        out: dict[str, tuple[str, ...]] = {}
        for p in self.parts:
            out[p.check.__name__] = out.get(p.check.__name__, ()) + (p.part,)
        return out

    def diagnoses(self) -> dict[str, list]:
        """check name -> the known wrong variants (:mod:`autograder.diagnose`) its failures can name."""
        out = {}
        for name in self.graded_parts():
            spec = SPECS.get(name.removeprefix("check_"))
            # a check that grades through several specs lists its variants itself
            out[name] = list(spec.variants) if spec is not None else list(getattr(getattr(checks, name), "variants", ()))
        return out


def reference_header(func: Callable) -> str:
    """The ``def`` line(s) of ``func`` exactly as its source has them (up to its docstring)."""
    source = textwrap.dedent(inspect.getsource(func))
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.FunctionDef) or not node.body or not isinstance(node.body[0], ast.Expr) \
            or not isinstance(node.body[0].value, ast.Constant) or not isinstance(node.body[0].value.value, str):
        raise DeclarationError(f"{func.__module__}.{func.__name__} needs a docstring to be an exercise function")
    return "".join(source.splitlines(True)[node.lineno - 1:node.body[0].lineno - 1])


def _meta(grade_id: str, *, locked: bool, solution: bool = False, points: int | None = None) -> dict:
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


_POINTS = re.compile(r"\*\*Points\*\*: (\d+)")


def _validate(exercise: Exercise) -> None:
    ids = [c.grade_id for c in exercise.cells]
    if len(ids) != len(set(ids)):
        raise DeclarationError(f"{exercise.id}: grade ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    for p in exercise.parts:
        parts = getattr(p.check, "parts", None)
        if parts is None:
            raise DeclarationError(f"{exercise.id}: {p.check.__name__} declares no parts (give it `parts`)")
        if p.part not in parts:
            raise DeclarationError(f"{exercise.id}: {p.grade_id} grades part {p.part!r} of {p.check.__name__}, "
                                   f"which has {parts}")
    stated = [int(m) for c in exercise.cells if isinstance(c, Markdown) for m in _POINTS.findall(c.text)]
    total = sum(p.points for p in exercise.parts)
    if stated != [total]:
        raise DeclarationError(f"{exercise.id}: the instructions must state **Points**: {total} once (they say {stated})")
    for s in exercise.functions:
        if (s.reference is None) == (not s.name):
            raise DeclarationError(f"{exercise.id}: a Solution gives either a reference or a name")
    solutions = {s.grade_id: s.source() for s in exercise.functions}
    graded = {p.grade_id for p in exercise.parts}
    for m in exercise.mistakes:
        if m.function not in solutions or not set(m.uses) <= set(solutions) or m.cell not in graded:
            raise DeclarationError(f"{exercise.id}: mistake {m.name!r} names a function or test cell it does not have")
        for old, _ in m.edits:
            if solutions[m.function].count(old) != 1:
                raise DeclarationError(f"{exercise.id}: mistake {m.name!r}: {old!r} is not once in {m.function}")


def notebook(exercise: Exercise) -> nbformat.NotebookNode:
    """The instructor's source notebook of ``exercise``."""
    _validate(exercise)
    cells = []
    for c in exercise.cells:
        cid = c.grade_id.replace("_", "-")
        if isinstance(c, Markdown):
            cells.append(nbformat.v4.new_markdown_cell(c.text, id=cid, metadata=_meta(c.grade_id, locked=True)))
        elif isinstance(c, Code):
            cells.append(nbformat.v4.new_code_cell(c.text, id=cid, metadata=_meta(c.grade_id, locked=True)))
        elif isinstance(c, Solution):
            cells.append(nbformat.v4.new_code_cell(c.source(), id=cid,
                                                   metadata=_meta(c.grade_id, locked=False, solution=True)))
        else:
            cells.append(nbformat.v4.new_code_cell(c.source(), id=cid,
                                                   metadata=_meta(c.grade_id, locked=True, points=c.points)))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC),
                                                         "language_info": {"name": "python"}})
    nb.nbformat_minor = 5
    nbformat.validate(nb)
    return nb


def text(exercise: Exercise) -> str:
    """The notebook file's exact contents."""
    return nbformat.writes(notebook(exercise)) + "\n"


def declared() -> dict[str, Exercise]:
    """Every declared exercise, by assignment id."""
    out = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("ex"):
            exercise = importlib.import_module(f"{__name__}.{info.name}").EXERCISE
            out[exercise.id] = exercise
    return out


def write(exercise: Exercise, source_dir: Path) -> Path:
    path = source_dir / exercise.id / f"{exercise.id}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text(exercise), encoding="utf-8")
    return path
