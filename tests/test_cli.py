"""Student `check` command and `collect` reporting (no grading run needed)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, SOURCE, dumps, with_code  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.student_check import MAX_LINE_CHARS, MAX_MESSAGE_LINES, visible_code  # noqa: E402


def test_check_reports_pass_and_fail_with_messages(tmp_path, capsys):
    nb = tmp_path / "mine.ipynb"
    nb.write_text(dumps(with_code(mean="def mean_of(x):\n    return 0.0")))
    assert main(["check", str(nb)]) == 1
    out = capsys.readouterr().out
    assert "[PASS] test_add (2 pt)" in out
    assert "[FAIL] test_mean (3 pt): AssertionError: mean_of([1, 2, 3]) should be 2.0" in out
    assert "1/2 visible test cells pass" in out


def test_check_rejects_broken_notebook(tmp_path, capsys):
    nb = tmp_path / "broken.ipynb"
    nb.write_text("{not json")
    assert main(["check", str(nb)]) == 2
    assert "not valid notebook JSON" in capsys.readouterr().out


def test_collect_reports_unmatched_and_duplicate_files(tmp_path, capsys):
    lms = tmp_path / "lms"
    lms.mkdir()
    good = dumps(with_code())
    (lms / "ann_1_attempt1.ipynb").write_text(good)
    (lms / "ann_2_attempt2.ipynb").write_text(good)
    (lms / "notes.txt").write_text("x")
    (lms / "_nostudent.ipynb").write_text(good)
    course = tmp_path / "course"
    common = ["--course", str(course), "--source", str(SOURCE), "--release", str(tmp_path / "r")]
    assert main([*common, "collect", ASSIGNMENT, str(lms)]) == 0
    out = capsys.readouterr().out
    assert "collected 1 submissions" in out
    assert "NOT MATCHED (no student id in the name): notes.txt" in out
    assert "NOT MATCHED (no student id in the name): _nostudent.ipynb" in out
    assert "ann_1_attempt1.ipynb: replaced by later file ann_2_attempt2.ipynb" in out
    assert (course / "submitted" / "ann" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() == good
    assert main([*common, "collect", ASSIGNMENT, str(lms), "--pattern", "(.*).ipynb"]) == 2


def test_sandbox_report_says_what_is_enforced():
    from autograder.sandbox import Limits, describe

    text = "\n".join(describe(Limits(max_processes=64), sandboxed=True))
    assert "bubblewrap" in text and "call timeout 60s" in text
    assert "isolation: NONE (--no-sandbox)" in "\n".join(describe(Limits(), sandboxed=False))


def test_grade_refuses_without_a_sandbox_and_says_what_to_install(tmp_path, monkeypatch, capsys):
    from autograder import runner

    lms = tmp_path / "lms"
    lms.mkdir()
    (lms / "zoe_1.ipynb").write_text(dumps(with_code()))
    common = ["--course", str(tmp_path / "course"), "--source", str(SOURCE), "--release", str(tmp_path / "r")]
    assert main([*common, "release"]) == 0
    assert main([*common, "collect", ASSIGNMENT, str(lms)]) == 0
    monkeypatch.setattr(runner, "probe", lambda: "bubblewrap (bwrap) is not installed")
    assert main(["grade", ASSIGNMENT, *common]) == 2  # workspace options after the subcommand
    err = capsys.readouterr().err
    assert "bubblewrap (bwrap) is not installed" in err and "apt-get install bubblewrap" in err
    assert "--no-sandbox" in err


def test_db_url_selects_the_gradebook(tmp_path):
    from nbgrader.api import Gradebook

    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    lms = tmp_path / "lms"
    lms.mkdir()
    (lms / "zoe_1.ipynb").write_text(dumps(with_code()))
    common = ["--course", str(tmp_path / "course"), "--source", str(SOURCE),
              "--release", str(tmp_path / "r"), "--db-url", url]
    assert main([*common, "collect", ASSIGNMENT, str(lms)]) == 0
    with Gradebook(url, "cnn-course") as gb:
        assert [s.id for s in gb.students] == ["zoe"]
    assert not (tmp_path / "course" / "gradebook.db").exists()


def _graded_cell(grade_id: str, source: str, points: int = 1) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": grade_id, "outputs": [], "source": source,
            "metadata": {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                      "schema_version": 3, "solution": False}}}


def test_check_shows_whole_messages_and_hidden_only_cells(tmp_path, capsys):
    nb = with_code()
    nb["cells"] += [
        _graded_cell("test_long", "x = np.arange(300.0)\n"
                     "np.testing.assert_allclose(x + (x == 150), x, err_msg='the case that failed')"),
        _graded_cell("test_wide", "assert False, 'w' * 500"),
        _graded_cell("test_tall", "assert False, '\\n'.join(f'line {i}' for i in range(100))"),
        _graded_cell("test_later", "# Graded after submission: trains a model for one epoch.", points=2),
        _graded_cell("test_empty", ""),
    ]
    path = tmp_path / "mine.ipynb"
    path.write_text(dumps(nb))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] test_long (1 pt): AssertionError: Not equal to tolerance" in out
    for line in ("    the case that failed", "    Mismatched elements: 1 / 300 (0.333%)", "     [150]: 151.0 (ACTUAL), 150.0 (DESIRED)",
                 "     ACTUAL: array(["):
        assert any(printed.startswith(line) for printed in out.splitlines()), line
    assert "[LATER] test_later (2 pt): Graded after submission: trains a model for one epoch." in out
    assert "[LATER] test_empty (1 pt): graded after submission" in out
    assert f"[FAIL] test_wide (1 pt): AssertionError: {'w' * (MAX_LINE_CHARS - 3)}..." in out
    assert f"    line {MAX_MESSAGE_LINES - 1}\n    ... ({100 - MAX_MESSAGE_LINES} more lines)" in out
    assert "2/5 visible test cells pass" in out and "2 graded after submission only" in out

    nb["cells"] = [c for c in nb["cells"] if c.get("id") not in {"test_long", "test_wide", "test_tall"}]
    path.write_text(dumps(nb))
    assert main(["check", str(path)]) == 0, "hidden-only cells are not failures"


def test_only_comments_count_as_no_visible_code():
    assert not visible_code("") and not visible_code("# checked after submission\n\n# (2 points)")
    assert visible_code("x = 1  # a comment") and visible_code("def broken(:")


def test_collect_survives_hostile_archives(tmp_path, capsys, monkeypatch):
    import zipfile

    from autograder import lms

    common = ["--course", str(tmp_path / "course"), "--source", str(SOURCE), "--release", str(tmp_path / "r")]
    odd = tmp_path / "odd.zip"
    with zipfile.ZipFile(odd, "w") as zf:
        zf.writestr("sub/..", "x")
        zf.writestr("../../escape_1.ipynb", dumps(with_code()))
        zf.writestr("dir\\\\win_1.ipynb", dumps(with_code()))
    assert main([*common, "collect", ASSIGNMENT, str(odd)]) == 0
    assert "collected 2 submissions" in capsys.readouterr().out
    assert not (tmp_path / "escape_1.ipynb").exists()
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"s{i}_1.ipynb", b"\0" * (lms.MAX_MEMBER_BYTES + 10))
    assert main([*common, "collect", ASSIGNMENT, str(bomb)]) == 0  # oversized members become empty files
    assert all((tmp_path / "course" / "submitted" / f"s{i}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_size == 0
               for i in range(3))
    monkeypatch.setattr(lms, "MAX_ARCHIVE_BYTES", 1000)  # the cap on the whole archive
    assert main([*common, "collect", ASSIGNMENT, str(odd)]) == 2
    assert "unpacks to more than 1,000 bytes" in capsys.readouterr().err
