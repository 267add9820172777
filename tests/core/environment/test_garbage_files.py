"""Probing never raises, whatever the files under the root hold."""

from __future__ import annotations

import importlib.metadata
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrt.compatibility import core_findings
from modelrt.host import FAKE_HOST_FILE, Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.testing.hosts import make_linux_host, write_file

PROBED_FILES = (
    "etc/os-release",
    "etc/nv_tegra_release",
    "proc/cpuinfo",
    "proc/meminfo",
    "proc/1/cgroup",
    "proc/sys/kernel/osrelease",
    "proc/sys/kernel/arch",
    "proc/driver/nvidia/version",
    "sys/fs/cgroup/cpu.max",
    FAKE_HOST_FILE,
)

JUNK = bytes(range(256)) * 4 + b"\x00=\n:\n\n" + "é中".encode("utf-16")


def test_binary_junk_in_every_probed_file_does_not_raise(root: Path) -> None:
    for relative in PROBED_FILES:
        write_file(root, relative, JUNK)
    env = probe_environment(Host(root))
    assert env.system == "Linux"
    assert Environment.from_json(env.to_json()) == env
    assert core_findings(env)


def test_directories_where_files_belong_read_as_absent(root: Path) -> None:
    for relative in PROBED_FILES:
        (root / relative).mkdir(parents=True)
    env = probe_environment(Host(root))
    assert env.distribution is None
    assert env.unknown["distribution"] == "etc/os-release is absent or unreadable"


def test_a_huge_junk_line_is_clipped_in_the_facts(root: Path) -> None:
    make_linux_host(root)
    write_file(root, "etc/nv_tegra_release", "x" * 100_000)
    assert len(probe_environment(Host(root)).jetson_hint or "") <= 200


def _probe_files(contents: dict[str, bytes]) -> Environment:
    """Probe a fresh root holding ``contents`` (package metadata left out: it is not what varies here)."""
    with tempfile.TemporaryDirectory() as directory, pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.metadata, "distributions", list)
        for relative, content in contents.items():
            write_file(Path(directory), relative, content)
        return probe_environment(Host(Path(directory)))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(PROBED_FILES), st.binary(max_size=300), min_size=1))
def test_arbitrary_bytes_in_probed_files_never_raise(contents: dict[str, bytes]) -> None:
    env = _probe_files(contents)
    assert Environment.from_json(env.to_json()) == env
    core_findings(env)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_in_os_release_and_cpuinfo_never_raises(text: str) -> None:
    _probe_files({"etc/os-release": text.encode(), "proc/cpuinfo": text.encode()})


def test_a_deeply_nested_host_file_reads_as_absent(tmp_path: Path) -> None:
    host = make_linux_host(tmp_path)
    write_file(tmp_path, FAKE_HOST_FILE, "[" * 100_000 + "]" * 100_000)
    assert host.system == "Linux"
    assert probe_environment(host).distribution == "ubuntu"
