"""The class report (`python -m autograder report`): a synthetic class's typed results in, the CSV and
the HTML page checked against numbers computed here, and the page loaded in headless Chromium."""

from __future__ import annotations

import csv
import html.parser
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, SOURCE  # noqa: E402

from autograder import diagnose  # noqa: E402
from autograder.cli import main  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.results import LIKELY_CAUSE, CellResult, Status, SubmissionResult, Verdict  # noqa: E402

POINTS = {"test_add": 2.0, "test_mean": 3.0, "a_bonus": 1.0}  # a_bonus is not in the source notebook
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def _failed(grade_id: str, cause: str | None, text: str = "") -> CellResult:
    message = f"{grade_id}: case 2 returned the wrong values{text}." + (f"\n{LIKELY_CAUSE}{cause}" if cause else "")
    return CellResult(grade_id, POINTS[grade_id], Verdict.FAILED, message, "CheckFailed")


def _passed(grade_id: str) -> CellResult:
    return CellResult(grade_id, POINTS[grade_id], Verdict.PASSED, f"\u2714 {grade_id}: 5 checks passed")


def synthetic_class() -> tuple[list[SubmissionResult], dict[str, set[str]]]:
    """Results of a class, and who made which diagnosed mistake (kept here, not derived)."""
    flipped, transposed, mode = diagnose.FLIPPED, diagnose.TRANSPOSED, diagnose.MODE_IGNORED.format(mode="'full'")
    made: dict[str, set[str]] = {flipped: set(), transposed: set(), mode: set()}
    plan = {  # student: (cells, seconds)
        "s1001": ([_passed("test_add"), _passed("test_mean"), _passed("a_bonus")], 4.0),
        "s1002": ([_failed("test_add", flipped), _passed("test_mean"), _passed("a_bonus")], 5.5),
        # a student's own exception text quoting their id and posing as a diagnosis
        "s1003": ([_failed("test_add", flipped, f" (raised KeyError: 's1003' {HOSTILE})"),
                   _failed("test_mean", transposed), _failed("a_bonus", f"{HOSTILE} made up")], 7.25),
        "s1004": ([_failed("test_add", flipped), _failed("test_mean", flipped), _passed("a_bonus")], 3.0),
        "s1005": ([_passed("test_add"), _failed("test_mean", transposed), _failed("a_bonus", mode)], 6.0),
        "s1006": ([_failed("test_add", None), _passed("test_mean")], 2.5),
        "s1007": ([_passed("test_add"), CellResult("test_mean", 3.0, Verdict.HELD, "points held"),
                   CellResult("a_bonus", 1.0, Verdict.TIMEOUT, "a call ran past 60 s")], 9.0),
    }
    results = []
    for student, (cells, seconds) in plan.items():
        r = SubmissionResult(student, ASSIGNMENT, cells={c.grade_id: c for c in cells}, seconds=seconds,
                             max_score=sum(POINTS.values()))
        for c in cells:
            for cause in made:
                if c.message.endswith(LIKELY_CAUSE + cause):
                    made[cause].add(student)
        results.append(r)
    results[-1].status, results[-1].findings = Status.FLAGGED, ["scipy.signal.convolve2d in mean_of"]
    results[-1].reason = "=HYPERLINK(\"http://evil\")  held for review"
    crashed = SubmissionResult("s1008", ASSIGNMENT, cells={g: _passed(g) for g in POINTS}, seconds=1.0,
                               max_score=sum(POINTS.values()))
    crashed.fail(Status.CRASHED, f"the grading process died (exit code -9) {HOSTILE}")
    timed_out = SubmissionResult("s1009", ASSIGNMENT, max_score=sum(POINTS.values()), seconds=120.0)
    timed_out.fail(Status.TIMEOUT, "stopped after 1320 s (notebook time limit)")
    results += [crashed, timed_out]
    for r in results:
        r.score = sum(c.score for c in r.cells.values())
    return results, made


COPIED = '''\
def add(a, b):
    total = np.asarray(a) + np.asarray(b)
    label = "</pre><script>alert(1)</script>"
    assert total.shape == np.broadcast(a, b).shape, label
    return total


def mean_of(x):
    values = np.asarray(x, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("mean of nothing")
    return float(values.sum() / values.size)
'''
OWN = '''\
def add(a, b):
    return np.add(a, b)


def mean_of(x):
    return float(np.mean(x))
'''


def _submit(course: Course, student: str, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(code, metadata={"nbgrader": {"grade_id": "add", "solution": True}}))
    folder = course.submitted(student, ASSIGNMENT)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


@pytest.fixture
def graded_class(tmp_path):
    course = Course(tmp_path / "course", source=SOURCE, release=tmp_path / "release")
    results, made = synthetic_class()
    course.save_report(ASSIGNMENT, {r.student: r for r in results})
    _submit(course, "s1002", COPIED)
    _submit(course, "s1004", COPIED.replace("total", "summed").replace("values", "xs"))
    _submit(course, "s1005", OWN)
    common = ["--course", str(course.root), "--source", str(SOURCE), "--release", str(tmp_path / "release")]
    return course, results, made, common


class Tables(html.parser.HTMLParser):
    """Text of each table cell, per table, keyed by the id of the section (h2) it is in."""

    def __init__(self):
        super().__init__()
        self.section = ""
        self.tables: dict[str, list[list[str]]] = {}
        self.causes: list[str] = []
        self._cell: list[str] | None = None
        self._in_cause = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h2":
            self.section = attrs.get("id", "")
        elif tag == "tr":
            self.tables.setdefault(self.section, []).append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "span" and attrs.get("class") == "cause":
            self._in_cause = True
            self.causes.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self.section][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "span":
            self._in_cause = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_cause:
            self.causes[-1] += data


def _run_report(common, capsys, *extra) -> tuple[Path, Path]:
    assert main(["report", ASSIGNMENT, *common, *extra]) == 0
    printed = [line.removeprefix("wrote ") for line in capsys.readouterr().out.splitlines()]
    html_path, csv_path = map(Path, printed)
    assert html_path.name == f"{ASSIGNMENT}-class.html" and csv_path.name == f"{ASSIGNMENT}-class.csv"
    return html_path, csv_path


def test_csv_has_each_student_with_numbers_from_the_results(graded_class, capsys):
    course, results, made, common = graded_class
    _, csv_path = _run_report(common, capsys)
    rows = {row["student"]: row for row in csv.DictReader(csv_path.open(newline=""))}
    assert sorted(rows) == sorted(r.student for r in results)
    header = next(csv.reader(csv_path.open(newline="")))
    assert header[6:9] == ["test_add", "test_mean", "a_bonus"]  # source notebook order, then the rest
    for r in results:
        row = rows[r.student]
        assert Status(row["status"]) is r.status
        assert float(row["score"]) == sum(POINTS[g] for g, c in r.cells.items() if c.verdict is Verdict.PASSED)
        assert float(row["held_points"]) == sum(POINTS[g] for g, c in r.cells.items() if c.verdict is Verdict.HELD)
        assert float(row["seconds"]) == r.seconds
        for grade_id in POINTS:
            assert row[grade_id] == (r.cells[grade_id].verdict.value if grade_id in r.cells else "")
        assert set(filter(None, row["likely_causes"].split("; "))) == {c for c, who in made.items()
                                                                       if r.student in who}
    assert rows["s1007"]["reason"].startswith("'=HYPERLINK")  # a spreadsheet does not run it
    assert "s1004 (" in rows["s1002"]["similar_to"] and "s1002 (" in rows["s1004"]["similar_to"]
    assert rows["s1005"]["similar_to"] == ""


def test_page_numbers_ranking_escaping_and_anonymised_examples(graded_class, capsys):
    course, results, made, common = graded_class
    html_path, _ = _run_report(common, capsys)
    page = html_path.read_text()
    parsed = Tables()
    parsed.feed(page)

    summary = dict(row for row in parsed.tables["summary"] if len(row) == 2)
    scores = [sum(POINTS[g] for g, c in r.cells.items() if c.verdict is Verdict.PASSED) for r in results]
    assert summary["submissions"] == str(len(results))
    assert summary["mean score"] == f"{statistics.fmean(scores):.2f}"
    assert summary["median score"] == f"{statistics.median(scores):g}"
    assert summary["grading time (all submissions)"] == f"{sum(r.seconds for r in results):.1f} s"

    header, *rows = parsed.tables["parts"]
    assert [row[0] for row in rows] == ["test_add", "test_mean", "a_bonus"]
    for row in rows:
        cells = [r.cells[row[0]] for r in results if row[0] in r.cells]
        passed = sum(c.verdict is Verdict.PASSED for c in cells)
        assert row[header.index("passed")] == str(passed)
        assert row[-1] == f"{passed / len(cells):.0%}"

    # Ranked by how many students made each mistake; the made-up cause is not one.
    counts = Counter({cause: len(who) for cause, who in made.items()})
    assert parsed.causes == [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    assert counts[diagnose.FLIPPED] == 3 and f"<b>3 students</b>" in page
    mistakes = page[page.index("id='mistakes'"):page.index("id='attention'")]
    assert not any(r.student in mistakes for r in results)
    assert "[student]" in mistakes

    attention = {row[0]: row for row in parsed.tables["attention"][1:]}
    assert set(attention) == {"s1007", "s1008", "s1009"}
    assert Status(attention["s1008"][1]) is Status.CRASHED and Status(attention["s1009"][1]) is Status.TIMEOUT
    assert attention["s1007"][3] == "3"  # held points

    # Hostile text is shown as text: no markup of a student's reaches the page.
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the copied code, side by side
    assert "s1002 and s1004" in page and "s1005 and" not in page


def test_threshold_option_and_no_similarity(graded_class, capsys):
    course, _, _, common = graded_class
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text().replace("similarity_threshold = 0.5", "similarity_threshold = 1.01"))
    html_path, _ = _run_report(common, capsys)  # no pair can share more than all of its code
    assert "s1002 and s1004" not in html_path.read_text() and "at least 101%" in html_path.read_text()
    html_path, _ = _run_report(common, capsys, "--similarity-threshold", "0.5")  # the option wins
    assert "s1002 and s1004" in html_path.read_text()
    html_path, csv_path = _run_report(common, capsys, "--no-similarity")
    assert "Not checked" in html_path.read_text()
    with pytest.raises(SystemExit):
        main(["report", ASSIGNMENT, *common, "--similarity-threshold", "2"])
    assert "not a share between 0 and 1" in capsys.readouterr().err


def test_open_and_missing_report(graded_class, capsys, monkeypatch, tmp_path):
    import webbrowser

    course, _, _, common = graded_class
    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    html_path, _ = _run_report(common, capsys, "--open", "--no-similarity")
    assert opened == [html_path.as_uri()]
    assert main(["report", "nope", *common]) == 2
    assert "no grading report for 'nope'" in capsys.readouterr().err


def test_page_in_headless_chromium(graded_class, capsys):
    from bookcheck import StaticServer, chromium_paths, start_chromium

    if chromium_paths() is None:
        pytest.skip("chromium and chromedriver are not installed (make chromium)")
    _, _, _, common = graded_class
    html_path, _ = _run_report(common, capsys)
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile, \
            StaticServer(html_path.parent) as server:
        driver = start_chromium(Path(profile))
        try:
            driver.get(server.url + html_path.name)
            facts = driver.execute_script(
                "return {title: document.title, scripts: document.scripts.length,"
                " images: Array.from(document.images).map(i => [i.id, i.complete && i.naturalWidth > 0])};")
            errors = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        finally:
            driver.quit()
    assert errors == []
    assert facts["title"] == f"Class report: {ASSIGNMENT}" and facts["scripts"] == 0
    assert facts["images"] == [["histogram", True]]
