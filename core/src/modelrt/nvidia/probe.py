"""Everything the ``Environment`` records about NVIDIA GPUs, in one never-raising probe.

NVML (through ctypes live, declared answers on a fake root) gives the driver, the CUDA driver API
version and each GPU; ``CUDA_VISIBLE_DEVICES`` is applied to the GPUs; library versions come from file
names. The probe never lies: without a usable driver no GPU and no CUDA version is reported (the CUDA
files found are named in the reason instead), and every fact left ``None`` has its reason in ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from modelrt.host import Host
from modelrt.nvidia.fake_nvml import read_declared_nvml
from modelrt.nvidia.gpus import Gpu, NvmlReading
from modelrt.nvidia.libraries import CudaLibraries, find_cuda_libraries
from modelrt.nvidia.nvml import load_nvml_library, read_nvml
from modelrt.nvidia.visible import CUDA_VISIBLE_DEVICES, apply_visible_devices

__all__ = ["NO_DRIVER_KEY", "WSL_LIBCUDA", "NvidiaFacts", "is_wsl_kernel", "probe_nvidia_facts", "read_host_nvml"]

#: ``Environment.unknown`` key carrying why a host has no NVIDIA facts at all.
NO_DRIVER_KEY = "nvidia"
#: The CUDA driver library WSL2 maps in from the Windows driver.
WSL_LIBCUDA = "usr/lib/wsl/lib/libcuda.so"

_TOOLKIT_VARIABLES = ("NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES")
#: Driver libraries the NVIDIA Container Toolkit mounts into a container, named with the driver version.
_TOOLKIT_LIBRARY_PATTERN = "usr/lib/*-linux-gnu/libnvidia-ml.so.[0-9]*.*"
_MAX_VARIABLE = 100


@attrs.frozen
class NvidiaFacts:
    """The NVIDIA fields of the ``Environment``; see its docstring for each."""

    driver_version: str | None = None
    cuda_driver_version: str | None = None
    gpus: tuple[Gpu, ...] = ()
    cuda_visible_devices: str | None = None
    libraries: CudaLibraries = attrs.field(factory=CudaLibraries)
    container_marks: tuple[str, ...] = ()


def read_host_nvml(host: Host) -> NvmlReading:
    """NVML's answers for ``host``: the real library on the live machine, declared ones on a fake root."""
    if not host.is_live:
        return read_declared_nvml(host)
    library, reason = load_nvml_library()
    return read_nvml(library) if library is not None else NvmlReading(error=reason)


def probe_nvidia_facts(
    host: Host,
    unknown: dict[str, str],
    *,
    proc_driver_version: str | None,
    driver_evidence: tuple[str, ...],
    is_jetson: bool,
    in_container: bool,
    read_nvml_for: Callable[[Host], NvmlReading] = read_host_nvml,
) -> NvidiaFacts:
    """The NVIDIA facts of ``host``; reasons for unknown ones go into ``unknown`` (never raises)."""
    visible = host.env(CUDA_VISIBLE_DEVICES)
    marks = _toolkit_marks(host) if in_container else ()
    if is_jetson:  # its integrated GPU has no NVML; the jetson plugin describes it
        return NvidiaFacts(driver_version=proc_driver_version, cuda_visible_devices=visible, container_marks=marks)
    reading = read_nvml_for(host)
    driver = reading.driver_version or proc_driver_version
    libraries = find_cuda_libraries(host)
    if reading.error is not None and not driver_evidence:
        found = f"; CUDA files present but unusable without one: {', '.join(libraries.sources)}"
        unknown[NO_DRIVER_KEY] = (
            f"no NVIDIA driver on this host (no proc/driver/nvidia/version, no dev/nvidia* device; {reading.error})"
            f"{found if libraries.sources else ''}"
        )
        return NvidiaFacts(cuda_visible_devices=visible, container_marks=marks)
    if reading.error is not None:
        unknown["gpus"] = reading.error
        unknown["cuda_driver_version"] = reading.error
    elif reading.cuda_driver_version is None:
        unknown["cuda_driver_version"] = "NVML did not report the CUDA version the driver supports"
    for field, value in (("cuda_runtime_version", libraries.cuda_runtime), ("cudnn_version", libraries.cudnn)):
        if value is None:
            unknown[field] = "no wheel on sys.path and no library file in the system library folders"
    return NvidiaFacts(
        driver_version=driver,
        cuda_driver_version=reading.cuda_driver_version,
        gpus=apply_visible_devices(reading.gpus, visible),
        cuda_visible_devices=visible,
        libraries=libraries,
        container_marks=marks,
    )


def is_wsl_kernel(kernel_release: str | None) -> bool:
    """Whether the kernel is WSL2's (``5.15.153.1-microsoft-standard-WSL2``)."""
    return bool(kernel_release and re.search(r"microsoft", kernel_release, re.IGNORECASE))


def _toolkit_marks(host: Host) -> tuple[str, ...]:
    """What the NVIDIA Container Toolkit leaves in a container: its variables and the driver's mounted NVML."""
    marks = [f"{name}={value[:_MAX_VARIABLE]}" for name in _TOOLKIT_VARIABLES if (value := host.env(name)) is not None]
    marks.extend(host.glob(_TOOLKIT_LIBRARY_PATTERN))
    return tuple(marks)
