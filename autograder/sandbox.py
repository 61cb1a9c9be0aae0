"""Run a student's kernel with limits: memory, CPU time, no network, no access to other files.

Two halves:

* :class:`Limits` and :func:`probe` run in the grading process. ``probe()`` finds out once which
  isolation the machine allows (network namespaces and dropping privileges need root or
  user namespaces) so the CLI can say what is and is not enforced instead of failing silently.
* ``autograder/_launcher.py LIMITS_JSON -- KERNEL_ARGV...`` is the kernel launcher that
  :class:`SandboxKernelManager` puts in front of the normal ``ipykernel`` command. It applies
  the limits to itself and then ``exec``\\ s the kernel, so the kernel inherits all of them.

With a network namespace the kernel cannot reach the TCP loopback of the grading process, so the
kernel and its client talk over Unix-domain sockets (ZeroMQ ``ipc`` transport) instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_launcher.py")


@dataclasses.dataclass
class Limits:
    """Resource limits for one submission's kernel (0 or None switches a limit off)."""

    cell_timeout: int = 60  # seconds of wall time per cell
    notebook_timeout: int = 600  # seconds of wall time for the whole notebook
    memory_mb: int = 4096  # RLIMIT_AS: address space of the kernel
    cpu_seconds: int = 300  # RLIMIT_CPU: CPU time of the kernel
    file_size_mb: int = 64  # RLIMIT_FSIZE: largest file the kernel may write
    output_bytes: int = 100_000  # outputs kept per cell; the rest is dropped
    # processes and threads of the kernel and everything it starts (a pids cgroup): stops fork
    # bombs, which RLIMIT_NPROC cannot when kernels run as root. TensorFlow alone starts ~100.
    max_processes: int = 512
    no_network: bool = True
    isolate_files: bool = True
    # imported by the kernel before any cell: the checks capture NumPy and the reference code
    # even if a notebook's setup cell were somehow not restored ("" to switch off)
    preload: str = "autograder.checks"
    # filled in per submission by the grader: the kernel's own directory, and what to hide
    job_dir: str = ""
    hide: tuple = ()
    cgroup: str = ""  # the submission's pids cgroup, which the kernel joins before it starts


@dataclasses.dataclass
class Capabilities:
    """What isolation this machine supports for the current user."""

    network_namespace: bool
    mount_namespace: bool
    reason: str
    process_groups: bool = False  # a writable pids cgroup hierarchy (see ProcessGroup)

    def describe(self, limits: Limits) -> list[str]:
        """Human-readable lines about what is enforced."""
        lines = [
            f"cell timeout {limits.cell_timeout}s, notebook timeout {limits.notebook_timeout}s, "
            f"memory {limits.memory_mb} MiB, CPU {limits.cpu_seconds}s, "
            f"output {limits.output_bytes} bytes per cell"
        ]
        if limits.no_network:
            lines.append(
                "network: blocked (kernel in its own network namespace)"
                if self.network_namespace
                else f"network: NOT blocked ({self.reason})"
            )
        if limits.isolate_files:
            lines.append(
                "files: kernel sees only its own copy (workspace and other submissions hidden, "
                "course code read-only, no capabilities)"
                if self.mount_namespace
                else "files: NOT isolated (no mount namespace for this user); the kernel works "
                "in a temporary copy but could reach other files by absolute path"
            )
        if limits.max_processes:
            lines.append(
                f"processes: at most {limits.max_processes} per kernel, threads included, all "
                "killed when its notebook is done (pids cgroup)"
                if self.process_groups
                else "processes: NOT limited, and a kernel's child processes may outlive it "
                "(no writable pids cgroup: needs root)"
            )
        return lines


@lru_cache(maxsize=1)
def probe() -> Capabilities:
    """Test once whether network and mount namespaces can be created here."""

    def works(flag: int) -> bool:
        code = ("import ctypes,sys;"
                f"sys.exit(0 if ctypes.CDLL(None, use_errno=True).unshare({flag}) == 0 else 1)")
        try:
            return subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False

    netns = works(CLONE_NEWNET)
    reason = "" if netns else "unshare(CLONE_NEWNET) is not permitted for this user"
    return Capabilities(network_namespace=netns, mount_namespace=works(CLONE_NEWNS), reason=reason,
                        process_groups=pids_hierarchy() is not None)


def effective_limits(limits: Limits, caps: Capabilities | None = None) -> Limits:
    """Switch off the isolation features the machine cannot provide."""
    caps = caps or probe()
    return dataclasses.replace(
        limits,
        no_network=limits.no_network and caps.network_namespace,
        isolate_files=limits.isolate_files and caps.mount_namespace,
        max_processes=limits.max_processes if caps.process_groups else 0,
    )


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
            group = ProcessGroup.create(base, f"autograder-probe-{os.getpid()}", 1)
        except OSError:
            continue
        group.kill_and_remove()
        return base
    return None


class ProcessGroup:
    """A pids cgroup for one submission's kernel: caps its processes, and ends every one of them.

    The kernel launcher joins the group before it becomes the kernel, so everything the student's
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


class SandboxKernelManager(AsyncKernelManager):
    """Kernel manager that starts the kernel through the sandbox launcher.

    The limits travel in the class attribute ``sandbox_limits`` because nbclient builds the manager
    itself; the grading worker sets it before each notebook.
    """

    sandbox_limits: Limits = Limits()
    #: private directory of the current submission (connection file, ipc sockets, HOME)
    sandbox_dir: str = ""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.sandbox_limits.preload:
            cmd.append(f"--IPKernelApp.exec_lines=import {self.sandbox_limits.preload}")
        payload = json.dumps({**dataclasses.asdict(self.sandbox_limits), "home": self.sandbox_dir})
        # -I: the launcher imports nothing but the standard library (not this package).
        return [sys.executable, "-I", LAUNCHER, payload, "--", *cmd]

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox_dir:
            self.connection_file = os.path.join(self.sandbox_dir, "kernel.json")
            if self.sandbox_limits.no_network:
                self.transport = "ipc"
                self.ip = os.path.join(self.sandbox_dir, "kernel-ipc")
        return await super()._async_pre_start_kernel(**kw)
