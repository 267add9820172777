"""The tensorrt backend end to end on fakes: build into the cache, load from it, refuse what does not fit.

The fake TensorRT 10.3 "runs" on a compute capability 8.6 GPU (``FakeTrtState``), the fake CUDA moves
the bytes, and the ONNX model is ``scores = images * 3``, so every number that comes back is known.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import onnx
import pytest
from onnx import TensorProto

import modelrt
from modelrt.backend import Artifact, BuildRequest
from modelrt.devices import Device
from modelrt.engines.container import read_engine, write_container
from modelrt.engines.facts import EngineFacts
from modelrt.errors import HardwareError, InputError
from modelrt.options import RunOptions
from modelrt.plan import CandidateStatus
from modelrt_trt.backend import EngineNotBuiltError, TensorRTBackend, choose_precision
from modelrt_trt.gpu_facts import TargetGpu
from modelrt_trt.testing.fake_tensorrt import FakeTrtState, install_fake_tensorrt
from modelrt_trt.testing.gpu_stack import nvidia_environment, scaling_onnx
from modelrt_trt.testing.plan_format import encode_plan

WritePackage = Callable[[Path, list[tuple[str, str, dict[str, Any] | None]]], Path]

CUDA0 = Device.parse("cuda:0")
ENV = nvidia_environment()


@pytest.fixture
def onnx_artifact(tmp_path: Path) -> Artifact:
    path = scaling_onnx(tmp_path / "model.onnx")
    data = path.read_bytes()
    return Artifact("main", "onnx", path, tmp_path, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def ready_backend() -> TensorRTBackend:
    """A backend that has seen this host, as the planner shows it one before any load."""
    trt_backend = TensorRTBackend()
    assert trt_backend.availability(ENV, CUDA0).usable
    return trt_backend


def images(batch: int) -> np.ndarray:
    return np.arange(batch * 3 * 8 * 8, dtype=np.float32).reshape(batch, 3, 8, 8)


# ----------------------------------------------------------------------------------- build, then load


def test_a_build_lands_in_the_cache_and_a_second_build_finds_it(trt: FakeTrtState, onnx_artifact: Artifact) -> None:
    trt_backend = ready_backend()
    request = BuildRequest(precision="fp32", batch=(1, 4, 8))
    first = trt_backend.build(onnx_artifact, CUDA0, RunOptions(), request)
    second = trt_backend.build(onnx_artifact, CUDA0, RunOptions(), request)
    assert (first.cached, second.cached) == (False, True)
    assert first.engine == second.engine and first.engine.is_file()
    assert trt.calls.count("build") == 1
    assert first.summary == "TensorRT 10.3.0, fp32 as requested, for NVIDIA RTX A4000, compute capability 8.6"


def test_the_cached_engine_is_a_container_recording_what_it_was_built_for(
    trt: FakeTrtState, onnx_artifact: Artifact
) -> None:
    outcome = ready_backend().build(onnx_artifact, CUDA0, RunOptions(), BuildRequest(precision="fp32"))
    facts = read_engine(outcome.engine.read_bytes(), name="model.engine").facts
    assert (facts.flavour, facts.tensorrt_version, facts.gpu_name) == ("tensorrt", "10.3.0", "NVIDIA RTX A4000")
    assert (facts.compute_capability, facts.driver_version, facts.cuda_version) == ("8.6", "550.54.14", "12.4.127")
    assert facts.onnx_sha256 == onnx_artifact.sha256
    assert facts.builder == f"modelrt-trt {__import__('modelrt_trt').__version__}"
    assert [(t.name, t.mode) for t in facts.tensors] == [("images", "input"), ("scores", "output")]


def test_a_load_runs_the_cached_engine_for_every_batch_of_its_profile(
    trt: FakeTrtState, onnx_artifact: Artifact
) -> None:
    trt_backend = ready_backend()
    trt_backend.build(onnx_artifact, CUDA0, RunOptions(), BuildRequest(precision="fp32", batch=(1, 4, 8)))
    session = trt_backend.load(onnx_artifact, CUDA0, RunOptions())
    try:
        assert session.provider == "TensorRT 10.3.0"
        for batch in (1, 8):
            np.testing.assert_array_equal(session.run({"images": images(batch)})["scores"], images(batch) * 3)
    finally:
        session.close()
    assert trt.cuda.live_device_allocations == 0


def test_a_load_never_starts_a_build_unless_allowed(trt: FakeTrtState, onnx_artifact: Artifact) -> None:
    with pytest.raises(EngineNotBuiltError, match=r"no TensorRT engine for model.onnx on NVIDIA RTX A4000") as error:
        ready_backend().load(onnx_artifact, CUDA0, RunOptions())
    assert f"`modelrt build {onnx_artifact.file} --backend tensorrt`" in str(error.value)
    assert "build" not in trt.calls


def test_a_caller_may_allow_a_load_to_build(trt: FakeTrtState, onnx_artifact: Artifact) -> None:
    options = RunOptions(precision="fp32", extras={"tensorrt": {"build": True}})
    session = ready_backend().load(onnx_artifact, CUDA0, options)
    try:
        assert any("built a TensorRT engine on load" in note for note in session.notes)
        np.testing.assert_array_equal(session.run({"images": images(1)})["scores"], images(1) * 3)
    finally:
        session.close()


def test_strongly_typed_tensorrt_builds_fp16_from_a_converted_model_kept_in_the_cache(
    monkeypatch: pytest.MonkeyPatch, trt: FakeTrtState, onnx_artifact: Artifact, tmp_path: Path
) -> None:
    install_fake_tensorrt(monkeypatch, attrs.evolve(trt, version="11.4.0"))
    outcome = ready_backend().build(onnx_artifact, CUDA0, RunOptions(), BuildRequest(precision="fp16"))
    assert read_engine(outcome.engine.read_bytes(), name="e").facts.precision == "fp16"
    converted = list((tmp_path / "cache" / "onnx-fp16").glob("*/model.onnx"))
    assert len(converted) == 1
    assert onnx.load_from_string(converted[0].read_bytes()).graph.initializer[0].data_type == TensorProto.FLOAT16


@pytest.mark.parametrize(
    ("capability", "device", "expected"),
    [
        ("8.6", "cuda:0", "fp16"),
        ("7.0", "cuda:0", "fp16"),
        ("6.1", "cuda:0", "fp32"),
        (None, "cuda:0", "fp32"),
        (None, "dla:0", "fp16"),
    ],
)
def test_auto_precision_is_fp16_with_tensor_cores_or_on_dla(capability: str | None, device: str, expected: str) -> None:
    precision, why = choose_precision(
        "auto", TargetGpu(found=True, compute_capability=capability), Device.parse(device)
    )
    assert precision == expected and why.startswith(expected)


def test_int8_is_refused_until_calibration_exists() -> None:
    with pytest.raises(InputError, match="int8 TensorRT engines need calibration"):
        choose_precision("int8", TargetGpu(found=True), CUDA0)


# ------------------------------------------------------------------------- refusing what does not fit


def engine_package(write_package: WritePackage, tmp_path: Path, trt: FakeTrtState, **facts: Any) -> Path:
    """A package holding one modelrt engine container with the given facts (default: this host's)."""
    network = {
        "inputs": [{"name": "images", "dtype": "float32", "shape": [1, 3, 8, 8]}],
        "outputs": [{"name": "scores", "source": "images", "scale": 3.0}],
        "profiles": [],
        "precision": "fp32",
        "flavour": facts.get("flavour", trt.flavour),
        "version": facts.get("tensorrt_version", trt.version),
        "compute_capability": facts.get("compute_capability", trt.compute_capability),
    }
    recorded = attrs.evolve(
        EngineFacts(
            flavour="tensorrt", tensorrt_version="10.3.0", compute_capability="8.6", gpu_name="NVIDIA RTX A4000"
        ),
        **facts,
    )
    root = tmp_path / "engine-package"
    root.mkdir()
    (root / "model.engine").write_bytes(write_container(encode_plan(network), recorded))
    return write_package(root, [("model.engine", "tensorrt-engine", None)])


def test_an_engine_that_fits_loads_from_a_package(
    trt: FakeTrtState, tmp_path: Path, write_package: WritePackage
) -> None:
    with modelrt.load(engine_package(write_package, tmp_path, trt), environment=ENV) as model:
        assert (model.backend, model.device) == ("tensorrt", "cuda:0")
        out = model.sessions["main"].run({"images": images(1)})["scores"]
    np.testing.assert_array_equal(out, images(1) * 3)


@pytest.mark.parametrize(
    ("facts", "words"),
    [
        ({"compute_capability": "8.0"}, "compute capability"),
        ({"tensorrt_version": "10.0.1"}, "10.0.1"),
        ({"flavour": "tensorrt_rtx"}, "tensorrt_rtx"),
    ],
)
def test_an_engine_for_other_hardware_is_refused_before_tensorrt_sees_it(
    trt: FakeTrtState, tmp_path: Path, write_package: WritePackage, facts: dict[str, str], words: str
) -> None:
    root = engine_package(write_package, tmp_path, trt, **facts)
    with pytest.raises(HardwareError, match=words) as error:
        modelrt.load(root, backend="tensorrt", environment=ENV)
    assert "modelrt build" in str(error.value)
    assert "Runtime" not in trt.calls
    (explained,) = modelrt.explain(root, backend="tensorrt", environment=ENV).candidates
    assert explained.status == CandidateStatus.FAILED
    assert explained.reason == str(error.value)


# ------------------------------------------------------------------------ auto, explain and modelrt.build


def test_auto_records_the_missing_engine_and_the_build_command_then_runs_the_next_backend(
    trt: FakeTrtState, tmp_path: Path, write_package: WritePackage
) -> None:
    scaling_onnx(tmp_path / "model.onnx")
    root = write_package(tmp_path, [("model.onnx", "onnx", None)])
    explained = modelrt.explain(root, environment=ENV, all_candidates=True)
    with modelrt.load(root, environment=ENV) as model:
        loaded = model.plan
        assert model.backend == "onnxruntime" and model.device == "cpu"
    for plan in (explained, loaded):
        (tensorrt,) = [c for c in plan.candidates if c.backend == "tensorrt"]
        assert tensorrt.status == CandidateStatus.FAILED
        assert "no TensorRT engine for model.onnx" in tensorrt.reason
        assert "modelrt build" in tensorrt.reason


def test_after_modelrt_build_auto_picks_tensorrt_and_explain_names_the_cached_engine(
    trt: FakeTrtState, tmp_path: Path, write_package: WritePackage
) -> None:
    scaling_onnx(tmp_path / "model.onnx")
    root = write_package(tmp_path, [("model.onnx", "onnx", None)])
    (outcome,) = modelrt.build(root, precision="fp32", batch=(1, 2, 4), environment=ENV)
    assert not outcome.cached
    explained = modelrt.explain(root, environment=ENV)
    assert explained.chosen()["main"].backend == "tensorrt"
    assert "cached fp32 engine" in explained.chosen()["main"].reason
    with modelrt.load(root, environment=ENV) as model:
        assert (model.backend, model.device) == ("tensorrt", "cuda:0")
        np.testing.assert_array_equal(model.sessions["main"].run({"images": images(4)})["scores"], images(4) * 3)


def test_unknown_tensorrt_settings_are_refused_by_name(trt: FakeTrtState, onnx_artifact: Artifact) -> None:
    with pytest.raises(InputError, match=r"unknown tensorrt settings \['bulid'\]"):
        ready_backend().load(onnx_artifact, CUDA0, RunOptions(extras={"tensorrt": {"bulid": True}}))
