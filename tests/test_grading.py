"""End-to-end grading of a class of simulated submissions of the fixture assignment.

One `collect` of an LMS-style zip and one parallel `grade` call; the scores of every kind of
submission are asserted, then re-grading is shown to be idempotent and the export checked.
"""

from __future__ import annotations

import csv
import json
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, SOURCE, dumps, source_nb, with_code  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.sandbox import probe  # noqa: E402

pytestmark = pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}")

EXPECTED = {  # student -> (score, status)
    "solution": (5.0, "graded"),
    "blank": (0.0, "graded"),
    "onlyadd": (2.0, "graded"),
    "offbyone": (0.0, "graded"),
    "intmean": (3.0, "graded"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    course, release = tmp / "course", tmp / "release"
    common = ["--course", str(course), "--source", str(SOURCE), "--release", str(release)]
    assert main([*common, "release"]) == 0
    blank = json.loads((release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    files = {
        "solution": dumps(source_nb()),
        "blank": dumps(blank),
        "onlyadd": dumps(with_code(mean="def mean_of(x):\n    raise NotImplementedError()", base=blank)),
        # common mistakes: the hidden test catches the off-by-one, the visible one passes
        "offbyone": dumps(with_code(add="def add(a, b):\n    return a + b if a > 0 else a + b + 1",
                                    mean="def mean_of(x):\n    return sum(x) / (len(x) - 1)")),
        # returns numpy float instead of float: still equal, full marks on mean
        "intmean": dumps(with_code(add="def add(a, b):\n    return a - b", mean="def mean_of(x):\n    return np.mean(x)")),
    }
    lms = tmp / "lms.zip"
    with zipfile.ZipFile(lms, "w") as zf:
        for student, text in files.items():
            zf.writestr(f"submissions/{student}_12345_attempt_2026-11-20.ipynb", text)
        zf.writestr("readme.txt", "not a submission")
    assert main([*common, "collect", ASSIGNMENT, str(lms)]) == 0
    assert main([*common, "grade", ASSIGNMENT, "--jobs", "2"]) == 0
    return course, common


def report(course):
    return json.loads((course / "reports" / f"{ASSIGNMENT}.json").read_text())


def test_scores_and_statuses(graded):
    course, _ = graded
    rep = report(course)
    assert set(rep) == set(EXPECTED)
    for student, (score, status) in EXPECTED.items():
        assert (rep[student]["score"], rep[student]["status"]) == (score, status), (student, rep[student])


def test_failure_messages_reach_the_report(graded):
    course, _ = graded
    rep = report(course)
    assert rep["blank"]["cells"]["test_add"]["error"] == "NotImplementedError"
    # the hidden test's assertion message, not just "AssertionError"
    assert rep["offbyone"]["cells"]["test_add"]["message"] == "AssertionError: add(-1, 1) should be 0"
    assert rep["solution"]["cells"]["test_mean"]["error"] == ""
    assert rep["solution"]["sandbox"] == "bubblewrap"


def test_regrading_is_idempotent(graded):
    from autograder.course import Course

    course, common = graded
    before = report(course)
    assert main([*common, "grade", ASSIGNMENT, "--jobs", "1", "--student", "onlyadd",
                 "--student", "solution"]) == 0
    after = report(course)
    assert {s: after[s]["score"] for s in after} == {s: before[s]["score"] for s in before}
    with Course(course).gradebook() as gb:
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == len(EXPECTED)
        assert gb.find_submission(ASSIGNMENT, "solution").score == 5.0


def test_second_run_resumes_and_force_regrades(graded, capsys):
    course, common = graded
    assert main(["grade", ASSIGNMENT, *common]) == 0  # options after the subcommand, too
    assert "nothing to grade" in capsys.readouterr().out
    assert main([*common, "grade", ASSIGNMENT, "--force", "--jobs", "2"]) == 0
    assert {s: r["score"] for s, r in report(course).items()} == {s: v[0] for s, v in EXPECTED.items()}


def test_csv_export(graded, tmp_path):
    course, common = graded
    out = tmp_path / "grades.csv"
    assert main([*common, "export", "--output", str(out)]) == 0
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == set(EXPECTED)
    assert float(rows["onlyadd"][f"{ASSIGNMENT}/test_add"]) == 2.0
    assert float(rows["onlyadd"][f"{ASSIGNMENT}/test_mean"]) == 0.0
    assert float(rows["solution"]["score"]) == 5.0
    # no due date in this course: nothing is late
    assert {(r["late_days"], float(r["final_score"])) for r in rows.values()} == {
        ("0", score) for score, _ in EXPECTED.values()}


def test_feedback_html(graded):
    course, common = graded
    assert main([*common, "feedback", ASSIGNMENT]) == 0
    html = (course / "feedback" / "onlyadd" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "NotImplementedError" in html and "2.0 / 5.0" in html.replace("2 / 5", "2.0 / 5.0")


def test_exchange_timestamp_is_kept(graded):
    """`nbgrader collect` (JupyterHub exchange) leaves timestamp.txt; grading must keep it."""
    from autograder.course import Course

    course, common = graded
    (course / "submitted" / "intmean" / ASSIGNMENT / "timestamp.txt").write_text("2026-11-20 10:00:00")
    assert main([*common, "grade", ASSIGNMENT, "--student", "intmean"]) == 0
    with Course(course).gradebook() as gb:
        assert str(gb.find_submission(ASSIGNMENT, "intmean").timestamp) == "2026-11-20 10:00:00"
    assert report(course)["intmean"]["score"] == 3.0
