"""The ``onnx`` plugin's hook implementations: declarations only.

Discovery imports this module, so it imports neither onnxruntime, onnx nor numpy: the backend and the
sources are named by factory strings and imported only when a load needs them.
"""

from __future__ import annotations

from collections.abc import Iterable

from modelrt.hookspecs import hookimpl
from modelrt.specs import BackendSpec, SourceSpec


@hookimpl
def register_backends() -> Iterable[BackendSpec]:
    return [
        BackendSpec(
            "onnxruntime",
            formats=("onnx",),
            devices=("cpu", "cuda", "coreml"),
            priority=50,
            requires=("onnxruntime>=1.17",),
            factory="modelrt_onnx.backend:OnnxRuntimeBackend",
        )
    ]


@hookimpl
def register_sources() -> Iterable[SourceSpec]:
    return [
        SourceSpec("ultralytics-onnx", (".onnx",), 50, "modelrt_onnx.sources:UltralyticsOnnxSource"),
        SourceSpec("inference-models", ("dir:model_config.json",), 60, "modelrt_onnx.sources:InferenceModelsSource"),
    ]
