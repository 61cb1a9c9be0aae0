"""Where a submission's kernel runs: bubblewrap namespaces, resource limits and a pids cgroup.

The kernel is the only process that runs student code. It is started as

    python -I _launcher.py LIMITS_JSON -- bwrap [namespaces and mounts] -- python -m ipykernel ...

The launcher (standard library only) joins the submission's pids cgroup and sets the rlimits,
then becomes bubblewrap, which puts the kernel in new user, PID, network, IPC, UTS, cgroup and
mount namespaces: the system and the Python installation read-only, a private ``/tmp``, and
writable only the submission's own directories (its working copy, the reply box, the kernel's
sockets). The course workspace, the gradebook, the reference package, the check library and the
other submissions are simply not there. It runs as an unprivileged user with no capabilities, and
dies with the grading worker that started it.

:func:`probe` tries this once per grading run; when it cannot be set up, ``grade`` refuses and says
why, unless the instructor passes ``--no-sandbox`` (recorded in every report entry).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_launcher.py")
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow "
                "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 where that "
                "setting exists), or pass --no-sandbox to grade without isolation")


class SandboxUnavailable(RuntimeError):
    """The kernel sandbox cannot be set up on this machine."""


@dataclasses.dataclass
class Limits:
    """Resource limits for one submission (0 switches a limit off)."""

    cell_timeout: int = 60  # seconds of wall time per notebook cell
    notebook_timeout: int = 600  # seconds of wall time for the whole notebook
    call_timeout: int = 60  # seconds for one call of a student function by a check
    memory_mb: int = 4096  # RLIMIT_AS of the kernel
    cpu_seconds: int = 300  # RLIMIT_CPU of the kernel
    file_size_mb: int = 64  # RLIMIT_FSIZE: largest file the kernel may write
    output_bytes: int = 100_000  # outputs kept per cell; the rest is cut with a note
    reply_mb: int = 64  # largest reply (arrays, a saved model) the grader reads back per call
    # processes and threads of the kernel and all it starts (a pids cgroup): stops fork bombs,
    # which RLIMIT_NPROC cannot for a uid shared with other work. TensorFlow alone starts ~100.
    max_processes: int = 512


@dataclasses.dataclass(frozen=True)
class KernelDirs:
    """The directories one kernel sees besides the read-only system."""

    work: Path  # the notebook's directory: its current directory and HOME (writable)
    inbox: Path  # requests from the grader (read-only in the sandbox)
    outbox: Path  # replies to the grader (writable)
    sockets: Path  # the kernel's connection file and Unix sockets (writable)
    packages: tuple[Path, ...] = ()  # Python packages the notebook imports, shown read-only at PACKAGES

    @classmethod
    def create(cls, root: Path, packages: tuple[Path, ...] = ()) -> "KernelDirs":
        dirs = cls(root / "work", root / "inbox", root / "outbox", root / "sockets", packages)
        for path in (dirs.work, dirs.inbox, dirs.outbox, dirs.sockets):
            path.mkdir(parents=True, exist_ok=True)
        return dirs


def _python_trees() -> list[str]:
    """The interpreter's installation and the virtual environment (read-only in the sandbox)."""
    trees = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable))}
    return sorted(t for t in trees if not any(t != o and t.startswith(o + os.sep) for o in trees))


#: The course's own packages: the reference and the grader never enter a kernel, even where they
#: are installed inside the Python tree the kernel runs from (a non-editable install).
OWN_PACKAGES = ("solutions", "autograder")


def _own_package_dirs(trees: list[str]) -> list[str]:
    """Folders of OWN_PACKAGES that lie inside ``trees`` (each is hidden under an empty tmpfs)."""
    found = []
    for name in OWN_PACKAGES:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            real = os.path.realpath(location)
            if any(real.startswith(tree + os.sep) for tree in trees):
                found.append(real)
    return found


_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                 "/etc/fonts", "/etc/alternatives", "/etc/ssl/certs", "/etc/mime.types")


#: Where the sandbox shows the packages an assignment's set-up cell imports (``KernelDirs.packages``).
PACKAGES = "/opt/cnn-course"


def bwrap_argv(dirs: KernelDirs) -> list[str]:
    """The bubblewrap command line (up to its ``--``) for a kernel that sees only ``dirs``."""
    argv = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user", "--uid", "1000",
            "--gid", "1000", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for path in _SYSTEM_FILES:
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    trees = _python_trees()
    for tree in trees:
        argv += ["--ro-bind", tree, tree]
    for own in _own_package_dirs(trees):
        argv += ["--tmpfs", own]
    for package in dirs.packages:
        argv += ["--ro-bind", str(package), f"{PACKAGES}/{package.name}"]
    argv += ["--ro-bind", str(dirs.inbox), str(dirs.inbox)]
    for rw in (dirs.work, dirs.outbox, dirs.sockets):
        argv += ["--bind", str(rw), str(rw)]
    home = dirs.work / ".home"
    env = {"HOME": str(home), "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
           "LANG": "C.UTF-8", "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / "mpl"),
           "IPYTHONDIR": str(home / "ipython"), "JUPYTER_RUNTIME_DIR": str(dirs.sockets),
           "PYTHONNOUSERSITE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           # a library's warning on stderr must not clutter the student's feedback
           "PYTHONWARNINGS": "ignore"}
    if dirs.packages:
        env["PYTHONPATH"] = PACKAGES
    if os.environ.get("CNN_COURSE_QUICK"):
        env["CNN_COURSE_QUICK"] = os.environ["CNN_COURSE_QUICK"]
    argv.append("--clearenv")
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv + ["--chdir", str(dirs.work)]


@lru_cache(maxsize=1)
def probe() -> str:
    """Start a throw-away sandbox once; return '' when it works, else the reason it does not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        argv = bwrap_argv(KernelDirs.create(Path(tmp))) + ["--", sys.executable, "-I", "-c", "print(1)"]
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bwrap could not be started: {exc}"
    if run.returncode != 0 or run.stdout.strip() != "1":
        return f"bwrap failed: {(run.stderr.strip().splitlines() or ['no message'])[-1]}"
    return ""


def describe(limits: Limits, sandboxed: bool) -> list[str]:
    """What is enforced, as ``grade`` prints it and the report records it."""
    lines = [f"cell timeout {limits.cell_timeout}s, notebook timeout {limits.notebook_timeout}s, "
             f"call timeout {limits.call_timeout}s, memory {limits.memory_mb} MiB, CPU "
             f"{limits.cpu_seconds}s, output {limits.output_bytes} bytes per cell"]
    lines.append("isolation: bubblewrap (user, PID, network, IPC and mount namespaces; read-only "
                 "system; only the submission's own directories writable)" if sandboxed else
                 "isolation: NONE (--no-sandbox): the kernel runs with the grader's user and sees "
                 "its files")
    if limits.max_processes:
        lines.append(f"processes: at most {limits.max_processes} per kernel, all killed when its "
                     "notebook is done (pids cgroup)" if pids_hierarchy() else
                     "processes: NOT limited (no writable pids cgroup hierarchy for this user)")
    return lines


@lru_cache(maxsize=1)
def pids_hierarchy() -> Path | None:
    """A cgroup directory (v1 ``pids`` or v2 with the pids controller) we may create groups in."""
    candidates = [Path("/sys/fs/cgroup/pids")]
    for v2 in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        control = v2 / "cgroup.subtree_control"
        if control.is_file() and "pids" in control.read_text().split():
            candidates.append(v2)
    for base in candidates:
        try:
            group = ProcessGroup.create(base, owned_name("probe"), 1)
        except OSError:
            continue
        group.kill_and_remove()
        return base
    return None


class ProcessGroup:
    """A pids cgroup for one submission's kernel: caps its processes, and ends every one of them.

    The kernel launcher joins the group before it becomes bubblewrap, so everything the student's
    code forks is counted and, when the notebook is done, killed, even processes that detached.
    """

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, base: Path, name: str, max_processes: int) -> "ProcessGroup":
        path = base / name
        path.mkdir()
        try:
            (path / "pids.max").write_text(str(max_processes))
        except OSError:
            path.rmdir()
            raise
        return cls(path)

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return []

    def kill_and_remove(self, attempts: int = 100) -> None:
        """SIGKILL every process in the group until it is empty, then delete the group."""
        for _ in range(attempts):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)  # killed processes leave the group once their parents reap them
        try:
            self.path.rmdir()
        except OSError:  # gone already, or a process that would not die: never stop the class run
            pass


# Names of what a grading process leaves on the host (temporary directories, pids cgroups) start with
# its owner's pid and start time, so a later run can tell the leftovers of a grader that was killed
# (SIGKILL, a lost cluster worker: no ``finally`` ran) from the groups of one still grading.
_OWNED = re.compile(r"autograder-(\d+)\.(\d+)-")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22), if it runs."""
    try:
        line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return line.rsplit(")", 1)[1].split()[19]  # after the command name, which may hold spaces


def owned_name(label: str) -> str:
    """``autograder-PID.START-label-``: the name (or prefix) of something this process owns."""
    return f"autograder-{os.getpid()}.{_start_time(os.getpid())}-{label}-"


def _dead_owner(name: str) -> bool:
    owner = _OWNED.match(name)
    return owner is not None and _start_time(int(owner[1])) != owner[2]


def remove_stale(hierarchy: Path | None) -> list[Path]:
    """Kill and remove the cgroups and temporary directories of graders that are gone; what it removed.

    Only names whose owner (pid and start time) no longer runs are touched, so graders running
    beside this one are safe; a reused pid only keeps a leftover a while longer. This assumes the
    graders sharing a cgroup hierarchy share a pid namespace, as on one machine (containers see
    their own cgroup tree). Directories are removed only when they are this user's and real.
    """
    removed = []
    for group in sorted(hierarchy.glob("autograder-*")) if hierarchy else []:
        if group.is_dir() and _dead_owner(group.name):
            ProcessGroup(group).kill_and_remove()
            if not group.exists():
                removed.append(group)
    for path in Path(tempfile.gettempdir()).glob("autograder-*"):
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and _dead_owner(path.name):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
    return removed
