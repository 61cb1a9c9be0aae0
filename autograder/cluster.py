"""``grade --scheduler ADDRESS``: grade a class on a Dask distributed cluster.

This process stays the coordinator: it alone writes the gradebook, the autograded notebooks and
the report, after every submission, exactly as with the local pool (:mod:`autograder.runner`), so
an interrupted run resumes the same way. Each Dask task grades one submission. Its inputs travel
as data: the assignment's source folder, its release notebook and the kernel's course package
(once per run, as a task the others depend on), and the submission with its grading key.
Workers therefore need the same code (checkout and virtual environment) and bubblewrap, but
neither the course workspace nor the instructor's private overlay on a shared filesystem.

On the worker the task runs the trusted pipeline (:func:`autograder.pipeline.grade_submission`) in
a child process of its own (``python -m autograder.cluster DIR``), which starts the student's
sandboxed kernel as a local grading worker does, dies with the Dask worker, and is killed at the
submission's deadline. The task returns plain data (:class:`Graded`). Tasks are impure; a task
whose worker is lost is rescheduled by the scheduler (up to its ``allowed-failures``), one that
raises is retried (``RETRIES``); a submission whose task still fails is recorded ``crashed`` with
the reason.
"""
from __future__ import annotations

import ctypes
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from .results import Status, SubmissionResult
from .sandbox import Limits, ProcessGroup, owned_name, pids_hierarchy, probe, remove_stale
from .stages.context import Job

#: Further tries of a task that raised (a worker lost while running it is rescheduled anyway).
RETRIES = 2
#: The pieces of one grading run a worker writes into its private directory.
_SOURCE, _RELEASE, _PACKAGE, _SUBMITTED = "source", "release", "course-package", "submitted"


@dataclass(frozen=True)
class AssignmentFiles:
    """What every submission of one assignment needs, shipped once to each worker."""

    name: str
    source: dict[str, bytes]  # the files of source/<name>/ by relative path (notebook, data files)
    release: bytes  # release/<name>/<name>.ipynb
    course_package: dict[str, bytes]  # the kernel's `solutions` (withheld.build) by relative path; {} if none


@dataclass(frozen=True)
class Submission:
    """One submission to grade: plain data, the coordinator's :class:`~autograder.stages.context.Job`
    without its paths."""

    student: str
    notebook: bytes | None  # the collected notebook; None when none was collected
    timestamp: str | None  # timestamp.txt of the collection
    key: str  # seeds the checks' cases (autograder.checks.grade_as): never shown to the kernel
    limits: Limits
    sandboxed: bool = True


@dataclass(frozen=True)
class Graded:
    """What a task sends back: the result as JSON and the autograded notebook's text."""

    result: dict
    autograded: str | None


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        if not path.resolve().is_relative_to(root.resolve()):
            raise ValueError(f"{rel!r} is outside the assignment's folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _read_tree(root: Path) -> dict[str, bytes]:
    skip = {".ipynb_checkpoints", "__pycache__"}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not skip & set(p.relative_to(root).parts)}


def hard_deadline(limits: Limits) -> int:
    """Seconds one submission may take: its notebook limit plus kernel start-ups and the checks."""
    return (limits.notebook_timeout or 3600) * 2 + 120


def _failed(student: str, assignment: str, status: Status, reason: str) -> dict:
    result = SubmissionResult(student, assignment)
    result.fail(status, reason)
    return result.to_json()


def grade_remote(files: AssignmentFiles, sub: Submission) -> Graded:
    """The Dask task (runs on a worker): grade ``sub`` in a child process, return plain data."""
    hierarchy = pids_hierarchy() if sub.limits.max_processes else None
    remove_stale(hierarchy)  # what a worker SIGKILLed mid-task left on this machine
    root = Path(tempfile.mkdtemp(prefix=owned_name(f"{files.name}-{sub.student}")))
    group = None
    try:
        _write_tree(root / _SOURCE / files.name, files.source)
        _write_tree(root / _RELEASE / files.name, {f"{files.name}.ipynb": files.release})
        _write_tree(root / _PACKAGE, files.course_package)
        notebook = root / _SUBMITTED / f"{files.name}.ipynb"
        notebook.parent.mkdir()
        if sub.notebook is not None:
            notebook.write_bytes(sub.notebook)
        if sub.timestamp is not None:
            (notebook.parent / "timestamp.txt").write_text(sub.timestamp)
        cgroup = ""
        if hierarchy is not None:
            try:
                group = ProcessGroup.create(hierarchy, root.name, sub.limits.max_processes)
                cgroup = str(group.path)
            except OSError:
                pass  # unlimited processes for this one; the report's sandbox line says so
        package = root / _PACKAGE / "solutions"
        job = Job(files.name, sub.student, notebook, root / _SOURCE, root / _RELEASE, root / "work",
                  sub.limits, sandboxed=sub.sandboxed, cgroup=cgroup,
                  course_package=package if files.course_package else None)
        job.workdir.mkdir()
        (root / "job.pickle").write_bytes(pickle.dumps((job, sub.key)))
        return _run_child(root, files.name, sub)
    finally:
        if group is not None:  # whatever the kernel left running ends here
            group.kill_and_remove()
        shutil.rmtree(root, ignore_errors=True)


def _run_child(root: Path, assignment: str, sub: Submission) -> Graded:
    """Run ``python -m autograder.cluster ROOT`` until it is done or past the deadline."""
    limit = hard_deadline(sub.limits)
    child = subprocess.Popen([sys.executable, "-m", "autograder.cluster", str(root), str(os.getpid())],
                             cwd=Path(__file__).resolve().parents[1], start_new_session=True,
                             stdin=subprocess.DEVNULL)
    try:
        code = child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return Graded(_failed(sub.student, assignment, Status.TIMEOUT,
                              f"stopped after {limit} s (notebook time limit)"), None)
    reply = root / "reply.json"
    if code != 0 or not reply.is_file():
        return Graded(_failed(sub.student, assignment, Status.CRASHED,
                              f"the grading process died (exit code {code})"), None)
    data = json.loads(reply.read_text())
    autograded = Path(data["autograded"]).read_text() if data["autograded"] else None
    return Graded(data["result"], autograded)


def _child(root: Path, parent: int) -> None:
    """The grading process of one task: the same steps as a local pool worker."""
    from . import checks
    from .pipeline import grade_submission

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive the Dask worker
    if os.getppid() != parent:
        sys.exit("the Dask worker is gone")
    job, key = pickle.loads((root / "job.pickle").read_bytes())
    checks.grade_as(key)
    result, autograded = grade_submission(job)
    (root / "reply.json").write_text(json.dumps({"result": result.to_json(), "autograded": autograded}))


def assignment_files(source: Path, release: Path, package: Path | None) -> AssignmentFiles:
    """Read what the workers need of one assignment (``source``: its folder in the sources)."""
    return AssignmentFiles(source.name, _read_tree(source), (release / f"{source.name}.ipynb").read_bytes(),
                           {f"solutions/{k}": v for k, v in _read_tree(package).items()} if package else {})


def _received(student: str, assignment: str, graded) -> tuple[SubmissionResult, str | None]:
    """A task's reply as a typed result; anything malformed marks the submission crashed."""
    try:
        result = SubmissionResult.from_json(graded.result)
        if (result.student, result.assignment) != (student, assignment):
            raise ValueError("result for another submission")
        return result, graded.autograded
    except Exception as exc:
        return SubmissionResult.from_json(_failed(student, assignment, Status.CRASHED,
                                                  f"the grading task sent back an unreadable result ({exc})")), None


def check_workers(client, sandbox: bool) -> None:
    """Refuse a cluster without workers, or with a worker that cannot set up the kernel sandbox."""
    from .runner import GradingError
    from .sandbox import INSTALL_HINT

    if not client.scheduler_info().get("workers"):
        raise GradingError(f"the Dask scheduler at {client.scheduler.address} has no workers: start some "
                           "with `dask worker ADDRESS --nthreads 1` (see the instructor guide)")
    if sandbox:
        broken = {worker: why for worker, why in client.run(probe).items() if why}
        if broken:
            lines = "; ".join(f"{w}: {why}" for w, why in sorted(broken.items()))
            raise GradingError(f"the kernel sandbox cannot be set up on Dask workers ({lines}). "
                               f"To fix it, {INSTALL_HINT}.")


def _files(files: AssignmentFiles) -> AssignmentFiles:
    return files


def submit(client, files: AssignmentFiles, students: dict[str, Submission]):
    """One impure, retried task per submission; returns (the files' future, {future: student}).

    The files are a task of their own (held in the scheduler's graph once, not per submission),
    not scattered data: a task can be computed again when the worker that held its result is lost.
    Keep the returned future until the run is done.
    """
    shipped = client.submit(_files, files, pure=False, key=f"files-{files.name}-{uuid.uuid4().hex[:8]}")
    return shipped, {client.submit(grade_remote, shipped, sub, pure=False, retries=RETRIES,
                                   key=f"grade-{files.name}-{student}-{uuid.uuid4().hex[:8]}"): student
                     for student, sub in students.items()}


def outcome(future, student: str, assignment: str) -> tuple[SubmissionResult, str | None]:
    """The finished task's result; a task that failed for good is the submission crashed, with why."""
    from distributed import KilledWorker

    try:
        return _received(student, assignment, future.result())
    except KilledWorker as exc:
        reason = f"the Dask workers running it were lost, too many times ({exc})"
    except Exception as exc:
        reason = f"the grading task failed on the cluster ({type(exc).__name__}: {exc})"
    return SubmissionResult.from_json(_failed(student, assignment, Status.CRASHED, reason)), None


def grade(course, spec, todo: list[str], report: dict[str, SubmissionResult], limits: Limits,
          scheduler: str, progress=None, *, sandbox: bool = True) -> dict[str, SubmissionResult]:
    """Grade the students ``todo`` of ``spec`` (an :class:`~autograder.assignment.Assignment`) on the
    cluster at ``scheduler``, recording each result here as it comes in; return {student: result}."""
    from distributed import Client, as_completed

    from . import withheld
    from .course import REPO
    from .runner import GradingError
    from .stages.record import record

    name = spec.name
    secret = course.secret
    students = {}
    for student in todo:
        folder = course.submitted(student, name)
        notebook, stamp = folder / f"{name}.ipynb", folder / "timestamp.txt"
        students[student] = Submission(student, notebook.read_bytes() if notebook.is_file() else None,
                                       stamp.read_text() if stamp.is_file() else None,
                                       f"{secret}/{student}/{name}", limits, sandbox)
    results: dict[str, SubmissionResult] = {}
    with tempfile.TemporaryDirectory(prefix=owned_name(name)) as tmp:
        package = (withheld.build(REPO / withheld.PACKAGE, spec.course_imports, spec.student_functions,
                                  Path(tmp) / "course-package") if spec.course_imports else None)
        files = assignment_files(course.source_of(name) / name, course.release_of(name) / name, package)
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise GradingError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            check_workers(client, sandbox)
            _held, futures = submit(client, files, students)
            for future in as_completed(futures):
                student = futures[future]
                result, autograded = outcome(future, student, name)
                future.release()
                path = None
                if autograded is not None:
                    path = Path(tmp) / f"{student}.ipynb"
                    path.write_text(autograded)
                if not sandbox:
                    result.notes.append("graded without the sandbox (--no-sandbox)")
                record(course, result, path)
                results[student] = report[student] = result
                course.save_report(name, report)
                if progress:
                    progress(result, len(results), len(todo))
    return results


if __name__ == "__main__":
    _child(Path(sys.argv[1]), int(sys.argv[2]))
