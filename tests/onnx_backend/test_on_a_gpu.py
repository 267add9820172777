"""onnxruntime-gpu on a real NVIDIA GPU (``gpu``), I/O binding included; skipped without onnxruntime-gpu or a GPU.

Everywhere else the CUDA paths are tested with a fake ``onnxruntime`` (``test_cuda_provider.py``) and fake
NVML answers; these tests are what shows that the real NVML reader and the real CUDA provider agree.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from modelrt.devices import Device
from modelrt.host import Host
from modelrt.host_environment import probe_environment
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend, import_onnxruntime

#: CUDA and CPU kernels round differently; the affine network's outputs are exact to this tolerance.
TOLERANCE = 1e-5


def _cuda_is_usable() -> bool:
    try:
        providers = import_onnxruntime().get_available_providers()
    except ImportError:
        return False
    return "CUDAExecutionProvider" in providers and bool(probe_environment(Host()).visible_gpus)


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _cuda_is_usable(), reason="needs onnxruntime-gpu and a GPU")]
CUDA = Device.parse("cuda:0")
OPTIONS = RunOptions(threads=1)


def test_nvml_through_ctypes_reports_the_driver_cuda_and_each_visible_gpu() -> None:
    env = probe_environment(Host())
    assert env.nvidia_driver_version and env.cuda_driver_version
    first = env.visible_gpus[0]
    assert first.name and first.uuid and first.compute_capability and first.memory_bytes


def test_the_cuda_provider_gives_the_cpu_providers_outputs(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    batch = {"x": np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)}
    on_cpu = backend.load(make_artifact(models.affine()), Device.parse("cpu"), OPTIONS).run(batch)
    session = backend.load(make_artifact(models.affine()), CUDA, OPTIONS)
    assert session.provider == "CUDAExecutionProvider"
    np.testing.assert_allclose(session.run(batch)["y"], on_cpu["y"], atol=TOLERANCE)


def test_eight_threads_on_one_cuda_session_give_the_serial_outputs(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    session = backend.load(make_artifact(models.affine()), CUDA, OPTIONS)
    batches = [{"x": np.full((4, 3), float(index), np.float32)} for index in range(32)]
    serial = [session.run(batch)["y"] for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = [outputs["y"] for outputs in pool.map(session.run, batches)]
    for expected, actual in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(actual, expected)


# ------------------------------------------------------------------------------------- I/O binding


def _multi_output_sessions(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any) -> tuple[Any, Any]:
    artifact = make_artifact(models.multi_output())
    plain = backend.load(artifact, CUDA, RunOptions(threads=1, extras={"onnxruntime": {"io_binding": False}}))
    bound = backend.load(artifact, CUDA, OPTIONS)
    return plain, bound


def test_io_binding_is_on_by_default_on_cuda_and_gives_the_plain_paths_outputs(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    plain, bound = _multi_output_sessions(backend, models, make_artifact)
    assert plain.io_binding is None
    assert bound.io_binding is not None
    print(f"input staging on this GPU: {bound.io_binding.staging}")
    for rows, width in [(1, 3), (4, 3), (4, 7), (1, 3)]:
        feed = {"x": np.random.default_rng(rows * width).standard_normal((rows, width)).astype(np.float32)}
        expected, actual = plain.run(feed), bound.run(feed)
        for name in ("y", "sums", "best"):
            assert actual[name].dtype == expected[name].dtype
            np.testing.assert_array_equal(actual[name], expected[name])


def test_eight_threads_through_io_binding_on_cuda_give_the_serial_outputs(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    plain, bound = _multi_output_sessions(backend, models, make_artifact)
    batches = [{"x": np.full((1 if index % 2 else 4, 3), float(index), np.float32)} for index in range(64)]
    serial = [plain.run(batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(bound.run, batches))
    for expected, actual in zip(serial, parallel, strict=True):
        for name in ("y", "sums", "best"):
            np.testing.assert_array_equal(actual[name], expected[name])


def test_outputs_asked_on_the_device_are_cuda_values(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    _, bound = _multi_output_sessions(backend, models, make_artifact)
    feed = {"x": np.ones((2, 3), np.float32)}
    values = bound.io_binding.run(feed, outputs_on_device=True)
    assert [value.device_name() for value in values] == ["cuda"] * 3
    np.testing.assert_array_equal(values[0].numpy(), np.full((2, 3), 3.0, np.float32))
