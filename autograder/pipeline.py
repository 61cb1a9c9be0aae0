"""Grade one submission: the declared list of stages, run in a grading worker.

Each stage reads and extends one :class:`~autograder.stages.context.Context`; a stage that ends the
submission (unreadable, timed out, kernel that will not start) sets ``done`` and the rest are
skipped. The kernel is always killed at the end. The worker returns the typed result and the
path of the autograded notebook; the instructor's process records both
(:func:`autograder.stages.record.record`).
"""
from __future__ import annotations

import time
import traceback

import nbformat

from . import assignment as assignments
from .results import Status, SubmissionResult, Verdict
from .sanitize import sanitize
from .stages.check import check
from .stages.context import Context, Job
from .stages.execute import execute
from .stages.prepare import prepare
from .stages.score import score

STAGES = (prepare, execute, check, score)


def _verdict_output(cell_result) -> dict:
    if cell_result.verdict is Verdict.PASSED:
        text = cell_result.message or "\u2714 passed"
        return {"output_type": "stream", "name": "stdout", "text": f"[autograder] {text}\n"}
    return {"output_type": "error", "ename": cell_result.error or cell_result.verdict.value,
            "evalue": cell_result.message, "traceback": [f"[autograder] {cell_result.message}"]}


def autograded_notebook(ctx: Context):
    """The notebook as run, each graded cell followed by the grader's verdict; sanitised."""
    nb = ctx.notebook
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and gid in ctx.result.cells:
            cell.outputs.append(_verdict_output(ctx.result.cells[gid]))
    sanitize(nb)
    return nb


def grade_submission(job: Job) -> tuple[SubmissionResult, str | None]:
    """Run the stages on ``job``; never raises for anything the submission does."""
    start = time.monotonic()
    result = SubmissionResult(job.student, job.assignment)
    ctx = None
    autograded = None
    try:
        assignment = assignments.load(job.source_dir, job.release_dir, job.assignment)
        ctx = Context(job, assignment, result, deadline=start + (job.limits.notebook_timeout or 3600))
        for stage in STAGES:
            stage(ctx)
            if ctx.done:
                break
        if ctx.notebook is not None:
            path = job.workdir / "autograded.ipynb"
            nbformat.write(autograded_notebook(ctx), path)
            autograded = str(path)
    except Exception:  # a bug of ours, never the student's: say so, keep the class run going
        result.fail(Status.ERROR, "internal grader error: " + traceback.format_exc().strip().splitlines()[-1])
        result.notes.append(traceback.format_exc()[-3000:])
    finally:
        if ctx is not None and ctx.kernel is not None:
            ctx.kernel.stop()
        result.seconds = round(time.monotonic() - start, 2)
    return result, autograded
