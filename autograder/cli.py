"""Instructor command line: ``python -m autograder {release,collect,grade,feedback,export,report,check}``."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from .course import SIMILARITY_THRESHOLD
from .lms import DEFAULT_PATTERN


def _course(args):
    from .course import Course

    return Course(args.course, source=args.source, release=args.release, db_url=args.db_url)


def cmd_release(args) -> int:
    from .release import release

    release(_course(args), args.ids)
    return 0


def cmd_collect(args) -> int:
    from .lms import collect

    result = collect(_course(args), args.id, args.path, args.pattern)
    print(f"collected {len(result.students)} submissions of {args.id}")
    for name in result.unmatched:
        print(f"  NOT MATCHED (no student id in the name): {name}")
    for line in result.skipped:
        print(f"  skipped {line}")
    return 0


def cmd_grade(args) -> int:
    from .runner import grade, progress_bar
    from .sandbox import describe

    course = _course(args)
    limits = course.limits(args.id)
    for line in describe(limits, sandboxed=not args.no_sandbox):
        print(f"sandbox: {line}")
    results = grade(course, args.id, jobs=args.jobs, students=args.student, limits=limits,
                    progress=progress_bar(), sandbox=not args.no_sandbox, force=args.force)
    if not results:
        print(f"nothing to grade: every submission of {args.id} is in the report (--force regrades)")
        return 0
    problems = {s: r for s, r in results.items() if r.reason}
    print(f"graded {len(results)} submissions of {args.id}; {len(problems)} with problems")
    for student, r in sorted(problems.items()):
        print(f"  {student}: {r.status.value}: {r.reason}")
    print(f"report: {course.report_path(args.id)}")
    return 0


def cmd_feedback(args) -> int:
    from .export import feedback

    files = feedback(_course(args), args.id)
    print(f"wrote {len(files)} feedback files under {Path(args.course) / 'feedback'}")
    return 0


def cmd_export(args) -> int:
    from .export import export_csv, export_gradescope

    course = _course(args)
    with course.gradebook() as gb:
        ids = args.ids or sorted(a.name for a in gb.assignments)
    if args.format == "csv":
        out = export_csv(course, ids, Path(args.output or course.root / "export" / "grades.csv"))
        print(f"wrote {out}")
    else:
        written = export_gradescope(course, ids, Path(args.output or course.root / "export" / "gradescope"))
        print(f"wrote {len(written)} results.json files")
    return 0


def cmd_report(args) -> int:
    from .class_report import write_class_report

    html_path, csv_path = write_class_report(_course(args), args.id, similarity=not args.no_similarity,
                                             threshold=args.similarity_threshold)
    print(f"wrote {html_path}")
    print(f"wrote {csv_path}")
    if args.open:
        import webbrowser

        webbrowser.open(html_path.as_uri())
    return 0


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def cmd_check(args) -> int:
    from .student_check import main

    return main(args.notebook, args.timeout)


def _workspace_options(p: argparse.ArgumentParser, default) -> None:
    p.add_argument("--course", default=default("course"), help="course workspace (default ./course)")
    p.add_argument("--source", default=default(None), help="assignment sources (default exercises/source)")
    p.add_argument("--release", default=default(None), help="student versions (default exercises/release)")
    p.add_argument("--db-url", default=default(None),
                   help="gradebook SQLAlchemy URL (default SQLite in the workspace)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    _workspace_options(p, lambda value: value)
    # The same options after the subcommand, as instructors type them (`grade ID --course DIR`);
    # SUPPRESS keeps a value given before the subcommand when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    _workspace_options(common, lambda value: argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("release", parents=[common], help="generate student notebooks (all or the named ones)")
    s.add_argument("ids", nargs="*")
    s.set_defaults(func=cmd_release)

    s = sub.add_parser("collect", parents=[common], help="import an LMS zip or folder of submissions")
    s.add_argument("id")
    s.add_argument("path")
    s.add_argument("--pattern", default=DEFAULT_PATTERN,
                   help="regex on file names with a (?P<student>...) group")
    s.set_defaults(func=cmd_collect)

    s = sub.add_parser("grade", parents=[common], help="autograde the collected submissions in parallel")
    s.add_argument("id")
    s.add_argument("--jobs", type=int, default=None, help="parallel workers (default: cores)")
    s.add_argument("--student", action="append", help="grade only this student (repeatable)")
    s.add_argument("--force", action="store_true", help="regrade students already in the report")
    s.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without bubblewrap isolation (recorded in the report)")
    s.set_defaults(func=cmd_grade)

    s = sub.add_parser("feedback", parents=[common], help="HTML feedback for every graded student")
    s.add_argument("id")
    s.set_defaults(func=cmd_feedback)

    s = sub.add_parser("export", parents=[common], help="grades.csv (per-test columns) or Gradescope results.json")
    s.add_argument("ids", nargs="*")
    s.add_argument("--format", choices=["csv", "gradescope"], default="csv")
    s.add_argument("--output", help="file (csv) or folder (gradescope)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("report", parents=[common],
                       help="class report: scores, pass rates, common mistakes, problems, similar code")
    s.add_argument("id")
    s.add_argument("--similarity-threshold", type=_share, default=None,
                   help="flag pairs sharing this share of a student's code (default: "
                        f"c.Autograder.similarity_threshold in the course config, else {SIMILARITY_THRESHOLD})")
    s.add_argument("--no-similarity", action="store_true", help="skip comparing the solution code")
    s.add_argument("--open", action="store_true", help="open the page in a web browser")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("check", help="students: run the visible tests of a notebook")
    s.add_argument("notebook")
    s.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    s.set_defaults(func=cmd_check)
    return p


def main(argv: list[str] | None = None) -> int:
    # nbgrader shells out to `alembic`, and kernels should be this interpreter's: put the venv first.
    bindir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    # nbgrader's own gradebook code triggers SQLAlchemy "not in session" warnings; they are noise.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # expected failures (missing release, bad pattern) as one line
        from .release import ReleaseError
        from .runner import GradingError

        if isinstance(exc, (ReleaseError, GradingError, ValueError, FileNotFoundError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
