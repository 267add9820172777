"""Fixtures for the TensorRT backend: a fake TensorRT 10.3 and a fake CUDA runtime, and plans for them.

``trt_state.calls`` records TensorRT's and CUDA's notable calls in one list, so a test can check their
order. Plans are the fake's JSON networks (``plan_format``): every output is ``scale * input``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrt.devices import Device
from modelrt_trt.binding import TrtModule
from modelrt_trt.cuda import CudaRuntime
from modelrt_trt.engine_runtime import deserialize_engine
from modelrt_trt.session import TensorRTSession
from modelrt_trt.testing.fake_cuda import FakeCuda, install_fake_cuda
from modelrt_trt.testing.fake_tensorrt import FakeTrtState, install_fake_tensorrt
from modelrt_trt.testing.gpu_stack import use_fake_gpu_stack
from modelrt_trt.testing.plan_format import encode_plan

#: Every plan's one output is its input times this.
SCALE = 2.0


@pytest.fixture
def trt_state() -> FakeTrtState:
    """What the fake TensorRT is (10.3.0 on a compute capability 8.6 GPU) and what it was asked."""
    return FakeTrtState()


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch, trt_state: FakeTrtState) -> FakeCuda:
    """A fake ``cuda.bindings.runtime`` with one GPU, recording into ``trt_state.calls``."""
    fake = install_fake_cuda(monkeypatch, FakeCuda(calls=trt_state.calls))
    trt_state.cuda = fake
    return fake


@pytest.fixture
def no_cuda_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """cuda-python is not installed (nor a fake of it)."""
    monkeypatch.setitem(sys.modules, "cuda", None)
    for name in ("cuda.bindings", "cuda.bindings.runtime", "cuda.cudart"):
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.fixture
def trt_api(monkeypatch: pytest.MonkeyPatch, trt_state: FakeTrtState, fake_cuda: FakeCuda) -> TrtModule:
    """The fake TensorRT module behind the binding seam, importable as ``tensorrt``."""
    return TrtModule(module=install_fake_tensorrt(monkeypatch, trt_state), flavour=trt_state.flavour)


@pytest.fixture
def make_plan(trt_state: FakeTrtState) -> Callable[..., bytes]:
    """``make_plan(shape=..., profile=(min, opt, max), dtype=..., **facts)``: a plan for this fake TensorRT.

    Default: input ``images`` of shape ``(-1, 3, 4, 4)`` for batches of 1 to 8, output ``scores``.
    ``profile=None`` for a static shape. Facts (``version``, ``compute_capability``, ``flavour``) default
    to the fake's own, so the plan loads.
    """

    def make(
        shape: tuple[int, ...] = (-1, 3, 4, 4),
        profile: tuple[tuple[int, ...], ...] | None = ((1, 3, 4, 4), (4, 3, 4, 4), (8, 3, 4, 4)),
        dtype: str = "float32",
        **facts: Any,
    ) -> bytes:
        profiles = [] if profile is None else [{"images": dict(zip(("min", "opt", "max"), profile, strict=True))}]
        network = {
            "inputs": [{"name": "images", "dtype": dtype, "shape": list(shape)}],
            "outputs": [{"name": "scores", "source": "images", "scale": SCALE}],
            "profiles": profiles,
            "precision": "fp32",
            "flavour": trt_state.flavour,
            "version": trt_state.version,
            "compute_capability": trt_state.compute_capability,
            **facts,
        }
        return encode_plan(network)

    return make


@pytest.fixture
def static_plan(make_plan: Callable[..., bytes]) -> bytes:
    """A plan whose input shape is fixed at ``(2, 3, 4, 4)``: CUDA graphs apply."""
    return make_plan(shape=(2, 3, 4, 4), profile=None)


@pytest.fixture
def open_session(trt_api: TrtModule, make_plan: Callable[..., bytes]) -> Iterator[Callable[..., TensorRTSession]]:
    """``open_session(plan=None, device="cuda:0", **session_options)``: a session, closed after the test."""
    opened: list[TensorRTSession] = []

    def open_(plan: bytes | None = None, device: str = "cuda:0", **options: Any) -> TensorRTSession:
        cuda = CudaRuntime()
        where = Device.parse(device)
        handle = deserialize_engine(trt_api, plan if plan is not None else make_plan(), where, cuda)
        session = TensorRTSession(trt_api, handle, where, cuda=cuda, **options)
        opened.append(session)
        return session

    yield open_
    for session in opened:
        session.close()


@pytest.fixture
def trt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, trt_state: FakeTrtState, fake_cuda: FakeCuda) -> FakeTrtState:
    """A host with one A4000, a fake TensorRT 10.3 and CUDA as the only ones installed, an empty modelrt cache."""
    use_fake_gpu_stack(monkeypatch, trt_state)
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "cache"))
    return trt_state


@pytest.fixture
def write_package() -> Callable[[Path, list[tuple[str, str, dict[str, Any] | None]]], Path]:
    """``write_package(root, [(file, format, target), ...])``: a classification package over those files."""
    return _write_package


def _write_package(root: Path, artifacts: list[tuple[str, str, dict[str, Any] | None]]) -> Path:
    """A classification package over the given files (path, format, target)."""
    entries = []
    for name, fmt, target in artifacts:
        data = (root / name).read_bytes()
        entry = {"role": "main", "format": fmt, "path": name, "size": len(data)}
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        if target:
            entry["target"] = target
        entries.append(entry)
    manifest = {
        "format_version": 1,
        "name": "scaler",
        "task": "classification",
        "architecture": "image-classifier",
        "labels": ["a", "b", "c"],
        "input": {"size": [8, 8], "resize": "stretch"},
        "artifacts": entries,
    }
    (root / "modelrt.json").write_text(json.dumps(manifest))
    return root
