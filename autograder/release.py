"""``release``: nbgrader generate_assignment from exercises/source into exercises/release."""

from __future__ import annotations

import shutil

from .course import Course


class ReleaseError(RuntimeError):
    pass


def release(course: Course, assignment_ids: list[str] | None = None, log=print) -> list[str]:
    """Generate the student version of each assignment (all when ``assignment_ids`` is empty).

    Also records the assignment (cells, points, checksums of locked cells, hidden tests) in the
    gradebook, which ``grade`` needs. Returns the ids released. An assignment that nbgrader
    rejects does not stop the others; all failures are raised together at the end.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.utils import capture_log

    ids = assignment_ids or course.assignments()
    unknown = sorted(set(ids) - set(course.assignments()))
    if unknown:
        raise ReleaseError(f"no such assignment in {course.source_dir}: {', '.join(unknown)}")
    failed = []
    for assignment_id in ids:
        # Files removed from the source must disappear from the release too.
        shutil.rmtree(course.release_dir / assignment_id, ignore_errors=True)
        app = GenerateAssignment(coursedir=course.coursedir(assignment_id=assignment_id),
                                 config=course.config)
        app.force = True
        app.create_assignment = True
        result = capture_log(app)
        if not result["success"]:
            # nbgrader logs the cause first, then a traceback: the first line is what to fix.
            errors = [ln for ln in result.get("log", "").splitlines() if ln.startswith("[ERROR]")]
            failed.append(f"{assignment_id}: {errors[0] if errors else result.get('error', '')}")
            continue
        log(f"released {assignment_id} -> {course.release_dir / assignment_id}")
    if failed:
        raise ReleaseError("generate_assignment failed for:\n  " + "\n  ".join(failed))
    return list(ids)
