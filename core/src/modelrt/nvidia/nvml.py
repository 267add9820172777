"""Reading NVML (``libnvidia-ml``) through ctypes: driver, CUDA driver API version and each GPU.

ctypes rather than the ``nvidia-ml-py`` binding, so nothing beyond the driver's own library is needed,
and never ``nvidia-smi``: probing runs no subprocess. NVML reports every physical GPU whatever
``CUDA_VISIBLE_DEVICES`` says; ``modelrt.nvidia.visible`` applies it afterwards.

``read_nvml`` never raises: a library that is absent, fails to initialise or misbehaves gives an
``NvmlReading`` whose ``error`` says why, and one GPU's failed query leaves only that fact unknown.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from typing import Any

from modelrt.nvidia.gpus import Gpu, NvmlReading, cuda_version_words

__all__ = ["NVML_LIBRARY_NAMES", "load_nvml_library", "read_nvml"]

#: The names the driver installs NVML under (Linux and WSL2, then Windows).
NVML_LIBRARY_NAMES = ("libnvidia-ml.so.1", "nvml.dll") if sys.platform == "win32" else ("libnvidia-ml.so.1",)

_NVML_SUCCESS = 0
_NVML_ERROR_NAMES = {
    1: "NVML is not initialised",
    2: "an invalid argument",
    3: "not supported",
    4: "no permission",
    6: "not found",
    9: "the driver is not loaded",
    12: "a function is missing from the library",
    13: "the GPU is lost",
    18: "the driver and library versions do not match (reboot after a driver update)",
    999: "an unknown error",
}
_STRING_BUFFER_SIZE = 96  # NVML_DEVICE_NAME_V2_BUFFER_SIZE, and larger than NVML_DEVICE_UUID_V2_BUFFER_SIZE
_NVML_DEVICE_MIG_ENABLE = 1


class _Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class _PciInfo(ctypes.Structure):
    _fields_ = [
        ("busIdLegacy", ctypes.c_char * 16),
        ("domain", ctypes.c_uint),
        ("bus", ctypes.c_uint),
        ("device", ctypes.c_uint),
        ("pciDeviceId", ctypes.c_uint),
        ("pciSubSystemId", ctypes.c_uint),
        ("busId", ctypes.c_char * 32),
    ]


class _NvmlFailure(Exception):
    """One NVML call returned an error code."""


def load_nvml_library() -> tuple[Any | None, str | None]:
    """The loaded NVML library, or ``None`` and why it could not be loaded."""
    reasons = []
    for name in NVML_LIBRARY_NAMES:
        try:
            return ctypes.CDLL(name), None
        except OSError as error:
            reasons.append(f"{name}: {error}")
    return None, "NVML could not be loaded (" + "; ".join(reasons) + ")"


def read_nvml(library: Any) -> NvmlReading:
    """Ask a loaded NVML library (or an object with the same functions) for the driver and every GPU."""
    try:
        _check(library.nvmlInit_v2(), "nvmlInit_v2")
    except (_NvmlFailure, AttributeError, OSError, TypeError, ValueError) as error:
        return NvmlReading(error=f"NVML did not initialise: {error}")
    try:
        return _read_initialised(library)
    except (_NvmlFailure, AttributeError, OSError, TypeError, ValueError) as error:
        return NvmlReading(error=f"NVML failed: {error}")
    finally:
        with contextlib.suppress(AttributeError, OSError, TypeError, ValueError):
            library.nvmlShutdown()


def _read_initialised(library: Any) -> NvmlReading:
    version = ctypes.create_string_buffer(_STRING_BUFFER_SIZE)
    _check(library.nvmlSystemGetDriverVersion(version, ctypes.c_uint(_STRING_BUFFER_SIZE)), "driver version")
    cuda = ctypes.c_int(0)
    cuda_words = None
    if _succeeded(library, "nvmlSystemGetCudaDriverVersion_v2", ctypes.byref(cuda)):
        cuda_words = cuda_version_words(cuda.value)
    count = ctypes.c_uint(0)
    _check(library.nvmlDeviceGetCount_v2(ctypes.byref(count)), "device count")
    gpus = tuple(_read_gpu(library, index) for index in range(count.value))
    return NvmlReading(
        driver_version=version.value.decode("ascii", errors="replace") or None,
        cuda_driver_version=cuda_words,
        gpus=gpus,
    )


def _read_gpu(library: Any, index: int) -> Gpu:
    handle = ctypes.c_void_p()
    if not _succeeded(library, "nvmlDeviceGetHandleByIndex_v2", ctypes.c_uint(index), ctypes.byref(handle)):
        return Gpu(index=index)
    name = _string(library, "nvmlDeviceGetName", handle)
    uuid = _string(library, "nvmlDeviceGetUUID", handle)
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    capability = None
    if _succeeded(library, "nvmlDeviceGetCudaComputeCapability", handle, ctypes.byref(major), ctypes.byref(minor)):
        capability = f"{major.value}.{minor.value}"
    memory = _Memory()
    memory_bytes = (
        memory.total if _succeeded(library, "nvmlDeviceGetMemoryInfo", handle, ctypes.byref(memory)) else None
    )
    pci = _PciInfo()
    pci_bus_id = None
    if _succeeded(library, "nvmlDeviceGetPciInfo_v3", handle, ctypes.byref(pci)):
        pci_bus_id = pci.busId.decode("ascii", errors="replace") or None
    current, pending = ctypes.c_uint(0), ctypes.c_uint(0)
    mig_mode = None
    if _succeeded(library, "nvmlDeviceGetMigMode", handle, ctypes.byref(current), ctypes.byref(pending)):
        mig_mode = current.value == _NVML_DEVICE_MIG_ENABLE
    return Gpu(
        index=index,
        name=name,
        uuid=uuid,
        compute_capability=capability,
        memory_bytes=memory_bytes,
        pci_bus_id=pci_bus_id,
        mig_mode=mig_mode,
    )


def _string(library: Any, function: str, handle: ctypes.c_void_p) -> str | None:
    buffer = ctypes.create_string_buffer(_STRING_BUFFER_SIZE)
    if not _succeeded(library, function, handle, buffer, ctypes.c_uint(_STRING_BUFFER_SIZE)):
        return None
    return buffer.value.decode("utf-8", errors="replace") or None


def _succeeded(library: Any, function: str, *arguments: Any) -> bool:
    """Whether an optional query worked; an old driver lacking the function counts as a failed query."""
    try:
        return bool(getattr(library, function)(*arguments) == _NVML_SUCCESS)
    except (AttributeError, OSError, TypeError, ValueError):
        return False


def _check(code: int, what: str) -> None:
    if code != _NVML_SUCCESS:
        raise _NvmlFailure(f"{what}: NVML error {code} ({_NVML_ERROR_NAMES.get(code, 'unknown code')})")
