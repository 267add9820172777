"""NVIDIA hosts, simulated: each gives the right facts and the right matrix verdict, and never raises."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from modelrt.compatibility import core_findings
from modelrt.host import Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.installation import FROM_INDEX
from modelrt.specs import Finding, Severity, Status
from modelrt.testing.hosts import (
    make_linux_host,
    make_nvidia_host,
    write_cuda_libraries,
    write_host_file,
    write_nvidia_driver,
)

from .nvidia_hosts import NVIDIA_HOSTS


def probed(name: str, root: Path) -> tuple[Environment, Finding]:
    env = probe_environment(NVIDIA_HOSTS[name](root))
    findings = core_findings(env, FROM_INDEX)
    assert len(findings) == 1
    return env, findings[0]


@attrs.frozen
class Expected:
    row: str
    status: Status
    severity: Severity
    words: tuple[str, ...] = ()
    #: TensorRT ranks first on NVIDIA GPUs, built for the CUDA major of the driver; ONNX Runtime runs the rest.
    install: tuple[str, ...] = ("modelrt[onnx-gpu]", "modelrt[trt-cu12]")


VERDICTS = {
    "no-driver": Expected(
        "cpu-x86_64-linux", Status.STABLE, Severity.INFO, ("CPU x86_64",), install=("modelrt[onnx]",)
    ),
    "driver-no-visible-gpu": Expected(
        "nvidia-ubuntu", Status.STABLE, Severity.WARNING, ("CUDA_VISIBLE_DEVICES='' hides every GPU",)
    ),
    "ubuntu-22.04-cuda-12.4-ampere": Expected(
        "nvidia-ubuntu",
        Status.STABLE,
        Severity.INFO,
        ("driver 550.54.14 (CUDA 12.4)", "cuda:0 NVIDIA GeForce RTX 3090", "CUDA runtime 12.4.127"),
    ),
    "ubuntu-24.04-two-gpus-mig": Expected(
        "nvidia-ubuntu", Status.STABLE, Severity.INFO, ("cuda:0 is in MIG mode", "cuda:1 NVIDIA H100")
    ),
    "debian-12-cuda-12": Expected(
        "nvidia-other-linux", Status.REQUIRES_VERIFICATION, Severity.WARNING, ("Debian GNU/Linux 12", "verified on")
    ),
    "rhel-9": Expected(
        "nvidia-other-linux", Status.REQUIRES_VERIFICATION, Severity.WARNING, ("requires verification",)
    ),
    "cuda-13-blackwell": Expected(
        "nvidia-outside-matrix",
        Status.OUTSIDE_VERIFIED_MATRIX,
        Severity.WARNING,
        ("CUDA 13.0.96", "NVIDIA B200 (compute capability 10.0)", "outside the verified matrix"),
        install=("modelrt[onnx-gpu]", "modelrt[trt-cu13]"),
    ),
    "driver-older-than-cuda": Expected(
        "nvidia-ubuntu",
        Status.NOT_POSSIBLE,
        Severity.ERROR,
        ("driver 470.256.02", "CUDA runtime 12.4.127", "driver 525.60.13 or newer"),
        install=(),
    ),
    "wsl2": Expected(
        "nvidia-wsl2", Status.NOT_TESTED, Severity.WARNING, ("WSL2", "Windows host"), install=("modelrt[onnx-gpu]",)
    ),
    "container-toolkit": Expected("nvidia-ubuntu", Status.STABLE, Severity.INFO, ("in a docker container",)),
    "driver-file-without-nvml": Expected(
        "nvidia-ubuntu", Status.STABLE, Severity.INFO, ("driver 550.54.14", "proc/driver/nvidia/version")
    ),
}


def test_every_simulated_host_has_an_expected_verdict() -> None:
    assert set(VERDICTS) == set(NVIDIA_HOSTS)


@pytest.mark.parametrize("name", sorted(NVIDIA_HOSTS))
def test_each_simulated_host_gets_its_matrix_verdict(root: Path, name: str) -> None:
    _, finding = probed(name, root)
    expected = VERDICTS[name]
    assert (finding.row, finding.status, finding.severity) == (expected.row, expected.status, expected.severity)
    for words in expected.words:
        assert words in finding.message
    assert finding.install == expected.install


@pytest.mark.parametrize("name", sorted(NVIDIA_HOSTS))
def test_each_simulated_host_round_trips_through_json(root: Path, name: str) -> None:
    env, _ = probed(name, root)
    assert Environment.from_json(env.to_json()) == env


def test_a_host_without_a_driver_reports_no_gpu_and_no_cuda_version_and_says_why(root: Path) -> None:
    env, _ = probed("no-driver", root)
    assert (env.gpus, env.nvidia_driver_version, env.cuda_driver_version) == ((), None, None)
    assert (env.cuda_runtime_version, env.cudnn_version, env.cublas_version) == (None, None, None)
    assert "no NVIDIA driver" in env.unknown["nvidia"]
    assert "nvidia_cuda_runtime_cu12-12.4.127.dist-info" in env.unknown["nvidia"]


def test_gpus_carry_name_uuid_compute_capability_memory_pci_and_mig_mode(root: Path) -> None:
    env, _ = probed("ubuntu-24.04-two-gpus-mig", root)
    first, second = env.gpus
    assert (first.name, first.compute_capability, first.memory_bytes) == ("NVIDIA H100 80GB HBM3", "9.0", 81_559 << 20)
    assert first.uuid is not None and first.uuid.startswith("GPU-")
    assert (first.pci_bus_id, second.pci_bus_id) == ("00000000:07:00.0", "00000000:08:00.0")
    assert (first.mig_mode, second.mig_mode) == (True, False)
    assert [gpu.cuda_index for gpu in env.visible_gpus] == [0, 1]


def test_the_driver_and_cuda_libraries_are_recorded_with_where_they_were_read(root: Path) -> None:
    env, _ = probed("ubuntu-22.04-cuda-12.4-ampere", root)
    assert (env.nvidia_driver_version, env.cuda_driver_version) == ("550.54.14", "12.4")
    assert (env.cuda_runtime_version, env.cudnn_version, env.cublas_version) == ("12.4.127", "9.1.0.70", "12.4.5.8")
    assert any("nvidia_cudnn_cu12-9.1.0.70.dist-info" in source for source in env.cuda_libraries)


def test_cuda_visible_devices_set_empty_hides_every_gpu_but_keeps_them_listed(root: Path) -> None:
    env, _ = probed("driver-no-visible-gpu", root)
    assert env.cuda_visible_devices == ""
    assert len(env.gpus) == 1 and env.visible_gpus == ()


def test_wsl2_is_recognised_from_its_kernel_and_libcuda_without_proc_driver_files(root: Path) -> None:
    env, _ = probed("wsl2", root)
    assert env.is_wsl and env.has_nvidia_gpu
    assert env.nvidia_driver_version == "560.94"
    assert "usr/lib/wsl/lib/libcuda.so" in env.nvidia_evidence


def test_the_container_toolkit_marks_are_recorded_inside_a_container(root: Path) -> None:
    env, _ = probed("container-toolkit", root)
    assert env.container == "docker"
    assert "NVIDIA_VISIBLE_DEVICES=all" in env.nvidia_container_marks
    assert "usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.14" in env.nvidia_container_marks


def test_a_driver_without_nvml_answers_leaves_gpus_unknown_with_the_reason(root: Path) -> None:
    env, _ = probed("driver-file-without-nvml", root)
    assert env.gpus == () and env.nvidia_driver_version == "550.54.14"
    assert "declares none" in env.unknown["gpus"]


def test_a_system_cuda_toolkit_is_read_from_its_library_file_names(root: Path) -> None:
    host = make_nvidia_host(root, cuda_runtime=None)
    write_cuda_libraries(root, cuda_runtime="12.6.77", cudnn="9.5.1")
    env = probe_environment(host)
    assert (env.cuda_runtime_version, env.cudnn_version) == ("12.6.77", "9.5.1")
    assert "cuda_runtime 12.6.77: /usr/local/cuda/lib64/libcudart.so.12.6.77" in env.cuda_libraries


def test_malformed_nvml_answers_are_skipped_and_never_raise(root: Path) -> None:
    make_linux_host(root)
    write_nvidia_driver(root)
    write_host_file(root, nvml={"driver_version": 5, "gpus": ["not a gpu", {"index": "x", "memory_bytes": -1}]})
    env = probe_environment(Host(root))
    assert [(gpu.index, gpu.name, gpu.memory_bytes) for gpu in env.gpus] == [(0, None, None), (1, None, None)]
    assert env.nvidia_driver_version == "535.183.01"
