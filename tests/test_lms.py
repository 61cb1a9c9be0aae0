"""`collect` of Canvas, Moodle and Blackboard downloads, built here as each LMS names them, and the
late policy (no grading run: see test_export.py for the penalty through grading and export)."""

from __future__ import annotations

import json
import math
import os
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, SOURCE, dumps, with_code  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.late import LatePolicy  # noqa: E402
from autograder.lms import Lms, TimeSource, read_record  # noqa: E402
from autograder.results import CellResult, LatePenalty, Status, SubmissionResult, Verdict  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
GOOD = dumps(with_code())


def _course(tmp_path, extra: str = "") -> tuple[Path, list[str]]:
    course = tmp_path / "course"
    common = ["--course", str(course), "--source", str(SOURCE), "--release", str(tmp_path / "r")]
    assert main([*common, "release"]) == 0
    with (course / "nbgrader_config.py").open("a") as fh:
        fh.write('c.Autograder.lms_timezone = "Europe/Berlin"\n' + extra)
    return course, common


def _zip(path: Path, members: list[tuple[str, str, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text, when in members:
            zf.writestr(zipfile.ZipInfo(name, date_time=when), text)
    return path


def _submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / ASSIGNMENT


def test_canvas_names_late_marker_and_anonymous(tmp_path, capsys):
    course, common = _course(tmp_path, 'c.Autograder.due = "2026-12-01T12:00:00+00:00"\n'
                                        "c.Autograder.late_penalty_per_day = 0.1\n")
    download = _zip(tmp_path / "canvas.zip", [
        ("smithjane_4711_90210_fx-numpy.ipynb", GOOD, (2026, 12, 7, 9, 0, 0)),
        ("obrienpat_LATE_4712_90300_fx-numpy-1.ipynb", "old", (2026, 12, 7, 9, 0, 0)),
        ("obrienpat_LATE_4712_90301_fx-numpy-2.ipynb", GOOD, (2026, 12, 7, 9, 0, 0)),
        ("late_anon_Xy9Qz_90400_mine.ipynb", GOOD, (2026, 12, 7, 9, 0, 0)),
        ("smithjane_4711_90211_notes.pdf", "%PDF", (2026, 12, 7, 9, 0, 0)),
    ])
    assert main([*common, "collect", ASSIGNMENT, str(download)]) == 0
    out = capsys.readouterr().out
    assert "collected 3 submissions" in out
    # the higher attachment id is the later upload
    assert "obrienpat_LATE_4712_90300_fx-numpy-1.ipynb: replaced by later file obrienpat_LATE_4712_90301" in out
    assert "smithjane_4711_90211_notes.pdf: not a notebook" in out
    jane, pat, anon = (read_record(_submitted(course, s)) for s in ("4711", "4712", "anon_xy9qz"))
    assert (jane.lms, jane.name, jane.lms_user, jane.submission_id, jane.late_marker) == (
        Lms.CANVAS, "smithjane", "4711", "90210", False)
    assert (pat.late_marker, pat.submission_id) == (True, "90301")
    assert (anon.lms_user, anon.late_marker) == ("anon_Xy9Qz", True)
    assert (_submitted(course, "4712") / f"{ASSIGNMENT}.ipynb").read_text() == GOOD
    # Canvas zips carry the download time: no submission time is made up from it
    assert jane.time_source is TimeSource.NONE and not (_submitted(course, "4711") / "timestamp.txt").exists()
    # Canvas's LATE marker decides; without a time it is one day
    assert "late: 4712: 1 day(s)" in out and "late: 4711" not in out


def test_moodle_folders_flat_files_and_entry_times(tmp_path, capsys):
    course, common = _course(tmp_path)
    ann_time, bo_time = (2026, 12, 3, 23, 30, 5), (2026, 11, 30, 8, 0, 0)
    download = _zip(tmp_path / "moodle.zip", [
        ("Ann Lee_1001_assignsubmission_file_/fx-numpy.ipynb", GOOD, ann_time),
        ("José Núñez_1002_assignsubmission_file_mine.ipynb", GOOD, bo_time),  # older, flat layout
        ("Cy Dee_1003_assignsubmission_onlinetext_onlinetext.html", "<p>hi</p>", bo_time),
        ("Participant 1004_1004_assignsubmission_file_/work/fx-numpy.ipynb", GOOD, bo_time),  # blind
        ("Ann Lee_1005_assignsubmission_file_/fx-numpy.ipynb", "other Ann", bo_time),  # same name
    ])
    assert main([*common, "collect", ASSIGNMENT, str(download)]) == 0
    out = capsys.readouterr().out
    assert "collected 4 submissions" in out
    assert "collected as ann-lee-1005 (another participant has the same name)" in out
    assert (_submitted(course, "ann-lee-1005") / f"{ASSIGNMENT}.ipynb").read_text() == "other Ann"
    assert (_submitted(course, "ann-lee") / f"{ASSIGNMENT}.ipynb").read_text() == GOOD
    assert "Cy Dee_1003_assignsubmission_onlinetext_onlinetext.html: not a notebook" in out
    ann = read_record(_submitted(course, "ann-lee"))
    assert (ann.lms, ann.name, ann.lms_user, ann.late_marker) == (Lms.MOODLE, "Ann Lee", "1001", None)
    # the zip entry's local time in the configured zone of the Moodle server (DOS times: 2 s steps)
    expected = datetime(*ann_time[:5], ann_time[5] // 2 * 2, tzinfo=BERLIN)
    assert ann.time_source is TimeSource.ARCHIVE_ENTRY
    assert datetime.fromisoformat((_submitted(course, "ann-lee") / "timestamp.txt").read_text()) == expected
    assert read_record(_submitted(course, "jose-nunez")).lms_user == "1002"
    assert read_record(_submitted(course, "participant-1004")).name == "Participant 1004"
    from autograder.course import Course

    with Course(course).gradebook() as gb:
        student = gb.find_student("ann-lee")
        assert (student.first_name, student.last_name) == ("Ann", "Lee")


def test_blackboard_attempt_time_and_receipt(tmp_path):
    course, common = _course(tmp_path)
    receipt = ("Name: Dana Fox (d_fox)\nAssignment: FX numpy\nDate Submitted: Friday, 4 December 2026 "
               "10:15:00 o'clock CET\nCurrent Grade: Needs Grading\n\nFiles:\n\tOriginal filename: fx-numpy.ipynb\n")
    download = _zip(tmp_path / "gradebook_FX.zip", [
        ("FX numpy_d_fox_attempt_2026-12-04-10-15-00.txt", receipt, (2026, 12, 7, 9, 0, 0)),
        ("FX numpy_d_fox_attempt_2026-12-04-10-15-00_fx-numpy.ipynb", GOOD, (2026, 12, 7, 9, 0, 0)),
        ("FX numpy_eve_attempt_2026-12-01-09-00-00_fx-numpy.ipynb", "first", (2026, 12, 7, 9, 0, 0)),
        ("FX numpy_eve_attempt_2026-12-02-09-00-00_fx-numpy.ipynb", GOOD, (2026, 12, 7, 9, 0, 0)),
    ])
    result_code = main([*common, "collect", ASSIGNMENT, str(download)])
    assert result_code == 0
    dana = read_record(_submitted(course, "d_fox"))  # the receipt says where the username starts
    assert (dana.lms, dana.name, dana.lms_user) == (Lms.BLACKBOARD, "Dana Fox", "d_fox")
    assert dana.time_source is TimeSource.NAME
    assert datetime.fromisoformat(dana.timestamp) == datetime(2026, 12, 4, 10, 15, tzinfo=BERLIN)
    eve = _submitted(course, "eve")
    assert (eve / f"{ASSIGNMENT}.ipynb").read_text() == GOOD  # the later attempt
    assert datetime.fromisoformat((eve / "timestamp.txt").read_text()) == datetime(2026, 12, 2, 9, tzinfo=BERLIN)


def test_folder_download_keeps_file_times(tmp_path):
    course, common = _course(tmp_path)
    folder = tmp_path / "unzipped"
    folder.mkdir()
    path = folder / "zoe_submission.ipynb"
    path.write_text(GOOD)
    when = datetime(2026, 12, 5, 17, 45, 30, tzinfo=timezone.utc)
    os.utime(path, (when.timestamp(), when.timestamp()))
    assert main([*common, "collect", ASSIGNMENT, str(folder)]) == 0
    record = read_record(_submitted(course, "zoe"))
    assert (record.lms, record.time_source) == (Lms.PATTERN, TimeSource.FILE_MTIME)
    assert datetime.fromisoformat(record.timestamp) == when


DUE = datetime(2026, 12, 10, 23, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize("delay, marker", [
    (timedelta(0), None), (timedelta(seconds=1), None), (timedelta(hours=23), None),
    (timedelta(days=1, seconds=1), None), (timedelta(days=3, hours=2), None), (timedelta(days=7), None),
    (timedelta(days=7, minutes=1), None), (timedelta(days=-2), True), (timedelta(days=4), False),
])
def test_late_policy(delay, marker):
    policy = LatePolicy(due=DUE, per_day=0.1, max_days=7)
    seconds = delay.total_seconds()
    days = 0 if marker is False else max(math.ceil(seconds / 86400) if seconds > 0 else 0, 1 if marker else 0)
    penalty = policy.assess(DUE + delay, marker, 4.0)
    if days == 0:
        assert penalty is None
        return
    fraction = 1.0 if days > 7 else 0.1 * days
    assert (penalty.days, penalty.fraction, penalty.points) == (days, pytest.approx(fraction), pytest.approx(4.0 * fraction))
    assert f"{days} day" in penalty.reason


def test_no_due_date_means_nothing_is_late():
    assert LatePolicy().assess(DUE + timedelta(days=30), None, 5.0) is None
    assert LatePolicy().assess(None, True, 5.0) is None


def test_result_with_late_penalty_round_trips_json():
    result = SubmissionResult("ann", ASSIGNMENT, Status.GRADED, score=4.0, max_score=5.0,
                              cells={"t": CellResult("t", 4.0, Verdict.PASSED)},
                              late=LatePenalty(2, 0.2, 0.8, "submitted 2 days late"))
    data = json.loads(json.dumps(result.to_json()))
    assert data["final_score"] == pytest.approx(3.2)
    assert SubmissionResult.from_json(data) == result
    assert SubmissionResult.from_json(SubmissionResult("bo", ASSIGNMENT).to_json()).late is None
