"""Availability reasons name the onnxruntime build really installed, never one that is not."""

from __future__ import annotations

from typing import Any

import pytest

from modelrt.devices import Device
from modelrt.host_environment import Environment
from modelrt_onnx import backend as backend_module
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.providers import RuntimeBuild

HOST_WITH_DRIVER = Environment(system="Linux", nvidia_evidence=("proc/driver/nvidia/version", "dev/nvidia0"))
HOST_WITHOUT_DRIVER = Environment(system="Linux", nvidia_evidence=())
OPENVINO_BUILD = (RuntimeBuild("onnxruntime-openvino", "1.20.0"),)


def test_cuda_without_a_driver_on_the_cpu_build_does_not_mention_the_gpu_build(
    backend: OnnxRuntimeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend_module, "installed_runtime_builds", lambda: (RuntimeBuild("onnxruntime", "1.32.0"),))
    availability = backend.availability(HOST_WITHOUT_DRIVER, Device.parse("cuda"))
    assert not availability.usable
    assert availability.reason.endswith("so CUDA cannot run here")
    assert "onnxruntime-gpu" not in availability.reason


def test_cuda_without_a_driver_on_the_gpu_build_says_that_build_would_fall_back(
    backend: OnnxRuntimeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        backend_module, "installed_runtime_builds", lambda: (RuntimeBuild("onnxruntime-gpu", "1.22.0"),)
    )
    availability = backend.availability(HOST_WITHOUT_DRIVER, Device.parse("cuda"))
    assert "the installed onnxruntime-gpu 1.22.0 would silently run on the CPU" in availability.reason


@pytest.mark.parametrize(
    ("device", "needed"),
    [("cuda", "CUDA needs the onnxruntime-gpu build"), ("coreml", "CoreML needs onnxruntime's macOS wheel")],
)
def test_a_build_without_the_provider_is_named_as_the_one_to_replace(
    backend: OnnxRuntimeBackend, monkeypatch: pytest.MonkeyPatch, fake_ort: Any, device: str, needed: str
) -> None:
    monkeypatch.setattr(backend_module, "installed_runtime_builds", lambda: OPENVINO_BUILD)
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: fake_ort(("CPUExecutionProvider",)))
    host = HOST_WITH_DRIVER if device == "cuda" else Environment(system="Darwin")
    availability = backend.availability(host, Device.parse(device))
    assert f"{needed} in place of onnxruntime-openvino" in availability.reason
    assert availability.fix is not None and availability.fix.startswith("pip uninstall -y onnxruntime-openvino && ")
