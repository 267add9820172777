"""Backend names people type: documented aliases resolve, near misses are named, missing backends explained."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt import backend_names
from modelrt.errors import NoUsableBackendError
from modelrt.plugin_manager import PluginManager
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.repeat(np.array([[0.1, 0.7, 0.2]], np.float32), batch.shape[0], axis=0)


def _runtimes() -> PluginManager:
    """Backends registered under the names modelrt's own plugins use, plus a third party's."""
    return manager_with(
        fake_backend_plugin("onnxruntime", priority=50, compute=_compute),
        fake_backend_plugin("torch", formats=("onnx",), priority=10, compute=_compute),
    )


@pytest.mark.parametrize(
    ("typed", "registered"),
    [("onnx", "onnxruntime"), ("ORT", "onnxruntime"), ("pytorch", "torch"), ("pt", "torch"), (" Torch ", "torch")],
)
def test_documented_aliases_and_any_case_select_the_registered_backend(
    make_package: Callable[..., Path], typed: str, registered: str
) -> None:
    model = modelrt.load(make_package(), manager=_runtimes(), backend=typed, warmup=0)
    assert model.backend == registered
    assert model.plan.requested_backend == registered


def test_auto_in_any_case_is_auto(make_package: Callable[..., Path]) -> None:
    assert modelrt.explain(make_package(), manager=_runtimes(), backend="AUTO").requested_backend == "auto"


def test_a_near_miss_names_the_backend_meant(make_package: Callable[..., Path]) -> None:
    with pytest.raises(NoUsableBackendError, match=r"unknown backend 'onnxrutime': did you mean 'onnxruntime'\?"):
        modelrt.explain(make_package(), manager=_runtimes(), backend="onnxrutime")


def test_trt_is_tensorrt_which_no_released_plugin_provides(make_package: Callable[..., Path]) -> None:
    with pytest.raises(NoUsableBackendError) as caught:
        modelrt.explain(make_package(), manager=_runtimes(), backend="trt")
    message = str(caught.value)
    assert "backend 'trt' (that is 'tensorrt'): no released modelrt plugin provides it yet" in message
    assert "pip install" not in message


def test_a_backend_no_modelrt_plugin_provides_is_said_plainly(make_package: Callable[..., Path]) -> None:
    with pytest.raises(NoUsableBackendError) as caught:
        modelrt.explain(make_package(), manager=_runtimes(), backend="openvino")
    message = str(caught.value)
    assert "unknown backend 'openvino': no installed plugin registers it, and no modelrt plugin release" in message
    assert "pip install" not in message
    assert "installed backends: onnxruntime, torch" in message


def test_a_device_passed_as_the_backend_says_to_pass_it_as_the_device(make_package: Callable[..., Path]) -> None:
    with pytest.raises(NoUsableBackendError, match=r"'cuda' is a device, not a backend: pass device='cuda'"):
        modelrt.explain(make_package(), manager=_runtimes(), backend="cuda")


def test_a_missing_modelrt_backend_gives_the_install_command(
    make_package: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend_names, "installed_version", lambda distribution: None)
    with pytest.raises(NoUsableBackendError, match=r"its plugin is not installed: pip install \"modelrt\[torch\]\""):
        modelrt.explain(make_package(), manager=manager_with(fake_backend_plugin("onnxruntime")), backend="pytorch")


def test_an_installed_plugin_is_never_advised_for_installation(
    make_package: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend_names, "installed_version", lambda distribution: "0.1.0")
    with pytest.raises(NoUsableBackendError) as caught:
        modelrt.explain(make_package(), manager=manager_with(fake_backend_plugin("cpu-runtime")), backend="onnx")
    message = str(caught.value)
    assert "modelrt-onnx 0.1.0 is installed, but no plugin loaded here registers 'onnxruntime'" in message
    assert "pip install" not in message


def test_a_disabled_modelrt_plugin_is_named_with_why(
    make_package: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELRT_DISABLE_PLUGINS", "onnx")
    with pytest.raises(NoUsableBackendError) as caught:
        modelrt.explain(make_package(), manager=PluginManager(strict=False), backend="onnx")
    message = str(caught.value)
    assert "its plugin 'onnx' (modelrt-onnx) is installed but disabled: disabled by MODELRT_DISABLE_PLUGINS" in message
    assert "pip install" not in message


def test_a_named_backend_that_runs_other_formats_says_which(make_package: Callable[..., Path]) -> None:
    exporter = fake_backend_plugin("exporter", formats=("exported-program",))
    runtimes = manager_with(fake_backend_plugin("onnxruntime"), exporter)
    with pytest.raises(NoUsableBackendError, match=r"backend 'exporter' runs exported-program artifacts, not this one"):
        modelrt.explain(make_package(), manager=runtimes, backend="exporter")
