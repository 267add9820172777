"""``probe_environment``: what a host is, from its files and the installed packages' metadata."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from pathlib import Path
from typing import Any

import pytest

from modelrt.host import HOST_ROOT_VARIABLE, Host
from modelrt.host_environment import normalise_architecture, probe_environment
from modelrt.testing.hosts import (
    DOCKER_CGROUP_V1,
    KUBERNETES_CGROUP_V1,
    PODMAN_CGROUP_V1,
    make_jetson_host,
    make_linux_host,
    make_macos_host,
    make_windows_host,
    write_container_markers,
    write_cpu_quota,
    write_file,
    write_nvidia_driver,
)

# ----------------------------------------------------------------------------------- OS and CPU


def test_ubuntu_distribution_comes_from_os_release(root: Path) -> None:
    env = probe_environment(make_linux_host(root, distro="ubuntu", version="24.04"))
    assert (env.system, env.distribution, env.distribution_version, env.distribution_name) == (
        "Linux",
        "ubuntu",
        "24.04",
        "Ubuntu 24.04.1 LTS",
    )


def test_debian_distribution_comes_from_os_release(root: Path) -> None:
    env = probe_environment(make_linux_host(root, distro="debian", version="12"))
    assert (env.distribution, env.distribution_version) == ("debian", "12")


def test_rhel_distribution_comes_from_its_quoted_os_release(root: Path) -> None:
    env = probe_environment(make_linux_host(root, distro="rhel", version="9.4"))
    assert (env.distribution, env.distribution_version, env.distribution_name, env.kernel_release) == (
        "rhel",
        "9.4",
        "Red Hat Enterprise Linux 9.4 (Plow)",
        "5.14.0-427.13.1.el9_4.x86_64",
    )


def test_unquoted_os_release_values_are_read(root: Path) -> None:
    env = probe_environment(make_linux_host(root, distro="fedora", version="40"))
    assert (env.distribution, env.distribution_version) == ("fedora", "40")


def test_kernel_release_comes_from_the_root(root: Path) -> None:
    env = probe_environment(make_linux_host(root, kernel_release="6.8.0-45-generic"))
    assert env.kernel_release == "6.8.0-45-generic"


def test_cpu_model_flags_and_processors_come_from_cpuinfo(root: Path) -> None:
    env = probe_environment(make_linux_host(root, cpu_model="Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", cores=6))
    assert env.cpu_model == "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"
    assert {"avx2", "avx512f", "lm"} <= set(env.cpu_flags)
    assert env.cpu_count == 6


def test_an_arm_cpu_is_named_from_its_implementer_and_part(root: Path) -> None:
    env = probe_environment(make_linux_host(root, machine="aarch64", distro="debian", version="12"))
    assert env.cpu_model == "ARM Neoverse-N1"
    assert "asimd" in env.cpu_flags


def test_an_unlisted_arm_part_is_shown_raw(root: Path) -> None:
    write_file(root, "proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x61\nCPU part\t: 0x023\n\n")
    assert probe_environment(Host(root)).cpu_model == "ARM CPU (implementer 0x61, part 0x023)"


def test_total_memory_comes_from_meminfo(root: Path) -> None:
    env = probe_environment(make_linux_host(root, mem_kb=8_000_000))
    assert env.memory_bytes == 8_000_000 * 1024


def test_usable_cores_are_capped_by_the_cgroup_quota(root: Path) -> None:
    host = make_linux_host(root, cores=8, docker=True)
    write_cpu_quota(root, 1.5)
    assert probe_environment(host).cpu_count == 2


def test_an_unlimited_cgroup_quota_keeps_every_processor(root: Path) -> None:
    host = make_linux_host(root, cores=8, docker=True)
    write_cpu_quota(root, None)
    assert probe_environment(host).cpu_count == 8


def test_the_live_process_counts_the_cpus_it_may_use() -> None:
    from modelrt.cpus import usable_cpu_count

    assert probe_environment(Host()).cpu_count == usable_cpu_count()


def test_macos_facts_come_from_the_host_file(root: Path) -> None:
    env = probe_environment(make_macos_host(root, machine="arm64", mac_ver="14.5", cores=10))
    assert (env.system, env.architecture, env.os_version, env.cpu_model, env.cpu_count) == (
        "Darwin",
        "arm64",
        "14.5",
        "Apple M2",
        10,
    )
    assert env.memory_bytes == 16 * 1024**3
    assert env.distribution is None
    assert "distribution" not in env.unknown


def test_windows_facts_come_from_the_host_file(root: Path) -> None:
    env = probe_environment(make_windows_host(root, release="10"))
    assert (env.system, env.architecture, env.os_version) == ("Windows", "x86_64", "10")


@pytest.mark.parametrize(
    ("machine", "system", "expected"),
    [
        ("x86_64", "Linux", "x86_64"),
        ("AMD64", "Windows", "x86_64"),
        ("amd64", "Linux", "x86_64"),
        ("aarch64", "Linux", "aarch64"),
        ("arm64", "Linux", "aarch64"),
        ("arm64", "Darwin", "arm64"),
        ("ARM64", "Windows", "arm64"),
        ("armv7l", "Linux", "armv7l"),
        ("", "Linux", None),
        (None, None, None),
    ],
)
def test_architecture_names_are_normalised(machine: str | None, system: str | None, expected: str | None) -> None:
    assert normalise_architecture(machine, system) == expected


def test_python_facts_are_the_running_interpreter(root: Path) -> None:
    env = probe_environment(make_linux_host(root))
    assert (env.python_version, env.python_implementation) == (
        platform.python_version(),
        platform.python_implementation(),
    )


# ----------------------------------------------------------------------------------- containers


def test_bare_metal_is_no_container(root: Path) -> None:
    assert probe_environment(make_linux_host(root)).container == "none"


@pytest.mark.parametrize("kind", ["docker", "podman", "kubernetes"])
def test_a_container_is_recognised_by_its_markers(root: Path, kind: str) -> None:
    host = make_linux_host(root)
    write_container_markers(root, kind)
    assert probe_environment(host).container == kind


@pytest.mark.parametrize(
    ("cgroup", "kind"),
    [(DOCKER_CGROUP_V1, "docker"), (PODMAN_CGROUP_V1, "podman"), (KUBERNETES_CGROUP_V1, "kubernetes")],
)
def test_a_container_is_recognised_by_its_cgroup_v1_lines(root: Path, cgroup: str, kind: str) -> None:
    host = make_linux_host(root)
    write_file(root, "proc/1/cgroup", cgroup)
    assert probe_environment(host).container == kind


def test_a_kubernetes_pod_is_recognised_by_its_service_variable(root: Path) -> None:
    host = Host(make_linux_host(root).root, environ={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert probe_environment(host).container == "kubernetes"


# ------------------------------------------------------------------------------------------ NVIDIA


def test_the_nvidia_driver_version_comes_from_proc(root: Path) -> None:
    env = probe_environment(make_linux_host(root, nvidia_driver="535.183.01"))
    assert env.nvidia_driver_version == "535.183.01"
    assert env.nvidia_evidence == ("proc/driver/nvidia/version", "dev/nvidia0")
    assert env.has_nvidia_gpu


def test_the_open_kernel_module_version_line_is_read(root: Path) -> None:
    write_file(
        root,
        "proc/driver/nvidia/version",
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  "
        "(dvs-builder@U16-I3-B03-4-3)  Thu Feb 22 01:25:25 UTC 2024\n",
    )
    assert probe_environment(Host(root)).nvidia_driver_version == "550.54.14"


def test_a_device_node_alone_shows_an_nvidia_gpu(root: Path) -> None:
    make_linux_host(root)
    write_file(root, "dev/nvidia0", "")
    env = probe_environment(Host(root))
    assert env.has_nvidia_gpu
    assert env.nvidia_driver_version is None


def test_a_driver_file_without_a_version_is_recorded_as_unknown(root: Path) -> None:
    write_file(root, "proc/driver/nvidia/version", "NVRM version: unexpected\n")
    env = probe_environment(Host(root))
    assert env.has_nvidia_gpu
    assert "carries no driver version" in env.unknown["nvidia_driver_version"]


def test_a_cpu_host_shows_no_nvidia_gpu(root: Path) -> None:
    env = probe_environment(make_linux_host(root))
    assert not env.has_nvidia_gpu
    assert "nvidia_driver_version" not in env.unknown


def test_several_gpus_are_all_listed(root: Path) -> None:
    make_linux_host(root)
    write_nvidia_driver(root, gpus=2)
    assert probe_environment(Host(root)).nvidia_evidence[1:] == ("dev/nvidia0", "dev/nvidia1")


# ------------------------------------------------------------------------------------------ Jetson


def test_a_jetson_is_recognised_by_the_first_line_of_nv_tegra_release(root: Path) -> None:
    env = probe_environment(make_jetson_host(root))
    assert env.is_jetson
    assert env.jetson_hint is not None and env.jetson_hint.startswith("# R36 (release), REVISION: 4.0")
    assert (env.architecture, env.kernel_release) == ("aarch64", "5.15.148-tegra")


def test_a_jetson_container_without_the_release_file_is_recognised_by_its_tegra_kernel(root: Path) -> None:
    env = probe_environment(make_jetson_host(root, nv_tegra_release=None, docker=True))
    assert env.jetson_hint == "kernel 5.15.148-tegra"
    assert env.container == "docker"


def test_a_generic_arm_host_is_no_jetson(root: Path) -> None:
    assert not probe_environment(make_linux_host(root, machine="aarch64")).is_jetson


# ----------------------------------------------------------------------------------- runtimes


def _site_packages(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> None:
    """Make ``folders`` the whole ``sys.path``, as if they were the only site-packages."""
    probe_environment(Host(folders[0]))  # import everything probing needs before the path changes
    monkeypatch.setattr(sys, "path", [str(folder) for folder in folders])


def _install(folder: Path, *dist_infos: str) -> Path:
    for name in dist_infos:
        (folder / name).mkdir(parents=True)
    return folder


def test_installed_runtimes_come_from_package_metadata(root: Path) -> None:
    env = probe_environment(make_linux_host(root))
    assert env.runtimes["onnxruntime"] == importlib.metadata.version("onnxruntime")


def test_runtime_builds_are_listed_and_other_packages_are_not(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _install(
        tmp_path / "site-packages",
        "onnxruntime_gpu-1.20.1.dist-info",
        "torch-2.5.1+cu124.dist-info",
        "tensorrt_lean_cu12-10.7.0.dist-info",
        "TensorRT-10.3.0.dist-info",
        "numpy-2.1.3.dist-info",
        "onnxruntime",  # the package itself, not its metadata
    )
    host = make_linux_host(root)
    _site_packages(monkeypatch, site)
    assert probe_environment(host).runtimes == {
        "onnxruntime-gpu": "1.20.1",
        "tensorrt": "10.3.0",
        "tensorrt-lean-cu12": "10.7.0",
        "torch": "2.5.1+cu124",
    }


def test_the_first_copy_of_a_distribution_on_the_path_wins(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _install(tmp_path / "venv", "torch-2.5.1.dist-info")
    second = _install(tmp_path / "system", "torch-2.0.0.dist-info")
    host = make_linux_host(root)
    _site_packages(monkeypatch, first, second)
    assert probe_environment(host).runtimes == {"torch": "2.5.1"}


def test_unreadable_or_missing_path_entries_are_skipped(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _install(tmp_path / "site-packages", "torch-2.5.1.dist-info", "torch.dist-info")
    host = make_linux_host(root)
    _site_packages(monkeypatch, tmp_path / "missing", tmp_path / "archive.zip", site)
    assert probe_environment(host).runtimes == {"torch": "2.5.1"}


# --------------------------------------------------------------------------------- plugin facts


def test_plugin_facts_are_kept_under_each_plugin_name(root: Path) -> None:
    env = probe_environment(make_jetson_host(root), plugin_facts={"jetson": {"l4t": "36.4.0", "dla": (0, 1)}})
    assert env.facts == {"jetson": {"l4t": "36.4.0", "dla": [0, 1]}}


def test_plugin_facts_that_are_not_a_mapping_are_left_out_with_the_reason(root: Path) -> None:
    not_a_mapping: dict[str, Any] = {"odd": ["not", "a", "mapping"]}
    env = probe_environment(make_linux_host(root), plugin_facts=not_a_mapping)
    assert env.facts == {}
    assert "returned list, not a mapping" in env.unknown["facts.odd"]


@pytest.mark.parametrize("facts", [{("tuple", "key"): 1}, {"temperature": float("nan")}])
def test_plugin_facts_that_cannot_be_json_are_left_out_with_the_reason(root: Path, facts: Any) -> None:
    env = probe_environment(make_linux_host(root), plugin_facts={"odd": facts, "fine": {"a": 1}})
    assert env.facts == {"fine": {"a": 1}}
    assert "non-JSON facts" in env.unknown["facts.odd"]


# --------------------------------------------------------------------------- where facts come from


def test_probing_without_a_host_reads_the_root_named_by_modelrt_host_root(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_jetson_host(root)
    monkeypatch.setenv(HOST_ROOT_VARIABLE, str(root))
    env = probe_environment()
    assert env.host_root == str(root)
    assert env.is_jetson


def test_the_live_machine_is_probed_without_a_host_root() -> None:
    env = probe_environment()
    assert env.host_root is None
    assert env.system == platform.system()


def test_an_empty_root_records_every_unknown_fact_with_a_reason(root: Path) -> None:
    env = probe_environment(Host(root))
    expected = {
        "system",
        "distribution",
        "architecture",
        "kernel_release",
        "cpu_model",
        "cpu_count",
        "memory_bytes",
        "container",
    }
    assert expected <= set(env.unknown)
    assert all(env.unknown[fact] for fact in expected)
    assert all(getattr(env, fact) is None for fact in expected)


def test_a_missing_fake_root_is_named_in_the_reason(tmp_path: Path) -> None:
    env = probe_environment(Host(tmp_path / "typo"))
    assert "does not exist" in env.unknown["system"]
    assert HOST_ROOT_VARIABLE in env.unknown["system"]


def test_an_os_release_without_id_records_the_distribution_as_unknown(root: Path) -> None:
    write_file(root, "etc/os-release", 'PRETTY_NAME="Something"\n')
    assert probe_environment(Host(root)).unknown["distribution"] == "etc/os-release has no ID= line"
