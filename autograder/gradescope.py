"""A Gradescope autograder bundle: ``python -m autograder gradescope-bundle ID`` writes the zip.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once as root to build
the image (choose an Ubuntu 24.04 base image: the pinned packages need Python 3.11 or newer), then
for every submission runs ``run_autograder``, which must leave ``/autograder/results/results.json``
("Gradescope Autograder Specifications": ``score``, ``output``, and ``tests`` with ``name``,
``score``, ``max_score``, ``status``, ``output``). The student's files are in
``/autograder/submission``; ``/autograder/submission_metadata.json`` says who and when.

``run_autograder`` runs this module, which grades the notebook exactly as ``grade`` does: a
throw-away course workspace, the bundled assignment released into it, the sandboxed kernel, the
trusted checks, the course's limits and late policy. ``AUTOGRADER_ROOT`` (default ``/autograder``)
and ``AUTOGRADER_PYTHON`` move it elsewhere, e.g. for a test run on this machine.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from .course import REPO, Course

ROOT_ENV = "AUTOGRADER_ROOT"
MANIFEST = "bundle.json"
#: requirements.txt lines Gradescope does not need (the book and the test suite)
NOT_FOR_GRADING = {"jupyter-book", "sphinx-exercise", "sphinxcontrib-bibtex", "sphinx-mathjax-offline",
                   "jupytext", "ipywidgets", "pytest", "pytest-xdist", "pytest-timeout", "hypothesis", "selenium"}

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
# bubblewrap: the kernel sandbox every submission's code runs in (autograder/sandbox.py)
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --no-cache-dir -r /autograder/source/requirements.txt
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes $ROOT/results/results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source" && exec "$PYTHON" -m autograder.gradescope
"""


def _grading_requirements() -> str:
    keep = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name = re.split(r"[=<>~!\[ ;#]", line.strip(), maxsplit=1)[0].lower()
        if name and name not in NOT_FOR_GRADING:
            keep.append(line)
    return "\n".join(keep) + "\n"


def _add_tree(zf: zipfile.ZipFile, folder: Path, arcname: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            zf.write(path, f"{arcname}/{path.relative_to(folder).as_posix()}")


def _executable(zf: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16  # Gradescope runs them directly
    zf.writestr(info, text)


def build_bundle(course: Course, assignment: str, out: Path, *, sandbox: bool = True) -> Path:
    """Write the autograder zip for ``assignment``; ``sandbox=False`` grades without bubblewrap
    (then the student's code can read the bundle and write results.json itself)."""
    from .assignment import load

    spec = load(course.source_of(assignment), course.release_of(assignment), assignment)  # refuses an unreleased one
    policy = course.late_policy(assignment)
    manifest = {"assignment": assignment, "sandboxed": sandbox,
                "limits": dataclasses.asdict(course.limits(assignment)),
                "due": policy.due.isoformat() if policy.due else None,
                "late_penalty_per_day": policy.per_day, "late_max_days": policy.max_days}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        _executable(zf, "setup.sh", SETUP_SH)
        _executable(zf, "run_autograder", RUN_AUTOGRADER)
        zf.writestr("requirements.txt", _grading_requirements())
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
        _add_tree(zf, REPO / "autograder", "autograder")
        _add_tree(zf, course.source_of(assignment) / assignment, f"assignments/{assignment}")
        _add_tree(zf, REPO / "solutions", "solutions")  # the checks' reference (never the kernel's)
    return out


def _config_lines(manifest: dict) -> str:
    options = dict(manifest["limits"])
    if manifest["due"]:
        options.update(due=manifest["due"], late_penalty_per_day=manifest["late_penalty_per_day"],
                       late_max_days=manifest["late_max_days"])
    return "".join(f"c.Autograder.{k} = {v!r}\n" for k, v in options.items())


def _student(metadata: dict) -> str:
    users = metadata.get("users") or [{}]
    who = str(users[0].get("email") or users[0].get("id") or "student")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", who).strip(".-") or "student"


def _notebook(submission: Path, assignment: str) -> Path | None:
    """The submitted notebook: the one named like the assignment, else the only (first) one."""
    found = sorted(p for p in submission.rglob("*.ipynb")
                   if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    return next((p for p in found if p.name == f"{assignment}.ipynb"), found[0] if found else None)


def results_json(result) -> dict:
    """Gradescope's results.json for one typed :class:`~autograder.results.SubmissionResult`."""
    from .results import Verdict

    tests = [{"name": c.grade_id, "score": c.score, "max_score": c.max_score,
              "status": "passed" if c.verdict is Verdict.PASSED else "failed",
              "output": c.message or c.verdict.value} for c in result.cells.values()]
    lines = [f"{result.status.value}: {result.reason}" if result.reason else result.status.value]
    if result.findings:
        lines.append("points held for the instructor's review: " + "; ".join(result.findings))
    if result.late:
        lines.append(f"{result.late.reason}: {result.score:g} - {result.late.points:g}")
    return {"score": result.final_score, "output": "\n".join(lines), "tests": tests,
            "execution_time": result.seconds}


def run(root: Path) -> dict:
    """Grade ``root``/submission with the bundle in ``root``/source; write and return results.json."""
    from .release import ReleaseError, release
    from .runner import GradingError, grade

    source = root / "source"
    manifest = json.loads((source / MANIFEST).read_text())
    assignment = manifest["assignment"]
    metadata_file = root / "submission_metadata.json"
    metadata = json.loads(metadata_file.read_text()) if metadata_file.is_file() else {}
    try:
        notebook = _notebook(root / "submission", assignment)
        if notebook is None:
            raise FileNotFoundError(f"no notebook was submitted: upload {assignment}.ipynb")
        with tempfile.TemporaryDirectory() as tmp:
            workspace = Path(tmp) / "course"
            Course(workspace, source=source / "assignments", release=Path(tmp) / "release")
            with (workspace / "nbgrader_config.py").open("a") as fh:
                fh.write(_config_lines(manifest))
            course = Course(workspace)
            release(course, [assignment])
            student = _student(metadata)
            dest = course.submitted(student, assignment)
            dest.mkdir(parents=True)
            shutil.copyfile(notebook, dest / f"{assignment}.ipynb")
            if metadata.get("created_at"):
                (dest / "timestamp.txt").write_text(metadata["created_at"])
            result = grade(course, assignment, jobs=1, sandbox=manifest["sandboxed"])[student]
            data = results_json(result)
    except (GradingError, ReleaseError, FileNotFoundError) as exc:
        data = {"score": 0.0, "output": f"The autograder could not grade this submission: {exc}", "tests": []}
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(data, indent=1))
    return data


def main() -> int:
    # kernels must be this interpreter's, as in `python -m autograder`
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    run(Path(os.environ.get(ROOT_ENV, "/autograder")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
