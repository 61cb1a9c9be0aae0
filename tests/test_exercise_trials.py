"""Trials as a student runs them: `python -m autograder check` on filled-in release notebooks.

For every assignment the source notebook's solution, pasted into the release notebook, checks
clean (exit 0), and each classic mistake of the chapter -- the solution with one deliberate error
-- fails a *visible* test whose message names the mistake (the mistakes are part of each
exercise's declaration, autograder/exercises/). Mistakes in different functions share one notebook
run (one kernel) when they cannot disturb each other's tests.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.exercises import Mistake, declared
from autograder.check_report import CheckStatus
from autograder.student_check import run_checks
from exercise_ns import SOURCE, _code, cells

RELEASE = SOURCE.parent / "release"


def solutions(assignment: str) -> dict[str, str]:
    """Solution cells of the source notebook, as a student would have written them (no markers)."""
    return {c["metadata"]["nbgrader"]["grade_id"]: re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", _code(c))
            for c in cells(assignment) if c["metadata"].get("nbgrader", {}).get("solution")}


def mistaken(assignment: str, mistake: Mistake) -> str:
    code = solutions(assignment)[mistake.function]
    for old, new in mistake.edits:
        assert code.count(old) == 1, f"{mistake.name}: {old!r} is not (once) in {assignment}'s {mistake.function}"
        code = code.replace(old, new)
    return code


def student_notebook(assignment: str, folder: Path, replaced: dict[str, str]) -> Path:
    """The release notebook with every solution cell filled in, ``replaced`` ones by the given code."""
    nb = json.loads((RELEASE / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    code = {**solutions(assignment), **replaced}
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in code and cell["metadata"]["nbgrader"].get("solution"):
            cell["source"] = code[grade_id]
    path = folder / f"{assignment}.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


#: The classic mistakes of each NumPy exercise, as its declaration lists them.
MISTAKES = {aid: list(ex.mistakes) for aid, ex in declared().items() if ex.mistakes}


def rounds(mistakes: list[Mistake]) -> list[list[Mistake]]:
    """Pack mistakes into notebook runs: in one run no two mistakes touch the same function, and no
    mistaken function is called by another mistake's function."""
    packed: list[list[Mistake]] = []
    for mistake in mistakes:
        for group in packed:
            touched = {g.function for g in group}
            used = {u for g in group for u in g.uses}
            if mistake.function not in touched | used and not set(mistake.uses) & touched:
                group.append(mistake)
                break
        else:
            packed.append([mistake])
    return packed


ROUNDS = [pytest.param(aid, group, id=f"{aid}-{i}") for aid, ms in MISTAKES.items() for i, group in enumerate(rounds(ms))]
KERAS = ["09-keras-mnist", "10-keras-cifar10"]


@pytest.mark.parametrize("assignment", sorted(MISTAKES))
def test_correct_solution_checks_clean(assignment, tmp_path, capsys):
    assert main(["check", str(student_notebook(assignment, tmp_path, {}))]) == 0, capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("assignment", KERAS)
def test_correct_keras_model_checks_clean(assignment, tmp_path, capsys):
    assert main(["check", str(student_notebook(assignment, tmp_path, {}))]) == 0, capsys.readouterr().out
    assert "[LATER]" in capsys.readouterr().out


@pytest.mark.slow  # about 2 s per notebook run on an idle machine, 36 runs
@pytest.mark.parametrize("assignment,group", ROUNDS)
def test_classic_mistakes_fail_a_visible_test_that_names_them(assignment, group, tmp_path):
    path = student_notebook(assignment, tmp_path, {g.function: mistaken(assignment, g) for g in group})
    results = {r.cell: r for r in run_checks(path)}
    for mistake in group:
        result = results[mistake.cell]
        assert result.status is CheckStatus.FAIL, f"{mistake.name}: {mistake.cell} passed"
        assert mistake.says in result.message, f"{mistake.name}: {mistake.cell} says\n{result.message}"


def test_every_chapter_has_trials():
    numpy_assignments = [a for a in (p.name for p in SOURCE.iterdir()) if a not in KERAS and (SOURCE / a / f"{a}.ipynb").exists()]
    assert sorted(MISTAKES) == sorted(numpy_assignments)
