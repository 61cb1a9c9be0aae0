"""``grade``: grade a class in parallel; one submission can never stop the run.

A pool of long-lived worker processes (trusted: they run the checks, never student code) each
grades one submission at a time with :func:`autograder.pipeline.grade_submission`. This process
alone writes the gradebook, the autograded notebooks and the report, after every submission, so
an interrupted run leaves everything graded so far recorded and a second ``grade`` resumes where it
stopped (``force`` regrades). A worker that dies, hangs past its deadline or sends back garbage is
replaced; its submission is marked ``crashed`` or ``timeout`` with the reason, and the run goes on.
"""
from __future__ import annotations

import ctypes
import dataclasses
import itertools
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from multiprocessing.connection import wait
from pathlib import Path

from . import withheld
from .course import REPO, Course
from .pipeline import grade_submission
from .results import Status, SubmissionResult
from .sandbox import INSTALL_HINT, Limits, ProcessGroup, owned_name, pids_hierarchy, probe, remove_stale
from .stages.context import Job
from .stages.record import record

from . import checks


class GradingError(RuntimeError):
    pass


def _worker(conn) -> None:
    # A worker never outlives the grader, even when the grader is SIGKILLed.
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    while True:
        message = conn.recv()
        if message is None:
            return
        job, key = message
        checks.grade_as(key)
        result, autograded = grade_submission(job)
        conn.send((result.to_json(), autograded))


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.deadline = 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.join()


def _worker_context():
    """Workers come from a fork server: a clean interpreter with the checks and the stages loaded
    once (not once per worker), never a fork of the caller, whose TensorFlow threads (a notebook or
    test that trained a model) would leave locks held in the child and hang the Keras checks."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["autograder.checks", "autograder.pipeline"])
    return ctx


def submitted_students(course: Course, assignment: str) -> list[str]:
    base = course.root / "submitted"
    return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir()) if base.exists() else []


def _received(job: Job, message) -> tuple[SubmissionResult, Path | None]:
    """The worker's reply as a typed result; anything malformed marks the submission crashed."""
    try:
        data, autograded = message
        result = SubmissionResult.from_json(data)
        if (result.student, result.assignment) != (job.student, job.assignment):
            raise ValueError("result for another submission")
        return result, Path(autograded) if autograded else None
    except Exception as exc:
        return _failed(job, Status.CRASHED, f"the grading process sent back an unreadable result ({exc})"), None


def _failed(job: Job, status: Status, reason: str) -> SubmissionResult:
    result = SubmissionResult(job.student, job.assignment)
    result.fail(status, reason)
    return result


def grade(course: Course, assignment: str, jobs: int | None = None, students: list[str] | None = None,
          limits: Limits | None = None, progress=None, *, sandbox: bool = True,
          force: bool = False, scheduler: str | None = None) -> dict[str, SubmissionResult]:
    """Grade the collected submissions of ``assignment``; return {student: result} of this run.

    Students already in the report are skipped unless ``force`` (or named in ``students``).
    ``scheduler``: the address of a Dask scheduler whose workers grade them (autograder/cluster.py)
    instead of the local pool.
    """
    from .assignment import AssignmentError, load

    try:
        spec = load(course.source_of(assignment), course.release_of(assignment), assignment)
    except AssignmentError as exc:
        raise GradingError(str(exc)) from None
    with course.gradebook() as gb:
        if not any(a.name == assignment and a.notebooks for a in gb.assignments):
            raise GradingError(f"assignment {assignment!r} is not (fully) in the gradebook: run "
                               f"`python -m autograder release {assignment}` first")
    if sandbox and not scheduler and (why := probe()):  # a cluster's workers are probed there
        raise GradingError(f"the kernel sandbox cannot be set up: {why}. To fix it, {INSTALL_HINT}.")
    everyone = submitted_students(course, assignment)
    if not everyone:
        raise GradingError(f"no submissions for {assignment!r} in {course.root / 'submitted'}: "
                           f"run `python -m autograder collect {assignment} PATH` first")
    report = course.load_report(assignment)
    todo = students or [s for s in everyone if force or s not in report]
    limits = limits or course.limits(assignment)
    results: dict[str, SubmissionResult] = {}
    if not todo:
        return results
    if scheduler:
        from . import cluster

        return cluster.grade(course, spec, todo, report, limits, scheduler, progress, sandbox=sandbox)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    hierarchy = pids_hierarchy() if limits.max_processes else None
    remove_stale(hierarchy)  # what graders killed mid-run left behind
    run_dir = Path(tempfile.mkdtemp(prefix=owned_name(assignment)))
    secret = course.secret
    package = (withheld.build(REPO / withheld.PACKAGE, spec.course_imports, spec.student_functions,
                              run_dir / "course-package") if spec.course_imports else None)
    queue = deque(Job(assignment, s, course.submitted(s, assignment) / f"{assignment}.ipynb",
                      course.source_of(assignment), course.release_of(assignment), run_dir / s, limits, sandboxed=sandbox,
                      course_package=package)
                  for s in todo)
    ctx = _worker_context()
    workers = [_Worker(ctx) for _ in range(jobs)]
    groups: dict[str, ProcessGroup] = {}
    serial = itertools.count()
    # Per notebook: its own limit plus kernel start-ups and the checks' own time.
    hard = (limits.notebook_timeout or 3600) * 2 + 120
    gradebook = course.gradebook()  # one database session for the run; each record commits
    def dispatch() -> None:
        for w in workers:
            if w.job is None and queue:
                job = queue.popleft()
                if hierarchy is not None:
                    try:
                        groups[job.student] = ProcessGroup.create(
                            hierarchy, f"{run_dir.name}-{next(serial)}", limits.max_processes)
                        job = dataclasses.replace(job, cgroup=str(groups[job.student].path))
                    except OSError:
                        pass  # unlimited processes for this one; the report's sandbox line says so
                w.job, w.deadline = job, time.monotonic() + hard
                w.conn.send((job, f"{secret}/{job.student}/{job.assignment}"))

    try:
        dispatch()
        while any(w.job for w in workers):
            busy = [w for w in workers if w.job]
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            finished = []
            for i, w in enumerate(workers):
                if w.job is None:
                    continue
                autograded = None
                if w.conn.poll():
                    try:
                        result, autograded = _received(w.job, w.conn.recv())
                    except (EOFError, OSError) as exc:
                        result = _failed(w.job, Status.CRASHED, f"the grading process died ({exc!r})")
                elif not w.process.is_alive():
                    result = _failed(w.job, Status.CRASHED,
                                     f"the grading process died (exit code {w.process.exitcode})")
                elif time.monotonic() > w.deadline:
                    result = _failed(w.job, Status.TIMEOUT, f"stopped after {hard} s (notebook time limit)")
                else:
                    continue
                finished.append((w.job, result, autograded))
                w.job = None
                if result.status in (Status.CRASHED, Status.TIMEOUT) or not w.process.is_alive():
                    w.kill()
                    workers[i] = _Worker(ctx)
            for job, _, _ in finished:
                if job.student in groups:  # whatever the kernel left running ends here, first
                    groups.pop(job.student).kill_and_remove()
            dispatch()  # the freed workers start their next submission while this one is recorded
            for job, result, autograded in finished:
                if not sandbox:
                    result.notes.append("graded without the sandbox (--no-sandbox)")
                record(course, result, autograded, gradebook)
                shutil.rmtree(job.workdir, ignore_errors=True)
                results[job.student] = report[job.student] = result
                course.save_report(assignment, report)
                if progress:
                    progress(result, len(results), len(todo))
    finally:
        for w in workers:
            if w.process.is_alive():
                try:
                    w.conn.send(None)
                except OSError:
                    pass
                w.process.join(timeout=5)
                if w.process.is_alive():
                    w.kill()
        for group in groups.values():  # left by an interrupted run
            group.kill_and_remove()
        gradebook.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    return results


def progress_bar(stream=None):
    """A text progress callback: one line per student and a running bar (on stderr by default)."""
    def callback(result: SubmissionResult, done: int, total: int) -> None:
        out = stream or sys.stderr  # looked up per call: sys.stderr may be replaced after import
        width = 30
        filled = int(width * done / total)
        reason = f"  ({result.reason})" if result.reason else ""
        late = f" (late: -{result.late.points:g})" if result.late else ""
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {result.student}: "
                  f"{result.status.value} {result.score:g}/{result.max_score:g}{late}{reason}\n")
        out.flush()
    return callback
