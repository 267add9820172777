"""The ``tensorrt`` plugin's hook implementations: declarations only.

Discovery imports this module, so it imports neither TensorRT, CUDA nor numpy: the backend is named by a
factory string and imported only when a load makes it a candidate.
"""

from __future__ import annotations

from collections.abc import Iterable

from modelrt.hookspecs import hookimpl
from modelrt.specs import BackendSpec


@hookimpl
def register_backends() -> Iterable[BackendSpec]:
    # Above onnxruntime (50): on an NVIDIA host TensorRT is the runtime that wins (DESIGN.md ranking).
    return [
        BackendSpec(
            "tensorrt",
            formats=("tensorrt-engine", "onnx"),
            devices=("cuda", "dla"),
            priority=80,
            factory="modelrt_trt.backend:TensorRTBackend",
        )
    ]
