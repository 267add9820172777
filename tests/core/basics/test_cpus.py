"""Usable CPU count: the affinity mask capped by a cgroup v2 quota, the quota read through ``Host``."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrt.cpus import usable_cpu_count
from modelrt.host import CGROUP_CPU_MAX, Host
from modelrt.options import RunOptions
from modelrt.testing.hosts import write_file


@pytest.mark.parametrize(
    ("cpu_max", "cpus"),
    [("100000 100000\n", 1), ("150000 100000\n", 2), ("50000 100000", 1), ("400000 100000", 4)],
)
def test_a_quota_allows_its_cpus_rounded_up(tmp_path: Path, cpu_max: str, cpus: int) -> None:
    write_file(tmp_path, CGROUP_CPU_MAX, cpu_max)
    assert Host(tmp_path).cgroup_cpu_quota == cpus


@pytest.mark.parametrize("cpu_max", ["max 100000\n", "garbage", "", "100000 0", "-100000 100000"])
def test_an_unlimited_or_malformed_quota_allows_any(tmp_path: Path, cpu_max: str) -> None:
    write_file(tmp_path, CGROUP_CPU_MAX, cpu_max)
    assert Host(tmp_path).cgroup_cpu_quota is None


def test_no_quota_file_allows_any(tmp_path: Path) -> None:
    assert Host(tmp_path).cgroup_cpu_quota is None


def test_the_live_quota_is_read_through_the_host_and_caps_default_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {CGROUP_CPU_MAX: "100000 100000\n"}
    monkeypatch.setattr(Host, "read_text", lambda self, relative: files.get(relative))
    assert Host().cpu_count == 1
    assert usable_cpu_count() == 1
    assert RunOptions().resolved_threads() == 1


def test_a_fake_root_reports_the_cpus_its_host_file_declares(tmp_path: Path) -> None:
    write_file(tmp_path, ".modelrt-host.json", '{"system": "Darwin", "cpu_count": 6}')
    assert usable_cpu_count(Host(tmp_path)) == 6
