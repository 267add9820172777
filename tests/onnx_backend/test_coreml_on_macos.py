"""ONNX Runtime's CoreML provider on a simulated Mac: offered when present, checked after the session exists.

The Mac is a fake host root (``make_macos_host``) probed like a real one; onnxruntime's macOS build is a
stand-in that lists CoreMLExecutionProvider and whose sessions report the providers they really got,
so each test says what happens on a Mac that this Linux CI machine cannot be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import modelrt
from modelrt.devices import Device
from modelrt.errors import HardwareError
from modelrt.host_environment import Environment, probe_environment
from modelrt.package_builder import build_package
from modelrt.testing.hosts import make_macos_host
from modelrt.testing.managers import manager_with
from modelrt_onnx import backend as backend_module
from modelrt_onnx import plugin
from modelrt_onnx.backend import OnnxRuntimeBackend

from .conftest import FakeInferenceSession, fake_onnxruntime

COREML = Device.parse("coreml")
MACOS_PROVIDERS = ("CoreMLExecutionProvider", "CPUExecutionProvider")


class CoreMLSession(FakeInferenceSession):
    """A session on a Mac where CoreML loads: it gets the providers it asked for."""

    def __init__(self, path: str, sess_options: Any = None, providers: Any = ()) -> None:
        super().__init__(path, sess_options, providers)
        self.providers = [name if isinstance(name, str) else name[0] for name in self.requested]


@pytest.fixture
def apple_silicon_mac(tmp_path: Path) -> Environment:
    return probe_environment(make_macos_host(tmp_path / "mac", machine="arm64", mac_ver="14.5"))


@pytest.fixture
def macos_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime's macOS wheel, whose CoreML provider loads."""
    build = fake_onnxruntime(MACOS_PROVIDERS, session_class=CoreMLSession)
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: build)


@pytest.fixture
def macos_runtime_whose_coreml_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime's macOS wheel on a Mac where CoreML cannot take the model: sessions fall back to CPU."""
    build = fake_onnxruntime(MACOS_PROVIDERS)
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: build)


def _package(models: Any, tmp_path: Path, architecture: str, task: str) -> Path:
    out = tmp_path / architecture
    build_package(models.affine(), out, task=task, labels=["a", "b", "c"], architecture=architecture)
    return out


def _load(package: Path, env: Environment, **kwargs: Any) -> modelrt.Model:
    return modelrt.load(package, manager=manager_with(plugin), environment=env, warmup=0, **kwargs)


@pytest.mark.usefixtures("macos_runtime")
def test_coreml_is_usable_on_the_mac_with_the_macos_build(
    backend: OnnxRuntimeBackend, apple_silicon_mac: Environment
) -> None:
    availability = backend.availability(apple_silicon_mac, COREML)
    assert availability.usable
    assert "offers CoreMLExecutionProvider for coreml" in availability.reason


def test_coreml_on_the_mac_with_a_build_without_it_says_which_wheel_has_it(
    backend: OnnxRuntimeBackend, apple_silicon_mac: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_onnxruntime(("CPUExecutionProvider",))
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: build)
    availability = backend.availability(apple_silicon_mac, COREML)
    assert not availability.usable
    assert "has no CoreMLExecutionProvider" in availability.reason and "macOS wheel" in availability.reason


@pytest.mark.usefixtures("macos_runtime")
def test_cuda_is_never_offered_on_the_mac(backend: OnnxRuntimeBackend, apple_silicon_mac: Environment) -> None:
    availability = backend.availability(apple_silicon_mac, Device.parse("cuda"))
    assert (availability.usable, availability.reason) == (False, "CUDA does not run on macOS")


@pytest.mark.usefixtures("macos_runtime")
def test_auto_runs_an_mps_capable_model_on_coreml_and_says_so(
    models: Any, tmp_path: Path, apple_silicon_mac: Environment
) -> None:
    model = _load(_package(models, tmp_path, "yolov8", "object-detection"), apple_silicon_mac)
    chosen = model.plan.chosen()["main"]
    assert (chosen.backend, chosen.device) == ("onnxruntime", "coreml")
    assert model.sessions["main"].provider == "CoreMLExecutionProvider"


@pytest.mark.usefixtures("macos_runtime")
def test_auto_keeps_a_model_not_marked_capable_on_the_cpu_and_says_why(
    models: Any, tmp_path: Path, apple_silicon_mac: Environment
) -> None:
    model = _load(_package(models, tmp_path, "db-text-detector", "text-detection"), apple_silicon_mac)
    assert model.plan.chosen()["main"].device == "cpu"
    assert any("coreml not tried" in note for note in model.plan.notes)


@pytest.mark.usefixtures("macos_runtime_whose_coreml_fails")
def test_auto_records_a_coreml_fallback_and_runs_on_the_cpu_knowingly(
    models: Any, tmp_path: Path, apple_silicon_mac: Environment
) -> None:
    model = _load(_package(models, tmp_path, "yolov8", "object-detection"), apple_silicon_mac)
    by_device = {c.device: c for c in model.plan.candidates}
    assert by_device["coreml"].status == "failed"
    assert "fell back to CPUExecutionProvider" in by_device["coreml"].reason
    assert model.plan.chosen()["main"].device == "cpu"


@pytest.mark.usefixtures("macos_runtime_whose_coreml_fails")
def test_an_explicit_coreml_device_is_never_replaced_by_the_cpu(
    models: Any, tmp_path: Path, apple_silicon_mac: Environment
) -> None:
    with pytest.raises(HardwareError, match="CoreMLExecutionProvider could not take the model"):
        _load(_package(models, tmp_path, "yolov8", "object-detection"), apple_silicon_mac, device="coreml")
