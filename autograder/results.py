"""The result of grading one submission: one typed object from the first stage to the gradebook.

Every stage of :mod:`autograder.pipeline` fills in part of a :class:`SubmissionResult`; the pool in
:mod:`autograder.runner` only moves it between processes; :mod:`autograder.stages.record` writes it
to the gradebook and the report. Reports store it as JSON (:meth:`to_json` / :meth:`from_json`).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from enum import Enum

#: Starts the line of a check's message that names a diagnosed mistake (see autograder.diagnose).
LIKELY_CAUSE = "Likely cause: "
_LIKELY_CAUSE_LINE = re.compile("^" + re.escape(LIKELY_CAUSE) + "(.+)$", re.MULTILINE)


class Status(str, Enum):
    """What happened to a submission as a whole."""

    GRADED = "graded"  # every graded cell has a verdict
    FLAGGED = "flagged"  # graded, but the shortcut scan holds some points for review
    MISSING = "missing"  # no notebook was collected
    INVALID = "invalid"  # not a readable notebook
    CRASHED = "crashed"  # the grading process died or returned garbage: graded 0, reason kept
    TIMEOUT = "timeout"  # the notebook ran past its time limit as a whole
    ERROR = "error"  # a fault of the grader itself (a bug to report), never the student's

    @property
    def scored(self) -> bool:
        """True when the cells' scores stand (possibly with points held)."""
        return self in (Status.GRADED, Status.FLAGGED)


class Verdict(str, Enum):
    """The outcome of one graded cell."""

    PASSED = "passed"
    FAILED = "failed"  # the check found a mistake (or the student's function raised)
    TIMEOUT = "timeout"  # a call of the student's function ran past its time limit
    NOT_RUN = "not run"  # the kernel could not be (re)started for this cell
    HELD = "held"  # passed, but the points wait for an instructor (shortcut finding)


@dataclass
class CellResult:
    """One graded cell: its points and what the trusted check said."""

    grade_id: str
    max_score: float
    verdict: Verdict = Verdict.NOT_RUN
    message: str = ""  # shown to the student: the check's own words
    error: str = ""  # exception name when the check failed (AssertionError, NameError, ...)

    @property
    def score(self) -> float:
        return self.max_score if self.verdict is Verdict.PASSED else 0.0

    @property
    def held_points(self) -> float:
        return self.max_score if self.verdict is Verdict.HELD else 0.0

    @property
    def likely_causes(self) -> list[str]:
        """The diagnosed mistakes named in the message (one per ``Likely cause:`` line)."""
        return [m.group(1).strip() for m in _LIKELY_CAUSE_LINE.finditer(self.message)]


@dataclass
class LatePenalty:
    """What the course's late policy took off one submission (see :mod:`autograder.late`)."""

    days: int  # started days past the due time (at least 1 when the LMS marked it late)
    fraction: float  # of the earned score; 1.0 past the last day accepted
    points: float  # ``fraction`` of the score this grading run gave
    reason: str  # one line for the student and the instructor


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: Status = Status.GRADED
    reason: str = ""  # one line for the instructor when something went wrong
    notes: list[str] = field(default_factory=list)  # repairs made, kernel restarts, ...
    findings: list[str] = field(default_factory=list)  # shortcut-scan findings (points held)
    cells: dict[str, CellResult] = field(default_factory=dict)
    timestamp: str | None = None  # submission time (ISO) from the exchange or the LMS
    seconds: float = 0.0
    sandbox: str = ""  # how the kernel was isolated, as the report states it
    score: float = 0.0  # filled in by the record stage from the gradebook
    max_score: float = 0.0
    autograded: str | None = None  # the autograded notebook in the workspace
    late: LatePenalty | None = None  # set by the record stage when the submission came in late

    def fail(self, status: Status, reason: str) -> None:
        """End the submission with ``status``; no cell keeps points."""
        self.status, self.reason = status, reason[:500]
        for cell in self.cells.values():
            if cell.verdict in (Verdict.PASSED, Verdict.HELD):
                cell.verdict = Verdict.NOT_RUN
                cell.message = f"not graded: {self.reason}"

    @property
    def held_points(self) -> float:
        return sum(c.held_points for c in self.cells.values())

    @property
    def final_score(self) -> float:
        """The score after the late penalty: what goes to the LMS."""
        return max(0.0, self.score - (self.late.points if self.late else 0.0))

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["cells"] = {k: {**dataclasses.asdict(c), "verdict": c.verdict.value, "score": c.score}
                         for k, c in self.cells.items()}
        data["held_points"] = self.held_points
        data["final_score"] = self.final_score
        return data

    @classmethod
    def from_json(cls, data: dict) -> "SubmissionResult":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["status"] = Status(values.get("status", Status.ERROR))
        cell_names = {f.name for f in dataclasses.fields(CellResult)}
        values["cells"] = {
            k: CellResult(**{**{n: v for n, v in c.items() if n in cell_names}, "verdict": Verdict(c["verdict"])})
            for k, c in data.get("cells", {}).items()}
        if values.get("late"):
            values["late"] = LatePenalty(**values["late"])
        return cls(**values)
