"""Leftovers of graders that were killed (no ``finally`` ran) are removed; those of live graders stay."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox import ProcessGroup, owned_name, pids_hierarchy, remove_stale

_OWNER = "import os; print(os.getpid(), open(f'/proc/{os.getpid()}/stat').read().rsplit(')', 1)[1].split()[19])"


@pytest.fixture
def dead_owner() -> str:
    """The ``autograder-PID.START-`` prefix of a process that has exited."""
    pid, start = subprocess.run([sys.executable, "-c", _OWNER], capture_output=True, text=True,
                                check=True).stdout.split()
    return f"autograder-{pid}.{start}-"


def test_temporary_directories_of_dead_owners_only_are_removed(dead_owner, tmp_path):
    tmp = Path(tempfile.gettempdir())
    stale = Path(tempfile.mkdtemp(prefix=f"{dead_owner}05-channels-", dir=tmp))
    (stale / "alice").mkdir()
    (stale / "alice" / "notebook.ipynb").write_text("{}")
    live = Path(tempfile.mkdtemp(prefix=owned_name("05-channels"), dir=tmp))
    foreign = Path(tempfile.mkdtemp(prefix="autograder-outside-", dir=tmp))
    target = tmp_path / "kept"
    target.mkdir()
    link = tmp / f"{dead_owner}link"
    link.symlink_to(target, target_is_directory=True)
    try:
        removed = remove_stale(None)
        assert stale in removed and not stale.exists()
        assert live.is_dir() and foreign.is_dir() and link.is_symlink() and target.is_dir()
        assert not {live, foreign, link} & set(removed)
    finally:
        for path in (stale, live, foreign):
            subprocess.run(["rm", "-rf", str(path)], check=True)
        link.unlink()


@pytest.mark.skipif(pids_hierarchy() is None, reason="no writable pids cgroup (needs root)")
def test_cgroups_of_dead_owners_are_emptied_and_removed(dead_owner):
    hierarchy = pids_hierarchy()
    stale = ProcessGroup.create(hierarchy, f"{dead_owner}05-channels-0", 8)
    live = ProcessGroup.create(hierarchy, f"{owned_name('05-channels')}0", 8)
    orphan = subprocess.Popen(["sleep", "600"])  # a kernel its killed grader never ended
    try:
        (stale.path / "cgroup.procs").write_text(str(orphan.pid))
        removed = remove_stale(hierarchy)
        assert stale.path in removed and live.path not in removed
        assert orphan.wait(timeout=10) == -9
        assert not stale.path.exists() and live.path.is_dir()
    finally:
        orphan.kill()
        stale.kill_and_remove()
        live.kill_and_remove()
