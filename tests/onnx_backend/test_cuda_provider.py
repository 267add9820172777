"""onnxruntime-gpu on CUDA, with a fake ``onnxruntime``: provider options, TensorRT by name, preloading the
pip-installed CUDA libraries, visible GPUs, and a silent fallback to the CPU reported with ORT's own reason."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from modelrt.devices import Device
from modelrt.errors import HardwareError, InputError
from modelrt.host_environment import Environment
from modelrt.nvidia.gpus import Gpu
from modelrt.options import RunOptions
from modelrt_onnx import backend as backend_module
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.providers import RuntimeBuild

CUDA_FAILURE = (
    "Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 12.*, and the latest MSVC runtime. "
    "Please install all dependencies as mentioned in the GPU requirements page"
)
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
GPU_BUILD = (RuntimeBuild("onnxruntime-gpu", "1.22.0"),)


class RecordingOnnxRuntime:
    """What a test needs to see of onnxruntime-gpu: the providers asked for, the logger callback, preloads."""

    def __init__(
        self, fake_ort: Any, working: tuple[str, ...] = (), preload: bool = True, callback: bool = True
    ) -> None:
        self.requested: list[Any] = []
        self.callbacks: list[Any] = []
        self.preloads = 0
        self.severity = 2
        self.calls: list[str] = []
        recorder = self

        class Session:
            def __init__(self, path: str, sess_options: Any = None, providers: Any = ()) -> None:
                recorder.calls.append("session")
                recorder.requested = list(providers)
                names = [name for name, _ in providers]
                self.providers = [name for name in names if name in working] + ["CPUExecutionProvider"]
                warning = 2
                if names[0] not in working and warning >= recorder.severity:  # log on this thread, go on
                    for callback in recorder.callbacks:
                        callback(2, "onnxruntime", "", "provider_bridge_ort.cc:1848", CUDA_FAILURE)
                    if not callback_offered:  # onnxruntime-gpu 1.31: its C++ logger writes to stderr
                        line = f"\x1b[0;93m2026-12-03 [W:onnxruntime:Default, bridge.cc:1 f] {CUDA_FAILURE}\x1b[m\n"
                        os.write(2, line.encode())

            def get_providers(self) -> list[str]:
                return self.providers

            def get_inputs(self) -> list[Any]:
                return [SimpleNamespace(name="x", shape=["batch", 3], type="tensor(float)")]

            def get_outputs(self) -> list[Any]:
                return [SimpleNamespace(name="y", shape=["batch", 3], type="tensor(float)")]

        callback_offered = callback
        self.module = fake_ort(GPU_PROVIDERS, session_class=Session, version="1.22.0")
        if callback:
            self.module.set_default_logger_callback = self._install_callback
        self.module.set_default_logger_severity = self._set_severity
        if preload:
            self.module.preload_dlls = self._preload

    def _install_callback(self, callback: Any, severity: int) -> None:
        self.callbacks.append(callback)
        self.severity = severity

    def _set_severity(self, severity: int) -> None:
        self.severity = severity

    def _preload(self) -> None:
        self.preloads += 1
        self.calls.append("preload")


@pytest.fixture
def onnxruntime_gpu(monkeypatch: pytest.MonkeyPatch, fake_ort: Any) -> Any:
    def install(
        working: tuple[str, ...] = ("CUDAExecutionProvider",), preload: bool = True, callback: bool = True
    ) -> RecordingOnnxRuntime:
        runtime = RecordingOnnxRuntime(fake_ort, working, preload, callback)
        monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: runtime.module)
        monkeypatch.setattr(backend_module, "installed_runtime_builds", lambda: GPU_BUILD)
        return runtime

    return install


def onnxruntime_options(**extras: Any) -> RunOptions:
    return RunOptions(threads=1, extras={"onnxruntime": extras})


def load(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, device: str, **extras: Any) -> Any:
    return backend.load(make_artifact(models.affine()), Device.parse(device), onnxruntime_options(**extras))


def test_cuda_is_asked_for_with_explicit_arena_convolution_search_and_stream_options(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, onnxruntime_gpu: Any
) -> None:
    runtime = onnxruntime_gpu()
    session = load(backend, models, make_artifact, "cuda:1")
    assert runtime.requested == [
        (
            "CUDAExecutionProvider",
            {
                "device_id": "1",
                "arena_extend_strategy": "kSameAsRequested",
                "cudnn_conv_algo_search": "EXHAUSTIVE",
                "cudnn_conv_use_max_workspace": "1",
                "do_copy_in_default_stream": "1",
            },
        )
    ]
    assert session.provider == "CUDAExecutionProvider"


def test_a_silent_fallback_to_the_cpu_is_a_hardware_error_quoting_onnxruntimes_reason(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, onnxruntime_gpu: Any
) -> None:
    onnxruntime_gpu(working=())
    with pytest.raises(HardwareError) as raised:
        load(backend, models, make_artifact, "cuda:0")
    message = str(raised.value)
    assert "CUDAExecutionProvider on cuda:0 but fell back to CPUExecutionProvider" in message
    assert f"onnxruntime said: {CUDA_FAILURE}" in message


def test_without_a_log_callback_the_reason_is_read_from_stderr_which_still_shows_it(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    onnxruntime_gpu: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """onnxruntime-gpu 1.31 has no log callback: its reason goes to stderr, and modelrt quotes it from there."""
    onnxruntime_gpu(working=(), callback=False)
    with pytest.raises(HardwareError) as raised:
        load(backend, models, make_artifact, "cuda:0")
    assert f"onnxruntime said: {CUDA_FAILURE}" in str(raised.value)
    assert CUDA_FAILURE in capfd.readouterr().err


def test_a_fallback_with_the_logger_above_warnings_says_how_to_see_the_reason(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, onnxruntime_gpu: Any, onnx_logger_level: Any
) -> None:
    onnxruntime_gpu(working=())
    onnx_logger_level(logging.CRITICAL)
    with pytest.raises(HardwareError, match="set it to DEBUG"):
        load(backend, models, make_artifact, "cuda:0")


def test_the_pip_installed_cuda_libraries_are_preloaded_once_before_the_first_cuda_session(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, onnxruntime_gpu: Any
) -> None:
    runtime = onnxruntime_gpu()
    load(backend, models, make_artifact, "cuda:0")
    load(backend, models, make_artifact, "cuda:0")
    assert runtime.calls == ["preload", "session", "session"]


def test_a_failing_preload_is_logged_and_the_load_still_reports_what_onnxruntime_did(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, onnxruntime_gpu: Any, caplog: Any
) -> None:
    runtime = onnxruntime_gpu(working=())

    def broken() -> None:
        raise OSError("libcudnn.so.9: cannot open shared object file")

    runtime.module.preload_dlls = broken
    with caplog.at_level(logging.WARNING, logger="modelrt.onnx"), pytest.raises(HardwareError, match="fell back"):
        load(backend, models, make_artifact, "cuda:0")
    assert "preload_dlls() failed: OSError: libcudnn.so.9" in caplog.text


def test_the_tensorrt_provider_is_only_used_when_named_and_keeps_engines_in_the_modelrt_cache(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    onnxruntime_gpu: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path))
    runtime = onnxruntime_gpu(working=("TensorrtExecutionProvider", "CUDAExecutionProvider"))
    session = load(backend, models, make_artifact, "cuda:0", execution_provider="tensorrt", tensorrt_fp16=True)
    (tensorrt, tensorrt_options), (cuda, _) = runtime.requested
    assert (tensorrt, cuda, session.provider) == ("TensorrtExecutionProvider", "CUDAExecutionProvider", tensorrt)
    cache = str(tmp_path / "onnxruntime-tensorrt")
    assert tensorrt_options == {
        "device_id": "0",
        "trt_fp16_enable": "True",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": cache,
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": cache,
    }


def test_without_a_modelrt_cache_directory_the_tensorrt_provider_writes_no_engine_cache(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    onnxruntime_gpu: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "absent"))
    runtime = onnxruntime_gpu(working=("TensorrtExecutionProvider",))
    load(backend, models, make_artifact, "cuda:0", execution_provider="tensorrt")
    assert runtime.requested[0][1] == {"device_id": "0", "trt_fp16_enable": "False"}


def test_a_tensorrt_fallback_to_cuda_is_a_hardware_error_too(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, onnxruntime_gpu: Any
) -> None:
    onnxruntime_gpu(working=("CUDAExecutionProvider",))
    with pytest.raises(
        HardwareError, match="TensorrtExecutionProvider on cuda:0 but fell back to CUDAExecutionProvider"
    ):
        load(backend, models, make_artifact, "cuda:0", execution_provider="tensorrt")


def test_the_tensorrt_provider_on_the_cpu_is_refused(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(HardwareError, match="runs on cuda devices, not on cpu"):
        load(backend, models, make_artifact, "cpu", execution_provider="tensorrt")


@pytest.mark.parametrize(
    ("extras", "words"),
    [
        ({"execution_provider": "rocm"}, "unknown onnxruntime execution_provider 'rocm'"),
        ({"tensorrt_fp16": "yes"}, "tensorrt_fp16 must be true or false"),
    ],
)
def test_invalid_provider_extras_are_input_errors(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, extras: dict[str, Any], words: str
) -> None:
    with pytest.raises(InputError, match=words):
        load(backend, models, make_artifact, "cuda:0", **extras)


# ------------------------------------------------------------------------------------- visible GPUs

TWO_GPUS = (Gpu(index=0, name="NVIDIA A100-SXM4-80GB"), Gpu(index=1, name="NVIDIA H100 80GB HBM3"))


def host(visible: str | None, cuda_indexes: tuple[int | None, int | None]) -> Environment:
    gpus = tuple(
        Gpu(index=gpu.index, name=gpu.name, cuda_index=cuda) for gpu, cuda in zip(TWO_GPUS, cuda_indexes, strict=True)
    )
    return Environment(
        system="Linux", nvidia_evidence=("proc/driver/nvidia/version",), gpus=gpus, cuda_visible_devices=visible
    )


def test_cuda_is_not_usable_when_cuda_visible_devices_hides_every_gpu(
    backend: OnnxRuntimeBackend, onnxruntime_gpu: Any
) -> None:
    onnxruntime_gpu()
    availability = backend.availability(host("", (None, None)), Device.parse("cuda:0"))
    assert not availability.usable
    assert "CUDA_VISIBLE_DEVICES='' hides all 2 GPU(s)" in availability.reason


def test_a_cuda_index_beyond_the_visible_gpus_is_not_usable_and_names_those_that_are(
    backend: OnnxRuntimeBackend, onnxruntime_gpu: Any
) -> None:
    onnxruntime_gpu()
    availability = backend.availability(host("1", (None, 0)), Device.parse("cuda:1"))
    assert not availability.usable
    assert "this process sees cuda:0 (NVIDIA H100 80GB HBM3)" in availability.reason


def test_the_first_visible_gpu_is_usable_as_cuda_0(backend: OnnxRuntimeBackend, onnxruntime_gpu: Any) -> None:
    onnxruntime_gpu()
    assert backend.availability(host("1", (None, 0)), Device.parse("cuda:0")).usable
