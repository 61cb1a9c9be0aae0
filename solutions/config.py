"""Course-wide settings read from the environment.

``CNN_COURSE_DATA``  directory holding ``mnist.npz`` / ``cifar10.npz`` (see the README).
``CNN_COURSE_QUICK`` ``1`` makes training chapters and exercises use small subsets and few epochs.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

DATA_ENV = "CNN_COURSE_DATA"
QUICK_ENV = "CNN_COURSE_QUICK"


def quick_mode() -> bool:
    """True when ``CNN_COURSE_QUICK`` is set to a true value (1, true, yes, on)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path | None:
    """The directory named by ``CNN_COURSE_DATA``, or None when the variable is unset or empty."""
    value = os.environ.get(DATA_ENV, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where trained weights are cached (``$XDG_CACHE_HOME/cnn-course``, default ``~/.cache/cnn-course``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base) / "cnn-course"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), for recording where timings were measured."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"
