"""Turns torch's exceptions into modelrt errors that name the file or the inputs, the cause and the fix.

torch reports most problems as a bare ``RuntimeError`` (a corrupt archive, a wrong input shape, a dtype
mismatch), an exported program's input guards as ``AssertionError``, a broken zip as
``zipfile.BadZipFile``, and an exhausted GPU as ``torch.OutOfMemoryError`` (a ``RuntimeError``). So
loading errors are all the file's fault (``PackageError``), and running errors the input's
(``InputError``), except running out of memory (``HardwareError``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelrt.backend import TensorInfo
from modelrt.errors import HardwareError, InputError, ModelRTError, PackageError

__all__ = ["describe_arrays", "describe_signature", "load_error", "run_error"]

_OUT_OF_MEMORY_MARKERS = ("out of memory", "OutOfMemoryError", "DefaultCPUAllocator: can't allocate")


def _detail(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def load_error(error: BaseException, path: Path, artifact_format: str, torch_version: str) -> PackageError:
    """The error for an exception raised while torch reads ``path`` as ``artifact_format``."""
    return PackageError(
        f"torch {torch_version} could not read {path} as {artifact_format} ({type(error).__name__}: "
        f"{_detail(error)}). The file is corrupt or truncated, is not in that format, or was saved by a torch "
        "this one cannot read; export it again with this torch (or upgrade torch)."
    )


def describe_signature(infos: Sequence[TensorInfo]) -> str:
    """``image: ['s0', 3, 24, 24] float32`` for each tensor, comma-separated."""
    return ", ".join(f"{info.name}: {list(info.shape)} {info.dtype}" for info in infos) or "nothing"


def describe_arrays(inputs: Mapping[str, Any]) -> str:
    """What the caller passed, in the same form as ``describe_signature``."""
    parts = []
    for name, value in inputs.items():
        shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
        parts.append(f"{name}: {type(value).__name__}" if shape is None else f"{name}: {list(shape)} {dtype}")
    return ", ".join(parts) or "nothing"


def run_error(
    error: BaseException, inputs: Mapping[str, Any], expected: Sequence[TensorInfo], precision: str
) -> ModelRTError:
    """The error for an exception raised while the network runs on ``inputs``."""
    detail = _detail(error)
    if type(error).__name__ == "OutOfMemoryError" or any(marker in detail for marker in _OUT_OF_MEMORY_MARKERS):
        return HardwareError(
            f"the device ran out of memory running the model on {describe_arrays(inputs)} ({detail}); "
            "use a smaller batch or image size"
        )
    hint = " If the network cannot run in fp16, load it with precision='fp32'." if precision == "fp16" else ""
    return InputError(
        f"the model expects {describe_signature(expected)} but got {describe_arrays(inputs)}: {detail}. Feed "
        f"arrays with these names, dtypes and shapes (strings are free dimensions).{hint}"
    )
