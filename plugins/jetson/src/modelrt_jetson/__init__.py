"""NVIDIA Jetson support for modelrt: what this board is, and where it stands in the compatibility matrix.

The plugin reads the board's files only (never a subprocess, never a framework import) and puts
its facts under ``Environment.facts["jetson"]``; ``JetsonFacts.from_environment`` reads them back,
typed, for other plugins such as a TensorRT backend. Names load on first use (PEP 562), so plugin
discovery, which imports ``modelrt_jetson.plugin``, stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelrt_jetson.facts import JetsonFacts, PythonDistribution, TensorRTBindings

__version__ = "0.2.0"

__all__ = ["JetsonFacts", "PythonDistribution", "TensorRTBindings", "__version__"]

_LAZY = {"JetsonFacts": "facts", "PythonDistribution": "facts", "TensorRTBindings": "facts"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"modelrt_jetson.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'modelrt_jetson' has no attribute {name!r}")
