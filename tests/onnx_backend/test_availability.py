"""``OnnxRuntimeBackend.availability``: usable or not on each device, with the reason and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from modelrt.devices import Device
from modelrt.host_environment import Environment
from modelrt_onnx import backend as backend_module
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.providers import RuntimeBuild

GPU_BUILD = (RuntimeBuild("onnxruntime-gpu", "1.22.0"),)
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
HOST_WITH_DRIVER = Environment(system="Linux", nvidia_evidence=("proc/driver/nvidia/version", "dev/nvidia0"))
HOST_WITHOUT_DRIVER = Environment(system="Linux", nvidia_evidence=())


@pytest.fixture
def gpu_build(monkeypatch: pytest.MonkeyPatch, fake_ort: Any) -> None:
    """onnxruntime-gpu installed: CUDA listed whatever the host has (as ENVIRONMENT.md observed)."""
    monkeypatch.setattr(backend_module, "installed_runtime_builds", lambda: GPU_BUILD)
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: fake_ort(GPU_PROVIDERS, version="1.22.0"))


def test_cpu_is_usable_with_the_installed_cpu_build(backend: OnnxRuntimeBackend) -> None:
    availability = backend.availability(Environment(), Device.parse("cpu"))
    assert availability.usable
    assert "CPUExecutionProvider" in availability.reason and availability.fix is None


def test_cuda_on_the_cpu_build_is_not_usable_and_says_to_swap_in_the_gpu_build(
    backend: OnnxRuntimeBackend,
) -> None:
    availability = backend.availability(HOST_WITH_DRIVER, Device.parse("cuda:0"))
    assert not availability.usable
    assert "has no CUDAExecutionProvider" in availability.reason
    assert "onnxruntime-gpu" in availability.reason
    assert availability.fix == 'pip uninstall -y onnxruntime && pip install "modelrt[onnx-gpu]"'


def test_coreml_off_macos_is_not_usable_and_has_nothing_to_install(backend: OnnxRuntimeBackend) -> None:
    availability = backend.availability(Environment(system="Linux"), Device.parse("coreml"))
    assert not availability.usable
    assert availability.reason == "CoreML exists only on macOS, and this host runs Linux"
    assert availability.fix is None


def test_coreml_on_macos_with_a_build_without_it_says_to_install_the_macos_wheel(
    backend: OnnxRuntimeBackend,
) -> None:
    availability = backend.availability(Environment(system="Darwin"), Device.parse("coreml"))
    assert not availability.usable
    assert "has no CoreMLExecutionProvider" in availability.reason
    assert availability.fix == 'pip uninstall -y onnxruntime && pip install "modelrt[onnx]"'


@pytest.mark.parametrize("device", ["mps", "dla:0"])
def test_device_kinds_onnxruntime_cannot_serve_are_not_usable(backend: OnnxRuntimeBackend, device: str) -> None:
    availability = backend.availability(Environment(), Device.parse(device))
    assert not availability.usable
    assert "cpu, cuda and coreml" in availability.reason


def test_missing_onnxruntime_is_not_usable_and_says_to_install_the_extra(
    backend: OnnxRuntimeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> Any:
        raise ModuleNotFoundError("No module named 'onnxruntime'")

    monkeypatch.setattr(backend_module, "installed_runtime_builds", lambda: ())
    monkeypatch.setattr(backend_module, "import_onnxruntime", missing)
    availability = backend.availability(Environment(), Device.parse("cpu"))
    assert not availability.usable
    assert "onnxruntime is not installed" in availability.reason
    assert availability.fix == 'pip install "modelrt[onnx]"'


def test_missing_onnxruntime_for_cuda_says_to_install_the_gpu_extra(
    backend: OnnxRuntimeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> Any:
        raise ModuleNotFoundError("No module named 'onnxruntime'")

    monkeypatch.setattr(backend_module, "installed_runtime_builds", lambda: ())
    monkeypatch.setattr(backend_module, "import_onnxruntime", missing)
    assert backend.availability(HOST_WITH_DRIVER, Device.parse("cuda")).fix == 'pip install "modelrt[onnx-gpu]"'


def test_onnxruntime_that_fails_to_import_is_not_usable_and_says_to_reinstall(
    backend: OnnxRuntimeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Any:
        raise OSError("libonnxruntime.so.1: cannot open shared object file")

    monkeypatch.setattr(backend_module, "import_onnxruntime", broken)
    availability = backend.availability(Environment(), Device.parse("cpu"))
    assert not availability.usable
    assert "fails to import" in availability.reason and "libonnxruntime.so.1" in availability.reason
    assert availability.fix == 'pip uninstall -y onnxruntime && pip install "modelrt[onnx]"'


def test_both_cpu_and_gpu_builds_installed_is_a_broken_install_with_the_uninstall_fix(
    backend: OnnxRuntimeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    both = (RuntimeBuild("onnxruntime", "1.32.0"), RuntimeBuild("onnxruntime-gpu", "1.22.0"))
    monkeypatch.setattr(backend_module, "installed_runtime_builds", lambda: both)
    availability = backend.availability(Environment(), Device.parse("cpu"))
    assert not availability.usable
    assert "broken onnxruntime install" in availability.reason
    assert "onnxruntime 1.32.0" in availability.reason and "onnxruntime-gpu 1.22.0" in availability.reason
    assert availability.fix == 'pip uninstall -y onnxruntime onnxruntime-gpu && pip install "modelrt[onnx]"'


@pytest.mark.usefixtures("gpu_build")
def test_cuda_on_the_gpu_build_with_an_nvidia_driver_is_usable(backend: OnnxRuntimeBackend) -> None:
    availability = backend.availability(HOST_WITH_DRIVER, Device.parse("cuda:0"))
    assert availability.usable
    assert "onnxruntime-gpu 1.22.0 offers CUDAExecutionProvider" in availability.reason


@pytest.mark.usefixtures("gpu_build")
def test_cuda_on_the_gpu_build_without_an_nvidia_driver_is_not_usable(backend: OnnxRuntimeBackend) -> None:
    availability = backend.availability(HOST_WITHOUT_DRIVER, Device.parse("cuda:0"))
    assert not availability.usable
    assert "no NVIDIA driver" in availability.reason and "silently run on the CPU" in availability.reason
    assert availability.fix is not None and "device='cpu'" in availability.fix


def test_cuda_on_a_host_without_an_nvidia_driver_does_not_advise_the_gpu_build(
    backend: OnnxRuntimeBackend,
) -> None:
    availability = backend.availability(HOST_WITHOUT_DRIVER, Device.parse("cuda"))
    assert not availability.usable
    assert "no NVIDIA driver" in availability.reason
    assert availability.fix is not None and "onnx-gpu" not in availability.fix


def test_cuda_on_macos_is_not_usable_and_has_nothing_to_install(backend: OnnxRuntimeBackend) -> None:
    availability = backend.availability(Environment(system="Darwin"), Device.parse("cuda"))
    assert not availability.usable
    assert (availability.reason, availability.fix) == ("CUDA does not run on macOS", None)


@pytest.mark.usefixtures("gpu_build")
def test_cuda_on_a_jetson_is_left_to_load_since_jetsons_have_no_dev_nvidia_node(
    backend: OnnxRuntimeBackend,
) -> None:
    jetson = Environment(system="Linux", nvidia_evidence=(), jetson_hint="# R36 (release), REVISION: 4.0")
    assert backend.availability(jetson, Device.parse("cuda")).usable


@pytest.mark.usefixtures("gpu_build")
def test_cuda_with_an_environment_lacking_nvidia_facts_does_not_crash(backend: OnnxRuntimeBackend) -> None:
    assert backend.availability(object(), Device.parse("cuda")).usable  # type: ignore[arg-type]
