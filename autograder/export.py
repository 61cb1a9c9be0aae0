"""``feedback`` and ``export``: HTML feedback per student, grades.csv, Gradescope results.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .course import Course


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


def _rows(course: Course, assignment: str) -> tuple[list[str], list[dict]]:
    """Per student: total, status, reason and one column per graded cell."""
    report = course.load_report(assignment)
    with course.gradebook() as gb:
        a = gb.find_assignment(assignment)
        cells = [(nb.name, c.name, c.max_score) for nb in a.notebooks for c in nb.grade_cells]
        columns = [f"{assignment}/{name}" for _, name, _ in cells]
        rows = []
        for student in sorted(s.id for s in gb.students):
            entry = report.get(student)
            row = {"student": student, "assignment": assignment, "max_score": a.max_score}
            try:
                sub = gb.find_submission(assignment, student)
            except Exception:  # nbgrader raises MissingEntry: no submission at all
                row.update(score=0.0, status="no submission", reason="")
                row.update({col: 0.0 for col in columns})
                rows.append(row)
                continue
            scores = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
            row.update(score=sub.score, status=entry.status.value if entry else "not graded",
                       reason=entry.reason if entry else "", held_points=entry.held_points if entry else 0.0)
            row.update({col: scores.get(name, 0.0) for col, (_, name, _) in zip(columns, cells)})
            rows.append(row)
    return ["student", "assignment", "score", "max_score", "held_points", "status", "reason", *columns], rows


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


def export_gradescope(course: Course, assignments: list[str], out_dir: Path) -> list[Path]:
    """Gradescope autograder format: <out_dir>/<assignment>/<student>/results.json."""
    written = []
    for assignment in assignments:
        report = course.load_report(assignment)
        _, rows = _rows(course, assignment)
        for row in rows:
            entry = report.get(row["student"])
            tests = []
            for name, cell in (entry.cells if entry else {}).items():
                tests.append({"name": name, "score": row.get(f"{assignment}/{name}", 0.0),
                              "max_score": cell.max_score,
                              "status": "passed" if cell.score else "failed",
                              "output": cell.message})
            results = {"score": row["score"], "output": row["reason"] or row["status"],
                       "tests": tests}
            path = out_dir / assignment / row["student"] / "results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=1))
            written.append(path)
    return written
