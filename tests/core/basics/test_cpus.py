"""Usable CPU count: affinity capped by a cgroup v2 quota."""

from __future__ import annotations

import os
from pathlib import Path

from modelrt.cpus import usable_cpu_count


def test_cgroup_quota_caps_the_affinity(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert usable_cpu_count(tmp_path) == 1


def test_fractional_quota_rounds_up(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert usable_cpu_count(tmp_path) == min(2, len(os.sched_getaffinity(0)))


def test_unlimited_or_unreadable_quota_leaves_the_affinity(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cpu_count(tmp_path) == affinity
    (tmp_path / "cpu.max").write_text("garbage")
    assert usable_cpu_count(tmp_path) == affinity
    assert usable_cpu_count(tmp_path / "missing") == affinity
