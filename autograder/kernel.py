"""One submission's Jupyter kernel, started in the sandbox, and code run in it with limits.

The grader talks to the kernel only through the Jupyter protocol (Unix sockets in the kernel's
own directory: the sandbox has no network) and reads what comes back as plain data. Outputs are
capped per cell; a cell that runs past its time, or a kernel that dies, is reported as such and
never raises into the grader.
"""
from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
import tempfile
import time
from enum import Enum
from pathlib import Path

from jupyter_client.manager import KernelManager

from .sandbox import LAUNCHER, KernelDirs, Limits, bwrap_argv

#: One message larger than this (a single enormous print) is dropped by ZeroMQ, not buffered.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class RunStatus(str, Enum):
    OK = "ok"
    ERROR = "error"  # the code raised; ``error`` holds the exception name and message
    TIMEOUT = "timeout"
    DEAD = "dead"  # the kernel died (crash, os._exit, a memory or CPU limit)


@dataclasses.dataclass
class Run:
    status: RunStatus
    outputs: list[dict]  # nbformat output dicts
    error: tuple[str, str] | None = None  # (exception name, message)


#: The kernel's command after the sandbox (``{connection_file}`` filled in): ipykernel as its
#: launcher starts it (the current directory off ``sys.path`` while it loads), without the debugger
#: (importing debugpy is ~0.1 s of CPU per kernel, and nobody attaches one to a graded kernel) and
#: without the command history (an SQLite file and a thread per kernel, read by no one).
KERNEL_ARGV = [
    sys.executable, "-c",
    "import sys\n"
    "if sys.path and sys.path[0] == '': del sys.path[0]\n"
    "sys.modules['debugpy'] = None\n"
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n",
    "-f", "{connection_file}", "--HistoryManager.enabled=False"]


class _Manager(KernelManager):
    """A kernel manager whose kernel command goes through the launcher (and bubblewrap)."""

    launch_prefix: list[str] = []

    def format_kernel_cmd(self, extra_arguments=None):
        connection_file = os.path.realpath(self.connection_file)
        return [*self.launch_prefix, *(a.replace("{connection_file}", connection_file) for a in KERNEL_ARGV)]


class SandboxKernel:
    """Start with :meth:`start`, run code with :meth:`run`, always end with :meth:`stop`."""

    def __init__(self, dirs: KernelDirs, limits: Limits, *, sandboxed: bool = True, cgroup: str = ""):
        self.dirs, self.limits = dirs, limits
        payload = json.dumps({**dataclasses.asdict(limits), "cgroup": cgroup})
        prefix = [sys.executable, "-I", LAUNCHER, payload, "--"]
        if sandboxed:
            prefix += [*bwrap_argv(dirs), "--"]
        self._prefix = prefix
        self.km: _Manager | None = None
        self.kc = None

    def start(self, timeout: float = 60) -> str:
        """Start the kernel; return '' when it is ready, else why it is not."""
        km = _Manager(kernel_name="python3")
        km.launch_prefix = self._prefix
        # a fresh folder per start: a dead kernel's socket files must not be reused
        sockets = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.dirs.sockets))
        km.connection_file = str(sockets / "kernel.json")
        km.transport, km.ip = "ipc", str(sockets / "ipc")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JPY_")}
        self.km = km
        try:
            # the kernel's own start-up chatter goes nowhere: students see only their cells' outputs
            km.start_kernel(cwd=str(self.dirs.work), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
            self.kc = km.client()
            self.kc.start_channels()
            self.kc.iopub_channel.socket.setsockopt(_zmq_maxmsgsize(), MAX_MESSAGE_BYTES)
            self._wait_for_ready(timeout)
        except Exception as exc:  # a kernel that will not start is the submission's verdict
            return f"the kernel did not start ({type(exc).__name__}: {str(exc)[:200]})"
        return ""

    def _wait_for_ready(self, timeout: float) -> None:
        """Ready once a kernel_info request has its reply and its idle status on IOPub (so IOPub is
        connected too); jupyter_client's ``wait_for_ready`` then waits 0.2 s more for silence."""
        deadline = time.monotonic() + timeout
        asked, replied, idle = set(), set(), set()  # kernel_info requests, by message id
        while time.monotonic() < deadline:
            asked.add(self.kc.kernel_info())
            try:
                replied.add(self.kc.get_shell_msg(timeout=1)["parent_header"].get("msg_id"))
            except queue.Empty:
                pass
            while replied & asked and not replied & idle:  # an idle published before IOPub
                try:                                         # connected is lost: then ask again
                    msg = self.kc.get_iopub_msg(timeout=0.25)
                except queue.Empty:
                    break
                if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                    idle.add(msg["parent_header"].get("msg_id"))
            if replied & idle & asked:
                return
            if not self.km.is_alive():
                raise RuntimeError("the kernel died before replying to kernel_info")
        raise RuntimeError(f"the kernel did not reply within {timeout:g} s")

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def run(self, code: str, timeout: float, *, silent: bool = False, progress=None) -> Run:
        """Execute ``code``; collect its outputs (capped) until the kernel is idle again.

        ``progress`` (optional) counts the steps of ``code`` done so far: each new step, seen when
        the time is up, gives the code another ``timeout`` seconds.
        """
        if not self.alive():
            return Run(RunStatus.DEAD, [])
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False,
                                 stop_on_error=False)
        deadline = time.monotonic() + timeout
        outputs: list[dict] = []
        used = 0
        error = None
        cut = False
        steps = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0 and progress is not None and progress() > steps:
                steps, deadline = progress(), time.monotonic() + timeout
                continue
            if left <= 0:
                return Run(RunStatus.TIMEOUT, outputs, error)
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 0.5))
            except queue.Empty:
                if not self.alive():
                    return Run(RunStatus.DEAD, outputs, error)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return Run(RunStatus.ERROR if error else RunStatus.OK, outputs, error)
            if kind == "error":
                error = (str(content.get("ename", "Error")), str(content.get("evalue", "")))
            output = _as_output(kind, content)
            if output is None:
                continue
            size = len(json.dumps(output))
            used += size
            if used > self.limits.output_bytes:
                if not cut:
                    outputs.append({"output_type": "stream", "name": "stdout",
                                    "text": f"\n... output cut by the autograder (more than "
                                            f"{self.limits.output_bytes} bytes) ...\n"})
                    cut = True
                if kind != "error":
                    continue
            outputs.append(output)

    def stop(self) -> None:
        """Kill the kernel at once (it is thrown away; no polite shutdown handshake)."""
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # already dead, or its sockets are gone: nothing left to stop
                pass
        self.km = self.kc = None


def _zmq_maxmsgsize() -> int:
    import zmq

    return zmq.MAXMSGSIZE


def _as_output(kind: str, content: dict) -> dict | None:
    """An nbformat output from an iopub message (None for messages that are not outputs)."""
    if kind == "stream":
        return {"output_type": "stream", "name": content.get("name", "stdout"), "text": str(content.get("text", ""))}
    if kind in ("display_data", "execute_result"):
        # execute_result is shown as display data: a number shown by a cell is never a score
        return {"output_type": "display_data", "data": dict(content.get("data", {})), "metadata": {}}
    if kind == "error":
        return {"output_type": "error", "ename": str(content.get("ename", "Error")),
                "evalue": str(content.get("evalue", "")),
                "traceback": [str(t) for t in content.get("traceback", [])][-20:]}
    return None
