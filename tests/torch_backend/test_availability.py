"""Why torch can or cannot run on a device here, and the fix: CUDA and MPS machines described as data.

Hosts come from ``modelrt.testing.hosts`` (a Linux box with or without an NVIDIA driver, Macs of each
macOS), torch builds from ``TorchCapabilities`` records (CPU-only, CUDA without a device, MPS built
but unavailable...), so every branch runs here without faking torch itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrt.devices import Device
from modelrt.host_environment import Environment, probe_environment
from modelrt.testing.hosts import make_linux_host, make_macos_host, make_windows_host
from modelrt_torch import capabilities as capabilities_module
from modelrt_torch.availability import device_availability
from modelrt_torch.backend import TorchBackend
from modelrt_torch.capabilities import TorchCapabilities, probe_capabilities

from .conftest import backend_seeing

CPU_BUILD = TorchCapabilities(version="2.13.0+cpu")
CUDA_BUILD_NO_DEVICE = TorchCapabilities(
    version="2.13.0+cu128",
    cuda_version="12.8",
    cuda_devices=0,
    cuda_error="Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver",
)
CUDA_BUILD_TWO_GPUS = TorchCapabilities(version="2.13.0+cu128", cuda_version="12.8", cuda_devices=2)
MAC_BUILD = TorchCapabilities(version="2.13.0", mps_built=True, mps_available=True)
MAC_BUILD_MPS_UNAVAILABLE = TorchCapabilities(version="2.13.0", mps_built=True, mps_available=False)


def _linux(tmp_path: Path, nvidia_driver: str | None = None) -> Environment:
    return probe_environment(make_linux_host(tmp_path, nvidia_driver=nvidia_driver))


def _mac(tmp_path: Path, mac_ver: str = "14.5", machine: str = "arm64") -> Environment:
    return probe_environment(make_macos_host(tmp_path, mac_ver=mac_ver, machine=machine))


# ------------------------------------------------------------------------------------------ torch itself


def test_torch_missing_is_unusable_with_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def missing() -> None:
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setattr(capabilities_module, "import_torch", missing)
    availability = TorchBackend().availability(_linux(tmp_path), Device.parse("cpu"))
    assert not availability.usable
    assert "torch is not installed" in availability.reason
    assert availability.fix == 'pip install "modelrt[torch]"'


def test_a_torch_that_fails_to_import_is_reinstalled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken() -> None:
        raise OSError("libtorch_cpu.so: cannot open shared object file")

    monkeypatch.setattr(capabilities_module, "import_torch", broken)
    availability = TorchBackend().availability(_linux(tmp_path), Device.parse("cpu"))
    assert not availability.usable
    assert "fails to import: OSError" in availability.reason
    assert availability.fix is not None and "--force-reinstall" in availability.fix


def test_a_torch_older_than_2_6_is_upgraded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torch

    monkeypatch.setattr(torch, "__version__", "2.5.1+cpu")
    availability = TorchBackend().availability(_linux(tmp_path), Device.parse("cpu"))
    assert not availability.usable
    assert "older than 2.6" in availability.reason
    assert availability.fix == 'pip install -U "torch>=2.6"'


def test_the_installed_torch_runs_on_this_cpu(backend: TorchBackend, tmp_path: Path) -> None:
    availability = backend.availability(_linux(tmp_path), Device.parse("cpu"))
    assert availability.usable
    assert availability.reason.startswith("torch 2.")


def test_the_probe_reads_this_cpu_only_build_without_touching_a_gpu() -> None:
    import torch

    probed = probe_capabilities(torch)
    assert probed.version == torch.__version__
    assert (probed.cuda_version, probed.cuda_devices) == (torch.version.cuda, torch.cuda.device_count())


# ------------------------------------------------------------------------------------------ CUDA


def test_cuda_with_a_cpu_only_build_says_to_install_the_cuda_build(tmp_path: Path) -> None:
    availability = backend_seeing(CPU_BUILD).availability(_linux(tmp_path, "550.54.14"), Device.parse("cuda"))
    assert not availability.usable
    assert availability.reason == "torch 2.13.0+cpu is a CPU-only build: it has no CUDA support"
    assert availability.fix is not None and "download.pytorch.org/whl/cu" in availability.fix


def test_cuda_build_on_a_host_without_driver_says_to_install_the_driver(tmp_path: Path) -> None:
    availability = backend_seeing(CUDA_BUILD_NO_DEVICE).availability(_linux(tmp_path), Device.parse("cuda"))
    assert not availability.usable
    assert "finds no CUDA device: Found no NVIDIA driver on your system" in availability.reason
    assert availability.fix is not None and availability.fix.startswith("install the NVIDIA driver")


def test_cuda_build_with_a_driver_but_no_device_points_at_the_driver_version(tmp_path: Path) -> None:
    no_device = TorchCapabilities(version="2.13.0+cu128", cuda_version="12.8", cuda_devices=0)
    availability = backend_seeing(no_device).availability(_linux(tmp_path, "470.256.02"), Device.parse("cuda"))
    assert not availability.usable
    assert availability.fix is not None and "supports CUDA 12.8" in availability.fix


def test_cuda_device_beyond_those_torch_sees_is_unusable(tmp_path: Path) -> None:
    availability = backend_seeing(CUDA_BUILD_TWO_GPUS).availability(
        _linux(tmp_path, "550.54.14"), Device.parse("cuda:2")
    )
    assert not availability.usable
    assert "sees 2 CUDA device(s), cuda:0 to cuda:1, so there is no cuda:2" in availability.reason


def test_cuda_device_torch_sees_is_usable(tmp_path: Path) -> None:
    availability = backend_seeing(CUDA_BUILD_TWO_GPUS).availability(
        _linux(tmp_path, "550.54.14"), Device.parse("cuda:1")
    )
    assert availability.usable
    assert availability.reason == "torch 2.13.0+cu128 (built for CUDA 12.8) sees 2 CUDA device(s)"


def test_cuda_on_a_mac_is_unusable(tmp_path: Path) -> None:
    availability = backend_seeing(MAC_BUILD).availability(_mac(tmp_path), Device.parse("cuda"))
    assert (availability.usable, availability.reason) == (False, "CUDA does not run on macOS")


# ------------------------------------------------------------------------------------------ MPS


def test_mps_on_an_apple_silicon_mac_is_usable(tmp_path: Path) -> None:
    availability = backend_seeing(MAC_BUILD).availability(_mac(tmp_path), Device.parse("mps"))
    assert availability.usable
    assert "MPS" in availability.reason


def test_mps_off_macos_is_unusable_with_nothing_to_install(tmp_path: Path) -> None:
    availability = backend_seeing(CPU_BUILD).availability(_linux(tmp_path), Device.parse("mps"))
    assert not availability.usable
    assert availability.reason == "MPS exists only on macOS with Apple Silicon, and this host runs Linux"
    assert availability.fix is None


def test_mps_on_windows_is_unusable(tmp_path: Path) -> None:
    env = probe_environment(make_windows_host(tmp_path))
    availability = backend_seeing(CPU_BUILD).availability(env, Device.parse("mps"))
    assert not availability.usable and "runs Windows" in availability.reason


def test_mps_with_a_build_without_it_says_which_wheels_have_it(tmp_path: Path) -> None:
    intel_build = TorchCapabilities(version="2.2.2", mps_built=False)
    availability = backend_seeing(intel_build).availability(_mac(tmp_path, machine="x86_64"), Device.parse("mps"))
    assert not availability.usable
    assert "built without MPS" in availability.reason
    assert availability.fix is not None and "arm64" in availability.fix


def test_mps_on_a_macos_too_old_says_to_upgrade_macos(tmp_path: Path) -> None:
    availability = backend_seeing(MAC_BUILD_MPS_UNAVAILABLE).availability(
        _mac(tmp_path, mac_ver="13.6.1"), Device.parse("mps")
    )
    assert not availability.usable
    assert "macOS 13.6.1 is too old" in availability.reason and "needs macOS 14.0 or newer" in availability.reason
    assert availability.fix == "upgrade macOS to 14.0 or newer, or use device='cpu'"


def test_mps_unavailable_on_a_recent_macos_suggests_the_cpu(tmp_path: Path) -> None:
    availability = backend_seeing(MAC_BUILD_MPS_UNAVAILABLE).availability(_mac(tmp_path), Device.parse("mps"))
    assert not availability.usable
    assert "has MPS built in but cannot use it" in availability.reason
    assert availability.fix == "use device='cpu'"


# ------------------------------------------------------------------------------------------ other kinds


@pytest.mark.parametrize("device", ["coreml", "dla:0"])
def test_devices_torch_does_not_drive_are_unusable(device: str) -> None:
    availability = device_availability(None, Device.parse(device), MAC_BUILD)
    assert not availability.usable
    assert "runs on cpu, cuda and mps" in availability.reason
