"""``grade``: autograde a class in parallel and merge the results into the gradebook.

A pool of long-lived worker processes (nbgrader imported once per worker) each grades one
submission at a time with :func:`autograder.grading.grade_one`. The parent process alone writes the
gradebook, the autograded notebooks and the report, so a submission can neither corrupt them nor
stop the run: a worker that dies or passes the notebook deadline is killed, the student gets a
reason, and a fresh worker takes the next submission.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime
from collections import deque
from multiprocessing.connection import wait
from pathlib import Path

from .course import COURSE_ID, Course
from .grading import Job, grade_one
from .sandbox import Limits, ProcessGroup, effective_limits, pids_hierarchy, probe


class GradingError(RuntimeError):
    pass


def _worker(conn) -> None:
    while True:
        job = conn.recv()
        if job is None:
            return
        try:
            result = grade_one(job)
        except Exception:  # a bug of ours, not the student's: report it and carry on
            result = {"student": job.student, "status": "error", "cells": {}, "notes": [],
                      "reason": "internal grader error: " + traceback.format_exc(limit=3)[-800:]}
        conn.send(result)


class _Worker:
    def __init__(self, ctx, index: int):
        self.index = index
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.deadline = 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.join()


def make_template(course: Course, assignment: str, run_dir: Path) -> tuple[Path, Path]:
    """Copy the assignment's gradebook records and its non-notebook files into ``run_dir``."""
    from nbgrader.api import Gradebook, MissingEntry

    template = run_dir / "template.db"
    with course.gradebook() as src:
        try:
            a = src.find_assignment(assignment)
            if not a.notebooks:  # left behind by a release that failed
                raise MissingEntry(assignment)
        except MissingEntry:
            raise GradingError(f"assignment {assignment!r} is not (fully) in the gradebook: run "
                               f"`python -m autograder release {assignment}` first") from None
        with Gradebook(f"sqlite:///{template}", COURSE_ID) as dst:
            dst.update_or_create_assignment(assignment, duedate=a.duedate)
            for nb in a.notebooks:
                dst.update_or_create_notebook(nb.name, assignment)
                for c in nb.grade_cells:
                    dst.update_or_create_grade_cell(c.name, nb.name, assignment,
                                                    max_score=c.max_score, cell_type=c.cell_type)
                for c in nb.solution_cells:
                    dst.update_or_create_solution_cell(c.name, nb.name, assignment)
                for c in nb.task_cells:
                    dst.update_or_create_task_cell(c.name, nb.name, assignment,
                                                   max_score=c.max_score, cell_type=c.cell_type)
                for c in nb.source_cells:
                    dst.update_or_create_source_cell(c.name, nb.name, assignment,
                                                     cell_type=c.cell_type, locked=c.locked,
                                                     source=c.source, checksum=c.checksum)
    files = run_dir / "source_files"
    shutil.copytree(course.source_dir / assignment, files,
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    return template, files


def submitted_students(course: Course, assignment: str) -> list[str]:
    base = course.root / "submitted"
    return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir()) if base.exists() else []


def grade(course: Course, assignment: str, jobs: int | None = None,
          students: list[str] | None = None, limits: Limits | None = None,
          progress=None) -> dict:
    """Grade every collected submission of ``assignment``; return {student: result}."""
    students = students or submitted_students(course, assignment)
    if not students:
        raise GradingError(f"no submissions for {assignment!r} in {course.root / 'submitted'}: "
                           f"run `python -m autograder collect {assignment} PATH` first")
    limits = effective_limits(limits or course.limits(assignment))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(students)))
    run_dir = Path(tempfile.mkdtemp(prefix=f"autograder-{assignment}-"))
    results: dict[str, dict] = {}
    try:
        template, files = make_template(course, assignment, run_dir)
        queue = deque(
            Job(assignment, s, str(course.submitted(s, assignment) / f"{assignment}.ipynb"),
                str(template), str(files), str(run_dir / "jobs" / s),
                dataclasses.replace(limits, hide=(str(course.root), str(run_dir))),
                course.on_tampering)
            for s in students)
        (run_dir / "jobs").mkdir()
        ctx = multiprocessing.get_context("fork")
        workers = [_Worker(ctx, i) for i in range(jobs)]
        groups: dict[str, ProcessGroup] = {}
        serial = itertools.count()
        # Hard deadline per notebook: its own limit plus kernel start-up and nbgrader overhead.
        hard = (limits.notebook_timeout or 3600) + 120
        try:
            while queue or any(w.job for w in workers):
                for w in workers:
                    if w.job is None and queue:
                        job = queue.popleft()
                        if limits.max_processes:
                            groups[job.student] = ProcessGroup.create(
                                pids_hierarchy(), f"{run_dir.name}-{next(serial)}", limits.max_processes)
                            job.limits = dataclasses.replace(
                                job.limits, cgroup=str(groups[job.student].path))
                        w.job, w.deadline = job, time.monotonic() + hard
                        w.conn.send(job)
                busy = [w for w in workers if w.job]
                wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
                for i, w in enumerate(workers):
                    if w.job is None:
                        continue
                    result = None
                    if w.conn.poll():
                        result = w.conn.recv()
                    elif not w.process.is_alive():
                        result = _failed(w.job, "the grading process died "
                                                f"(exit code {w.process.exitcode})")
                    elif time.monotonic() > w.deadline:
                        result = _failed(w.job, f"stopped after {hard} s (notebook time limit)")
                    if result is None:
                        continue
                    if not w.process.is_alive() or result.get("status") == "timeout":
                        w.kill()
                        workers[i] = w = _Worker(ctx, w.index)
                    job, w.job = w.job, None
                    if job.student in groups:  # whatever the kernel left running ends here
                        groups.pop(job.student).kill_and_remove()
                    merge(course, job, result)
                    shutil.rmtree(job.workdir, ignore_errors=True)
                    results[job.student] = result
                    if progress:
                        progress(result, len(results), len(students))
        finally:
            for w in workers:
                if w.process.is_alive():
                    w.conn.send(None)
                    w.process.join(timeout=5)
                    if w.process.is_alive():
                        w.kill()
            for group in groups.values():  # left by an interrupted run
                group.kill_and_remove()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    report = course.load_report(assignment)
    report.update(results)
    course.save_report(assignment, report)
    return results


def _failed(job: Job, reason: str) -> dict:
    status = "timeout" if "time limit" in reason else "crashed"
    return {"student": job.student, "assignment": job.assignment, "status": status,
            "reason": reason, "notes": [], "cells": {}}


def merge(course: Course, job: Job, result: dict) -> None:
    """Write one result into the gradebook and the autograded folder (parent process only).

    Idempotent: the submission row is created or updated, never duplicated, and manual scores
    given in the formgrader are left alone. Ungradable submissions get 0 on autograded cells.
    """
    dest = course.autograded(job.student, job.assignment)
    with course.gradebook() as gb:
        gb.update_or_create_student(job.student)
        stamp = result.get("timestamp")  # from the exchange's timestamp.txt: late penalties
        submission = gb.update_or_create_submission(
            job.assignment, job.student,
            **({"timestamp": datetime.fromisoformat(stamp)} if stamp else {}))
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cell = result["cells"].get(grade.name)
                if cell is not None:
                    grade.auto_score = cell["auto_score"]
                    grade.needs_manual_grade = cell["needs_manual_grade"]
                elif grade.cell.cell_type == "code" or grade.auto_score is not None:
                    grade.auto_score = 0.0
                    grade.needs_manual_grade = False
            notebook.flagged = bool(result.get("flagged"))
            if "late_penalty" in result:
                notebook.late_submission_penalty = result["late_penalty"]
        gb.db.commit()
        score = sum(g.score for nb in submission.notebooks for g in nb.grades)
        result["score"], result["max_score"] = score, submission.max_score
    shutil.rmtree(dest, ignore_errors=True)
    src = result.get("autograded")
    if src and os.path.isfile(src) and not os.path.islink(src):
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / f"{job.assignment}.ipynb")
        result["autograded"] = str(dest / f"{job.assignment}.ipynb")
    else:
        result["autograded"] = None


def describe_sandbox(limits: Limits) -> list[str]:
    return probe().describe(limits)


def progress_bar(stream=None):
    """A text progress callback: one line per student and a running bar (on stderr by default)."""
    def callback(result: dict, done: int, total: int) -> None:
        out = stream or sys.stderr  # looked up per call: sys.stderr may be replaced after import
        width = 30
        filled = int(width * done / total)
        score = result.get("score")
        shown = (f"{score:g}/{result.get('max_score', 0):g}" if score is not None else "-")
        reason = f"  ({result['reason']})" if result.get("reason") else ""
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  "
                  f"{result['student']}: {result['status']} {shown}{reason}\n")
        out.flush()
    return callback
