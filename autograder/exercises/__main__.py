"""``python -m autograder.exercises [--describe] [ID ...]``: write (or describe) source notebooks.

Without ``--describe`` it writes ``exercises/source/<id>/<id>.ipynb`` of each id (all declared
ones when none is given) from its declaration; follow with ``python -m autograder release``.
``--describe`` prints what each graded cell checks and the mistakes its hidden check can name.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..course import REPO
from . import DeclarationError, declared, write


def describe(exercise) -> str:
    lines = [f"{exercise.id}: {sum(p.points for p in exercise.parts)} points"]
    for p in exercise.parts:
        lines.append(f"  {p.grade_id} ({p.points}): {p.check.__name__}({p.target}, part={p.part!r})")
    for check, variants in exercise.diagnoses().items():
        if variants:
            lines.append(f"  {check} names: " + "; ".join(v.message.split(". ")[0] for v in variants))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.exercises", description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="assignment ids (default: every declared one)")
    parser.add_argument("--describe", action="store_true", help="print the graded parts instead of writing")
    parser.add_argument("--source", default=str(REPO / "exercises" / "source"), help="where to write")
    args = parser.parse_args(argv)
    exercises = declared()
    unknown = sorted(set(args.ids) - set(exercises))
    if unknown:
        print(f"no declaration for: {', '.join(unknown)} (declared: {', '.join(exercises)})", file=sys.stderr)
        return 2
    for aid in args.ids or list(exercises):
        try:
            print(describe(exercises[aid]) if args.describe else f"wrote {write(exercises[aid], Path(args.source))}")
        except DeclarationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
