"""How many CPUs this process may really use (affinity and cgroup quota), for default thread counts."""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["usable_cpu_count"]


def _cgroup_quota_cpus(cgroup_root: Path) -> int | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` quota (containers), or None when unlimited/unknown."""
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def usable_cpu_count(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may run on: the affinity mask, capped by a cgroup quota; at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity API
        count = os.cpu_count() or 1
    quota = _cgroup_quota_cpus(cgroup_root)
    return max(1, min(count, quota) if quota else count)
