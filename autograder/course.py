"""The instructor's course workspace: an nbgrader course directory plus our own reports.

Layout of ``--course DIR`` (default ``./course``, git-ignored)::

    nbgrader_config.py                 written on first use; edit it (db_url, limits, ...)
    gradebook.db                       nbgrader's SQLite gradebook (unless db_url points elsewhere)
    submitted/<student>/<id>/<id>.ipynb   filled by ``collect``, with timestamp.txt and lms.json
    autograded/<student>/<id>/            filled by ``grade``
    feedback/<student>/<id>/<id>.html     filled by ``feedback``
    reports/<id>.json                  per-student outcome of the last ``grade`` (status, reason)
    reports/<id>-class.html, .csv      the class report written by ``report``
    released/<id>.json                 files the last ``release`` wrote (only these are replaced)
    export/                            grades.csv, Canvas and Moodle grade files, Gradescope bundles

Source and release directories are the repository's ``exercises/source`` and
``exercises/release`` (absolute paths in the config), so ``release`` regenerates the committed
student notebooks.

A private overlay (``c.Autograder.private_source`` or ``--private DIR``: a folder of assignment
folders kept out of the public repository) overrides or adds assignments: an assignment found
there is released from it into ``c.Autograder.private_release`` (default
``<workspace>/private-release``) and graded from it, hidden tests included; nothing of it is
written into the public tree.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .results import SubmissionResult
from .sandbox import Limits

REPO = Path(__file__).resolve().parents[1]
COURSE_ID = "cnn-course"
#: Default of ``c.Autograder.similarity_threshold`` (see :mod:`autograder.similarity`).
SIMILARITY_THRESHOLD = 0.5

CONFIG_TEMPLATE = '''\
# nbgrader configuration of this course workspace, written by `python -m autograder`.
# Plain `nbgrader` commands run in this directory use it too (e.g. `nbgrader formgrader`).
c = get_config()  # noqa: F821

c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.release_directory = {release!r}
# Any SQLAlchemy URL works, e.g. "postgresql://grader@dbhost/cnn_course" for a large class.
c.CourseDirectory.db_url = {db_url!r}

# Students sometimes delete test cells; nbgrader puts them back (with a note) when grading.
c.OverwriteCells.add_missing_cells = True
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}

# Limits of each submission's sandboxed kernel, used by `python -m autograder grade`
# (see autograder/sandbox.py). Points held by the shortcut scan wait in formgrader for review.
c.Autograder.cell_timeout = {cell_timeout}
c.Autograder.notebook_timeout = {notebook_timeout}
c.Autograder.call_timeout = {call_timeout}
c.Autograder.memory_mb = {memory_mb}
c.Autograder.cpu_seconds = {cpu_seconds}
c.Autograder.output_bytes = {output_bytes}
c.Autograder.reply_mb = {reply_mb}
c.Autograder.max_processes = {max_processes}
# Late policy (see autograder/late.py), and the time zone of the LMS's server, whose download
# names and zip entries carry local times without an offset.
# c.Autograder.due = "2026-12-10T23:59:00+00:00"
# c.Autograder.late_penalty_per_day = 0.1
# c.Autograder.late_max_days = 7
# c.Autograder.lms_timezone = "Europe/Berlin"
# Keras assignments import TensorFlow, which needs a larger address space and more time.
c.Autograder.overrides = {{
    "09-keras-mnist": {{"memory_mb": 16384, "cell_timeout": 300, "notebook_timeout": 1200,
                       "cpu_seconds": 1200}},
    "10-keras-cifar10": {{"memory_mb": 16384, "cell_timeout": 300, "notebook_timeout": 1200,
                         "cpu_seconds": 1200}},
}}

# A private overlay of the public exercises/source (your own hidden tests and variants, in a
# folder or repository students never see): an assignment found there replaces the public one;
# its student version is written to private_release, never into the public release folder.
# c.Autograder.private_source = "/path/to/course-private/source"
# c.Autograder.private_release = {private_release!r}

# `python -m autograder report` flags two students (or a student and the course's own code) when
# this share of a student's solution code is found in the other's (0..1, after renaming variables).
c.Autograder.similarity_threshold = {similarity_threshold}
'''


class Course:
    """A course workspace directory and its nbgrader configuration."""

    def __init__(self, root: str | os.PathLike, source: str | os.PathLike | None = None,
                 release: str | os.PathLike | None = None, db_url: str | None = None,
                 private: str | os.PathLike | None = None):
        self.root = Path(root).resolve()
        config_file = self.root / "nbgrader_config.py"
        if not config_file.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            # The kernels of other students run as other uids: keep them out of the workspace.
            os.chmod(self.root, 0o700)
            defaults = Limits()
            config_file.write_text(CONFIG_TEMPLATE.format(
                root=str(self.root), course_id=COURSE_ID,
                source=str(Path(source or REPO / "exercises" / "source").resolve()),
                release=str(Path(release or REPO / "exercises" / "release").resolve()),
                db_url=db_url or f"sqlite:///{self.root / 'gradebook.db'}",
                cell_timeout=defaults.cell_timeout, notebook_timeout=defaults.notebook_timeout,
                call_timeout=defaults.call_timeout, memory_mb=defaults.memory_mb,
                cpu_seconds=defaults.cpu_seconds, output_bytes=defaults.output_bytes,
                reply_mb=defaults.reply_mb, max_processes=defaults.max_processes,
                similarity_threshold=SIMILARITY_THRESHOLD,
                private_release=str(self.root / "private-release"),
            ))
        self.config: Config = PyFileConfigLoader(config_file.name, path=str(self.root)).load_config()
        # Explicit options win over the file (without rewriting it).
        if source:
            self.config.CourseDirectory.source_directory = str(Path(source).resolve())
        if release:
            self.config.CourseDirectory.release_directory = str(Path(release).resolve())
        if db_url:
            self.config.CourseDirectory.db_url = db_url
        if private:
            self.config.Autograder.private_source = str(Path(private).resolve())
        self._check_private()

    # -- paths ---------------------------------------------------------------------------------
    @property
    def source_dir(self) -> Path:
        return Path(self.config.CourseDirectory.source_directory)

    @property
    def release_dir(self) -> Path:
        return Path(self.config.CourseDirectory.release_directory)

    @property
    def private_source(self) -> Path | None:
        """The private overlay of the sources, or None."""
        value = self.config.get("Autograder", {}).get("private_source")
        return Path(value).resolve() if value else None

    @property
    def private_release(self) -> Path:
        """Where the student versions of the overlay's assignments are written."""
        value = self.config.get("Autograder", {}).get("private_release")
        return Path(value).resolve() if value else self.root / "private-release"

    def _check_private(self) -> None:
        private = self.private_source
        if private is None:
            return
        if not private.is_dir():
            raise ValueError(f"the private source folder {private} (c.Autograder.private_source) does not exist")
        public = (self.source_dir.resolve(), self.release_dir.resolve())
        for name, path in (("private_source", private), ("private_release", self.private_release)):
            if any(path.is_relative_to(p) or p.is_relative_to(path) for p in public):
                raise ValueError(f"c.Autograder.{name} ({path}) overlaps the public sources or releases "
                                 f"({public[0]}, {public[1]}): keep it outside the public tree")

    def is_private(self, assignment: str) -> bool:
        """True when the overlay defines ``assignment`` (it then replaces the public one)."""
        return self.private_source is not None and \
            (self.private_source / assignment / f"{assignment}.ipynb").is_file()

    def source_of(self, assignment: str) -> Path:
        """The sources folder that holds ``assignment``: the overlay's where it has it."""
        return self.private_source if self.is_private(assignment) else self.source_dir

    def release_of(self, assignment: str) -> Path:
        """The release folder of ``assignment``: the private one for an overlay assignment."""
        return self.private_release if self.is_private(assignment) else self.release_dir

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def report_path(self, assignment: str) -> Path:
        return self.root / "reports" / f"{assignment}.json"

    def assignments(self) -> list[str]:
        """Assignment ids in the source directory and the private overlay, sorted."""
        folders = [self.source_dir] + ([self.private_source] if self.private_source else [])
        return sorted({p.name for folder in folders for p in folder.iterdir()
                       if p.is_dir() and (p / f"{p.name}.ipynb").exists()})

    @property
    def secret(self) -> str:
        """A random key of this workspace that seeds each student's cases (never leaves the grader)."""
        path = self.root / "grading_secret"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(16))
        return path.read_text().strip()

    def limits(self, assignment: str) -> Limits:
        """Sandbox limits for ``assignment`` from the config (with per-assignment overrides)."""
        section = self.config.get("Autograder", {})
        values = {k: v for k, v in section.items() if k in Limits.__dataclass_fields__}
        values.update({k: v for k, v in self._overrides(assignment).items() if k in Limits.__dataclass_fields__})
        return Limits(**values)

    @property
    def similarity_threshold(self) -> float:
        """Share of a student's solution code found elsewhere above which ``report`` flags a pair."""
        return float(self.config.get("Autograder", {}).get("similarity_threshold", SIMILARITY_THRESHOLD))

    def class_report_paths(self, assignment: str) -> tuple[Path, Path]:
        """(HTML, CSV) of the class report of ``assignment``."""
        reports = self.root / "reports"
        return reports / f"{assignment}-class.html", reports / f"{assignment}-class.csv"

    def _overrides(self, assignment: str) -> dict:
        return dict(dict(self.config.get("Autograder", {}).get("overrides", {})).get(assignment, {}))

    def option(self, assignment: str, name: str, default=None):
        """``c.Autograder.<name>``, or its per-assignment override."""
        overrides = self._overrides(assignment)
        return overrides[name] if name in overrides else self.config.get("Autograder", {}).get(name, default)

    def late_policy(self, assignment: str):
        from .late import LatePolicy, as_utc

        due = self.option(assignment, "due")
        max_days = self.option(assignment, "late_max_days")
        return LatePolicy(due=as_utc(due) if due else None,
                          per_day=float(self.option(assignment, "late_penalty_per_day", 0.0)),
                          max_days=int(max_days) if max_days is not None else None)

    @property
    def lms_timezone(self):
        """Where the LMS's server keeps its clock: zip entry and Blackboard name times have no offset."""
        from datetime import timezone
        from zoneinfo import ZoneInfo

        name = self.config.get("Autograder", {}).get("lms_timezone", "UTC")
        return timezone.utc if name == "UTC" else ZoneInfo(name)  # UTC needs no tz database

    # -- nbgrader objects ------------------------------------------------------------------------
    def coursedir(self, **traits):
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        for name, value in traits.items():
            setattr(coursedir, name, value)
        return coursedir

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, COURSE_ID)

    # -- reports ----------------------------------------------------------------------------------
    def load_report(self, assignment: str) -> dict[str, SubmissionResult]:
        path = self.report_path(assignment)
        data = json.loads(path.read_text()) if path.exists() else {}
        return {student: SubmissionResult.from_json(entry) for student, entry in data.items()}

    def save_report(self, assignment: str, report: dict[str, SubmissionResult]) -> None:
        path = self.report_path(assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({s: r.to_json() for s, r in sorted(report.items())}, indent=1, sort_keys=True))
        tmp.replace(path)
