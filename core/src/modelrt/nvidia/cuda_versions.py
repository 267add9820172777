"""Which NVIDIA driver runs which CUDA runtime, and which CUDA versions the matrix verifies.

Minimum drivers are those of CUDA's minor version compatibility on Linux (CUDA Toolkit release notes,
table 2): any 12.x runtime runs on driver 525.60.13 or newer, any 13.x on 580.65.06 or newer. A driver
also reports the newest CUDA it supports (NVML's CUDA driver version); a runtime of a newer major than
that cannot run at all.
"""

from __future__ import annotations

import re

__all__ = [
    "MINIMUM_DRIVER_BY_CUDA_MAJOR",
    "ONNX_GPU_CUDA_MAJOR",
    "cuda_major",
    "driver_shortfall",
    "is_verified_cuda",
    "tensorrt_extra",
    "version_key",
]

MINIMUM_DRIVER_BY_CUDA_MAJOR = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}
#: The CUDA major that PyPI's ``onnxruntime-gpu`` (``modelrt[onnx-gpu]``) is built for.
ONNX_GPU_CUDA_MAJOR = 12


def tensorrt_extra(driver_cuda: str | None) -> str:
    """The meta extra with TensorRT for a driver supporting CUDA ``driver_cuda``: ``modelrt[trt-cu13]`` from
    CUDA 13, else ``modelrt[trt-cu12]`` (also where the driver's CUDA is unknown: CUDA 12 is the verified one)."""
    major = cuda_major(driver_cuda)
    return f"modelrt[trt-cu{13 if major is not None and major >= 13 else 12}]"


def version_key(version: str) -> tuple[int, ...]:
    """``"525.60.13"`` as ``(525, 60, 13)``, for comparison; non-numeric parts count as 0."""
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[.-]", version))


def cuda_major(version: str | None) -> int | None:
    """The major of a CUDA version (``12`` for ``12.4.127``), or ``None``."""
    major = (version or "").partition(".")[0]
    return int(major) if major.isdigit() else None


def is_verified_cuda(version: str) -> bool:
    """CUDA 11.8 and 12.x are the versions the matrix verifies NVIDIA GPUs with."""
    key = version_key(version)
    return key[:1] == (12,) or key[:2] == (11, 8)


def driver_shortfall(driver: str | None, driver_cuda: str | None, runtime: str) -> str | None:
    """Why ``driver`` cannot run CUDA ``runtime`` (naming the minimum driver), or ``None`` when it can or is unknown."""
    major = cuda_major(runtime)
    if major is None:
        return None
    minimum = MINIMUM_DRIVER_BY_CUDA_MAJOR.get(major)
    needs = f"CUDA {major}.x needs driver {minimum} or newer" if minimum else f"CUDA {major}.x needs a newer driver"
    driver_words = f"driver {driver}" if driver else "the driver"
    supported_major = cuda_major(driver_cuda)
    if supported_major is not None and supported_major < major:
        return (
            f"{driver_words} supports CUDA up to {driver_cuda}, older than the installed CUDA runtime {runtime}; "
            f"{needs}"
        )
    if driver and minimum and version_key(driver) < version_key(minimum):
        return f"{driver_words} is older than the installed CUDA runtime {runtime} allows; {needs}"
    return None
