"""onnxruntime-gpu on a real NVIDIA GPU (``gpu``); skipped where onnxruntime offers no CUDA or no GPU is visible.

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
