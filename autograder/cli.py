"""Instructor command line: ``python -m autograder {release,collect,grade,feedback,export,report,gradescope-bundle,check}``."""

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

    return Course(args.course, source=args.source, release=args.release, db_url=args.db_url, private=args.private)


def cmd_release(args) -> int:
    from .release import release

    release(_course(args), args.ids)
    return 0


def cmd_collect(args) -> int:
    from .lms import collect

    from .late import as_utc

    course = _course(args)
    result = collect(course, args.id, args.path, args.pattern)
    print(f"collected {len(result.students)} submissions of {args.id}")
    for name in result.unmatched:
        print(f"  NOT MATCHED (no student id in the name): {name}")
    for line in result.skipped:
        print(f"  skipped {line}")
    for line in result.notes:
        print(f"  note: {line}")
    policy = course.late_policy(args.id)
    for student, record in sorted(result.records.items()):
        days = policy.days_late(as_utc(record.timestamp) if record.timestamp else None, record.late_marker)
        if days:
            print(f"  late: {student}: {days} day(s) (time from {record.time_source.value})")
    return 0


def cmd_grade(args) -> int:
    from .runner import grade, progress_bar
    from .sandbox import describe

    course = _course(args)
    limits = course.limits(args.id)
    for line in describe(limits, sandboxed=not args.no_sandbox):
        print(f"sandbox: {line}")
    results = grade(course, args.id, jobs=args.jobs, students=args.student, limits=limits,
                    progress=progress_bar(), sandbox=not args.no_sandbox, force=args.force,
                    scheduler=args.scheduler)
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
    from .export import export_canvas, export_csv, export_moodle

    course = _course(args)
    with course.gradebook() as gb:
        ids = args.ids or sorted(a.name for a in gb.assignments)
    export = course.root / "export"
    if args.format == "csv":
        print(f"wrote {export_csv(course, ids, Path(args.output or export / 'grades.csv'))}")
        return 0
    if args.format == "canvas":
        columns = dict(c.split("=", 1) for c in args.canvas_column or [])
        written = [export_canvas(course, ids, Path(args.output or export / "canvas.csv"), columns)]
    else:  # Moodle's worksheet is per assignment: its participant ids are
        if args.output and len(ids) > 1:
            raise ValueError("--format moodle writes one worksheet per assignment: name one id with --output")
        written = [export_moodle(course, a, Path(args.output or export / f"moodle-{a}.csv")) for a in ids]
    for w in written:
        print(f"wrote {w.path} ({w.rows} students)")
        if w.left_out:
            print(f"  left out (not collected from {args.format}): {', '.join(w.left_out)}")
    return 0


def cmd_gradescope_bundle(args) -> int:
    from .gradescope import build_bundle

    course = _course(args)
    out = build_bundle(course, args.id, Path(args.output or course.root / "export" / f"gradescope-{args.id}.zip"),
                       sandbox=not args.no_sandbox)
    print(f"wrote {out}: upload it as the assignment's autograder (Ubuntu 24.04 base image)")
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
    p.add_argument("--private", default=default(None), metavar="DIR",
                   help="private overlay of the sources (your own hidden tests and variants; "
                        "default c.Autograder.private_source)")
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
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on the workers of this Dask scheduler (tcp://host:8786) instead of a local pool")
    s.set_defaults(func=cmd_grade)

    s = sub.add_parser("feedback", parents=[common], help="HTML feedback for every graded student")
    s.add_argument("id")
    s.set_defaults(func=cmd_feedback)

    s = sub.add_parser("export", parents=[common],
                       help="grades.csv (per-test columns), a Canvas grade import or a Moodle grading worksheet")
    s.add_argument("ids", nargs="*")
    s.add_argument("--format", choices=["csv", "canvas", "moodle"], default="csv")
    s.add_argument("--output", help="the file to write")
    s.add_argument("--canvas-column", action="append", metavar="ID=TITLE",
                   help='Canvas column of an assignment, e.g. "03-conv2d=Conv2D (123456)" (repeatable)')
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

    s = sub.add_parser("gradescope-bundle", parents=[common], help="a Gradescope autograder zip for one assignment")
    s.add_argument("id")
    s.add_argument("--output", help="the zip to write")
    s.add_argument("--no-sandbox", action="store_true",
                   help="grade on Gradescope without bubblewrap (student code can then reach the grader)")
    s.set_defaults(func=cmd_gradescope_bundle)

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
