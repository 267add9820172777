"""I/O binding on ``cuda:N``, with a fake onnxruntime-gpu that records what was allocated, bound and copied where.

The binding code itself runs on the real CPU onnxruntime in ``test_io_binding.py``; this fake shows where
that code puts things on a GPU: each input on ``cuda:N``, copied there once per call, bound again only when
its shape changes; outputs bound on ``cuda:N`` and copied to the host once per call; pinned staging used
where onnxruntime offers it and named where it does not.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from modelrt.devices import Device
from modelrt.options import RunOptions
from modelrt_onnx import backend as backend_module
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.providers import RuntimeBuild

GPU_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
PINNED = "cuda-host-accessible"
BROKEN_PINNED = "host-accessible memory without an allocator"


class FakeCudaRuntime:
    """onnxruntime-gpu as far as I/O binding goes: ``OrtValue`` on named devices, ``IOBinding``, a y = 2x + 1 run."""

    def __init__(self, fake_ort: Any, pinned: str | None) -> None:
        self.log: list[tuple[Any, ...]] = []
        log = self.log

        def where(value: Any) -> str:
            return value.where

        class OrtValue:
            def __init__(self, data: np.ndarray, where: str) -> None:
                self.data = data
                self.where = where

            @classmethod
            def ortvalue_from_shape_and_type(
                cls,
                shape: Any,
                element_type: Any,
                device_type: str = "cpu",
                device_id: int = 0,
                vendor_id: int = -1,
                memory_info: Any = None,
            ) -> OrtValue:
                if memory_info == BROKEN_PINNED:
                    raise RuntimeError("no allocator registered for this memory info")
                place = "pinned" if memory_info == PINNED else f"{device_type}:{device_id}"
                log.append(("allocate", tuple(shape), place))
                return cls(np.zeros(shape, element_type), place)

            def update_inplace(self, source: Any) -> None:
                log.append(("copy", "host" if isinstance(source, np.ndarray) else where(source), self.where))
                self.data[...] = source if isinstance(source, np.ndarray) else source.data

        class Binding:
            def __init__(self) -> None:
                self.inputs: dict[str, OrtValue] = {}
                self.outputs: dict[str, str] = {}
                self.results: list[np.ndarray] = []

            def bind_ortvalue_input(self, name: str, value: OrtValue) -> None:
                log.append(("bind input", name, value.where))
                self.inputs[name] = value

            def bind_output(self, name: str, device_type: str = "cpu", device_id: int = 0) -> None:
                log.append(("bind output", name, f"{device_type}:{device_id}"))
                self.outputs[name] = f"{device_type}:{device_id}"

            def synchronize_inputs(self) -> None:
                pass

            def synchronize_outputs(self) -> None:
                pass

            def copy_outputs_to_cpu(self) -> list[np.ndarray]:
                log.extend(("copy", self.outputs[name], "host") for name in self.outputs)
                return [result.copy() for result in self.results]

            def get_outputs(self) -> list[OrtValue]:
                return [OrtValue(result, self.outputs["y"]) for result in self.results]

        class Session:
            def __init__(self, path: str, sess_options: Any = None, providers: Any = ()) -> None:
                self.providers = [name for name, _ in providers]

            def get_providers(self) -> list[str]:
                return self.providers

            def get_inputs(self) -> list[Any]:
                return [SimpleNamespace(name="x", shape=["batch", 3], type="tensor(float)")]

            def get_outputs(self) -> list[Any]:
                return [SimpleNamespace(name="y", shape=["batch", 3], type="tensor(float)")]

            def io_binding(self) -> Binding:
                return Binding()

            def run_with_iobinding(self, binding: Binding, run_options: Any = None) -> None:
                log.append(("run",))
                binding.results = [2 * binding.inputs["x"].data + 1]

            def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
                log.append(("plain run",))
                return [2 * feed["x"] + 1]

        self.module = fake_ort(GPU_PROVIDERS, session_class=Session, version="1.23.0")
        self.module.OrtValue = OrtValue
        if pinned is not None:
            cuda_device = SimpleNamespace(ep_name="CUDAExecutionProvider", memory_info=lambda kind: pinned)
            self.module.get_ep_devices = lambda: [SimpleNamespace(ep_name="CPUExecutionProvider"), cuda_device]
            self.module.OrtDeviceMemoryType = SimpleNamespace(HOST_ACCESSIBLE="HOST_ACCESSIBLE")


@pytest.fixture
def cuda_runtime(monkeypatch: pytest.MonkeyPatch, fake_ort: Any) -> Any:
    def install(pinned: str | None = None) -> FakeCudaRuntime:
        runtime = FakeCudaRuntime(fake_ort, pinned)
        monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: runtime.module)
        monkeypatch.setattr(
            backend_module, "installed_runtime_builds", lambda: (RuntimeBuild("onnxruntime-gpu", "1.23"),)
        )
        return runtime

    return install


def load(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, device: str, **extras: Any) -> Any:
    options = RunOptions(threads=1, extras={"onnxruntime": extras})
    return backend.load(make_artifact(models.affine()), Device.parse(device), options)


def rows(count: int) -> dict[str, np.ndarray]:
    return {"x": np.arange(count * 3, dtype=np.float32).reshape(count, 3)}


def test_on_cuda_each_call_copies_the_input_to_the_gpu_once_and_the_output_back_once(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, cuda_runtime: Any
) -> None:
    runtime = cuda_runtime()
    session = load(backend, models, make_artifact, "cuda:1")
    assert session.io_binding.staging == "pageable: onnxruntime 1.23.0 cannot allocate pinned host memory from Python"
    np.testing.assert_array_equal(session.run(rows(2))["y"], 2 * rows(2)["x"] + 1)
    assert runtime.log == [
        ("allocate", (2, 3), "cuda:1"),
        ("bind input", "x", "cuda:1"),
        ("copy", "host", "cuda:1"),
        ("bind output", "y", "cuda:1"),
        ("run",),
        ("copy", "cuda:1", "host"),
    ]
    runtime.log.clear()
    session.run(rows(2))
    assert runtime.log == [
        ("copy", "host", "cuda:1"),
        ("bind output", "y", "cuda:1"),
        ("run",),
        ("copy", "cuda:1", "host"),
    ]


def test_a_new_batch_size_allocates_and_binds_a_new_device_buffer(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, cuda_runtime: Any
) -> None:
    runtime = cuda_runtime()
    session = load(backend, models, make_artifact, "cuda:0")
    session.run(rows(1))
    runtime.log.clear()
    np.testing.assert_array_equal(session.run(rows(8))["y"], 2 * rows(8)["x"] + 1)
    assert runtime.log[:3] == [
        ("allocate", (8, 3), "cuda:0"),
        ("bind input", "x", "cuda:0"),
        ("copy", "host", "cuda:0"),
    ]


def test_with_pinned_memory_inputs_go_through_one_reused_pinned_buffer(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, cuda_runtime: Any
) -> None:
    runtime = cuda_runtime(pinned=PINNED)
    session = load(backend, models, make_artifact, "cuda:0")
    assert session.io_binding.staging == "pinned: the CUDAExecutionProvider's host-accessible memory"
    assert runtime.log[-2:] == [("copy", "host", "pinned"), ("copy", "pinned", "cuda:0")]  # tried once at load
    session.run(rows(4))
    runtime.log.clear()
    np.testing.assert_array_equal(session.run(rows(4))["y"], 2 * rows(4)["x"] + 1)
    assert runtime.log == [
        ("copy", "host", "pinned"),
        ("copy", "pinned", "cuda:0"),
        ("bind output", "y", "cuda:0"),
        ("run",),
        ("copy", "cuda:0", "host"),
    ]


def test_pinned_memory_that_fails_its_test_copy_leaves_pageable_staging_and_says_why(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, cuda_runtime: Any
) -> None:
    runtime = cuda_runtime(pinned=BROKEN_PINNED)
    session = load(backend, models, make_artifact, "cuda:0")
    assert session.io_binding.staging == (
        "pageable: pinned host memory failed its test at load "
        "(RuntimeError: no allocator registered for this memory info)"
    )
    runtime.log.clear()
    np.testing.assert_array_equal(session.run(rows(2))["y"], 2 * rows(2)["x"] + 1)
    assert ("copy", "host", "cuda:0") in runtime.log


def test_outputs_stay_on_the_gpu_only_when_the_next_stage_asks(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, cuda_runtime: Any
) -> None:
    runtime = cuda_runtime()
    session = load(backend, models, make_artifact, "cuda:1")
    (output,) = session.io_binding.run(rows(2), outputs_on_device=True)
    assert output.where == "cuda:1"
    assert not [entry for entry in runtime.log if entry == ("copy", "cuda:1", "host")]


def test_io_binding_can_be_turned_off_on_cuda(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, cuda_runtime: Any
) -> None:
    runtime = cuda_runtime()
    session = load(backend, models, make_artifact, "cuda:0", io_binding=False)
    assert session.io_binding is None
    session.run(rows(2))
    assert runtime.log == [("plain run",)]
