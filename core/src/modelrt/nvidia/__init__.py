"""NVIDIA GPU facts: what NVML says about the driver and GPUs, and which CUDA libraries Python can load.

Everything here is read without a subprocess and without importing a framework: NVML through ctypes on
``libnvidia-ml`` (live machine) or a fake root's declared NVML answers, and library versions from file
names. See ``modelrt.nvidia.probe`` for the entry point that ``probe_environment`` uses.
"""

from __future__ import annotations

from modelrt.nvidia.gpus import Gpu, NvmlReading

__all__ = ["Gpu", "NvmlReading"]
