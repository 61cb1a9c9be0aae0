"""What the stages of one submission share: the job, the assignment, the result, the kernel."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..assignment import Assignment
from ..bridge import BridgeSession
from ..kernel import SandboxKernel
from ..results import SubmissionResult
from ..sandbox import KernelDirs, Limits


@dataclass
class Job:
    """One submission to grade: plain data, sent from the instructor's process to a worker."""

    assignment: str
    student: str
    notebook: Path  # the collected <assignment>.ipynb (may not exist)
    source_dir: Path
    release_dir: Path
    workdir: Path  # empty private directory for this submission
    limits: Limits
    sandboxed: bool = True
    cgroup: str = ""  # the submission's pids cgroup, which its kernel joins
    course_package: Path | None = None  # the kernel's `solutions` (withheld.build), where the set-up imports it


@dataclass
class Context:
    job: Job
    assignment: Assignment
    result: SubmissionResult
    notebook: nbformat.NotebookNode | None = None  # what runs: the submission with locked cells restored
    findings: dict[str, list[str]] = field(default_factory=dict)  # student function -> shortcut findings
    dirs: KernelDirs | None = None
    kernel: SandboxKernel | None = None
    session: BridgeSession | None = None
    replay: list[str] = field(default_factory=list)  # cells that ran without killing the kernel
    restarts: int = 0
    deadline: float = 0.0  # monotonic time by which the whole submission must be done
    done: bool = False  # a stage ended the submission (invalid, timeout...): skip the rest
