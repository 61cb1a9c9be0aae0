"""requirements.txt and requirements-numpy.txt resolve to wheels on every platform readers use.

Each case is `pip install --dry-run --only-binary=:all: --platform ...` for Python 3.11, with pip's
configuration as it is here (pip.conf files and PIP_* variables, so the same index as the Makefile's
install). pip evaluates environment markers against the machine it runs on, even with --platform,
so it runs here with the target platform's marker values (os, machine) in their place; the report's
`environment` shows which ones it used.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from packaging.utils import canonicalize_name

import requirements_files as rf

pytestmark = pytest.mark.slow


def _manylinux(arch: str) -> list[str]:
    # pip does not widen a PEP 600 tag to older glibc versions itself.
    return [f"manylinux_2_{minor}_{arch}" for minor in range(17, 29)] + [f"manylinux2014_{arch}"]


# name -> (pip --platform tags, marker values, the TensorFlow distribution expected there)
PLATFORMS = {
    "linux-x86_64": (_manylinux("x86_64"),
                     {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
                     "tensorflow"),
    "linux-aarch64": (_manylinux("aarch64"),
                      {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
                      "tensorflow"),
    # TensorFlow 2.21's macOS wheel needs macOS 12; pip widens this tag to every older macOS release.
    "macos-arm64": (["macosx_12_0_arm64"],
                    {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
                    "tensorflow"),
    # No TensorFlow 2.21 wheel for Intel Macs: requirements.txt installs there without it.
    "macos-x86_64": (["macosx_12_0_x86_64"],
                     {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64"},
                     None),
    "windows-amd64": (["win_amd64"],
                      {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64",
                       "os_name": "nt"},
                      "tensorflow"),
}
TENSORFLOW = {"tensorflow", "tensorflow-cpu"}

# pip, with packaging's marker environment overridden by the JSON in argv[1].
PIP_AS = """
import json, sys
from pip._vendor.packaging import markers
real = markers.default_environment
markers.default_environment = lambda: {**real(), **json.loads(sys.argv[1])}
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""

NETWORK_ERROR = re.compile(r"NewConnectionError|Failed to establish a new connection|Name or service not known|"
                           r"Temporary failure in name resolution|Network is unreachable|ConnectTimeoutError|"
                           r"Read timed out|ProxyError|Could not fetch URL")


def _dry_run(requirements, platform: str, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    tags, markers, _ = PLATFORMS[platform]
    command = [sys.executable, "-c", PIP_AS, json.dumps(markers), "install", "--dry-run", "--ignore-installed",
               "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
               *[arg for tag in tags for arg in ("--platform", tag)], *extra, *requirements]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """Skips when the package index cannot be reached: one wheel for a platform this machine is not."""
    # In a child: importing pip here would load the standard library's distutils into this process,
    # and setuptools (which nbgrader imports) then refuses to start in every later test.
    vendored = subprocess.run([sys.executable, "-c", "from pip._vendor.packaging import markers; "
                               "print(callable(getattr(markers, 'default_environment', None)))"],
                              capture_output=True, text=True, check=True)
    assert vendored.stdout.strip() == "True", "pip changed: update PIP_AS"
    numpy = rf.by_name(rf.MAIN)["numpy"][0]
    probe = _dry_run([numpy], "macos-arm64", tmp_path_factory.mktemp("probe"),
                     "--no-deps", "--retries", "1", "--timeout", "30")
    if probe.returncode != 0:
        output = probe.stdout + probe.stderr
        if NETWORK_ERROR.search(output):
            pytest.skip(f"the package index is unreachable: {NETWORK_ERROR.search(output).group(0)}")
        pytest.fail(f"pip could not resolve {numpy} for macOS arm64:\n{output[-3000:]}")


def _resolve(path, platform: str, tmp_path) -> tuple[dict[str, str], dict]:
    report = tmp_path / "report.json"
    done = _dry_run(["-r", str(path)], platform, tmp_path, "--quiet", "--report", str(report))
    assert done.returncode == 0, f"{path.name} does not resolve on {platform}:\n{(done.stdout + done.stderr)[-4000:]}"
    data = json.loads(report.read_text())
    installed = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in data["install"]}
    return installed, data["environment"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_requirements_resolve_with_the_right_tensorflow(platform, index, tmp_path):
    installed, environment = _resolve(rf.MAIN, platform, tmp_path)
    _, markers, tensorflow = PLATFORMS[platform]
    assert {key: environment[key] for key in markers} == markers
    assert TENSORFLOW & set(installed) == ({tensorflow} if tensorflow else set())
    for req in rf.read(rf.MAIN):
        name = canonicalize_name(req.name)
        if req.marker is None or req.marker.evaluate(markers):
            assert name in installed and installed[name] in req.specifier, \
                f"{req}: resolved {installed.get(name)} on {platform}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_numpy_only_requirements_resolve_without_tensorflow(platform, index, tmp_path):
    installed, _ = _resolve(rf.NUMPY_ONLY, platform, tmp_path)
    assert not set(installed) & (TENSORFLOW | {"keras", "nbgrader"})
    for req in rf.read(rf.NUMPY_ONLY):
        name = canonicalize_name(req.name)
        assert name in installed and installed[name] in req.specifier, f"{req}: resolved {installed.get(name)}"
