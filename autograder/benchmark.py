"""Time the grader: ``python -m autograder.benchmark [--copies N] [--assignment ID]``.

Grades N copies of one NumPy assignment's solution three ways in one run, each in a fresh course
workspace: our pool with ``--jobs 1`` and ``--jobs 2``, and plain ``nbgrader autograde`` (one
process, one kernel per notebook, no sandbox). Prints wall seconds per notebook, CPU seconds per
notebook (grader, workers and kernels together: what the machine must supply, whatever the load)
and the speed-up over plain nbgrader.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (workers, kernels)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--copies", type=int, default=8)
    p.add_argument("--assignment", default="02-conv1d")
    p.add_argument("--source", default=None,
                   help="sources folder (default: exercises/source, or the test fixture)")
    args = p.parse_args(argv)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    source = Path(args.source) if args.source else REPO / "exercises" / "source"
    if not (source / args.assignment).exists():  # e.g. the tests' fixture: --assignment fx-numpy
        source = REPO / "tests" / "fixtures" / "source"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for jobs in (1, 2):
            course = _course(tmp, f"jobs{jobs}", source, args.assignment, args.copies)
            start, cpu = time.perf_counter(), _cpu()
            results = grade(course, args.assignment, jobs=jobs)
            seconds = time.perf_counter() - start
            assert all(r.status.value == "graded" for r in results.values()), results
            rows.append((f"autograder grade --jobs {jobs}", seconds, _cpu() - cpu))
        course = _course(tmp, "plain", source, args.assignment, args.copies)
        start, cpu = time.perf_counter(), _cpu()
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", args.assignment,
                        "--log-level=ERROR"], cwd=course.root, check=True)
        rows.append(("nbgrader autograde (plain)", time.perf_counter() - start, _cpu() - cpu))
    base = rows[-1][1]
    load = os.getloadavg()[0]
    print(f"\n{args.copies} copies of {args.assignment}, {os.cpu_count()} cores, "
          f"load average {load:.1f} at the end (wall times grow with other users' load)")
    print(f"{'method':30s} {'wall s':>7s} {'wall s/nb':>10s} {'CPU s/nb':>9s} {'speed-up vs plain':>18s}")
    for name, seconds, cpu in rows:
        print(f"{name:30s} {seconds:7.1f} {seconds / args.copies:10.2f} {cpu / args.copies:9.2f} "
              f"{base / seconds:17.2f}x")


if __name__ == "__main__":
    main()
