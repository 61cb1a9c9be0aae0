"""Stage 1: read the submission, restore the instructor's cells, reset the kernel, scan for shortcuts."""
from __future__ import annotations

import copy

import nbformat

from .. import checks, scan
from ..repair import InvalidSubmission, load_submission
from ..results import CellResult, Status
from .context import Context


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def merge_with_release(submitted, release) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to run: the student's cells in their order, every locked cell as released.

    Locked cells (instructions, set-up, tests) come from the release whatever the submission did
    to them; a deleted one is put back where the release has it. Outputs are dropped.
    """
    notes = []
    by_id = {}
    for index, cell in enumerate(submitted.cells):
        if _grade_id(cell):
            by_id[_grade_id(cell)] = index
    cells, emitted = [], 0
    for released in release.cells:
        gid = _grade_id(released)
        if gid is None:
            continue
        meta = released.metadata["nbgrader"]
        if gid in by_id and by_id[gid] >= emitted:
            cells += submitted.cells[emitted:by_id[gid]]
            emitted = by_id[gid] + 1
            mine = submitted.cells[by_id[gid]]
            if meta.get("locked") or mine.cell_type != released.cell_type:
                if mine.source != released.source or mine.cell_type != released.cell_type:
                    notes.append(f"cell {gid!r} is read-only; the released version was used")
                mine = copy.deepcopy(released)
            cells.append(mine)
        else:
            notes.append(f"cell {gid!r} was missing; the released version was put back")
            cells.append(copy.deepcopy(released))
    cells += submitted.cells[emitted:]
    nb = copy.deepcopy(release)
    nb.cells = [copy.deepcopy(c) for c in cells]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb, notes


def _student_sources(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"
            and not c.metadata.get("nbgrader", {}).get("locked")]


def prepare(ctx: Context) -> None:
    job, result, assignment = ctx.job, ctx.result, ctx.assignment
    result.cells = {c.grade_id: CellResult(c.grade_id, c.points) for c in assignment.cells}
    try:
        submitted, repairs = load_submission(job.notebook)
    except InvalidSubmission as exc:
        result.fail(Status.INVALID if job.notebook.exists() else Status.MISSING, str(exc))
        ctx.done = True
        return
    result.notes += repairs
    kernel = submitted.metadata.get("kernelspec", {}).get("name")
    if kernel and kernel != assignment.kernel_name:
        result.notes.append(f"the notebook asked for the kernel {kernel!r}; it was run with the "
                            f"assignment's kernel {assignment.kernel_name!r}")
    ctx.notebook, notes = merge_with_release(submitted, assignment.release)
    result.notes += notes
    stamp = job.notebook.parent / "timestamp.txt"  # written by `nbgrader collect` and our `collect`
    if stamp.is_file():
        result.timestamp = stamp.read_text().strip()[:40] or None
    sources = _student_sources(ctx.notebook)
    targets = {}
    for cell in assignment.cells:
        for name in cell.student_names:
            targets.setdefault(name, scan.NUMPY_ONLY)
        for check_name, function in cell.checks:
            targets[function] = checks.policy_for(check_name)
    for function, policy in targets.items():
        found = scan.scan(sources, function, policy, assignment.course_imports)
        if found:
            ctx.findings[function] = [f"{function} {f}" for f in found]
            result.findings += ctx.findings[function]
