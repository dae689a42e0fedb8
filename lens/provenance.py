"""Where a training run came from: the machine, the thread count and the code's commit.

Recorded in every run's provenance (``config.json``) by :mod:`lens.train`; kept apart so the
trainer's file holds the training itself.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from .paths import ROOT


def _torch_version() -> str:
    import torch

    return torch.__version__


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": default_threads(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "torch": _torch_version(),
    }


def git_commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "lens"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return rev + ("-dirty" if dirty and rev else "") if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
