"""A private overlay of the public sources: its hidden tests grade, its releases stay out of the public tree.

A public tree (a git repository holding the fixture assignment's source and its release) and an
overlay that makes the hidden test of ``add`` stricter and adds a private assignment. ``release``
and ``grade`` read the overlay; the public repository's ``git status`` stays clean.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, SOURCE, cell, dumps, source_nb, with_code  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.sandbox import probe  # noqa: E402

STRICT = "assert add(0.5, 0.25) == 0.75, \"add(0.5, 0.25) should be 0.75\""
#: Passes the public hidden test (integers), fails the stricter one.
INTEGER_ADD = "def add(a, b):\n    return int(a) + int(b)"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def trees(tmp_path):
    """(public repo, overlay folder) with the public release committed."""
    public = tmp_path / "public"
    shutil.copytree(SOURCE, public / "exercises" / "source")
    assert main(["release", "--course", str(tmp_path / "plain"), "--source", str(public / "exercises" / "source"),
                 "--release", str(public / "exercises" / "release")]) == 0
    _git(public, "init", "-q")
    _git(public, "add", "-A")
    _git(public, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "public course")
    private = tmp_path / "private"
    nb = source_nb()
    test = cell(nb, "test_add")
    test["source"] = "".join(test["source"]).replace("### END HIDDEN TESTS", STRICT + "\n### END HIDDEN TESTS")
    (private / ASSIGNMENT).mkdir(parents=True)
    (private / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(dumps(nb))
    (private / "fx-extra").mkdir()
    (private / "fx-extra" / "fx-extra.ipynb").write_text(dumps(source_nb()))
    return public, private


def _common(tmp_path: Path, public: Path, private: Path | None) -> list[str]:
    common = ["--course", str(tmp_path / ("course-private" if private else "course-public")),
              "--source", str(public / "exercises" / "source"), "--release", str(public / "exercises" / "release")]
    return common + (["--private", str(private)] if private else [])


def test_release_from_the_overlay_leaks_nothing_and_leaves_the_public_tree_clean(tmp_path, trees):
    public, private = trees
    common = _common(tmp_path, public, private)
    assert main(["release", *common]) == 0
    released = tmp_path / "course-private" / "private-release"
    for name in (ASSIGNMENT, "fx-extra"):
        text = (released / name / f"{name}.ipynb").read_text()
        assert "HIDDEN TESTS" not in text and "0.75" not in text and "BEGIN SOLUTION" not in text
        assert "add(1, 2) == 3" in text  # the visible test is there
    assert _git(public, "status", "--porcelain", "--ignored") == ""
    assert not (public / "exercises" / "release" / "fx-extra").exists()


def test_overlay_inside_the_public_tree_is_refused(tmp_path, trees, capsys):
    public, _ = trees
    inside = public / "exercises" / "source" / "private"
    inside.mkdir()
    assert main(["release", *_common(tmp_path, public, inside)]) == 2
    assert "overlaps the public sources" in capsys.readouterr().err


@pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}")
def test_the_overlays_hidden_tests_grade(tmp_path, trees):
    public, private = trees
    lms = tmp_path / "lms"
    lms.mkdir()
    (lms / "ann_1.ipynb").write_text(dumps(with_code(add=INTEGER_ADD)))
    scores = {}
    for overlay in (None, private):
        common = _common(tmp_path, public, overlay)
        assert main(["release", ASSIGNMENT, *common]) == 0
        assert main(["collect", ASSIGNMENT, str(lms), *common]) == 0
        assert main(["grade", ASSIGNMENT, *common]) == 0
        report = json.loads((Path(common[1]) / "reports" / f"{ASSIGNMENT}.json").read_text())
        scores[overlay is not None] = (report["ann"]["score"], report["ann"]["cells"]["test_add"]["message"])
    assert scores[False] == (5.0, "")
    assert scores[True][0] == 3.0 and "add(0.5, 0.25) should be 0.75" in scores[True][1]
    assert _git(public, "status", "--porcelain", "--ignored") == ""
