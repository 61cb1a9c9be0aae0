"""``release``: nbgrader generate_assignment from exercises/source into exercises/release."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from .course import Course


class ReleaseError(RuntimeError):
    pass


def _manifest(course: Course, assignment_id: str) -> Path:
    """Where the workspace records the files a release wrote (relative to the release folder)."""
    return course.root / "released" / f"{assignment_id}.json"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _install(generated: Path, dest: Path, previous: set[str], log) -> set[str]:
    """Put the generated files into ``dest``; of the other files there, remove only those an earlier
    release wrote (``previous``): students' and instructors' own files stay. Returns the files written."""
    written = _files(generated)
    for rel in sorted(previous - written):
        stale = dest / rel
        if stale.is_file():
            stale.unlink()
            log(f"  removed {stale} (no longer in the source)")
    for rel in sorted(written):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # nbgrader makes released files read-only
        shutil.move(str(generated / rel), target)
    for rel in sorted(_files(dest) - written - previous):
        log(f"  left {dest / rel} in place (not written by a release)")
    return written


def release(course: Course, assignment_ids: list[str] | None = None, log=print) -> list[str]:
    """Generate the student version of each assignment (all when ``assignment_ids`` is empty).

    Also records the assignment (cells, points, checksums of locked cells, hidden tests) in the
    gradebook, which ``grade`` needs. Returns the ids released. An assignment that nbgrader
    rejects does not stop the others; all failures are raised together at the end.

    nbgrader regenerates into an empty staging folder (its ``--force`` deletes the whole
    destination); only the files it wrote are then moved into ``release_dir/<id>``, replacing the
    files the previous release from this workspace wrote (listed in ``released/<id>.json``).
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.utils import capture_log

    ids = assignment_ids or course.assignments()
    unknown = sorted(set(ids) - set(course.assignments()))
    if unknown:
        raise ReleaseError(f"no such assignment in {course.source_dir}{' or ' + str(course.private_source) if course.private_source else ''}: {', '.join(unknown)}")
    failed = []
    for assignment_id in ids:
        with tempfile.TemporaryDirectory(prefix="release-", dir=course.root) as staging:
            app = GenerateAssignment(coursedir=course.coursedir(
                assignment_id=assignment_id, source_directory=str(course.source_of(assignment_id)),
                release_directory=staging),
                                     config=course.config)
            app.force = True
            app.create_assignment = True
            result = capture_log(app)
            if not result["success"]:
                # nbgrader logs the cause first, then a traceback: the first line is what to fix.
                errors = [ln for ln in result.get("log", "").splitlines() if ln.startswith("[ERROR]")]
                failed.append(f"{assignment_id}: {errors[0] if errors else result.get('error', '')}")
                continue
            dest = course.release_of(assignment_id) / assignment_id
            manifest = _manifest(course, assignment_id)
            previous = set(json.loads(manifest.read_text())) if manifest.exists() else set()
            written = _install(Path(staging) / assignment_id, dest, previous, log)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(sorted(written), indent=1))
        log(f"released {assignment_id} -> {dest}")
    if failed:
        raise ReleaseError("generate_assignment failed for:\n  " + "\n  ".join(failed))
    return list(ids)
