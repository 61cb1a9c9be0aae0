"""Stage 4: the submission's status from the cells' verdicts (points come from verdicts alone)."""
from __future__ import annotations

from ..results import Status, Verdict
from .context import Context


def score(ctx: Context) -> None:
    result = ctx.result
    if result.findings:
        result.status = Status.FLAGGED
        held = [c.grade_id for c in result.cells.values() if c.verdict is Verdict.HELD]
        result.reason = (f"held for review ({len(held)} cell(s)): {result.findings[0]}" if held else
                         f"shortcut finding: {result.findings[0]}")[:500]
    elif not result.reason:
        lost = [c for c in result.cells.values() if c.verdict in (Verdict.TIMEOUT, Verdict.NOT_RUN)]
        if lost:
            result.reason = f"{lost[0].grade_id}: {lost[0].message}"[:500]
