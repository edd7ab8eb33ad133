"""Where a number came from: code version, software, hardware, seed, configuration."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

import wganbench

_REPO = Path(wganbench.__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state() -> dict[str, Any]:
    """Commit of the wganbench source tree and whether it has uncommitted changes.

    Changes under ``results/`` do not count: that folder holds the committed outputs, which a
    run regenerating them has itself modified; ``git_dirty`` answers whether the *code* that
    produced a number differs from ``git_commit``."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown", "git_dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)results")
    return {"git_commit": commit, "git_dirty": bool(status)}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def collect(device: torch.device, seed: int | None = None, config_hash: str | None = None,
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record written beside every CSV (``provenance.json``)."""
    record: dict[str, Any] = {
        **git_state(),
        "wganbench_version": wganbench.__version__,
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python_version": platform.python_version(),
        "device": str(device),
        "device_name": device_name(device),
        "cpu_threads": torch.get_num_threads(),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "hostname": platform.node(),
        "seed": seed,
        "config_hash": config_hash,
        "start_time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    if extra:
        record.update(extra)
    return record
