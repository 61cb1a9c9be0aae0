"""``collect``: an LMS download (zip or folder) -> nbgrader's ``submitted/<student>/<id>/``.

Each collected submission's folder holds ``<id>.ipynb``, ``timestamp.txt`` (nbgrader's convention:
the submission time, ISO 8601 with its offset, when the download tells it) and ``lms.json`` (a
:class:`LmsRecord`: who the student is in the LMS and where the time came from), which ``grade``
(late penalty) and ``export`` (grade files the LMS imports) read back.

The download names, as each LMS writes them:

Canvas ("Download Submissions"; ``ContentZipper#get_filename`` and ``#add_upload_submission`` in
instructure/canvas-lms ``lib/content_zipper.rb``)::

    <lastfirst>_[LATE_]<user id>_<attachment id>_<file name>      e.g. smithjane_LATE_4711_90210_hw.ipynb
    [LATE_]anon_<anonymous id>_<attachment id>_<file name>       (anonymous grading)

``lastfirst`` is the sortable name lower-cased without non-word characters; ``LATE`` (``late`` in
older versions) is Canvas's own verdict, per-student due dates included. Canvas writes its zips with
rubyzip at download time, so their entry times are the download's, not the submission's: no time
is taken from them.

Moodle ("Download all submissions"; ``assign::download_submissions`` in moodle/moodle
``mod/assign/locallib.php``): a folder per participant, or (older versions, or with "download
submissions in folders" off) the prefix on each file::

    <Full Name>_<participant id>_assignsubmission_file_/<file name>
    <Full Name>_<participant id>_assignsubmission_file_<file name>
    <Full Name>_<participant id>_assignsubmission_onlinetext_onlinetext.html   (not a notebook)

``clean_filename`` turns underscores in the name into spaces; with blind marking the name is
``Participant <id>``. The participant id is the assignment's own (``assign_user_mapping``), so it is
recorded per submission; the grading worksheet (``export --format moodle``) is matched on it. The
entry times are the files' in Moodle's file pool (about the upload time), in the server's zone.

Blackboard Learn ("Assignment File Download")::

    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>
    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt     receipt: "Name: Jane Smith (jsmith)", ...

The attempt time is the server's local time (``c.Autograder.lms_timezone``).

Anything else is read with ``--pattern`` (a regex with a ``(?P<student>...)`` group); its time is
the zip entry's (in ``lms_timezone``) or the file's modification time.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone, tzinfo
from enum import Enum
from pathlib import Path

from .course import Course

#: Moodle/Canvas-style names: the student id, an underscore, anything, ``.ipynb``.
DEFAULT_PATTERN = r"^(?P<student>[A-Za-z0-9][A-Za-z0-9.-]*)_.*\.ipynb$"
MAX_MEMBER_BYTES = 50 * 1024 * 1024  # a notebook larger than this is not a homework answer
MAX_ARCHIVE_BYTES = 2 * 1024 ** 3  # what one LMS download may unpack to, in all
MAX_MEMBERS = 20_000
RECORD = "lms.json"

CANVAS = re.compile(r"^(?:(?P<name>.+?)_)??(?:(?P<late>late)_)?(?P<user>\d+|anon_[A-Za-z0-9]+)_"
                    r"(?P<attachment>\d+)_(?P<file>.+)$", re.IGNORECASE)
MOODLE = re.compile(r"^(?P<name>[^_/]+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+?)_(?P<file>.*)$")
BLACKBOARD = re.compile(r"^(?P<prefix>.+)_attempt_(?P<time>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.+)|\.txt)$")
RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<username>[^()]+)\)\s*$", re.MULTILINE)
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class Lms(str, Enum):
    CANVAS = "canvas"
    MOODLE = "moodle"
    BLACKBOARD = "blackboard"
    PATTERN = "pattern"  # named by --pattern


class TimeSource(str, Enum):
    """Where a submission's time came from, weakest last."""

    NAME = "the LMS's download name"
    ARCHIVE_ENTRY = "the zip entry's date"
    FILE_MTIME = "the file's modification time"
    NONE = "nowhere: the download does not carry it"


@dataclass
class LmsRecord:
    """One collected submission as the LMS named it; ``lms.json`` next to the notebook."""

    lms: Lms
    student: str  # the course's student id (the folder under submitted/)
    name: str  # as the LMS wrote it: "Jane Smith", Canvas's "smithjane", or ""
    lms_user: str  # Canvas user id (or anon_...), Moodle participant id, Blackboard username
    file: str  # the member's path in the download
    submission_id: str = ""  # Canvas attachment id
    late_marker: bool | None = None  # the LMS's own late verdict; None where it gives none
    timestamp: str | None = None  # ISO 8601 with offset
    time_source: TimeSource = TimeSource.NONE

    def to_json(self) -> dict:
        return {**asdict(self), "lms": self.lms.value, "time_source": self.time_source.name}

    @classmethod
    def from_json(cls, data: dict) -> "LmsRecord":
        return cls(**{**data, "lms": Lms(data["lms"]), "time_source": TimeSource[data["time_source"]]})


def read_record(submitted: Path) -> LmsRecord | None:
    """The record ``collect`` left in a submission's folder (None for nbgrader-exchange ones)."""
    path = submitted / RECORD
    return LmsRecord.from_json(json.loads(path.read_text())) if path.is_file() else None


@dataclass
class Collected:
    students: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # file names that fit no student
    skipped: list[str] = field(default_factory=list)  # reasons for files not used
    notes: list[str] = field(default_factory=list)  # collected, but not under the usual student id
    records: dict[str, LmsRecord] = field(default_factory=dict)


@dataclass
class _Member:
    path: Path  # readable copy
    name: str  # the member's path in the download ('/'-separated)
    time: datetime | None  # aware
    time_source: TimeSource


def _members(path: Path, scratch: Path, zone: tzinfo) -> list[_Member]:
    if path.is_dir():
        return [_Member(p, p.relative_to(path).as_posix(),
                        datetime.fromtimestamp(p.stat().st_mtime, timezone.utc), TimeSource.FILE_MTIME)
                for p in sorted(path.rglob("*")) if p.is_file() and "__MACOSX" not in p.parts]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise ValueError(f"{path} holds {len(members)} files; at most {MAX_MEMBERS} are read")
            out, unpacked = [], 0
            for info in members:
                member = info.filename.replace("\\", "/").replace("\0", "").rstrip("/")
                # the copy gets a plain file name: no traversal out of scratch, whatever the name says
                name = member.rsplit("/", 1)[-1]
                if info.is_dir() or name in ("", ".", "..") or "__MACOSX" in info.filename:
                    continue
                target = scratch / f"{len(out):05d}" / name
                target.parent.mkdir()
                # sizes come from the archive's own directory, which may lie: read with a cap
                with zf.open(info) as src:
                    data = src.read(MAX_MEMBER_BYTES + 1)
                if len(data) > MAX_MEMBER_BYTES:
                    data = b""  # kept as an (empty, hence invalid) submission
                unpacked += len(data)
                if unpacked > MAX_ARCHIVE_BYTES:
                    raise ValueError(f"{path} unpacks to more than {MAX_ARCHIVE_BYTES:,} bytes")
                target.write_bytes(data)
                try:
                    stamp = datetime(*info.date_time, tzinfo=zone)  # DOS time: local, no offset
                except ValueError:  # a zeroed or corrupt date
                    stamp = None
                out.append(_Member(target, member, stamp, TimeSource.ARCHIVE_ENTRY if stamp else TimeSource.NONE))
            return out
    raise FileNotFoundError(f"{path} is neither a folder nor a zip file")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()  # José -> Jose
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "unnamed"


def _safe(student: str) -> str:
    """A student id usable as one folder name."""
    return student if SAFE_ID.fullmatch(student) else _slug(student)


def _canvas(member: str) -> LmsRecord | None:
    m = CANVAS.match(member.rsplit("/", 1)[-1])
    if not m:
        return None
    user = m["user"]
    return LmsRecord(Lms.CANVAS, user.lower() if user.lower().startswith("anon_") else user,
                     m["name"] or "", user, member, m["attachment"], late_marker=bool(m["late"]))


def _moodle(member: str) -> LmsRecord | None:
    parts = member.split("/")
    for i, part in enumerate(parts):  # the participant's folder, or the prefix of a flat file
        m = MOODLE.match(part)
        if m and (m["file"] or i < len(parts) - 1):
            return LmsRecord(Lms.MOODLE, _slug(m["name"]), m["name"], m["participant"], member)
    return None


def _blackboard(member: str, receipts: dict[str, tuple[str, str]], zone: tzinfo) -> LmsRecord | None:
    m = BLACKBOARD.match(member.rsplit("/", 1)[-1])
    if not m:
        return None
    name, username = receipts.get(f"{m['prefix']}_{m['time']}", ("", ""))
    if not (username and m["prefix"].endswith("_" + username)):
        username = m["prefix"].rsplit("_", 1)[-1]  # no receipt: usernames with "_" are ambiguous
    record = LmsRecord(Lms.BLACKBOARD, _safe(username), name, username, member)
    stamp = datetime.strptime(m["time"], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=zone)
    record.timestamp, record.time_source = stamp.isoformat(), TimeSource.NAME
    return record


def _receipts(members: list[_Member]) -> dict[str, tuple[str, str]]:
    """Blackboard's receipts: '<Assignment>_<username>_attempt_<time>' -> (full name, username)."""
    found = {}
    for member in members:
        m = BLACKBOARD.match(member.name.rsplit("/", 1)[-1])
        if m and not m["file"]:
            with member.path.open("rb") as fh:
                text = fh.read(100_000).decode("utf-8", "replace")
            if who := RECEIPT_NAME.search(text):
                found[f"{m['prefix']}_{m['time']}"] = (who["name"], who["username"])
    return found


def _parse(member: _Member, regex: re.Pattern, receipts, zone: tzinfo) -> LmsRecord | None:
    record = _blackboard(member.name, receipts, zone) or _moodle(member.name) or _canvas(member.name)
    if record is None:
        m = regex.match(member.name.rsplit("/", 1)[-1])
        if not m:
            return None
        record = LmsRecord(Lms.PATTERN, _safe(m["student"]), "", m["student"], member.name)
    if record.time_source is TimeSource.NONE and record.lms is not Lms.CANVAS and member.time:
        record.timestamp, record.time_source = member.time.isoformat(), member.time_source
    return record


def _order(record: LmsRecord) -> tuple:
    """Which of a student's files is the submission: the latest, then the highest id, then by name."""
    stamp = datetime.fromisoformat(record.timestamp).timestamp() if record.timestamp else float("-inf")
    return stamp, int(record.submission_id or 0), record.file


def _split_name(name: str) -> dict:
    if " " in name.strip():
        first, last = name.strip().rsplit(" ", 1)
        return {"first_name": first, "last_name": last}
    return {"last_name": name} if name else {}


def collect(course: Course, assignment: str, path: str | Path,
            pattern: str = DEFAULT_PATTERN) -> Collected:
    """Copy each student's submission into the course and add the student to the gradebook.

    A student with several notebooks keeps the latest (by time, then id, then name); the others
    are reported.
    """
    regex = re.compile(pattern)
    if "student" not in regex.groupindex:
        raise ValueError("--pattern needs a named group (?P<student>...)")
    zone = course.lms_timezone
    result = Collected()
    chosen: dict[str, tuple[LmsRecord, Path]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        members = _members(Path(path), Path(scratch), zone)
        receipts = _receipts(members)
        for member in members:
            record = _parse(member, regex, receipts, zone)
            if record is None:
                result.unmatched.append(member.name.rsplit("/", 1)[-1])
                continue
            if record.lms is Lms.BLACKBOARD and member.name.endswith(".txt"):
                continue  # the receipt, read above
            if not member.name.lower().endswith(".ipynb"):
                result.skipped.append(f"{member.name}: not a notebook ({record.lms.value} submission "
                                      f"of {record.student})")
                continue
            if record.student in chosen and chosen[record.student][0].lms_user != record.lms_user:
                # two Moodle participants with one name: keep both, the second under its participant id
                record.student = f"{record.student}-{record.lms_user}"
                result.notes.append(f"{member.name}: collected as {record.student} (another "
                                    f"participant has the same name)")
            if record.student in chosen:
                earlier, later = sorted([chosen[record.student][0], record], key=_order)
                result.skipped.append(f"{earlier.file}: replaced by later file {later.file}")
                if later is not record:
                    continue
            chosen[record.student] = record, member.path
        for student, (record, file) in sorted(chosen.items()):
            dest = course.submitted(student, assignment)
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            shutil.copyfile(file, dest / f"{assignment}.ipynb")
            if record.timestamp:
                (dest / "timestamp.txt").write_text(record.timestamp)
            (dest / RECORD).write_text(json.dumps(record.to_json(), indent=1))
    with course.gradebook() as gb:
        for student, (record, _) in chosen.items():
            gb.update_or_create_student(student, **_split_name(record.name))
    result.students = sorted(chosen)
    result.records = {student: record for student, (record, _) in chosen.items()}
    return result
