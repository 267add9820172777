"""The simulated NVIDIA hosts the tests of facts, verdicts and ``modelrt env`` snapshots share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modelrt.host import Host
from modelrt.testing.hosts import (
    NVIDIA_A100,
    NVIDIA_B200,
    NVIDIA_H100,
    NVIDIA_RTX_3090,
    make_linux_host,
    make_nvidia_host,
    nvidia_gpu,
    write_cuda_wheels,
    write_nvidia_container_toolkit,
    write_nvidia_driver,
    write_nvml,
    write_wsl2,
)


def no_driver(root: Path) -> Host:
    """A CPU box whose Python environment still carries CUDA 12 wheels (from a torch install)."""
    host = make_linux_host(root)
    write_cuda_wheels(root)
    return host


def driver_but_no_visible_gpu(root: Path) -> Host:
    return make_nvidia_host(root, visible_devices="")


def ubuntu_2204_cuda_124_ampere(root: Path) -> Host:
    return make_nvidia_host(root, gpus=[nvidia_gpu(0, NVIDIA_RTX_3090)])


def ubuntu_2404_two_gpus_one_in_mig(root: Path) -> Host:
    gpus = [nvidia_gpu(0, NVIDIA_H100, mig_mode=True), nvidia_gpu(1, NVIDIA_H100)]
    return make_nvidia_host(root, version="24.04", gpus=gpus)


def debian_12_cuda_12(root: Path) -> Host:
    return make_nvidia_host(
        root, distro="debian", version="12", driver="535.183.01", cuda_driver="12.2", cuda_runtime="12.2.140"
    )


def rhel_9(root: Path) -> Host:
    return make_nvidia_host(root, distro="rhel", version="9.4")


def cuda_13_blackwell(root: Path) -> Host:
    return make_nvidia_host(
        root,
        version="24.04",
        driver="580.82.07",
        cuda_driver="13.0",
        gpus=[nvidia_gpu(0, NVIDIA_B200)],
        cuda_runtime="13.0.96",
        cudnn="9.13.0.50",
    )


def driver_older_than_cuda_runtime(root: Path) -> Host:
    return make_nvidia_host(root, driver="470.256.02", cuda_driver="11.4", cuda_runtime="12.4.127")


def wsl2(root: Path) -> Host:
    """WSL2 on Windows: no /proc/driver/nvidia, the Windows driver's libcuda and NVML mapped in."""
    host = make_linux_host(root, version="22.04")
    write_wsl2(root)
    write_nvml(root, driver="560.94", cuda="12.6", gpus=[nvidia_gpu(0, NVIDIA_RTX_3090)])
    write_cuda_wheels(root)
    return host


def container_with_the_toolkit(root: Path) -> Host:
    host = make_nvidia_host(root, docker=True, gpus=[nvidia_gpu(0, NVIDIA_A100)])
    write_nvidia_container_toolkit(root)
    return host


def driver_file_without_nvml(root: Path) -> Host:
    """An older fake root: the driver's files only, nothing NVML would answer."""
    host = make_linux_host(root)
    write_nvidia_driver(root, "550.54.14")
    return host


NVIDIA_HOSTS: dict[str, Callable[[Path], Host]] = {
    "no-driver": no_driver,
    "driver-no-visible-gpu": driver_but_no_visible_gpu,
    "ubuntu-22.04-cuda-12.4-ampere": ubuntu_2204_cuda_124_ampere,
    "ubuntu-24.04-two-gpus-mig": ubuntu_2404_two_gpus_one_in_mig,
    "debian-12-cuda-12": debian_12_cuda_12,
    "rhel-9": rhel_9,
    "cuda-13-blackwell": cuda_13_blackwell,
    "driver-older-than-cuda": driver_older_than_cuda_runtime,
    "wsl2": wsl2,
    "container-toolkit": container_with_the_toolkit,
    "driver-file-without-nvml": driver_file_without_nvml,
}
