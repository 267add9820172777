"""What the installed torch can do, as plain data: the one seam between this backend and torch's devices.

``probe_capabilities`` asks torch (imported by the caller) which devices its build supports and which
it can reach, without creating a CUDA context; ``availability.py`` turns a ``TorchCapabilities``
record and the host's ``Environment`` into reasons and fixes. Tests of CUDA and MPS hand that
function a record describing the machine they imitate, so no part of torch has to be faked.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import attrs

__all__ = ["TorchCapabilities", "import_torch", "probe_capabilities"]


def import_torch() -> ModuleType:
    """Import torch (a seam: tests replace it to simulate a missing or broken install)."""
    return importlib.import_module("torch")


@attrs.frozen
class TorchCapabilities:
    """The torch build and the devices it reaches.

    ``cuda_version`` is the CUDA the build was compiled for (``None``: a CPU-only or macOS build);
    ``cuda_devices`` the devices it sees (after ``CUDA_VISIBLE_DEVICES``); ``cuda_error`` what torch
    said when it found none (``"Found no NVIDIA driver on your system..."``). ``mps_built`` says the
    build has the MPS backend, ``mps_available`` that this Mac can run it.
    """

    version: str
    cuda_version: str | None = None
    cuda_devices: int = 0
    cuda_error: str | None = None
    mps_built: bool = False
    mps_available: bool = False


def probe_capabilities(torch: ModuleType) -> TorchCapabilities:
    """Ask ``torch`` about its build and devices; never raises for a device it cannot reach."""
    cuda_version = getattr(torch.version, "cuda", None)
    cuda_devices = 0
    cuda_error = None
    if cuda_version:
        # device_count() asks the driver (or NVML) without creating a context; it is 0 without a driver.
        cuda_devices = int(torch.cuda.device_count())
        if cuda_devices == 0:
            cuda_error = _cuda_init_error(torch)
    mps = getattr(torch.backends, "mps", None)
    return TorchCapabilities(
        version=str(torch.__version__),
        cuda_version=str(cuda_version) if cuda_version else None,
        cuda_devices=cuda_devices,
        cuda_error=cuda_error,
        mps_built=bool(mps is not None and mps.is_built()),
        mps_available=bool(mps is not None and mps.is_available()),
    )


def _cuda_init_error(torch: ModuleType) -> str | None:
    """torch's own explanation of why CUDA is unusable (initialising fails fast when no device exists)."""
    try:
        torch.cuda.init()
    except Exception as error:  # torch raises RuntimeError, or AssertionError on builds without CUDA
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None
