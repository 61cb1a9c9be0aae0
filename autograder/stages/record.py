"""Stage 5 (the instructor's process only): gradebook, autograded notebook, report.

Idempotent: the submission's row is created or updated, never duplicated; scores an instructor
gave by hand in formgrader stay; held points wait there with ``needs_manual_grade`` set.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ..course import Course
from ..late import as_utc
from ..lms import read_record
from ..results import SubmissionResult, Verdict


def record(course: Course, result: SubmissionResult, autograded_source: Path | None,
           gradebook=None) -> None:
    """Record one result; ``gradebook`` is an open :meth:`Course.gradebook` to reuse (a class run
    opens one, not one per submission), else one is opened and closed here."""
    dest = course.autograded(result.student, result.assignment)
    with contextlib.nullcontext(gradebook) if gradebook is not None else course.gradebook() as gb:
        gb.update_or_create_student(result.student)
        stamp = None
        if result.timestamp:
            try:
                stamp = as_utc(result.timestamp)
            except (ValueError, OverflowError):
                result.notes.append(f"timestamp {result.timestamp!r} is not a date; ignored")
        # nbgrader keeps naive UTC times
        submission = gb.update_or_create_submission(
            result.assignment, result.student,
            **({"timestamp": stamp.replace(tzinfo=None)} if stamp else {}))
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cell = result.cells.get(grade.name)
                if grade.manual_score is not None:
                    continue  # the instructor's own grade wins
                if cell is not None:
                    grade.auto_score = cell.score
                    grade.needs_manual_grade = cell.verdict is Verdict.HELD
                elif grade.cell.cell_type == "code" or grade.auto_score is not None:
                    grade.auto_score, grade.needs_manual_grade = 0.0, False
            notebook.flagged = bool(result.findings)
        gb.db.commit()  # the grades' score is computed by the database: read it after the commit
        result.score = float(sum(g.score for nb in submission.notebooks for g in nb.grades))
        result.max_score = float(submission.max_score)
        lms = read_record(course.submitted(result.student, result.assignment))
        result.late = course.late_policy(result.assignment).assess(
            stamp, lms.late_marker if lms else None, result.score)
        # nbgrader's own column: its feedback shows the penalty and subtracts it from the score
        for i, notebook in enumerate(submission.notebooks):
            notebook.late_submission_penalty = result.late.points if result.late and i == 0 else None
        gb.db.commit()
    shutil.rmtree(dest, ignore_errors=True)
    result.autograded = None
    if autograded_source and autograded_source.is_file() and not os.path.islink(autograded_source):
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(autograded_source, dest / f"{result.assignment}.ipynb")
        result.autograded = str(dest / f"{result.assignment}.ipynb")
