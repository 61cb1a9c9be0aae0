"""The in-browser self-check (autograder/inkernel.py) in CPython, under a browser tab's constraints.

A JupyterLite kernel (Pyodide) cannot start processes or a second kernel, and offline it has no
network. Each run here happens in a child interpreter where those are refused (and nbclient,
jupyter_client, zmq and nbformat cannot be imported, as in Pyodide), and its report is compared
with the one ``python -m autograder check`` (a real fresh kernel, the independent oracle) gives for
the same notebook: the same cells, statuses and messages, for correct solutions and for the classic
mistakes each exercise declares.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.check_report import CellCheck, CheckStatus
from autograder.inkernel import LITE_CHECK_ID, LITE_SETUP_ID, NotANotebook, check, run_checks_here
from autograder.student_check import run_checks
from test_exercise_trials import MISTAKES, mistaken, rounds, student_notebook

ROOT = Path(__file__).resolve().parents[1]

# Run in the child before the runner: what a browser tab lacks raises, as it would there.
BROWSER_TAB = r"""
import json, os, socket, subprocess, sys
sys.path.insert(0, sys.argv[1])  # this checkout
def _refuse(*args, **kwargs):
    raise PermissionError("a browser tab cannot do this")
subprocess.Popen = subprocess.run = _refuse
for _name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve"):
    if hasattr(os, _name):
        setattr(os, _name, _refuse)
socket.socket.connect = socket.socket.connect_ex = _refuse
for _module in ("nbclient", "jupyter_client", "zmq", "nbformat"):
    sys.modules[_module] = None
from autograder.inkernel import run_checks_here
print(json.dumps([[r.cell, r.points, r.status.value, r.message] for r in run_checks_here(sys.argv[2])]))
"""


def checks_in_browser_tab(path: Path) -> list[CellCheck]:
    done = subprocess.run([sys.executable, "-c", BROWSER_TAB, str(ROOT), str(path)], cwd=path.parent,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [CellCheck(cell, points, CheckStatus(status), message)
            for cell, points, status, message in json.loads(done.stdout.splitlines()[-1])]


FIRST_ROUNDS = [pytest.param(aid, rounds(ms)[0], id=aid) for aid, ms in sorted(MISTAKES.items())]


@pytest.mark.slow
@pytest.mark.parametrize("assignment,mistakes", FIRST_ROUNDS)
def test_browser_tab_check_says_what_check_says(assignment, mistakes, tmp_path):
    (tmp_path / "correct").mkdir()
    (tmp_path / "wrong").mkdir()
    correct = student_notebook(assignment, tmp_path / "correct", {})
    here = checks_in_browser_tab(correct)
    assert here and all(r.status is not CheckStatus.FAIL for r in here), here
    assert here == run_checks(correct)

    wrong = student_notebook(assignment, tmp_path / "wrong", {m.function: mistaken(assignment, m) for m in mistakes})
    here = {r.cell: r for r in checks_in_browser_tab(wrong)}
    for mistake in mistakes:
        assert here[mistake.cell].status is CheckStatus.FAIL and mistake.says in here[mistake.cell].message, \
            (mistake.name, here[mistake.cell])
    assert list(here.values()) == run_checks(wrong)


def _notebook(path: Path, cells: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _code(source: str, cell_id: str, grade: float | None = None) -> dict:
    meta = {"nbgrader": {"grade": True, "grade_id": cell_id, "points": grade}} if grade is not None else {}
    return {"cell_type": "code", "id": cell_id, "source": source, "metadata": meta, "outputs": [],
            "execution_count": None}


def test_lite_cells_are_not_replayed_and_prints_stay_out(tmp_path, capsys):
    path = _notebook(tmp_path / "ex.ipynb", [
        _code("raise RuntimeError('the set-up must not run again')", LITE_SETUP_ID),
        _code("print('noise'); x = 2", "work"),
        _code("import no_such_module_here", "setup"),
        _code("assert x == 2, 'x should be 2'", "test_x", 1),
        _code("assert x == 3, 'x should be 3'", "test_y", 2),
        _code("# checked after submission", "test_hidden", 4),
        _code("raise RuntimeError('the check must not recurse')", LITE_CHECK_ID),
    ])
    assert run_checks_here(path) == [
        CellCheck("test_x", 1, CheckStatus.PASS),
        CellCheck("test_y", 2, CheckStatus.FAIL, "AssertionError: x should be 3"),
        CellCheck("test_hidden", 4, CheckStatus.LATER, "checked after submission")]
    capsys.readouterr()
    check(path)
    out = capsys.readouterr().out
    assert "noise" not in out and "[FAIL] test_y (2 pt): AssertionError: x should be 3" in out
    assert "[ERROR] cell 3: ModuleNotFoundError: No module named 'no_such_module_here'" in out
    assert "run the notebook's first cell" in out
    assert "1/2 visible test cells pass" in out and "1 graded after submission only" in out


def test_default_notebook_is_the_only_one_here(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotANotebook, match="0 notebooks"):
        check()
    _notebook(tmp_path / "only.ipynb", [_code("assert True", "test_ok", 1)])
    check()
    assert "[PASS] test_ok (1 pt)" in capsys.readouterr().out
    _notebook(tmp_path / "other.ipynb", [])
    with pytest.raises(NotANotebook, match="2 notebooks .*check\\('name.ipynb'\\)"):
        check()


@pytest.mark.parametrize("content,says", [(None, "not found"), ("{oops", "not notebook JSON"),
                                          ("[1, 2]", "not a Jupyter notebook")])
def test_bad_files_are_named(tmp_path, content, says):
    path = tmp_path / "x.ipynb"
    if content is not None:
        path.write_text(content)
    with pytest.raises(NotANotebook, match=says):
        run_checks_here(path)
