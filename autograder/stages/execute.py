"""Stage 2: run the student's notebook in a sandboxed kernel and leave the kernel up for the checks.

Every code cell runs in order except the graded test cells: their visible lines are the student's
own self-check (``autograder check``) and score nothing, and their verdicts come from the check
stage. A cell that runs past its time or kills the kernel is cut, noted on the cell, and the kernel
is started again with the cells that worked, so one bad cell costs only itself.
"""
from __future__ import annotations

import shutil
import time

from ..bridge import BridgeSession
from ..kernel import RunStatus, SandboxKernel
from ..results import Status
from ..sandbox import KernelDirs
from .context import Context

MAX_RESTARTS = 3


def _note(cell, text: str) -> None:
    cell.outputs.append({"output_type": "stream", "name": "stdout", "text": f"\n[autograder] {text}\n"})


def start_kernel(ctx: Context) -> str:
    """(Re)start the kernel, replay the cells that worked, install the bridge; '' or why not."""
    if ctx.kernel is not None:
        ctx.kernel.stop()
    job = ctx.job
    ctx.kernel = SandboxKernel(ctx.dirs, job.limits, sandboxed=job.sandboxed, cgroup=job.cgroup)
    problem = ctx.kernel.start()
    if problem:
        return problem
    for source in ctx.replay:
        run = ctx.kernel.run(source, timeout=_time_left(ctx, job.limits.cell_timeout))
        if run.status in (RunStatus.TIMEOUT, RunStatus.DEAD):
            return f"the kernel could not be restored ({run.status.value} while replaying the notebook)"
    ctx.session = BridgeSession(ctx.kernel, ctx.dirs, job.limits.call_timeout, job.limits.reply_mb * 1024 * 1024)
    return ctx.session.install()


def restart(ctx: Context, why: str) -> str:
    """Start a fresh kernel after ``why``; '' when it is ready, else the reason it is not."""
    if ctx.restarts >= MAX_RESTARTS:
        return f"not run: the kernel was restarted {MAX_RESTARTS} times already"
    ctx.restarts += 1
    ctx.result.notes.append(f"kernel restarted: {why}")
    return start_kernel(ctx)


def _time_left(ctx: Context, cap: float) -> float:
    return max(1.0, min(cap, ctx.deadline - time.monotonic()))


def execute(ctx: Context) -> None:
    job = ctx.job
    # Only where the set-up cell imports the course package (exercise 08 builds on the layers of
    # 05-07), and then the copy without this assignment's answers (autograder/withheld.py).
    packages = (job.course_package,) if job.course_package else ()
    ctx.dirs = KernelDirs.create(job.workdir, packages)
    source_files = job.source_dir / job.assignment
    for item in source_files.iterdir():  # data files etc. that the notebook reads beside it
        if item.suffix != ".ipynb" and item.name not in (".ipynb_checkpoints", "__pycache__"):
            (shutil.copytree if item.is_dir() else shutil.copy)(item, ctx.dirs.work / item.name)
    problem = start_kernel(ctx)
    if problem:
        ctx.result.fail(Status.CRASHED, problem)
        ctx.done = True
        return
    ctx.result.sandbox = "bubblewrap" if job.sandboxed else "none (--no-sandbox)"
    for cell in ctx.notebook.cells:
        if cell.cell_type != "code" or not cell.source.strip() or cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        if time.monotonic() >= ctx.deadline:
            ctx.result.fail(Status.TIMEOUT, f"the notebook ran past its time limit of "
                                            f"{job.limits.notebook_timeout} s")
            ctx.done = True
            return
        run = ctx.kernel.run(cell.source, timeout=_time_left(ctx, job.limits.cell_timeout))
        cell.outputs = run.outputs
        if run.status is RunStatus.TIMEOUT:
            _note(cell, f"this cell ran past the time limit ({job.limits.cell_timeout} s) and was stopped")
        elif run.status is RunStatus.DEAD:
            _note(cell, "the kernel died while running this cell (a crash, os._exit, or a memory or "
                        "CPU limit); the cell was skipped")
        else:
            ctx.replay.append(cell.source)
            continue
        problem = restart(ctx, f"{run.status.value} in a notebook cell")
        if problem:
            ctx.result.fail(Status.CRASHED, problem)
            ctx.done = True
            return
