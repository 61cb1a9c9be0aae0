"""The project's set-up files on their own: the Makefile's checks, requirements, CI workflows."""

from __future__ import annotations

import subprocess

import pytest

import bookcheck

ROOT = bookcheck.ROOT
OLDEST_PYTHON = "3.11.2"  # Debian 12's python3.11; pyproject.toml's requires-python


def _make_venv_with_python_reporting(version: str, tmp_path) -> subprocess.CompletedProcess:
    # A stand-in interpreter that reports ``version`` and runs the code make gives it (and nothing else:
    # it cannot create a virtual environment).
    fake = tmp_path / "python3.11"
    info = tuple(int(part) for part in version.split("."))
    fake.write_text(f"#!/bin/sh\nexec python3 -c 'import sys; sys.version_info = {info}; "
                    f"sys.version = \"{version} (fake)\"; exec(sys.argv[2])' -c \"$2\"\n")
    fake.chmod(0o755)
    return subprocess.run(["make", "--no-print-directory", "venv", f"VENV={tmp_path / 'venv'}",
                           f"PYTHON={fake}"], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_pyproject_states_the_oldest_python():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={OLDEST_PYTHON}"


@pytest.mark.parametrize("version", ["3.10.14", "3.11.1"])
def test_makefile_refuses_a_python_older_than_the_oldest_supported(version, tmp_path):
    done = _make_venv_with_python_reporting(version, tmp_path)
    assert done.returncode != 0
    assert f"is Python {version}; the course needs Python {OLDEST_PYTHON} or newer" in done.stderr


@pytest.mark.parametrize("version", [OLDEST_PYTHON, "3.12.0"])
def test_makefile_accepts_the_oldest_supported_python(version, tmp_path):
    done = _make_venv_with_python_reporting(version, tmp_path)
    assert "the course needs Python" not in done.stderr
    assert "-m venv" in done.stdout  # it went on to create the environment (which the stand-in cannot)
