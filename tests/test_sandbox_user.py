"""The sandbox works for an instructor who is not root (a JupyterHub user), as the issue's trust model asks.

Run as the unprivileged user ``nobody`` with Debian's own Python (the course's venv may sit in root's
home, which ``nobody`` cannot read); the sandbox module needs only the standard library.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.course import REPO

SYSTEM_PYTHON = Path("/usr/bin/python3.11")
RUN_AS = "nobody"


def _can_switch_user() -> str:
    if os.geteuid() != 0:
        return "needs root to switch to an unprivileged user"
    if not (shutil.which("runuser") and SYSTEM_PYTHON.exists() and shutil.which("bwrap")):
        return "needs runuser, /usr/bin/python3.11 and bwrap"
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        return f"no user {RUN_AS!r}"
    return ""


pytestmark = pytest.mark.skipif(bool(_can_switch_user()), reason=_can_switch_user() or "ok")

SCRIPT = f"""
import subprocess, sys, tempfile
from pathlib import Path
sys.path.insert(0, {str(REPO)!r})
from autograder.sandbox import KernelDirs, bwrap_argv, probe
print("probe", repr(probe()))
with tempfile.TemporaryDirectory() as tmp:
    argv = bwrap_argv(KernelDirs.create(Path(tmp))) + ["--", sys.executable, "-I", "-c",
        "import os; print(os.getuid(), os.getpid(), os.path.exists({str(REPO)!r}), os.access('/usr', os.W_OK))"]
    print(subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.strip())
"""


def test_an_unprivileged_instructor_gets_the_sandbox():
    run = subprocess.run(["runuser", "-u", RUN_AS, "--", str(SYSTEM_PYTHON), "-I", "-c", SCRIPT],
                         capture_output=True, text=True, timeout=120, cwd="/")
    assert run.returncode == 0, run.stderr
    probe_line, inside = run.stdout.splitlines()
    assert probe_line == "probe ''", run.stdout
    uid, pid, sees_course, writes_system = inside.split()
    # its own uid, a fresh PID namespace (a low pid), no view of the course, a read-only system
    assert (uid, sees_course, writes_system) == ("1000", "False", "False") and int(pid) < 10, inside
