"""Kernel launcher: limit this process, then become the sandbox (or the kernel) it was given.

Run as ``python -I _launcher.py LIMITS_JSON -- COMMAND...`` by :mod:`autograder.kernel`. Standard
library only, so that starting each kernel does not pay for importing the course packages.
"""

import ctypes
import json
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1


def _apply(limits: dict) -> None:
    # The sandbox dies with the worker that started it, even when the worker is SIGKILLed.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if limits.get("cgroup"):
        # Join before anything else: every process the kernel starts is then counted and killed.
        with open(os.path.join(limits["cgroup"], "cgroup.procs"), "w") as fh:
            fh.write(str(os.getpid()))
    mib = 1024 * 1024
    for name, value in (("RLIMIT_AS", limits["memory_mb"] * mib), ("RLIMIT_CPU", limits["cpu_seconds"]),
                        ("RLIMIT_FSIZE", limits["file_size_mb"] * mib), ("RLIMIT_CORE", 0)):
        if value or name == "RLIMIT_CORE":
            resource.setrlimit(getattr(resource, name), (value, value))


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    _apply(json.loads(argv[0]))
    command = argv[argv.index("--") + 1:]
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
