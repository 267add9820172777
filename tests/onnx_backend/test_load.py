"""``OnnxRuntimeBackend.load``: session options from ``RunOptions``, provider verification, precision."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest

from modelrt.backend import Artifact, Session
from modelrt.devices import Device
from modelrt.errors import HardwareError, InputError, NoUsableBackendError, PackageError
from modelrt.options import RunOptions
from modelrt_onnx import backend as backend_module
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.session import OnnxSession

CPU = Device.parse("cpu")


def _options_of(session: OnnxSession) -> Any:
    return session.ort_session.get_session_options()


def test_load_returns_a_session_that_computes_the_model(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, one_thread: RunOptions
) -> None:
    session = backend.load(make_artifact(models.affine()), CPU, one_thread)
    assert isinstance(session, Session)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(session.run({"x": x})["y"], 2 * x + 1)


def test_session_reports_the_cpu_provider_it_runs_on(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, one_thread: RunOptions
) -> None:
    session = backend.load(make_artifact(models.affine()), CPU, one_thread)
    assert session.provider == "CPUExecutionProvider" and session.device == CPU


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_intra_op_threads_follow_run_options(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, threads: int
) -> None:
    session = backend.load(make_artifact(models.affine()), CPU, RunOptions(threads=threads))
    assert _options_of(session).intra_op_num_threads == threads


def test_default_threads_are_the_cpus_this_process_may_use(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    options = RunOptions()
    session = backend.load(make_artifact(models.affine()), CPU, options)
    assert _options_of(session).intra_op_num_threads == options.resolved_threads()


def test_one_inter_op_thread_and_sequential_execution(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, one_thread: RunOptions
) -> None:
    options = _options_of(backend.load(make_artifact(models.affine()), CPU, one_thread))
    assert options.inter_op_num_threads == 1
    assert options.execution_mode == onnxruntime.ExecutionMode.ORT_SEQUENTIAL


def test_graph_optimisation_defaults_to_all(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, one_thread: RunOptions
) -> None:
    options = _options_of(backend.load(make_artifact(models.affine()), CPU, one_thread))
    assert options.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("disable", "ORT_DISABLE_ALL"),
        ("basic", "ORT_ENABLE_BASIC"),
        ("extended", "ORT_ENABLE_EXTENDED"),
        ("all", "ORT_ENABLE_ALL"),
    ],
)
def test_graph_optimisation_is_read_from_the_onnxruntime_extras(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, name: str, level: str
) -> None:
    options = RunOptions(threads=1, extras={"onnxruntime": {"graph_optimization": name}})
    session = backend.load(make_artifact(models.affine()), CPU, options)
    assert _options_of(session).graph_optimization_level == getattr(onnxruntime.GraphOptimizationLevel, level)


def test_an_unknown_graph_optimisation_level_is_an_input_error_listing_the_choices(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    options = RunOptions(extras={"onnxruntime": {"graph_optimization": "maximum"}})
    with pytest.raises(InputError, match=r"'maximum'.*disable, basic, extended, all"):
        backend.load(make_artifact(models.affine()), CPU, options)


def test_an_unknown_onnxruntime_extra_is_an_input_error_naming_it(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    options = RunOptions(extras={"onnxruntime": {"graph_optimisation": "basic"}})
    with pytest.raises(InputError, match=r"'graph_optimisation'"):
        backend.load(make_artifact(models.affine()), CPU, options)


def test_thread_spinning_is_off_by_default_so_other_pools_are_not_starved(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, one_thread: RunOptions
) -> None:
    options = _options_of(backend.load(make_artifact(models.affine()), CPU, one_thread))
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_thread_spinning_can_be_turned_on(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any) -> None:
    options = RunOptions(extras={"onnxruntime": {"allow_spinning": True}})
    session = backend.load(make_artifact(models.affine()), CPU, options)
    assert _options_of(session).get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_allow_spinning_must_be_a_boolean(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any) -> None:
    options = RunOptions(extras={"onnxruntime": {"allow_spinning": "no"}})
    with pytest.raises(InputError, match=r"allow_spinning must be true or false"):
        backend.load(make_artifact(models.affine()), CPU, options)


def test_session_log_severity_follows_the_modelrt_onnx_logger(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    one_thread: RunOptions,
    onnx_logger_level: Any,
) -> None:
    onnx_logger_level(logging.ERROR)
    assert _options_of(backend.load(make_artifact(models.affine()), CPU, one_thread)).log_severity_level == 3
    onnx_logger_level(logging.DEBUG)
    assert _options_of(backend.load(make_artifact(models.affine()), CPU, one_thread)).log_severity_level == 1


def test_a_silent_fallback_to_cpu_is_a_hardware_error(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    one_thread: RunOptions,
    monkeypatch: pytest.MonkeyPatch,
    fake_ort: Any,
) -> None:
    gpu_build = fake_ort(("CUDAExecutionProvider", "CPUExecutionProvider"))
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: gpu_build)
    with pytest.raises(HardwareError, match=r"CUDAExecutionProvider on cuda:0 but fell back to CPUExecutionProvider"):
        backend.load(make_artifact(models.affine()), Device.parse("cuda:0"), one_thread)


def test_cuda_is_requested_with_the_device_index_as_provider_option(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    one_thread: RunOptions,
    monkeypatch: pytest.MonkeyPatch,
    fake_ort: Any,
) -> None:
    requested: list[Any] = []

    class WorkingCuda:
        def __init__(self, path: str, sess_options: Any = None, providers: Any = ()) -> None:
            requested.extend(providers)

        def get_providers(self) -> list[str]:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]

        def get_inputs(self) -> list[Any]:
            return []

        def get_outputs(self) -> list[Any]:
            return []

    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: fake_ort(session_class=WorkingCuda))
    session = backend.load(make_artifact(models.affine()), Device.parse("cuda:1"), one_thread)
    assert [(name, options["device_id"]) for name, options in requested] == [("CUDAExecutionProvider", "1")]
    assert session.provider == "CUDAExecutionProvider"


def test_fp16_requested_on_an_fp32_artifact_is_a_hardware_error_that_says_why(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    artifact = make_artifact(models.affine(), precision="fp32")
    with pytest.raises(HardwareError, match=r"'fp16' was requested.*holds fp32 weights.*precision='auto'"):
        backend.load(artifact, CPU, RunOptions(precision="fp16"))


def test_an_artifact_without_a_recorded_precision_counts_as_fp32(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    session = backend.load(make_artifact(models.affine()), CPU, RunOptions(threads=1, precision="fp32"))
    assert session.provider == "CPUExecutionProvider"


def test_int8_requested_on_an_unrecorded_artifact_is_refused(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(HardwareError, match=r"'int8' was requested"):
        backend.load(make_artifact(models.affine()), CPU, RunOptions(precision="int8"))


def test_a_non_onnx_artifact_is_a_package_error(backend: OnnxRuntimeBackend, tmp_path: Path) -> None:
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"ftrt")
    artifact = Artifact(role="main", format="tensorrt-engine", file=engine, package_root=tmp_path)
    with pytest.raises(PackageError, match=r"runs 'onnx' artifacts, not 'tensorrt-engine'"):
        backend.load(artifact, CPU, RunOptions())


def test_a_device_onnxruntime_cannot_serve_is_a_hardware_error(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(HardwareError, match=r"not on mps"):
        backend.load(make_artifact(models.affine()), Device.parse("mps"), RunOptions())


def test_load_without_onnxruntime_is_a_no_usable_backend_error_with_the_install_command(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> Any:
        raise ModuleNotFoundError("No module named 'onnxruntime'")

    monkeypatch.setattr(backend_module, "import_onnxruntime", missing)
    with pytest.raises(NoUsableBackendError, match=r'pip install "modelrt\[onnx\]"'):
        backend.load(make_artifact(models.affine()), CPU, RunOptions())


def test_a_fallback_from_coreml_is_a_hardware_error_too(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    one_thread: RunOptions,
    monkeypatch: pytest.MonkeyPatch,
    fake_ort: Any,
) -> None:
    macos_build = fake_ort(("CoreMLExecutionProvider", "CPUExecutionProvider"))
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: macos_build)
    with pytest.raises(HardwareError, match=r"CoreMLExecutionProvider could not take the model"):
        backend.load(make_artifact(models.affine()), Device.parse("coreml"), one_thread)
