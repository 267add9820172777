"""``Host``: every probe reads the machine through it, from the live system or a fake root."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest

from modelrt.host import FAKE_HOST_FILE, HOST_ROOT_VARIABLE, Host
from modelrt.testing.hosts import make_linux_host, make_macos_host, write_cpuinfo, write_file


def test_from_environment_reads_the_fake_root_named_by_modelrt_host_root(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_macos_host(root)
    monkeypatch.setenv(HOST_ROOT_VARIABLE, str(root))

    host = Host.from_environment()

    assert not host.is_live
    assert host.root == root
    assert (host.system, host.machine) == ("Darwin", "arm64")


def test_from_environment_takes_an_explicit_environment_mapping(root: Path) -> None:
    make_linux_host(root)
    host = Host.from_environment({HOST_ROOT_VARIABLE: str(root)})
    assert host.root == root
    assert host.read_text("etc/os-release") == (root / "etc/os-release").read_text()


def test_from_environment_without_the_variable_is_the_live_machine() -> None:
    host = Host.from_environment({})
    assert host.is_live
    assert host.root == Path("/")


def test_live_host_reports_the_running_platform() -> None:
    host = Host()
    assert (host.system, host.machine, host.kernel_release) == (
        platform.system(),
        platform.machine(),
        platform.release(),
    )


def test_live_host_sees_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRT_TEST_VARIABLE", "seen")
    assert Host().env("MODELRT_TEST_VARIABLE") == "seen"


def test_fake_root_does_not_see_the_live_process_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRT_TEST_VARIABLE", "live")
    make_linux_host(root)
    assert Host(root).env("MODELRT_TEST_VARIABLE") is None


def test_fake_root_environment_comes_from_its_host_file(root: Path) -> None:
    write_file(root, FAKE_HOST_FILE, json.dumps({"environ": {"CUDA_VISIBLE_DEVICES": "1"}}))
    assert Host(root).env("CUDA_VISIBLE_DEVICES") == "1"


def test_explicit_environment_overrides_the_host_file(root: Path) -> None:
    write_file(root, FAKE_HOST_FILE, json.dumps({"environ": {"CUDA_VISIBLE_DEVICES": "1"}}))
    assert Host(root, environ={"CUDA_VISIBLE_DEVICES": "0"}).env("CUDA_VISIBLE_DEVICES") == "0"


def test_read_text_is_none_for_an_absent_file(root: Path) -> None:
    assert Host(root).read_text("etc/os-release") is None


def test_read_text_is_none_for_a_directory(root: Path) -> None:
    (root / "etc" / "os-release").mkdir(parents=True)
    assert Host(root).read_text("etc/os-release") is None


def test_read_text_replaces_undecodable_bytes(root: Path) -> None:
    write_file(root, "proc/cpuinfo", b"model name\t: \xff\xfe CPU\n")
    assert Host(root).read_text("proc/cpuinfo") == "model name\t: \ufffd\ufffd CPU\n"


def test_absolute_paths_resolve_under_the_fake_root(root: Path) -> None:
    write_file(root, "etc/hostname", "fake\n")
    assert Host(root).read_text("/etc/hostname") == "fake\n"
    assert Host(root).exists("/etc/hostname")


def test_list_dir_gives_sorted_names_and_nothing_for_an_absent_directory(root: Path) -> None:
    write_file(root, "dev/nvidia1", "")
    write_file(root, "dev/nvidia0", "")
    assert Host(root).list_dir("dev") == ["nvidia0", "nvidia1"]
    assert Host(root).list_dir("sys/class/absent") == []


def test_glob_gives_sorted_root_relative_paths(root: Path) -> None:
    for name in ("nvidia1", "nvidiactl", "nvidia0"):
        write_file(root, f"dev/{name}", "")
    assert Host(root).glob("dev/nvidia[0-9]*") == ["dev/nvidia0", "dev/nvidia1"]


def test_a_root_with_os_release_is_linux(root: Path) -> None:
    write_file(root, "etc/os-release", "ID=debian\n")
    assert Host(root).system == "Linux"


def test_a_root_with_proc_is_linux(root: Path) -> None:
    (root / "proc").mkdir()
    assert Host(root).system == "Linux"


def test_kernel_release_comes_from_proc_sys_kernel_osrelease(root: Path) -> None:
    write_file(root, "proc/sys/kernel/osrelease", "5.15.148-tegra\n")
    assert Host(root).kernel_release == "5.15.148-tegra"


def test_machine_comes_from_proc_sys_kernel_arch_first(root: Path) -> None:
    write_file(root, "proc/sys/kernel/arch", "aarch64\n")
    write_cpuinfo(root, "x86_64")
    assert Host(root).machine == "aarch64"


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_machine_is_read_from_cpuinfo_on_kernels_without_the_arch_file(root: Path, machine: str) -> None:
    write_cpuinfo(root, machine)
    assert Host(root).machine == machine


def test_host_file_facts_override_the_files(root: Path) -> None:
    make_linux_host(root, machine="x86_64")
    write_file(root, FAKE_HOST_FILE, json.dumps({"system": "Darwin", "machine": "arm64"}))
    assert (Host(root).system, Host(root).machine) == ("Darwin", "arm64")


def test_macos_facts_come_from_the_host_file(root: Path) -> None:
    host = make_macos_host(root, machine="x86_64", mac_ver="13.6", cpu_brand="Intel Core i9", cores=6)
    assert (host.system, host.machine, host.mac_version, host.cpu_brand, host.cpu_count) == (
        "Darwin",
        "x86_64",
        "13.6",
        "Intel Core i9",
        6,
    )


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"system": 3, "cpu_count": "eight"}'])
def test_a_malformed_host_file_reads_as_absent(root: Path, content: str) -> None:
    write_file(root, FAKE_HOST_FILE, content)
    host = Host(root)
    assert (host.system, host.machine, host.cpu_count, host.env("PATH")) == (None, None, None, None)


def test_an_empty_root_carries_no_platform_fact(root: Path) -> None:
    host = Host(root)
    facts = (host.system, host.machine, host.kernel_release, host.mac_version, host.cpu_brand)
    assert facts == (None, None, None, None, None)
    assert (host.cpu_count, host.memory_bytes) == (None, None)


def test_a_missing_fake_root_reads_as_empty(tmp_path: Path) -> None:
    host = Host(tmp_path / "missing")
    assert host.system is None
    assert host.read_text("etc/os-release") is None
    assert host.glob("dev/*") == []


def test_live_memory_size_is_the_physical_memory() -> None:
    assert Host().memory_bytes == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
