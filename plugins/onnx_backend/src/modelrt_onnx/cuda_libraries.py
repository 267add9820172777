"""Letting onnxruntime-gpu find the CUDA and cuDNN libraries that pip installed, before a CUDA session.

onnxruntime-gpu's CUDA provider loads ``libcudart``, ``libcublas`` and ``libcudnn`` by name, which the
dynamic loader looks for in the system folders only; the ``nvidia-*-cu12`` wheels put them under
``site-packages/nvidia``. Builds from 1.21 on offer ``onnxruntime.preload_dlls()``, which loads them from
there (or from torch's copy) into the process first. It is called once per onnxruntime module, before
the first CUDA session; older builds have no such function and rely on the system's libraries.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

from modelrt_onnx.logs import LOGGER_NAME

__all__ = ["preload_cuda_libraries"]

logger = logging.getLogger(LOGGER_NAME)

_lock = threading.Lock()
_preloaded_into: list[ModuleType] = []  # held, so a module's id is never reused for another


def preload_cuda_libraries(ort: ModuleType) -> bool:
    """Preload the pip-installed CUDA libraries once per ``ort``; whether this build could (never raises).

    A failed preload is not an error here: the session that follows falls back to the CPU, and that
    fallback is what ``load`` reports, with onnxruntime's own reason.
    """
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return False
    with _lock:
        if any(module is ort for module in _preloaded_into):
            return True
        try:
            preload()
        except Exception as error:  # a missing or broken wheel: onnxruntime's reason shows at session creation
            logger.warning("onnxruntime.preload_dlls() failed: %s: %s", type(error).__name__, error)
        _preloaded_into.append(ort)
    return True
