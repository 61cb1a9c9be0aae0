"""``feedback`` and ``export``: HTML feedback per student, grades.csv, Canvas and Moodle grade files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .course import Course
from .lms import Lms, LmsRecord, read_record
from .results import LatePenalty, SubmissionResult


def feedback(course: Course, assignment: str) -> list[str]:
    """nbgrader generate_feedback for every autograded student; returns the HTML files written."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.utils import capture_log

    app = GenerateFeedback(coursedir=course.coursedir(assignment_id=assignment),
                           config=course.config)
    app.force = True
    result = capture_log(app)
    if not result["success"]:
        raise RuntimeError(f"generate_feedback failed:\n{result.get('log', '')}")
    return sorted(str(p) for p in (course.root / "feedback").glob(f"*/{assignment}/*.html"))


@dataclass
class Graded:
    """One student's standing in one assignment, as the gradebook and the report say."""

    student: str
    score: float  # the gradebook's (manual grades included), before the late penalty
    max_score: float
    result: SubmissionResult | None  # None: no submission, or not graded yet
    lms: LmsRecord | None  # who the student is in the LMS, as collect recorded it

    @property
    def late(self) -> LatePenalty | None:
        return self.result.late if self.result else None

    @property
    def penalty(self) -> float:
        # the policy's fraction of today's score: an instructor's later manual grade is penalised too
        return round(self.score * self.late.fraction, 6) if self.late else 0.0

    @property
    def final_score(self) -> float:
        return max(0.0, self.score - self.penalty)


def graded(course: Course, assignment: str) -> dict[str, Graded]:
    """Every gradebook student's standing in ``assignment``."""
    report = course.load_report(assignment)
    out = {}
    with course.gradebook() as gb:
        max_score = float(gb.find_assignment(assignment).max_score)
        submitted = {s.student.id: float(s.score) for s in gb.find_assignment(assignment).submissions}
        for student in sorted(s.id for s in gb.students):
            out[student] = Graded(student, submitted.get(student, 0.0), max_score,
                                  report.get(student) if student in submitted else None,
                                  read_record(course.submitted(student, assignment)))
    return out


def _rows(course: Course, assignment: str) -> tuple[list[str], list[dict]]:
    """Per student: total, late penalty, status, reason and one column per graded cell."""
    standings = graded(course, assignment)
    with course.gradebook() as gb:
        a = gb.find_assignment(assignment)
        cells = [c.name for nb in a.notebooks for c in nb.grade_cells]
        columns = [f"{assignment}/{name}" for name in cells]
        rows = []
        for student, g in standings.items():
            row = {"student": student, "assignment": assignment, "max_score": g.max_score, "score": g.score,
                   "late_days": g.late.days if g.late else 0, "late_penalty": g.penalty,
                   "final_score": g.final_score}
            try:
                sub = gb.find_submission(assignment, student)
            except Exception:  # nbgrader raises MissingEntry: no submission at all
                row.update(status="no submission", reason="", held_points=0.0)
                row.update({col: 0.0 for col in columns})
                rows.append(row)
                continue
            scores = {grade.name: grade.score for nb in sub.notebooks for grade in nb.grades}
            entry = g.result
            row.update(status=entry.status.value if entry else "not graded",
                       reason=entry.reason if entry else "", held_points=entry.held_points if entry else 0.0)
            row.update({col: scores.get(name, 0.0) for col, name in zip(columns, cells)})
            rows.append(row)
    return ["student", "assignment", "score", "late_days", "late_penalty", "final_score", "max_score",
            "held_points", "status", "reason", *columns], rows


def export_csv(course: Course, assignments: list[str], out: Path) -> Path:
    """One row per student and assignment, with a column per graded cell (test)."""
    header: list[str] = []
    rows: list[dict] = []
    for assignment in assignments:
        cols, r = _rows(course, assignment)
        header += [c for c in cols if c not in header]
        rows += r
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return out


#: The identity columns of Canvas's Grades export, which its "Import" reads back (matching a row on
#: ID, the Canvas user id); assignment columns are titled "<name> (<assignment id>)".
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass
class Written:
    path: Path
    rows: int
    left_out: list[str]  # students with no identity in that LMS (collected otherwise, or not at all)


def export_canvas(course: Course, assignments: list[str], out: Path,
                  columns: dict[str, str] | None = None) -> Written:
    """A Canvas gradebook import: one row per Canvas student, the final score per assignment.

    ``columns`` names each assignment's Canvas column ("Homework 1 (123456)" matches that
    assignment; a new name makes Canvas offer to create one). Students who never submitted have
    no row (Canvas leaves their grades as they are); a blank cell leaves that one grade unchanged.
    """
    titles = {a: (columns or {}).get(a, a) for a in assignments}
    people: dict[str, dict] = {}
    graded_elsewhere, in_canvas = set(), set()
    for assignment in assignments:
        for student, g in graded(course, assignment).items():
            if g.lms is None or g.lms.lms is not Lms.CANVAS:
                if g.result:
                    graded_elsewhere.add(student)
                continue
            in_canvas.add(student)
            row = people.setdefault(g.lms.lms_user, {"Student": g.lms.name, "ID": g.lms.lms_user})
            row[titles[assignment]] = f"{g.final_score:g}" if g.result else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CANVAS_COLUMNS + list(titles.values()), restval="")
        writer.writeheader()
        writer.writerows(sorted(people.values(), key=lambda r: (r["Student"], r["ID"])))
    return Written(out, len(people), sorted(graded_elsewhere - in_canvas))


#: Moodle's offline grading worksheet ("Download grading worksheet" / "Upload grading worksheet"
#: of an assignment with the "Offline grading worksheet" feedback type). Its importer
#: (mod/assign/feedback/offline/importgradeslib.php) needs the columns Identifier ("Participant
#: <id>", the id of the assignment's download names), Grade and "Last modified (grade)".
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                  "Feedback comments"]


def export_moodle(course: Course, assignment: str, out: Path, now: datetime | None = None) -> Written:
    """Moodle's grading worksheet for ``assignment``: one row per collected Moodle participant."""
    # the importer skips a row whose grade Moodle changed after this time, so it is the export's
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    rows, left_out = [], []
    for student, g in graded(course, assignment).items():
        if g.lms is None or g.lms.lms is not Lms.MOODLE:
            if g.result:
                left_out.append(student)
            continue
        comment = f"autograded {g.score:g}/{g.max_score:g}"
        if g.late:
            comment += f"; {g.late.reason} (-{g.penalty:g})"
        rows.append({"Identifier": f"Participant {g.lms.lms_user}", "Full name": g.lms.name,
                     "Status": "Submitted for grading", "Grade": f"{g.final_score:g}" if g.result else "",
                     "Maximum Grade": f"{g.max_score:g}", "Grade can be changed": "Yes",
                     "Last modified (submission)": g.lms.timestamp or "", "Last modified (grade)": stamp,
                     "Feedback comments": comment})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MOODLE_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return Written(out, len(rows), left_out)
