"""Kernel launcher: apply the sandbox to this process, then exec the kernel command.

Run as ``python -I _launcher.py LIMITS_JSON -- KERNEL_ARGV...`` by
:class:`autograder.sandbox.SandboxKernelManager`. Standard library only, so that starting each
kernel does not pay for importing the course packages twice.
"""

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
PR_SET_PDEATHSIG = 1
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
    # /sys stays read-only too: with its cgroup files writable, the kernel (still uid 0, if without
    # capabilities) could move itself out of its process-limiting cgroup.
    writable = [limits["job_dir"], *limits["hide"], "/proc", "/dev"]
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
    if limits["cgroup"]:
        # Join before anything else: every process the kernel starts is then counted and killed.
        with open(os.path.join(limits["cgroup"], "cgroup.procs"), "w") as fh:
            fh.write(str(os.getpid()))
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
    # nbgrader scores any stderr output in a test cell as a failure: a library's warning must not
    # cost a student points.
    os.environ["PYTHONWARNINGS"] = "ignore"
    home = limits["home"]
    if home:
        os.environ.update(HOME=home, IPYTHONDIR=os.path.join(home, ".ipython"),
                          MPLCONFIGDIR=os.path.join(home, ".mpl"), TMPDIR=home)
    if limits["isolate_files"]:
        _drop_capabilities(libc)


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    limits = json.loads(argv[0])
    kernel_cmd = argv[argv.index("--") + 1:]
    _apply(limits)
    os.execv(kernel_cmd[0], kernel_cmd)


if __name__ == "__main__":
    main()
