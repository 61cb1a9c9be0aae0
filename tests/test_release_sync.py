"""exercises/release must be exactly what `python -m autograder release` generates from the sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.course import REPO

SOURCE = REPO / "exercises" / "source"
RELEASE = REPO / "exercises" / "release"
IDS = sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists()) if SOURCE.exists() else []


def normalised(path: Path) -> list[tuple]:
    """Cell type, source and metadata of each cell: what students get (ids, outputs ignored)."""
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"],
             json.dumps(c.get("metadata", {}), sort_keys=True)) for c in nb["cells"]]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    assert main(["--course", str(tmp / "course"), "--release", str(tmp / "release"), "release"]) == 0
    return tmp / "release"


@pytest.mark.skipif(not IDS, reason="no assignments in exercises/source yet")
def test_release_folder_lists_every_assignment():
    assert sorted(p.name for p in RELEASE.iterdir() if p.is_dir()) == IDS


@pytest.mark.skipif(not IDS, reason="no assignments in exercises/source yet")
@pytest.mark.parametrize("assignment", IDS)
def test_release_matches_generated(fresh, assignment):
    committed = RELEASE / assignment / f"{assignment}.ipynb"
    assert committed.exists(), f"run `python -m autograder release {assignment}` and commit"
    assert normalised(committed) == normalised(fresh / assignment / f"{assignment}.ipynb"), (
        f"{committed} is stale: run `python -m autograder release {assignment}` and commit")


def test_release_strips_solutions_and_hidden_tests(tmp_path):
    source = REPO / "tests" / "fixtures" / "source"
    assert main(["--course", str(tmp_path / "c"), "--source", str(source),
                 "--release", str(tmp_path / "r"), "release", "fx-numpy"]) == 0
    text = (tmp_path / "r" / "fx-numpy" / "fx-numpy.ipynb").read_text()
    assert "raise NotImplementedError()" in text
    assert "BEGIN SOLUTION" not in text and "HIDDEN" not in text and "np.add" not in text
    assert main(["--course", str(tmp_path / "c"), "release", "no-such-id"]) == 2


def test_release_replaces_only_what_it_wrote(tmp_path):
    source = tmp_path / "source" / "fx-numpy"
    source.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "fixtures" / "source" / "fx-numpy" / "fx-numpy.ipynb", source)
    (source / "data.csv").write_text("1,2\n")
    common = ["--course", str(tmp_path / "c"), "--source", str(tmp_path / "source"),
              "--release", str(tmp_path / "r")]
    assert main([*common, "release", "fx-numpy"]) == 0
    released = tmp_path / "r" / "fx-numpy"
    assert sorted(p.name for p in released.iterdir()) == ["data.csv", "fx-numpy.ipynb"]
    (released / "my-attempt.ipynb").write_text("a student's copy")
    (released / "notes").mkdir()
    (released / "notes" / "answers.md").write_text("an instructor's notes")
    (source / "data.csv").unlink()
    assert main([*common, "release", "fx-numpy"]) == 0
    assert not (released / "data.csv").exists(), "a file removed from the source stays released"
    assert (released / "my-attempt.ipynb").read_text() == "a student's copy"
    assert (released / "notes" / "answers.md").read_text() == "an instructor's notes"
    assert "raise NotImplementedError()" in (released / "fx-numpy.ipynb").read_text()
