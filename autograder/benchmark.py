"""Time the grader: ``python -m autograder.benchmark [--copies N] [--assignment ID] [--repeats R]``.

Grades N copies of one NumPy assignment's solution three ways, each in a fresh course workspace
and its own process: our pool with ``--jobs 1`` and ``--jobs 2``, and plain ``nbgrader autograde``
(one process, one kernel per notebook, no sandbox). The three sides take turns, R times, so each
repeat compares them under the same load from other users; the summary is the median of the
repeats. Prints, per notebook, wall seconds and CPU seconds (every process of the side: grader,
workers, sandboxes and kernels, what the machine must supply whatever the load), the 1-minute load
average before each run, and the speed-up in wall time over plain nbgrader of the same repeat.

CPU is read from a cpuacct cgroup per run where this user may create one (it counts processes
that were killed, which ``getrusage(RUSAGE_CHILDREN)`` misses: a sandboxed kernel is SIGKILLed,
never reaped by the grader); elsewhere from ``getrusage``, and the table says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .course import REPO, Course
from .release import release

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


@dataclasses.dataclass
class Run:
    """One side graded once: seconds of wall and CPU for all its notebooks."""

    method: str
    repeat: int
    wall: float
    cpu: float
    load: float  # 1-minute load average just before the run


def _course(root: Path, source: Path, assignment: str, copies: int) -> Course:
    course = Course(root, source=source, release=root.with_name(root.name + "-release"))
    release(course, [assignment], log=lambda *_: None)
    notebook = source / assignment / f"{assignment}.ipynb"
    for i in range(copies):
        dest = course.submitted(f"s{i:03d}", assignment)
        dest.mkdir(parents=True)
        shutil.copyfile(notebook, dest / f"{assignment}.ipynb")
    return course


class _CpuMeter:
    """CPU seconds used by one child process and everything it starts."""

    def __init__(self, name: str):
        self.group: Path | None = CPUACCT / name
        try:
            self.group.mkdir()
        except OSError:
            self.group = None
        self.start = self._kids()

    @staticmethod
    def _kids() -> float:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return kids.ru_utime + kids.ru_stime

    def join(self) -> None:
        """Run in the child before it executes the side's command."""
        if self.group:
            (self.group / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        """Once the side's last processes (a fork server, killed kernels) have left the group."""
        if not self.group:
            return self._kids() - self.start
        for _ in range(100):
            if not (self.group / "cgroup.procs").read_text().strip():
                break
            time.sleep(0.1)
        return int((self.group / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        if self.group:
            self.group.rmdir()


def _run_side(method: str, argv: list[str], cwd: Path, repeat: int) -> Run:
    meter = _CpuMeter(f"autograder-benchmark-{os.getpid()}-{repeat}-{len(method)}")
    try:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        # this checkout's packages, whatever is installed
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        subprocess.run(argv, cwd=cwd, env=env, check=True, preexec_fn=meter.join)
        wall = time.perf_counter() - start
        return Run(method, repeat, wall, meter.seconds(), load)
    finally:
        meter.close()


def _grade_here(root: Path, source: Path, assignment: str, jobs: int) -> None:
    """The ``--jobs`` side, in its own process (``--side``): grade a prepared workspace."""
    from .runner import grade

    course = Course(root, source=source, release=root.with_name(root.name + "-release"))
    results = grade(course, assignment, jobs=jobs)
    bad = {s: r.reason for s, r in results.items() if r.status.value != "graded"}
    if bad or not results:
        sys.exit(f"not all graded: {bad or 'nothing'}")


def _median(runs: list[Run], method: str, attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs if r.method == method)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--copies", type=int, default=8)
    p.add_argument("--assignment", default="02-conv1d")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--source", default=None,
                   help="sources folder (default: exercises/source, or the test fixture)")
    p.add_argument("--side", nargs=2, metavar=("ROOT", "JOBS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    source = Path(args.source) if args.source else REPO / "exercises" / "source"
    if not (source / args.assignment).exists():  # e.g. the tests' fixture: --assignment fx-numpy
        source = REPO / "tests" / "fixtures" / "source"
    if args.side:
        return _grade_here(Path(args.side[0]), source, args.assignment, int(args.side[1]))
    if args.copies < 1 or args.repeats < 1:
        p.error("--copies and --repeats must be at least 1")
    plain = "nbgrader autograde (plain)"
    sides = {f"autograder grade --jobs {j}": j for j in (1, 2)} | {plain: 0}
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(1, args.repeats + 1):
            for method, jobs in sides.items():
                root = Path(tmp) / f"r{repeat}-j{jobs}"
                course = _course(root, source, args.assignment, args.copies)
                cmd = ([sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--log-level=ERROR"]
                       if method == plain else
                       [sys.executable, "-m", "autograder.benchmark", "--assignment", args.assignment,
                        "--source", str(source), "--side", str(course.root), str(jobs)])
                runs.append(_run_side(method, cmd, course.root, repeat))
                r = runs[-1]
                print(f"run {repeat}: {method:30s} wall {r.wall / args.copies:5.2f} s/nb  CPU "
                      f"{r.cpu / args.copies:5.2f} s/nb  load {r.load:.1f}", file=sys.stderr, flush=True)
                shutil.rmtree(root, ignore_errors=True)
    n = args.copies
    print(f"\n{n} copies of {args.assignment}, {os.cpu_count()} cores, {args.repeats} repeat(s); CPU of "
          f"every process of a side from {_source()}")
    print(f"{'repeat':>6s}  {'method':30s} {'wall s/nb':>9s} {'CPU s/nb':>9s} {'load':>5s}")
    for r in runs:
        print(f"{r.repeat:6d}  {r.method:30s} {r.wall / n:9.2f} {r.cpu / n:9.2f} {r.load:5.1f}")
    print(f"\nmedian of {args.repeats}          {'wall s/nb':>9s} {'CPU s/nb':>9s} {'speed-up vs plain (wall)':>25s}")
    for method in sides:
        ratios = [p.wall / r.wall for r, p in zip((r for r in runs if r.method == method),
                                                   (r for r in runs if r.method == plain))]
        print(f"{method:30s} {_median(runs, method, 'wall') / n:9.2f} {_median(runs, method, 'cpu') / n:9.2f} "
              f"{statistics.median(ratios):24.2f}x")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} (wall times grow with other users' load)")


def _source() -> str:
    probe = CPUACCT / f"autograder-benchmark-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
        return "cpuacct cgroups"
    except OSError:
        return "getrusage(RUSAGE_CHILDREN) (misses kernels killed before being reaped: ours undercount)"


if __name__ == "__main__":
    main()
