"""The ``torch`` plugin's hook implementations: declarations only.

Discovery imports this module, so it imports neither torch nor numpy: the backend is named by a factory
string and imported only when a load or a plan needs it.
"""

from __future__ import annotations

from collections.abc import Iterable

from modelrt.hookspecs import hookimpl
from modelrt.specs import BackendSpec


@hookimpl
def register_backends() -> Iterable[BackendSpec]:
    return [
        BackendSpec(
            "torch",
            formats=("exported-program", "torchscript", "torch-pickle"),
            devices=("cpu", "cuda", "mps"),
            # Below onnxruntime's 50: where a package carries both, ONNX Runtime is preferred (DESIGN.md).
            priority=30,
            requires=("torch>=2.6",),
            factory="modelrt_torch.backend:TorchBackend",
        )
    ]
