"""``RunOptions`` → ``onnxruntime.SessionOptions``.

- ``intra_op_num_threads`` = ``options.resolved_threads()`` (the CPUs this process may use, affinity and
  cgroup quota included), ``inter_op_num_threads`` = 1 with sequential execution: the CV networks here
  are chains, so a second pool would only compete with the first.
- Graph optimisation from ``extras["onnxruntime"]["graph_optimization"]``: ``disable``, ``basic``,
  ``extended`` or ``all`` (default).
- Thread spinning (``extras["onnxruntime"]["allow_spinning"]``, default False, unlike onnxruntime's own
  default): after each run the pool's threads keep spinning, and any other pool in the process (a second
  model, MTCNN's three networks, torch, OpenCV) pays for it. Measured on a 2-core machine with a YOLOv8n-sized
  network and two sessions in one process, spinning made ``session.run`` 1.3-1.5 times slower and our
  post-processing up to 4 times slower; only a lone session running a very small network (5 ms) was faster
  with it (about 1.3 times). Such a caller can turn it on.
- ``log_severity_level`` follows the ``modelrt.onnx`` logger (see ``logs.py``).
- ``extras["onnxruntime"]["execution_provider"]``: ``default`` (the provider for the device) or, on
  ``cuda``, ``tensorrt``: the TensorrtExecutionProvider, named explicitly because it builds engines on
  the first load; ``tensorrt_fp16`` (default False) lets it build fp16 engines.
- ``extras["onnxruntime"]["io_binding"]``: ``auto`` (default: on for ``cuda``, where it saves a copy of
  every input and output per call; off elsewhere, where plain ``run`` is as fast), ``True`` or ``False``.
  ``True`` on the CPU runs the same binding code as CUDA does, to compare it with plain ``run``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from modelrt.errors import InputError
from modelrt.options import RunOptions
from modelrt_onnx.logs import current_severity

__all__ = [
    "BACKEND_NAME",
    "EXECUTION_PROVIDER_CHOICES",
    "GRAPH_OPTIMIZATION_LEVELS",
    "build_session_options",
    "io_binding_choice",
    "provider_choice",
]

BACKEND_NAME = "onnxruntime"

#: ``graph_optimization`` values and the ``onnxruntime.GraphOptimizationLevel`` member each selects.
GRAPH_OPTIMIZATION_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}

#: ``execution_provider`` values: the device's own provider, or the TensorRT provider on ``cuda``.
EXECUTION_PROVIDER_CHOICES = ("default", "tensorrt")

_KNOWN_EXTRAS = ("graph_optimization", "allow_spinning", "execution_provider", "tensorrt_fp16", "io_binding")


def _checked_extras(extras: Mapping[str, Any]) -> tuple[str, bool]:
    unknown = sorted(set(extras) - set(_KNOWN_EXTRAS))
    if unknown:
        raise InputError(
            f"unknown onnxruntime option(s) {', '.join(map(repr, unknown))}: the onnxruntime backend reads "
            f"{', '.join(_KNOWN_EXTRAS)}"
        )
    level = extras.get("graph_optimization", "all")
    if level not in GRAPH_OPTIMIZATION_LEVELS:
        raise InputError(
            f"unknown onnxruntime graph_optimization {level!r}: expected one of {', '.join(GRAPH_OPTIMIZATION_LEVELS)}"
        )
    spinning = extras.get("allow_spinning", False)
    if not isinstance(spinning, bool):
        raise InputError(f"onnxruntime allow_spinning must be true or false, not {spinning!r}")
    return level, spinning


def provider_choice(options: RunOptions) -> tuple[str, bool]:
    """The ``execution_provider`` asked for and whether TensorRT may build fp16 engines; ``InputError`` if invalid."""
    extras = options.for_backend(BACKEND_NAME)
    _checked_extras(extras)
    choice = extras.get("execution_provider", "default")
    if choice not in EXECUTION_PROVIDER_CHOICES:
        raise InputError(
            f"unknown onnxruntime execution_provider {choice!r}: expected one of "
            f"{', '.join(EXECUTION_PROVIDER_CHOICES)}"
        )
    fp16 = extras.get("tensorrt_fp16", False)
    if not isinstance(fp16, bool):
        raise InputError(f"onnxruntime tensorrt_fp16 must be true or false, not {fp16!r}")
    return choice, fp16


def io_binding_choice(options: RunOptions, device_kind: str) -> bool:
    """Whether runs go through I/O binding on a ``device_kind`` device; ``InputError`` if the extra is invalid."""
    extras = options.for_backend(BACKEND_NAME)
    _checked_extras(extras)
    choice = extras.get("io_binding", "auto")
    if choice == "auto":
        return device_kind == "cuda"
    if not isinstance(choice, bool):
        raise InputError(f"onnxruntime io_binding must be 'auto', true or false, not {choice!r}")
    return choice


def build_session_options(ort: ModuleType, options: RunOptions) -> Any:
    """Session options for ``options``; ``InputError`` for an unknown or invalid onnxruntime extra."""
    level, spinning = _checked_extras(options.for_backend(BACKEND_NAME))
    session_options = ort.SessionOptions()
    session_options.intra_op_num_threads = options.resolved_threads()
    session_options.inter_op_num_threads = 1
    session_options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session_options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, GRAPH_OPTIMIZATION_LEVELS[level])
    session_options.log_severity_level = current_severity()
    session_options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return session_options
