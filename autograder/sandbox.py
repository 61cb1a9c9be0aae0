"""Run a student's kernel with limits: memory, CPU time, no network, no access to other files.

Two halves:

* :class:`Limits` and :func:`probe` run in the grading process. ``probe()`` finds out once which
  isolation the machine allows (network namespaces and dropping privileges need root or
  user namespaces) so the CLI can say what is and is not enforced instead of failing silently.
* ``python -m autograder.sandbox LIMITS_JSON -- KERNEL_ARGV...`` is the kernel launcher that
  :class:`SandboxKernelManager` puts in front of the normal ``ipykernel`` command. It applies
  the limits to itself and then ``exec``\\ s the kernel, so the kernel inherits all of them.

With a network namespace the kernel cannot reach the TCP loopback of the grading process, so the
kernel and its client talk over Unix-domain sockets (ZeroMQ ``ipc`` transport) instead.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
from functools import lru_cache

from jupyter_client.manager import AsyncKernelManager

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
PR_SET_PDEATHSIG = 1


@dataclasses.dataclass
class Limits:
    """Resource limits for one submission's kernel (0 or None switches a limit off)."""

    cell_timeout: int = 60  # seconds of wall time per cell
    notebook_timeout: int = 600  # seconds of wall time for the whole notebook
    memory_mb: int = 4096  # RLIMIT_AS: address space of the kernel
    cpu_seconds: int = 300  # RLIMIT_CPU: CPU time of the kernel
    file_size_mb: int = 64  # RLIMIT_FSIZE: largest file the kernel may write
    output_bytes: int = 100_000  # outputs kept per cell; the rest is dropped
    no_network: bool = True
    isolate_files: bool = True
    # filled in per submission by the grader: the kernel's own directory, and what to hide
    job_dir: str = ""
    hide: tuple = ()


@dataclasses.dataclass
class Capabilities:
    """What isolation this machine supports for the current user."""

    network_namespace: bool
    mount_namespace: bool
    reason: str

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
    return Capabilities(network_namespace=netns, mount_namespace=works(CLONE_NEWNS), reason=reason)


def effective_limits(limits: Limits, caps: Capabilities | None = None) -> Limits:
    """Switch off the isolation features the machine cannot provide."""
    caps = caps or probe()
    return dataclasses.replace(
        limits,
        no_network=limits.no_network and caps.network_namespace,
        isolate_files=limits.isolate_files and caps.mount_namespace,
    )


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
        payload = json.dumps({**dataclasses.asdict(self.sandbox_limits), "home": self.sandbox_dir})
        return [sys.executable, "-m", "autograder.sandbox", payload, "--", *cmd]

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox_dir:
            self.connection_file = os.path.join(self.sandbox_dir, "kernel.json")
            if self.sandbox_limits.no_network:
                self.transport = "ipc"
                self.ip = os.path.join(self.sandbox_dir, "kernel-ipc")
        return await super()._async_pre_start_kernel(**kw)


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
PR_CAPBSET_DROP = 24
CAP_LAST = 63


def _mount(libc, source, target, fstype, flags):
    if libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                  None) != 0:
        raise SystemExit(f"sandbox: mount {target} failed: {os.strerror(ctypes.get_errno())}")


def _isolate_files(libc, limits: dict) -> None:
    """Private mount namespace: hide the workspace and other submissions, freeze the code.

    The kernel keeps working in its own directory (its current directory and ``home``), sees an
    empty tmpfs where the course workspace and the grading run's directory are, and sees every
    other mount read-only (the check library, the venv, the system). It then loses every
    capability, so it cannot undo the mounts.
    """
    if libc.unshare(CLONE_NEWNS) != 0:
        raise SystemExit(f"sandbox: unshare(CLONE_NEWNS) failed: {os.strerror(ctypes.get_errno())}")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    keep = os.open(limits["job_dir"], os.O_RDONLY | os.O_DIRECTORY)
    for hidden in limits["hide"]:
        _mount(libc, "tmpfs", hidden, "tmpfs", 0)
    os.makedirs(limits["job_dir"], exist_ok=True)  # now inside the tmpfs
    _mount(libc, f"/proc/self/fd/{keep}", limits["job_dir"], None, MS_BIND | MS_REC)
    os.close(keep)
    os.chdir(os.getcwd())  # re-resolve the working directory through the new mounts
    writable = [limits["job_dir"], *limits["hide"], "/proc", "/sys", "/dev"]
    with open("/proc/self/mountinfo") as fh:
        points = [line.split()[4] for line in fh]
    for point in points:
        if not any(point == w or point.startswith(w.rstrip("/") + "/") for w in writable):
            # Read-only everywhere else: uid 0 without capabilities still owns root's files.
            libc.mount(None, point.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
    for cap in range(CAP_LAST + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails quietly past the last real capability


def _drop_capabilities(libc) -> None:
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two words each) = none
    if libc.capset(header, data) != 0:
        raise SystemExit(f"sandbox: capset failed: {os.strerror(ctypes.get_errno())}")


def _apply(limits: dict) -> None:
    """Apply ``limits`` to this process (the launcher, about to become the kernel)."""
    libc = ctypes.CDLL(None, use_errno=True)
    # The kernel dies with the worker that started it, even when the worker is SIGKILLed.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if limits["no_network"] and libc.unshare(CLONE_NEWNET) != 0:
        raise SystemExit(f"sandbox: unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}")
    if limits["isolate_files"]:
        _isolate_files(libc, limits)
    mib = 1024 * 1024
    for name, value in (
        ("RLIMIT_AS", limits["memory_mb"] * mib),
        ("RLIMIT_CPU", limits["cpu_seconds"]),
        ("RLIMIT_FSIZE", limits["file_size_mb"] * mib),
    ):
        if value:
            resource.setrlimit(getattr(resource, name), (value, value))
    home = limits["home"]
    if home:
        os.environ.update(HOME=home, IPYTHONDIR=os.path.join(home, ".ipython"),
                          MPLCONFIGDIR=os.path.join(home, ".mpl"), TMPDIR=home)
    if limits["isolate_files"]:
        _drop_capabilities(libc)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    limits = json.loads(argv[0])
    kernel_cmd = argv[argv.index("--") + 1:]
    _apply(limits)
    os.execv(kernel_cmd[0], kernel_cmd)


if __name__ == "__main__":
    main()
