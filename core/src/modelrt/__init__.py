"""modelrt: run computer-vision models on the best backend your hardware has, and know why.

``import modelrt`` is light: submodules load on first use (PEP 562), so no numpy, OpenCV or framework
is imported until a model is loaded.

    import modelrt
    model = modelrt.load("path/to/package")
    detections = model.predict("image.jpg")
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from modelrt._version import __version__

if TYPE_CHECKING:
    from modelrt.api import environment, explain, plugins
    from modelrt.backend import Artifact, Backend, BuildOutcome, BuildRequest, EngineBuilder, Session, TensorInfo
    from modelrt.devices import Device
    from modelrt.engine_build import build
    from modelrt.errors import (
        HardwareError,
        InputError,
        IntegrityError,
        ModelClosedError,
        ModelRTError,
        NotCachedError,
        NoUsableBackendError,
        PackageError,
        PluginError,
        SecurityError,
        StorageError,
        StreamStalledError,
    )
    from modelrt.hookspecs import hookimpl
    from modelrt.host_environment import Environment
    from modelrt.model import Model, load
    from modelrt.options import RunOptions
    from modelrt.plan import LoadPlan
    from modelrt.results import Classification, Detections, Embedding, Prediction, SemanticSegmentation
    from modelrt.specs import (
        ArchitectureSpec,
        Availability,
        BackendSpec,
        Finding,
        Severity,
        SourceSpec,
        Status,
    )

logging.getLogger("modelrt").addHandler(logging.NullHandler())

_EXPORTS: dict[str, str] = {
    "load": "modelrt.model",
    "Model": "modelrt.model",
    "build": "modelrt.engine_build",
    "explain": "modelrt.api",
    "environment": "modelrt.api",
    "plugins": "modelrt.api",
    "hookimpl": "modelrt.hookspecs",
    "Device": "modelrt.devices",
    "Environment": "modelrt.host_environment",
    "RunOptions": "modelrt.options",
    "LoadPlan": "modelrt.plan",
    "Artifact": "modelrt.backend",
    "Backend": "modelrt.backend",
    "Session": "modelrt.backend",
    "BuildOutcome": "modelrt.backend",
    "BuildRequest": "modelrt.backend",
    "EngineBuilder": "modelrt.backend",
    "TensorInfo": "modelrt.backend",
    "Prediction": "modelrt.results",
    "Detections": "modelrt.results",
    "Classification": "modelrt.results",
    "Embedding": "modelrt.results",
    "SemanticSegmentation": "modelrt.results",
    **{
        name: "modelrt.specs"
        for name in ("ArchitectureSpec", "Availability", "BackendSpec", "Finding", "Severity", "SourceSpec", "Status")
    },
    **{
        name: "modelrt.errors"
        for name in (
            "ModelRTError",
            "PluginError",
            "NoUsableBackendError",
            "HardwareError",
            "PackageError",
            "IntegrityError",
            "NotCachedError",
            "InputError",
            "SecurityError",
            "ModelClosedError",
            "StorageError",
            "StreamStalledError",
        )
    },
}

__all__ = [
    "__version__",
    "ArchitectureSpec",
    "Artifact",
    "Availability",
    "Backend",
    "BackendSpec",
    "BuildOutcome",
    "BuildRequest",
    "Classification",
    "Detections",
    "Device",
    "Embedding",
    "EngineBuilder",
    "Environment",
    "Finding",
    "HardwareError",
    "InputError",
    "IntegrityError",
    "LoadPlan",
    "Model",
    "ModelClosedError",
    "ModelRTError",
    "NoUsableBackendError",
    "NotCachedError",
    "PackageError",
    "PluginError",
    "Prediction",
    "RunOptions",
    "SecurityError",
    "SemanticSegmentation",
    "Session",
    "Severity",
    "SourceSpec",
    "Status",
    "StorageError",
    "StreamStalledError",
    "TensorInfo",
    "build",
    "environment",
    "explain",
    "hookimpl",
    "load",
    "plugins",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'modelrt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
