"""Turn a hand-written source notebook into its declaration (once; then edit the declaration).

``python -m autograder.exercises --adopt ID`` reads ``exercises/source/<id>/<id>.ipynb`` and writes
``autograder/exercises/ex<id>.py`` whose generated notebook has the same cells. It refuses a
notebook the generator could not reproduce: a solution whose ``def`` line differs from the
reference's in :mod:`solutions` (the drift this package exists to prevent), a hidden block other
than one ``check_x(f, part="p")`` call, cell ids that are not the grade ids.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

import solutions

from ..assignment import BEGIN, END
from . import SOLUTION_BEGIN, SOLUTION_END, DeclarationError, reference_header

_HIDDEN = re.compile(r'from autograder\.checks import (\w+)\n\1\(([\w()]+), part="(\w+)"\)\n')


def literal(text: str) -> str:
    """A Python literal for ``text``: a raw triple-quoted string where one reproduces it exactly."""
    for quote in ("'''", '"""'):
        candidate = f"r{quote}{text}{quote}"
        if quote not in text and not text.endswith(("\\", quote[0])) and _evaluates_to(candidate, text):
            return candidate
    return repr(text)


def _evaluates_to(candidate: str, text: str) -> bool:
    try:
        return ast.literal_eval(candidate) == text
    except (SyntaxError, ValueError):
        return False


def _solution(aid: str, grade_id: str, source: str) -> str:
    node = ast.parse(source).body[0]
    reference = getattr(solutions, node.name, None)
    if reference is None:
        return f"    Solution(name={node.name!r}, code={literal(source)}),"
    lines = source.splitlines(True)
    doc = node.body[0]
    header = "".join(lines[node.lineno - 1:doc.lineno - 1])
    if header != reference_header(reference) or grade_id != node.name:
        raise DeclarationError(f"{aid}: {grade_id} defines {header.strip()!r}; solutions has "
                               f"{reference_header(reference).strip()!r}: make them agree first")
    rest = "".join(lines[doc.end_lineno:])
    begin, end = f"    {SOLUTION_BEGIN}\n", f"    {SOLUTION_END}"
    if not (rest.startswith(begin) and rest.endswith(end)):
        raise DeclarationError(f"{aid}: {grade_id}'s body must be one solution region right after the docstring")
    body = rest[len(begin):-len(end)]
    docstring = "".join(lines[doc.lineno - 1:doc.end_lineno])
    return (f"    Solution(solutions.{node.name},\n             doc={literal(docstring)},\n"
            f"             body={literal(body)}),")


def _part(aid: str, meta: dict, source: str) -> str:
    visible, _, rest = source.partition(BEGIN + "\n")
    hidden, _, tail = rest.partition(END)
    match = _HIDDEN.fullmatch(hidden)
    if not match or tail:
        raise DeclarationError(f"{aid}: {meta['grade_id']}'s hidden block is not one check_x(f, part=\"p\") call")
    check, target, part = match.groups()
    return (f"    Part({meta['grade_id']!r}, {meta['points']}, checks.{check}, {part!r}, {target!r},\n"
            f"         {literal(visible)}),")


def declaration_source(aid: str, nb: nbformat.NotebookNode) -> str:
    """The text of the declaration module that generates ``nb``."""
    lines = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if cell.get("id") != grade_id.replace("_", "-"):
            raise DeclarationError(f"{aid}: cell id {cell.get('id')!r} is not the grade id {grade_id!r} with - for _")
        if cell.cell_type == "markdown":
            lines.append(f"    Markdown({grade_id!r}, {literal(cell.source)}),")
        elif meta.get("solution"):
            lines.append(_solution(aid, grade_id, cell.source))
        elif meta.get("grade"):
            lines.append(_part(aid, meta, cell.source))
        else:
            lines.append(f"    Code({grade_id!r}, {literal(cell.source)}),")
    title = nb.cells[0].source.splitlines()[0].lstrip("# ").strip()
    body = "\n".join(lines)
    head = [f'"""{title}: the declaration its source notebook is generated from (see autograder.exercises)."""']
    if "solutions." in body:
        head.append("import solutions\n")
    head += ["from .. import checks", "from . import Code, Exercise, Markdown, Part, Solution", "",
             f"EXERCISE = Exercise({aid!r}, ("]
    return "\n".join(head) + "\n" + body + "\n))\n"


def module_name(aid: str) -> str:
    return "ex" + re.sub(r"\W", "_", aid)


def adopt(aid: str, source_dir: Path) -> Path:
    nb = nbformat.read(source_dir / aid / f"{aid}.ipynb", as_version=4)
    path = Path(__file__).with_name(f"{module_name(aid)}.py")
    path.write_text(declaration_source(aid, nb), encoding="utf-8")
    return path
