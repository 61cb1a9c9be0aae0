"""Autograde one submission in a private copy of the course (runs inside a worker process).

Each submission gets its own temporary nbgrader course: a copy of the assignment's gradebook
entries (no other student, nothing else), the assignment's non-notebook source files and the one
submitted notebook. nbgrader's ``Autograde`` converter runs there in-process, with a kernel started
through :mod:`autograder.sandbox`. The caller (:mod:`autograder.runner`) merges the returned scores
into the real gradebook, so the student's code never touches it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from traitlets.config import Config

# Imported at module level on purpose: the grading pool forks its workers after importing this
# module, so they start with nbgrader already loaded (seconds of CPU each otherwise).
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import capture_log

from .course import COURSE_ID
from .repair import InvalidSubmission, load_submission
from .sandbox import Limits, SandboxKernelManager


@dataclasses.dataclass
class Job:
    assignment: str
    student: str
    notebook: str  # path of the submitted <assignment>.ipynb (may not exist)
    template_db: str  # SQLite gradebook holding only this assignment
    source_files: str  # directory with the assignment's non-notebook source files
    workdir: str  # empty private directory for this submission
    limits: Limits
    on_tampering: str = "flag"  # "flag": keep the score, mark for review; "zero": 0 points


class SandboxedExecute(Execute):
    """nbgrader's Execute with the sandbox kernel, output caps and survivable kernel deaths."""

    def preprocess(self, nb, resources=None, km=None):
        limits = SandboxKernelManager.sandbox_limits
        self.kernel_manager_class = SandboxKernelManager
        # The kernel is thrown away: kill it rather than wait for a polite shutdown handshake.
        self.shutdown_kernel = "immediate"
        self.timeout = limits.cell_timeout or None
        self._deadline = time.monotonic() + limits.notebook_timeout if limits.notebook_timeout else None
        self._dead_reason = ""
        self._bytes = {}
        try:
            return super().preprocess(nb, resources, km)
        finally:
            remove_symlinks(Path(resources["metadata"]["path"]))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if not self._dead_reason and self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                self._dead_reason = "the notebook ran out of time"
            elif self.timeout:
                self.timeout = int(min(SandboxKernelManager.sandbox_limits.cell_timeout, left)) + 1
        if self._dead_reason:
            cell.outputs = [_error("NotRun", f"not run: {self._dead_reason}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead_reason = "the kernel died (crash, os._exit, or a memory/CPU limit)"
            cell.outputs.append(_error("KernelDied", f"{self._dead_reason} while running this cell"))
            return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        # Cap what we keep per cell so a print loop cannot exhaust the grader's memory.
        limit = SandboxKernelManager.sandbox_limits.output_bytes
        size = len(str(msg.get("content", "")))
        used = self._bytes.get(cell_index, 0)
        self._bytes[cell_index] = used + size
        if limit and used + size > limit:
            if used <= limit:
                # stdout: nbgrader scores any stderr output in a test cell as a failure
                outs.append(new_output("stream", name="stdout",
                                       text=f"\n... output truncated by the autograder "
                                            f"(more than {limit} bytes) ...\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def setup_kernel(self, **kwargs):
        return _tolerant(super().setup_kernel(**kwargs))


class GuardPartialCredit(NbGraderPreprocessor):
    """Stop a test cell's numeric result from breaking or faking the grade.

    nbgrader reads a number as the last result of a test cell as partial credit, and raises (failing
    the whole notebook) when it exceeds the cell's points. A check function that returns a count,
    or student code that makes a test expression evaluate to a number, must do neither: such
    results are shown as ordinary display output, which nbgrader does not score.
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for i, out in enumerate(cell.outputs):
                if out.output_type == "execute_result":
                    cell.outputs[i] = new_output("display_data", data=out.data,
                                                 metadata=out.get("metadata", {}))
        return cell, resources


class _tolerant:
    """Context manager wrapper: shutting down an already dead kernel must not fail the grade."""

    def __init__(self, ctx):
        self.ctx = ctx

    def __enter__(self):
        return self.ctx.__enter__()

    def __exit__(self, *exc):
        try:
            return self.ctx.__exit__(*exc)
        except Exception:
            if exc[0] is not None:
                raise
            return False


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def remove_symlinks(path: Path) -> None:
    """Delete links the student's code planted: nbgrader writes here next and would follow them."""
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            if os.path.islink(os.path.join(root, name)):
                os.unlink(os.path.join(root, name))


def autograde_config(root: Path) -> Config:
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.CourseDirectory.course_id = COURSE_ID
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.autograde_preprocessors = [
        SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, GuardPartialCredit,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    return c


_WARNING = re.compile(r"\[WARNING\] (.*)")
_EXCEPTION = re.compile(r"^\s*((?:[A-Za-z_][\w.]*)?(?:Error|Exception)\b.*)$", re.M)


def grade_one(job: Job) -> dict:
    """Grade ``job`` and return a JSON-able result (never raises for a student's fault)."""
    start = time.monotonic()
    result = {"student": job.student, "assignment": job.assignment, "status": "graded",
              "reason": "", "notes": [], "cells": {}, "autograded": None}
    try:
        nb, repairs = load_submission(Path(job.notebook))
    except InvalidSubmission as exc:
        result.update(status="invalid" if Path(job.notebook).exists() else "missing",
                      reason=str(exc))
        result["seconds"] = round(time.monotonic() - start, 2)
        return result
    result["notes"].extend(repairs)
    from .shortcuts import scan_notebook_for_tampering

    tampering = scan_notebook_for_tampering(nb)

    try:
        work = Path(job.workdir)
        root = work / "course"
        home = work / "home"
        home.mkdir(parents=True)
        root.mkdir()
        shutil.copy(job.template_db, root / "gradebook.db")
        shutil.copytree(job.source_files, root / "source" / job.assignment)
        submitted = root / "submitted" / job.student / job.assignment
        submitted.mkdir(parents=True)
        nbformat.write(nb, submitted / f"{job.assignment}.ipynb")
        stamp = Path(job.notebook).parent / "timestamp.txt"  # written by `nbgrader collect`
        if stamp.is_file():
            shutil.copyfile(stamp, submitted / "timestamp.txt")

        SandboxKernelManager.sandbox_limits = dataclasses.replace(job.limits, job_dir=str(work))
        SandboxKernelManager.sandbox_dir = str(home)

        config = autograde_config(root)
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = job.assignment
        coursedir.student_id = job.student
        app = Autograde(coursedir=coursedir, config=config)
        app.force = True
        outcome = capture_log(app)
        log = outcome.get("log", "")
        # nbgrader always "restores" the checksum of test cells whose hidden tests were released
        # stripped; the other warnings (cell types, points, deleted or duplicated cells) matter.
        result["notes"].extend(w for w in _WARNING.findall(log) if "'checksum'" not in w)
        autograded = root / "autograded" / job.student / job.assignment / f"{job.assignment}.ipynb"
        if not outcome["success"] or not autograded.exists():
            # the exception that stopped nbgrader is the last one its log quotes
            causes = _EXCEPTION.findall(log) or [ln for ln in log.splitlines() if "[ERROR]" in ln]
            result.update(status="error",
                          reason=("nbgrader failed: " + (causes[-1] if causes else "unknown error"))[:500])
        else:
            result["autograded"] = str(autograded)
            with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as gb:
                submission = gb.find_submission(job.assignment, job.student)
                result["timestamp"] = (submission.timestamp.isoformat()
                                       if submission.timestamp else None)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        result["cells"][grade.name] = {
                            "notebook": notebook.name, "auto_score": grade.auto_score,
                            "max_score": grade.max_score,
                            "needs_manual_grade": bool(grade.needs_manual_grade)}
                    result["late_penalty"] = notebook.late_submission_penalty
            _attach_messages(result, nbformat.read(autograded, as_version=4))
            dead = [c["message"] for c in result["cells"].values()
                    if c.get("error") in {"KernelDied", "NotRun", "CellTimeoutError"}]
            if dead:
                result["reason"] = dead[0]
        if tampering:
            result["notes"].extend(tampering)
            result["flagged"] = True
            result["reason"] = f"possible tampering ({len(tampering)} finding(s)): {tampering[0]}"[:500]
            if job.on_tampering == "zero":
                result["status"] = "zeroed"
                for entry in result["cells"].values():
                    entry["auto_score"] = 0.0
            else:
                result["status"] = "flagged"
    finally:
        result["seconds"] = round(time.monotonic() - start, 2)
    return result


def _attach_messages(result: dict, nb) -> None:
    """Add each graded cell's error (name and first message line) to ``result['cells']``."""
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        entry = result["cells"].get(grade_id)
        if entry is None or cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors:
            err = errors[-1]
            lines = [ln.strip() for ln in str(err.get("evalue", "")).splitlines() if ln.strip()]
            # first line of the message, plus the diagnosis line when a check found one
            first = " ".join([lines[0]] + [ln for ln in lines[1:] if "Likely cause" in ln]) if lines else ""
            entry["error"] = err.get("ename", "Error")
            if entry["error"] == "CellTimeoutError":
                first = "the cell ran past the time limit (infinite loop?)"
            entry["message"] = f"{entry['error']}: {first}"[:500] if first else entry["error"]
