"""book/_ext/course_book.py on its own, without building the book."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import bookcheck

sys.path.insert(0, str(bookcheck.ROOT / "book" / "_ext"))
import course_book  # noqa: E402

C_AND_PYTHON_STDERR = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("import os\n_ = os.write(2, b'written by C code\\n')"),
    nbformat.v4.new_code_cell("import sys\nprint('written by Python', file=sys.stderr)"),
    # The default kernel forwards fd 2 from a thread, into whichever cell runs then: give it time.
    nbformat.v4.new_code_cell("import time\ntime.sleep(1)"),
])


def _cell_stderr(monkeypatch, *, build_kernel: bool) -> str:
    monkeypatch.setenv("JUPYTER_PATH", "")
    if build_kernel:
        course_book.use_build_kernel()
    nb = nbformat.from_dict(C_AND_PYTHON_STDERR)
    NotebookClient(nb, kernel_name="python3", timeout=60).execute(env=bookcheck.env_outside_pytest())
    return "".join(o.get("text", "") for cell in nb.cells for o in cell.outputs
                   if o.get("name") == "stderr")


@pytest.mark.slow
def test_build_kernel_leaves_c_level_stderr_out_of_cells_and_keeps_pythons(monkeypatch):
    """TensorFlow's pre-absl start-up lines (fd 2) must not become cell output, which -W fails;
    Python's warnings and tracebacks must still reach the cell."""
    assert "written by C code" in _cell_stderr(monkeypatch, build_kernel=False)  # the default
    assert _cell_stderr(monkeypatch, build_kernel=True) == "written by Python\n"


def test_build_kernel_is_put_first_once(monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", "/elsewhere")
    course_book.use_build_kernel()
    course_book.use_build_kernel()
    assert os.environ["JUPYTER_PATH"].split(os.pathsep) == [str(course_book.BUILD_KERNELS), "/elsewhere"]


# ------------------------------------------------------------------ unpacking the npm tarballs
DEBIAN_PYTHON = Path("/usr/bin/python3.11")  # Debian 12's own: 3.11.2, no tarfile extraction filters
PATTERNS = ("dist/embed-amd.js", "dist/*.woff2")


def _hostile_npm_tarball(path: Path) -> Path:
    """An npm-style tarball with the two files PATTERNS keep, and members that must never be written."""
    def add(name: str, *, data: bytes = b"x", kind=tarfile.REGTYPE, link: str = ""):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
        info.mode = 0o4755  # setuid: must not survive
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(path, "w:gz") as tar:
        add("package/dist/embed-amd.js", data=b"define()")
        add("package/dist/icons.woff2", data=b"wOF2")
        add("package/dist/sub/deeper.woff2")             # one folder too deep for the pattern
        add("package/README.md")                          # matches no pattern
        add("package/dist/link.woff2", kind=tarfile.SYMTYPE, link="/etc/passwd")
        add("package/dist/hard.woff2", kind=tarfile.LNKTYPE, link="package/README.md")
        add("package/dist/../../escape.woff2")
        add("/package/dist/absolute.woff2")
        add("other/dist/icons.woff2")                     # outside package/
    return path


def _check_unpacked(dest: Path, written: list[str]) -> None:
    assert sorted(written) == ["embed-amd.js", "icons.woff2"]
    files = sorted(p.relative_to(dest.parent).as_posix() for p in dest.parent.rglob("*") if not p.is_dir())
    assert files == ["out/embed-amd.js", "out/icons.woff2", "package.tgz"]
    assert (dest / "embed-amd.js").read_bytes() == b"define()"
    assert not (dest / "icons.woff2").stat().st_mode & 0o6000


def test_npm_tarball_copies_only_matching_regular_files(tmp_path):
    tarball = _hostile_npm_tarball(tmp_path / "package.tgz")
    written = course_book.copy_from_npm_tarball(tarball, PATTERNS, tmp_path / "out")
    _check_unpacked(tmp_path / "out", [p.name for p in written])


@pytest.mark.skipif(not DEBIAN_PYTHON.exists(),
                    reason=f"{DEBIAN_PYTHON} (Debian 12's python3.11) not installed: apt-get install python3.11")
def test_npm_tarball_unpacks_on_debians_python(tmp_path):
    """The extension on the oldest Python the course supports (Debian 12's 3.11.2, pyproject.toml)."""
    tarball = _hostile_npm_tarball(tmp_path / "package.tgz")
    # Sphinx (pure Python) from this environment; the interpreter is Debian's.
    code = ("import json, sys; from pathlib import Path; sys.path[:0] = sys.argv[1:3]; import course_book; "
            "print(sys.version_info[:3]); print(json.dumps([p.name for p in course_book.copy_from_npm_tarball("
            "Path(sys.argv[3]), tuple(sys.argv[5:]), Path(sys.argv[4]))]))")
    done = subprocess.run(
        [str(DEBIAN_PYTHON), "-I", "-c", code, str(bookcheck.ROOT / "book" / "_ext"),
         sysconfig.get_paths()["purelib"], str(tarball), str(tmp_path / "out"), *PATTERNS],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    version, names = done.stdout.splitlines()[-2:]
    print("Debian python", version)
    _check_unpacked(tmp_path / "out", json.loads(names))
