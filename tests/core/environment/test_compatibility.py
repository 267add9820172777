"""The core's verdicts: one Finding per host for the generic rows of the matrix, none for a judged Jetson."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrt import builtin
from modelrt.compatibility import core_findings
from modelrt.hardware_matrix import HARDWARE_MATRIX, OFF_MATRIX_ROWS
from modelrt.host import Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.installation import FROM_INDEX
from modelrt.specs import Finding, Severity, Status
from modelrt.testing.hosts import (
    make_jetson_host,
    make_linux_host,
    make_macos_host,
    make_windows_host,
    write_file,
)


def _only_finding(host: Host, **plugin_facts: dict[str, object]) -> Finding:
    findings = core_findings(probe_environment(host, plugin_facts=plugin_facts), FROM_INDEX)
    assert len(findings) == 1, findings
    return findings[0]


# ------------------------------------------------------------------------------------------ CPUs


@pytest.mark.parametrize(
    ("distro", "version"),
    [("ubuntu", "20.04"), ("ubuntu", "22.04"), ("ubuntu", "24.04"), ("debian", "12"), ("rhel", "9.4")],
)
def test_linux_x86_64_cpu_is_stable_with_the_onnx_extra(root: Path, distro: str, version: str) -> None:
    finding = _only_finding(make_linux_host(root, distro=distro, version=version))
    assert (finding.row, finding.status, finding.severity) == (
        "cpu-x86_64-linux",
        Status.STABLE,
        Severity.INFO,
    )
    assert finding.install == ("modelrt[onnx]",)
    assert "ONNX backend runs models on this CPU" in finding.message


def test_linux_x86_64_in_docker_is_the_same_stable_row(root: Path) -> None:
    finding = _only_finding(make_linux_host(root, docker=True))
    assert (finding.row, finding.status) == ("cpu-x86_64-linux", Status.STABLE)
    assert "docker container" in finding.message


def test_linux_aarch64_that_is_no_jetson_is_outside_the_verified_matrix(root: Path) -> None:
    finding = _only_finding(make_linux_host(root, machine="aarch64"))
    assert (finding.row, finding.status, finding.severity) == (
        "cpu-aarch64-linux",
        Status.OUTSIDE_VERIFIED_MATRIX,
        Severity.WARNING,
    )
    assert finding.install == ("modelrt[onnx]",)


def test_macos_x86_64_is_stable(root: Path) -> None:
    finding = _only_finding(make_macos_host(root, machine="x86_64"))
    assert (finding.row, finding.status, finding.severity) == (
        "cpu-x86_64-macos",
        Status.STABLE,
        Severity.INFO,
    )
    assert finding.install == ("modelrt[onnx]",)


def test_apple_silicon_is_stable_with_mps_experimental_through_torch(root: Path) -> None:
    finding = _only_finding(make_macos_host(root, machine="arm64"))
    assert (finding.row, finding.status) == ("cpu-apple-silicon-macos", Status.STABLE)
    assert "MPS device is experimental" in finding.message
    assert "MPS-capable architectures" in finding.message
    assert "MPS-capable architectures" in finding.message
    assert finding.install == ("modelrt[onnx]",)


def test_windows_is_not_tested(root: Path) -> None:
    finding = _only_finding(make_windows_host(root))
    assert (finding.row, finding.status, finding.severity) == ("windows", Status.NOT_TESTED, Severity.WARNING)


# ---------------------------------------------------------------------------------------- NVIDIA


@pytest.mark.parametrize("version", ["22.04", "24.04"])
def test_nvidia_on_verified_ubuntu_is_stable_with_the_gpu_extra(root: Path, version: str) -> None:
    finding = _only_finding(make_linux_host(root, version=version, nvidia_driver="550.54.14"))
    assert (finding.row, finding.status, finding.severity) == ("nvidia-ubuntu", Status.STABLE, Severity.INFO)
    assert "CUDA 11.8 or 12.x" in finding.message
    assert "driver 550.54.14" in finding.message
    assert finding.install == ("modelrt[onnx-gpu]", "modelrt[trt-cu12]")


@pytest.mark.parametrize(
    ("distro", "version"), [("fedora", "40"), ("debian", "12"), ("ubuntu", "20.04"), ("rhel", "9.4")]
)
def test_nvidia_on_other_linux_requires_verification(root: Path, distro: str, version: str) -> None:
    finding = _only_finding(make_linux_host(root, distro=distro, version=version, nvidia_driver="535.183.01"))
    assert (finding.row, finding.status, finding.severity) == (
        "nvidia-other-linux",
        Status.REQUIRES_VERIFICATION,
        Severity.WARNING,
    )
    assert finding.fix is not None and "modelrt[onnx-gpu]" in finding.fix


def test_an_nvidia_host_is_never_also_advised_the_cpu_onnxruntime(root: Path) -> None:
    findings = core_findings(probe_environment(make_linux_host(root, nvidia_driver="550.54.14")))
    installs = {requirement for finding in findings for requirement in finding.install}
    assert installs == {"modelrt[onnx-gpu]", "modelrt[trt-cu12]"}


def test_an_nvidia_device_without_a_driver_version_says_so(root: Path) -> None:
    make_linux_host(root)
    write_file(root, "dev/nvidia0", "")
    finding = _only_finding(Host(root))
    assert finding.row == "nvidia-ubuntu"
    assert "driver version unknown" in finding.message


# ---------------------------------------------------------------------------------------- Jetson


def test_a_jetson_without_the_plugin_is_advised_to_install_it(root: Path) -> None:
    finding = _only_finding(make_jetson_host(root))
    assert (finding.row, finding.severity) == ("jetson", Severity.WARNING)
    assert "Jetson" in finding.message and "jetson plugin" in finding.message
    assert finding.fix == 'pip install "modelrt[jetson]"'
    assert finding.install == ("modelrt[jetson]",)


def test_a_jetson_container_known_only_by_its_kernel_is_advised_the_plugin(root: Path) -> None:
    finding = _only_finding(make_jetson_host(root, nv_tegra_release=None, docker=True))
    assert finding.row == "jetson"


def test_a_jetson_is_never_judged_as_generic_arm_linux(root: Path) -> None:
    findings = core_findings(probe_environment(make_jetson_host(root)))
    assert "cpu-aarch64-linux" not in {finding.row for finding in findings}


def test_the_core_says_nothing_about_a_jetson_the_plugin_described(root: Path) -> None:
    env = probe_environment(make_jetson_host(root), plugin_facts={"jetson": {"l4t": "36.4.0"}})
    assert core_findings(env) == []


def test_the_jetson_plugin_ruling_out_a_jetson_lets_the_core_judge_the_host(root: Path) -> None:
    make_linux_host(root)
    write_file(root, "etc/nv_tegra_release", "# R36 (release), REVISION: 4.0\n")
    finding = _only_finding(Host(root), jetson={"is_jetson": False, "not_jetson_reason": "an x86_64 machine"})
    assert finding.row == "cpu-x86_64-linux"


def test_a_jetson_the_plugin_recognised_silences_the_core_where_the_core_saw_none(root: Path) -> None:
    env = probe_environment(make_linux_host(root, machine="aarch64"), plugin_facts={"jetson": {"is_jetson": True}})
    assert not env.is_jetson
    assert core_findings(env) == []


def test_facts_of_an_older_jetson_plugin_on_a_host_the_core_did_not_recognise_change_nothing(root: Path) -> None:
    env = probe_environment(make_linux_host(root, machine="aarch64"), plugin_facts={"jetson": {"l4t": None}})
    assert [finding.row for finding in core_findings(env)] == ["cpu-aarch64-linux"]


def test_a_jetson_with_an_nvidia_driver_file_is_not_an_nvidia_desktop(root: Path) -> None:
    make_jetson_host(root)
    write_file(
        root,
        "proc/driver/nvidia/version",
        "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  540.4.0\n",
    )
    finding = _only_finding(Host(root))
    assert finding.row == "jetson"


# --------------------------------------------------------------------------------------- unknown


def test_an_empty_root_is_unknown_and_says_why(root: Path) -> None:
    finding = _only_finding(Host(root))
    assert (finding.row, finding.status, finding.severity) == ("unknown", Status.UNKNOWN, Severity.WARNING)
    assert "none of etc/os-release" in finding.message


@pytest.mark.parametrize(
    "env",
    [
        Environment(system="Linux", architecture="riscv64"),
        Environment(system="Darwin", architecture="powerpc"),
        Environment(system="FreeBSD", architecture="x86_64"),
    ],
)
def test_an_unknown_os_or_architecture_is_unknown(env: Environment) -> None:
    (finding,) = core_findings(env)
    assert (finding.row, finding.status) == ("unknown", Status.UNKNOWN)
    assert finding.install == ()


# ------------------------------------------------------------------------------------------ wiring


def test_every_core_finding_names_a_matrix_row_or_a_documented_off_matrix_row(root: Path, tmp_path: Path) -> None:
    known = {row.id for row in HARDWARE_MATRIX} | set(OFF_MATRIX_ROWS)
    hosts = [
        make_linux_host(tmp_path / "linux"),
        make_linux_host(tmp_path / "arm", machine="aarch64"),
        make_linux_host(tmp_path / "gpu", nvidia_driver="550.54.14"),
        make_linux_host(tmp_path / "gpu-fedora", distro="fedora", version="40", nvidia_driver="550.54.14"),
        make_macos_host(tmp_path / "mac"),
        make_macos_host(tmp_path / "intel-mac", machine="x86_64"),
        make_windows_host(tmp_path / "windows"),
        make_jetson_host(tmp_path / "jetson"),
        Host(root),
    ]
    rows = {finding.row for host in hosts for finding in core_findings(probe_environment(host))}
    assert rows <= known
    assert len(rows) == len(hosts)


def test_the_builtin_plugin_reports_the_core_findings(root: Path) -> None:
    env = probe_environment(make_linux_host(root))
    assert list(builtin.check_compatibility(env)) == core_findings(env)
