"""The plugin modelrt discovers: it declares one backend and imports nothing heavy."""

from __future__ import annotations

from modelrt import BackendSpec, hookimpl


@hookimpl
def register_backends() -> list[BackendSpec]:
    # Priority 1: a reference implementation, never the one `backend="auto"` should pick.
    return [
        BackendSpec(
            name="numpy-reference",
            formats=("onnx",),
            devices=("cpu",),
            priority=1,
            requires=("onnx>=1.14",),
            factory="modelrt_example_numpy.backend:NumpyReferenceBackend",
        )
    ]
