"""``python -m autograder.exercises [--describe | --adopt] [ID ...]``: write source notebooks.

Plain, it writes ``exercises/source/<id>/<id>.ipynb`` of each id (all declared ones when none is
given) from its declaration; follow with ``python -m autograder release``. ``--describe`` prints
what each graded cell checks and the mistakes its hidden check can name. ``--adopt ID`` writes the
declaration of a hand-written source notebook (once; edit the declaration from then on).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..course import REPO
from . import DeclarationError, declared, write
from ._adopt import adopt


def describe(exercise) -> str:
    lines = [f"{exercise.id}: {sum(p.points for p in exercise.parts)} points"]
    for p in exercise.parts:
        lines.append(f"  {p.grade_id} ({p.points}): {p.check.__name__}({p.target}, part={p.part!r})")
    for check, variants in exercise.diagnoses().items():
        lines += [f"  {check} can name: {v.message}" for v in variants]
    return "\n".join(lines)


def _adopt_all(ids: list[str], source: Path) -> int:
    if not ids:
        print("--adopt needs the ids of the notebooks to adopt", file=sys.stderr)
        return 2
    for aid in ids:
        try:
            print(f"wrote {adopt(aid, source)}")
        except (DeclarationError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.exercises", description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="assignment ids (default: every declared one)")
    parser.add_argument("--describe", action="store_true", help="print the graded parts instead of writing")
    parser.add_argument("--adopt", action="store_true", help="write declarations of hand-written notebooks")
    parser.add_argument("--source", default=str(REPO / "exercises" / "source"), help="where to write")
    args = parser.parse_args(argv)
    if args.adopt:
        return _adopt_all(args.ids, Path(args.source))
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
