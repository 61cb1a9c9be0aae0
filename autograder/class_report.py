"""``report``: what the grading results of a whole class say, as one typed summary.

Read from the per-assignment report the grader writes (``reports/<id>.json``, typed by
:mod:`autograder.results`); :mod:`autograder.report_page` turns the summary into the HTML page and
the CSV. Nothing here runs or grades a submission.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import Course
from .diagnose import known_causes
from .results import Status, SubmissionResult, Verdict
from .similarity import Match, similar_submissions

#: Messages shown per mistake: enough to recognise it, few enough to read.
EXAMPLES_PER_MISTAKE = 3
#: Shorter ids are not redacted from examples: replacing "a" everywhere would garble the message.
MIN_REDACTED_ID = 3


@dataclass(frozen=True)
class PartStats:
    """One graded cell across the class."""

    grade_id: str
    max_score: float
    verdicts: dict[Verdict, int]  # how many submissions got each verdict in this cell

    @property
    def graded(self) -> int:
        return sum(self.verdicts.values())

    @property
    def passed(self) -> int:
        return self.verdicts.get(Verdict.PASSED, 0)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Example:
    part: str
    message: str  # the check's message, the student's id taken out


@dataclass(frozen=True)
class Mistake:
    """A diagnosed mistake (a ``Likely cause``) and how many students made it."""

    cause: str
    students: int
    parts: tuple[str, ...]
    examples: tuple[Example, ...]


@dataclass
class ClassSummary:
    assignment: str
    results: list[SubmissionResult]  # by student id
    parts: list[PartStats]
    mistakes: list[Mistake]  # most frequent first
    causes: dict[str, list[str]] = field(default_factory=dict)  # student -> their diagnosed mistakes
    similar: list[Match] = field(default_factory=list)
    similarity_threshold: float | None = None  # None: the similarity check was not run

    @property
    def scores(self) -> list[float]:
        return [r.score for r in self.results]

    @property
    def max_score(self) -> float:
        return max((r.max_score for r in self.results), default=0.0)

    @property
    def mean_score(self) -> float:
        return statistics.fmean(self.scores) if self.results else 0.0

    @property
    def median_score(self) -> float:
        return statistics.median(self.scores) if self.results else 0.0

    @property
    def grading_seconds(self) -> float:
        return sum(r.seconds for r in self.results)

    @property
    def attention(self) -> list[SubmissionResult]:
        """Submissions an instructor should look at: not plainly graded, points held, or a reason
        given (a call that timed out, a kernel that died)."""
        needs = [r for r in self.results if r.status is not Status.GRADED or r.held_points or r.reason]
        order = list(Status)
        return sorted(needs, key=lambda r: (order.index(r.status), r.student))


def part_order(course: Course, assignment: str, results: list[SubmissionResult]) -> list[str]:
    """Graded cells in the source notebook's order; any others (an older source) after, sorted."""
    path = course.source_of(assignment) / assignment / f"{assignment}.ipynb"
    ordered = []
    if path.exists():
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and meta.get("grade_id"):
                ordered.append(meta["grade_id"])
    seen = {grade_id for r in results for grade_id in r.cells}
    return [g for g in ordered if g in seen] + sorted(seen - set(ordered))


def _parts(results: list[SubmissionResult], order: list[str]) -> list[PartStats]:
    parts = []
    for grade_id in order:
        cells = [r.cells[grade_id] for r in results if grade_id in r.cells]
        verdicts = {v: n for v in Verdict if (n := sum(c.verdict is v for c in cells))}
        parts.append(PartStats(grade_id, max(c.max_score for c in cells), verdicts))
    return parts


def _redact(text: str, student: str) -> str:
    return text.replace(student, "[student]") if len(student) >= MIN_REDACTED_ID else text


def _mistakes(results: list[SubmissionResult], order: list[str]) -> tuple[list[Mistake], dict[str, list[str]]]:
    known = known_causes()
    students: dict[str, set[str]] = defaultdict(set)
    parts: dict[str, set[str]] = defaultdict(set)
    examples: dict[str, dict[str, Example]] = defaultdict(dict)  # cause -> message -> example
    for r in results:
        for grade_id, cell in r.cells.items():
            for cause in cell.likely_causes:
                if cause not in known:  # a student's exception text posing as a diagnosis
                    continue
                students[cause].add(r.student)
                parts[cause].add(grade_id)
                message = _redact(cell.message, r.student)
                examples[cause].setdefault(message, Example(grade_id, message))
    mistakes = [Mistake(cause, len(who), tuple(p for p in order if p in parts[cause]),
                        tuple(examples[cause][m] for m in sorted(examples[cause])[:EXAMPLES_PER_MISTAKE]))
                for cause, who in students.items()]
    mistakes.sort(key=lambda m: (-m.students, m.cause))
    by_student: dict[str, list[str]] = defaultdict(list)
    for m in mistakes:
        for student in sorted(students[m.cause]):
            by_student[student].append(m.cause)
    return mistakes, dict(by_student)


def summarize(course: Course, assignment: str, *, similarity: bool = True,
              threshold: float | None = None) -> ClassSummary:
    """The class summary of ``assignment``; ``similarity`` compares the submitted solution code."""
    report = course.load_report(assignment)
    if not report:
        raise FileNotFoundError(f"no grading report for {assignment!r} at {course.report_path(assignment)}: "
                                f"run `python -m autograder grade {assignment}` first")
    results = [report[s] for s in sorted(report)]
    order = part_order(course, assignment, results)
    mistakes, causes = _mistakes(results, order)
    summary = ClassSummary(assignment, results, _parts(results, order), mistakes, causes)
    if similarity:
        summary.similarity_threshold = course.similarity_threshold if threshold is None else threshold
        summary.similar = similar_submissions(course, assignment, summary.similarity_threshold)
    return summary


def write_class_report(course: Course, assignment: str, *, similarity: bool = True,
                       threshold: float | None = None) -> tuple[Path, Path]:
    """Write the class report of ``assignment``; returns the (HTML, CSV) paths."""
    from .report_page import render_csv, render_html

    summary = summarize(course, assignment, similarity=similarity, threshold=threshold)
    html_path, csv_path = course.class_report_paths(assignment)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(summary), encoding="utf-8")
    csv_path.write_text(render_csv(summary), encoding="utf-8", newline="")
    return html_path, csv_path
