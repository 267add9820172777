"""A fake ``tensorrt`` module (or ``tensorrt_rtx``/``tensorrt_lean``) assembled from its two halves.

``fake_trt_runtime`` provides what running needs (``Logger``/``ILogger``, ``Runtime``, engines, execution
contexts, data types), ``fake_trt_builder`` what building needs (``Builder``, ``OnnxParser``, configs,
profiles, timing caches). Both read one ``FakeTrtState``: which product and version this is, which GPU it
"sees", and what happened (``calls``), so a test can check, e.g., that CUDA was asked before ``Runtime()``.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import Any

import attrs

__all__ = ["FakeTrtState", "install_fake_tensorrt", "make_fake_tensorrt"]

_MODULE_NAMES = {"tensorrt": "tensorrt", "tensorrt_rtx": "tensorrt_rtx", "tensorrt_lean": "tensorrt_lean"}


@attrs.define
class FakeTrtState:
    """What a fake TensorRT module is and what it was asked.

    ``version`` decides the API shape: below 10 the fake has the legacy binding API only
    (``num_bindings``), from 11 (and for ``tensorrt_rtx``) its builder is strongly typed only (no
    ``BuilderFlag.FP16``). ``compute_capability`` and ``gpu_name`` are the GPU the fake runs on; a plan
    built for another compute capability, version or flavour is refused as TensorRT refuses it.
    ``cuda`` is the fake CUDA runtime the engines copy through (``fake_cuda.FakeCuda``), ``None`` when
    the test needs no running. ``calls`` records notable calls in order (``"Runtime"``, ``"build"``...).
    """

    flavour: str = "tensorrt"
    version: str = "10.3.0"
    compute_capability: str = "8.6"
    gpu_name: str = "NVIDIA RTX A4000"
    dla_cores: int = 0
    cuda: Any = None
    calls: list[str] = attrs.field(factory=list)

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    @property
    def strongly_typed_only(self) -> bool:
        return self.flavour == "tensorrt_rtx" or self.major >= 11


def make_fake_tensorrt(state: FakeTrtState | None = None) -> types.ModuleType:
    """A new fake module for ``state`` (default: TensorRT 10.3.0 on a compute capability 8.6 GPU)."""
    from modelrt_trt.testing import fake_trt_builder, fake_trt_runtime

    state = state or FakeTrtState()
    module = types.ModuleType(_MODULE_NAMES[state.flavour])
    module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None)  # found by importlib.util.find_spec
    module.__version__ = state.version  # type: ignore[attr-defined]
    module.fake_state = state  # type: ignore[attr-defined]
    fake_trt_runtime.install(module, state)
    if state.flavour != "tensorrt_lean":
        fake_trt_builder.install(module, state)
    return module


def install_fake_tensorrt(monkeypatch: Any, state: FakeTrtState | None = None) -> types.ModuleType:
    """Make ``import tensorrt`` (or the flavour's module) return a fake for the rest of the test."""
    module = make_fake_tensorrt(state)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module
