"""Turns onnxruntime's exceptions into modelrt errors that name the file, the cause and the fix.

onnxruntime raises pybind11 classes (``InvalidProtobuf``, ``Fail``, ``InvalidGraph``...) from
``onnxruntime.capi.onnxruntime_pybind11_state``; they are recognised by class name so that this module
needs no onnxruntime import and works with the test doubles. Several causes share the class ``Fail``
(a too-new opset or IR version, an unregistered custom operator), so the message is read too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelrt.backend import TensorInfo
from modelrt.errors import HardwareError, InputError, ModelRTError, PackageError, SecurityError

__all__ = ["describe_arrays", "describe_signature", "load_error", "run_error"]

_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_LOAD_PREFIX = re.compile(r"^Load model from .*? failed:")
# onnxruntime prefixes many messages with the C++ source location and function signature.
_SOURCE_LOCATION = re.compile(r"^\S+\.(?:h|cc|cpp|hpp):\d+ [^(]*\([^)]*\)\s*")

_CORRUPT_MARKERS = ("Protobuf parsing failed", "No graph was found")
_TOO_NEW_MARKERS = ("opset", "Opset", "IR version")
_UNKNOWN_OP_MARKERS = (
    "is not a registered function/op",
    "No Op registered",
    "Could not find an implementation",
)
_OUT_OF_MEMORY_MARKERS = ("Failed to allocate memory", "bad_alloc")


def _detail(error: BaseException) -> str:
    text = str(error).strip()
    text = _ORT_PREFIX.sub("", text)
    text = _LOAD_PREFIX.sub("", text).strip()
    return _SOURCE_LOCATION.sub("", text).strip()


def load_error(error: BaseException, path: Path, ort_version: str) -> ModelRTError:
    """The modelrt error for an exception raised while onnxruntime builds a session from ``path``."""
    kind = type(error).__name__
    detail = _detail(error)
    if kind in ("NoSuchFile", "NoModel"):
        return PackageError(f"{path} does not exist or cannot be read ({detail}); restore the file")
    if kind == "InvalidProtobuf" or any(marker in detail for marker in _CORRUPT_MARKERS):
        return PackageError(
            f"{path} is not a valid ONNX model: onnxruntime could not parse it ({detail}). The file is "
            "corrupt, truncated or not ONNX at all; download or export it again."
        )
    if "External data path" in detail:
        return SecurityError(
            f"{path} refers to external data outside its directory ({detail}); a model may only use "
            "files of its own package"
        )
    if kind == "EPFail":
        return HardwareError(f"the execution provider failed to load {path}: {detail}")
    if kind == "NotImplemented" or any(marker in detail for marker in _UNKNOWN_OP_MARKERS):
        return PackageError(
            f"{path} uses an operator onnxruntime {ort_version} does not implement ({detail}). Upgrade "
            "onnxruntime (pip install -U onnxruntime, or onnxruntime-gpu), or re-export the model with a "
            "lower opset and without custom operators."
        )
    if any(marker in detail for marker in _TOO_NEW_MARKERS):
        return PackageError(
            f"{path} was exported for a newer ONNX than onnxruntime {ort_version} supports ({detail}). "
            "Upgrade onnxruntime (pip install -U onnxruntime, or onnxruntime-gpu), or re-export the "
            "model with a lower opset."
        )
    if kind == "InvalidGraph":
        return PackageError(f"{path} is not a valid ONNX graph ({detail}); export the model again")
    return PackageError(f"onnxruntime {ort_version} could not load {path}: {detail}")


def describe_signature(infos: Sequence[TensorInfo]) -> str:
    """``images: [1, 3, 640, 640] float32`` for each tensor, comma-separated."""
    return ", ".join(f"{info.name}: {list(info.shape)} {info.dtype}" for info in infos)


def describe_arrays(inputs: Mapping[str, Any]) -> str:
    """What the caller passed, in the same form as ``describe_signature``."""
    parts = []
    for name, value in inputs.items():
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", None)
        if shape is None or dtype is None:
            parts.append(f"{name}: {type(value).__name__}")
        else:
            parts.append(f"{name}: {list(shape)} {dtype}")
    return ", ".join(parts) or "nothing"


def run_error(error: BaseException, inputs: Mapping[str, Any], expected: Sequence[TensorInfo]) -> ModelRTError:
    """The modelrt error for an exception raised by ``InferenceSession.run``.

    Wrong names, ranks, dimensions and dtypes are caught by onnxruntime before running; a size the
    network cannot handle inside (a fixed reshape) fails while running. Both are the caller's input.
    """
    detail = _detail(error)
    if any(marker in detail for marker in _OUT_OF_MEMORY_MARKERS):
        return HardwareError(
            f"the device ran out of memory running the model on {describe_arrays(inputs)} ({detail}); "
            "use a smaller batch or image size"
        )
    return InputError(
        f"the model expects {describe_signature(expected)} but got {describe_arrays(inputs)}: {detail}. "
        "Feed arrays with these names, dtypes and shapes (names in quotes are free dimensions)."
    )
