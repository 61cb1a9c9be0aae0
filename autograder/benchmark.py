"""Time the grader: ``python -m autograder.benchmark [--copies N] [--assignment ID]``.

Grades N copies of one NumPy assignment's solution three ways in one run, each in a fresh course
workspace: our pool with ``--jobs 1`` and ``--jobs 2``, and plain ``nbgrader autograde`` (one
process, one kernel per notebook, no sandbox). Prints seconds per notebook and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .course import REPO, Course
from .release import release
from .runner import grade


def _course(tmp: Path, name: str, source: Path, assignment: str, copies: int) -> Course:
    course = Course(tmp / name, source=source, release=tmp / f"{name}-release")
    release(course, [assignment], log=lambda *_: None)
    notebook = source / assignment / f"{assignment}.ipynb"
    for i in range(copies):
        dest = course.submitted(f"s{i:03d}", assignment)
        dest.mkdir(parents=True)
        shutil.copyfile(notebook, dest / f"{assignment}.ipynb")
    return course


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--copies", type=int, default=8)
    p.add_argument("--assignment", default="fx-numpy")
    p.add_argument("--source", default=None,
                   help="sources folder (default: exercises/source, or the test fixture)")
    args = p.parse_args(argv)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    source = Path(args.source) if args.source else (
        REPO / "exercises" / "source" if (REPO / "exercises" / "source" / args.assignment).exists()
        else REPO / "tests" / "fixtures" / "source")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for jobs in (1, 2):
            course = _course(tmp, f"jobs{jobs}", source, args.assignment, args.copies)
            start = time.perf_counter()
            results = grade(course, args.assignment, jobs=jobs)
            seconds = time.perf_counter() - start
            assert all(r["status"] == "graded" for r in results.values()), results
            rows.append((f"autograder grade --jobs {jobs}", seconds))
        course = _course(tmp, "plain", source, args.assignment, args.copies)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", args.assignment,
                        "--log-level=ERROR"], cwd=course.root, check=True)
        rows.append(("nbgrader autograde (plain)", time.perf_counter() - start))
    base = rows[-1][1]
    print(f"\n{args.copies} copies of {args.assignment}, {os.cpu_count()} cores")
    print(f"{'method':32s} {'total s':>8s} {'s/notebook':>11s} {'vs plain':>9s}")
    for name, seconds in rows:
        print(f"{name:32s} {seconds:8.1f} {seconds / args.copies:11.2f} {base / seconds:8.2f}x")


if __name__ == "__main__":
    main()
