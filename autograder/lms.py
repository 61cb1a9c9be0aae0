"""``collect``: LMS download (zip or folder) -> nbgrader's submitted/<student>/<id>/<id>.ipynb."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course

#: Moodle/Canvas-style names: the student id, an underscore, anything, ``.ipynb``.
DEFAULT_PATTERN = r"^(?P<student>[A-Za-z0-9][A-Za-z0-9.-]*)_.*\.ipynb$"
MAX_MEMBER_BYTES = 50 * 1024 * 1024  # a notebook larger than this is not a homework answer
MAX_ARCHIVE_BYTES = 2 * 1024 ** 3  # what one LMS download may unpack to, in all
MAX_MEMBERS = 20_000


@dataclass
class Collected:
    students: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # file names that fit no student
    skipped: list[str] = field(default_factory=list)  # reasons for files not used


def _files(path: Path, scratch: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and "__MACOSX" not in p.parts)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise ValueError(f"{path} holds {len(members)} files; at most {MAX_MEMBERS} are read")
            out, unpacked = [], 0
            for info in members:
                # flatten to a plain file name: no traversal out of scratch, whatever the name says
                name = info.filename.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].replace("\0", "")
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
                out.append(target)
            return out
    raise FileNotFoundError(f"{path} is neither a folder nor a zip file")


def collect(course: Course, assignment: str, path: str | Path,
            pattern: str = DEFAULT_PATTERN) -> Collected:
    """Copy each matching file into the course and add its student to the gradebook.

    A student with several files keeps the last one in name order (LMS names carry the attempt
    or timestamp); the others are reported.
    """
    regex = re.compile(pattern)
    if "student" not in regex.groupindex:
        raise ValueError("--pattern needs a named group (?P<student>...)")
    result = Collected()
    chosen: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for file in _files(Path(path), Path(scratch)):
            match = regex.match(file.name)
            if not match:
                result.unmatched.append(file.name)
                continue
            student = match.group("student")
            if student in chosen:
                result.skipped.append(f"{chosen[student].name}: replaced by later file {file.name}")
            chosen[student] = file
        for student, file in sorted(chosen.items()):
            dest = course.submitted(student, assignment)
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            shutil.copyfile(file, dest / f"{assignment}.ipynb")
    with course.gradebook() as gb:
        for student in chosen:
            gb.update_or_create_student(student)
    result.students = sorted(chosen)
    return result
