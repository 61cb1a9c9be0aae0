"""The course's late policy, from ``nbgrader_config.py``::

    c.Autograder.due = "2026-12-10T23:59:00+00:00"   # ISO 8601; without an offset it is UTC
    c.Autograder.late_penalty_per_day = 0.1          # fraction of the earned score per started day
    c.Autograder.late_max_days = 7                   # later than this: nothing (fraction 1.0)

Each may be set per assignment in ``c.Autograder.overrides[<id>]``. A submission's time is its
``timestamp.txt`` (written by ``collect`` or by nbgrader's exchange). The LMS's own late marker
(Canvas writes ``LATE`` into its download names; it knows per-student extensions that the course
config does not) decides whether a submission is late when the LMS gives one, and then counts as at
least one day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .results import LatePenalty

DAY = timedelta(days=1)


def as_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime; a naive one (or a string without an offset) is taken as UTC."""
    if isinstance(value, str):
        from nbgrader.utils import parse_utc  # reads nbgrader's "2026-11-20 10:00:00.000 UTC" too

        value = parse_utc(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@dataclass(frozen=True)
class LatePolicy:
    due: datetime | None = None  # aware; None: no due time, nothing is late
    per_day: float = 0.0
    max_days: int | None = None  # None: accepted however late

    def days_late(self, submitted: datetime | None, late_marker: bool | None = None) -> int:
        """Started days past ``due``; ``late_marker`` is the LMS's own word (None: it says nothing)."""
        if late_marker is False or self.due is None:
            return 0
        days = 0
        if submitted is not None and submitted > self.due:
            days = math.ceil((submitted - self.due) / DAY)
        return max(days, 1) if late_marker else days

    def assess(self, submitted: datetime | None, late_marker: bool | None, score: float) -> LatePenalty | None:
        days = self.days_late(submitted, late_marker)
        if days == 0:
            return None
        if self.max_days is not None and days > self.max_days:
            fraction = 1.0
            reason = f"submitted {days} days late, after the last day accepted ({self.max_days}): no points"
        else:
            fraction = min(1.0, days * self.per_day)
            reason = (f"submitted {days} day{'s' * (days != 1)} late: "
                      f"-{fraction:.0%} of the score ({self.per_day:.0%} per started day)")
        return LatePenalty(days, fraction, round(score * fraction, 6), reason)
