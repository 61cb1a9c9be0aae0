"""LMS round trip: Canvas and Moodle downloads collected, graded with a late policy, exported as
grade files that are read back the way Canvas and Moodle read them; the Gradescope bundle's
run_autograder run on a submission laid out as Gradescope lays it out."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, SOURCE, dumps, with_code  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.export import CANVAS_COLUMNS, MOODLE_COLUMNS  # noqa: E402
from autograder.sandbox import probe  # noqa: E402

pytestmark = pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}")

ZONE = ZoneInfo("America/Chicago")
DUE = datetime(2026, 12, 10, 23, 59, tzinfo=timezone.utc)
PER_DAY, MAX_DAYS = 0.1, 7
POLICY = (f'c.Autograder.due = "{DUE.isoformat()}"\nc.Autograder.late_penalty_per_day = {PER_DAY}\n'
          f'c.Autograder.late_max_days = {MAX_DAYS}\nc.Autograder.lms_timezone = "America/Chicago"\n'
          "c.Autograder.cell_timeout = 30\nc.Autograder.notebook_timeout = 120\n")
GOOD = dumps(with_code())  # 5 points
ONLY_ADD = dumps(with_code(mean="def mean_of(x):\n    return 0.0"))  # 2 points


def expected_final(raw: float, days: int) -> float:
    """The policy as the course config states it, computed here on its own."""
    if days == 0:
        return raw
    return 0.0 if days > MAX_DAYS else raw * (1 - min(1.0, PER_DAY * days))


def days_after_due(local: tuple) -> int:
    late = datetime(*local, tzinfo=ZONE) - DUE
    return max(0, math.ceil(late.total_seconds() / 86400))


# Moodle: participant -> (name, notebook, zip entry time on the server's clock)
MOODLE = {
    "101": ("Ann Lee", GOOD, (2026, 12, 10, 17, 0, 0)),  # 23:00 UTC: on time
    "102": ("Bo Chen", GOOD, (2026, 12, 13, 2, 0, 0)),  # 08:00 UTC on the 13th: 3 days
    "103": ("Cy Dee", ONLY_ADD, (2026, 12, 10, 20, 0, 0)),  # 02:00 UTC on the 11th: 1 day
    "104": ("Di Fay", GOOD, (2026, 12, 20, 9, 0, 0)),  # 10 days: past the last day accepted
}
# Canvas: user id -> (lastfirst, LATE marker, notebook)
CANVAS = {"4711": ("smithjane", False, GOOD), "4712": ("obrienpat", True, ONLY_ADD)}


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lms")
    course = tmp / "course"
    common = ["--course", str(course), "--source", str(SOURCE), "--release", str(tmp / "release")]
    assert main([*common, "release"]) == 0
    with (course / "nbgrader_config.py").open("a") as fh:
        fh.write(POLICY)
    with zipfile.ZipFile(tmp / "moodle.zip", "w") as zf:
        for pid, (name, text, when) in MOODLE.items():
            zf.writestr(zipfile.ZipInfo(f"{name}_{pid}_assignsubmission_file_/{ASSIGNMENT}.ipynb", when), text)
    with zipfile.ZipFile(tmp / "canvas.zip", "w") as zf:
        for uid, (lastfirst, late, text) in CANVAS.items():
            marker = "LATE_" if late else ""
            zf.writestr(f"{lastfirst}_{marker}{uid}_9{uid}_{ASSIGNMENT}.ipynb", text)
    assert main([*common, "collect", ASSIGNMENT, str(tmp / "moodle.zip")]) == 0
    assert main([*common, "collect", ASSIGNMENT, str(tmp / "canvas.zip")]) == 0
    assert main([*common, "grade", ASSIGNMENT, "--jobs", "2"]) == 0
    return tmp, course, common


def expected_scores() -> dict[str, tuple[float, int]]:
    """student id -> (final score, days late)"""
    out = {}
    for pid, (name, text, when) in MOODLE.items():
        raw = 5.0 if text == GOOD else 2.0
        out[name.lower().replace(" ", "-")] = (expected_final(raw, days_after_due(when)), days_after_due(when))
    for uid, (_, late, text) in CANVAS.items():
        raw = 5.0 if text == GOOD else 2.0
        out[uid] = (expected_final(raw, int(late)), int(late))  # Canvas's LATE alone: one day
    return out


def test_penalty_in_report_and_gradebook(round_trip):
    from autograder.course import Course

    _, course, _ = round_trip
    report = json.loads((course / "reports" / f"{ASSIGNMENT}.json").read_text())
    with Course(course).gradebook() as gb:
        for student, (final, days) in expected_scores().items():
            entry = report[student]
            assert entry["final_score"] == pytest.approx(final), (student, entry)
            assert (entry["late"] or {}).get("days", 0) == days, student
            penalty = gb.find_submission(ASSIGNMENT, student).late_submission_penalty
            assert penalty == pytest.approx(entry["score"] - final), student


def test_grades_csv_has_the_final_score(round_trip):
    tmp, _, common = round_trip
    assert main([*common, "export", "--output", str(tmp / "grades.csv")]) == 0
    rows = {r["student"]: r for r in csv.DictReader((tmp / "grades.csv").open())}
    for student, (final, days) in expected_scores().items():
        assert float(rows[student]["final_score"]) == pytest.approx(final)
        assert int(rows[student]["late_days"]) == days


def test_canvas_import_file(round_trip, capsys):
    tmp, _, common = round_trip
    out = tmp / "canvas.csv"
    assert main([*common, "export", "--format", "canvas", "--output", str(out),
                 "--canvas-column", f"{ASSIGNMENT}=FX numpy (555)"]) == 0
    assert "left out (not collected from canvas): ann-lee, bo-chen, cy-dee, di-fay" in capsys.readouterr().out
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    assert header == [*CANVAS_COLUMNS, "FX numpy (555)"]
    by_id = {r[1]: dict(zip(header, r)) for r in rows}
    assert set(by_id) == set(CANVAS)
    expected = expected_scores()
    for uid, (lastfirst, _, _) in CANVAS.items():
        assert by_id[uid]["Student"] == lastfirst
        assert float(by_id[uid]["FX numpy (555)"]) == pytest.approx(expected[uid][0])


def test_moodle_grading_worksheet(round_trip):
    tmp, _, common = round_trip
    out = tmp / "moodle.csv"
    assert main([*common, "export", ASSIGNMENT, "--format", "moodle", "--output", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == MOODLE_COLUMNS
        rows = {r["Identifier"]: r for r in reader}
    assert set(rows) == {f"Participant {pid}" for pid in MOODLE}  # what Moodle's importer matches on
    expected = expected_scores()
    for pid, (name, _, _) in MOODLE.items():
        row = rows[f"Participant {pid}"]
        final, days = expected[name.lower().replace(" ", "-")]
        assert (row["Full name"], float(row["Grade"]), float(row["Maximum Grade"])) == (name, pytest.approx(final), 5.0)
        assert ("late" in row["Feedback comments"]) == bool(days)
        # the export's time: Moodle skips rows whose grade it changed later than this
        exported = datetime.fromisoformat(row["Last modified (grade)"])
        assert abs(exported - datetime.now(timezone.utc)) < timedelta(minutes=5)


def test_feedback_shows_the_penalty(round_trip):
    _, course, common = round_trip
    assert main([*common, "feedback", ASSIGNMENT]) == 0
    late = (course / "feedback" / "bo-chen" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    on_time = (course / "feedback" / "ann-lee" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Late submission penalty (Score: -1.5)" in late and "Late submission penalty" not in on_time


def test_gradescope_bundle_runs_a_submission(round_trip, tmp_path):
    _, _, common = round_trip
    bundle = tmp_path / "bundle.zip"
    assert main([*common, "gradescope-bundle", ASSIGNMENT, "--output", str(bundle)]) == 0
    root = tmp_path / "autograder"  # Gradescope's /autograder
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        zf.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "requirements.txt", f"assignments/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
            "autograder/gradescope.py", "autograder/checks/__init__.py"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    setup = (root / "source" / "setup.sh").read_text()
    assert "bubblewrap" in setup and "requirements.txt" in setup
    pins = (root / "source" / "requirements.txt").read_text()
    assert "nbgrader==" in pins and "numpy==" in pins and "pytest" not in pins

    (root / "submission").mkdir()
    (root / "submission" / "my answer.ipynb").write_text(ONLY_ADD)
    submitted_at = DUE + timedelta(days=1, hours=6)  # two started days late
    (root / "submission_metadata.json").write_text(json.dumps({
        "created_at": submitted_at.isoformat(), "users": [{"email": "kim@example.edu", "name": "Kim"}]}))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, check=True, timeout=300)
    results = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {"test_add", "test_mean"}, results
    assert (tests["test_add"]["score"], tests["test_add"]["max_score"], tests["test_add"]["status"]) == (2.0, 2.0, "passed")
    assert (tests["test_mean"]["score"], tests["test_mean"]["max_score"]) == (0.0, 3.0)
    assert "mean_of" in tests["test_mean"]["output"]
    assert results["score"] == pytest.approx(expected_final(2.0, 2))
    assert "2 days late" in results["output"]


def test_gradescope_without_a_notebook_says_so(round_trip, tmp_path):
    from autograder.gradescope import run

    _, _, common = round_trip
    bundle = tmp_path / "bundle.zip"
    assert main([*common, "gradescope-bundle", ASSIGNMENT, "--output", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path / "source")
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "answer.py").write_text("print(1)")
    results = run(tmp_path)
    assert results["score"] == 0.0 and f"upload {ASSIGNMENT}.ipynb" in results["output"]
    assert json.loads((tmp_path / "results" / "results.json").read_text()) == results
