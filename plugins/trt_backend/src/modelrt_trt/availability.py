"""Whether the TensorRT backend can run on a device here, why not, and the one command that fixes it.

Checked cheapest first, so a CPU-only host learns "no NVIDIA driver" without TensorRT being imported:
the device kind, the GPU (``Environment`` facts: NVML's GPUs, or the Jetson plugin's), a TensorRT module
(found without importing it), cuda-python, and only then an import of TensorRT, which must speak the
named-tensor API (TensorRT 10 or newer).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from modelrt.nvidia.cuda_versions import tensorrt_extra
from modelrt.specs import Availability
from modelrt_trt.binding import FLAVOUR_MODULES, find_flavours, import_flavour
from modelrt_trt.gpu_facts import jetson_facts, target_gpu

if TYPE_CHECKING:
    from modelrt.devices import Device
    from modelrt.host_environment import Environment

__all__ = ["check_availability", "cuda_python_installed", "install_command"]


def install_command(env: Environment) -> str:
    """The install that gives this host TensorRT and the CUDA bindings for its driver's CUDA major."""
    if jetson_facts(env) is not None:
        return (
            "on a Jetson, TensorRT comes with JetPack (sudo apt install nvidia-tensorrt python3-libnvinfer) and "
            "cuda-python from the Jetson wheel index; `modelrt env` prints both"
        )
    return f'pip install "{tensorrt_extra(env.cuda_driver_version)}"'


def cuda_python_installed() -> bool:
    """Whether cuda-python's runtime bindings are importable (``cuda.bindings`` or the older ``cuda.cudart``)."""
    for module in ("cuda.bindings", "cuda.cudart"):
        try:
            if importlib.util.find_spec(module) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def check_availability(env: Environment, device: Device, flavour: str | None) -> Availability:
    """The availability of TensorRT ``flavour`` (``None``: the first installed) on ``device``."""
    if device.kind not in ("cuda", "dla"):
        return Availability(False, f"the tensorrt backend runs on cuda:N and (on Jetson) dla:N, not on {device}")
    gpu = target_gpu(env, device)
    if device.kind == "dla" and not gpu.is_jetson:
        return Availability(False, f"{device}: DLA cores exist only on NVIDIA Jetson boards, and this is not one")
    if not gpu.is_jetson and not env.visible_gpus:
        reason = env.unknown.get("nvidia") or env.unknown.get("gpus") or "NVML reports no GPU this process may use"
        return Availability(False, f"no NVIDIA GPU for TensorRT: {reason}", None)
    if not gpu.found:
        seen = ", ".join(f"cuda:{g.cuda_index} ({g.name})" for g in env.visible_gpus) or "none"
        return Availability(False, f"{device} is not a GPU this process sees (it sees {seen})", None)
    wheels = (jetson_facts(env) or {}).get("tensorrt_wheels") or []
    if wheels:
        names = ", ".join(f"{wheel.get('name')} {wheel.get('version')}" for wheel in wheels)
        return Availability(
            False,
            f"TensorRT wheels from PyPI ({names}) shadow the TensorRT that JetPack ships and are not built for Jetson",
            f"pip uninstall -y {' '.join(str(wheel.get('name')) for wheel in wheels)}",
        )
    installed = find_flavours()
    if flavour is not None and flavour not in installed:
        return Availability(
            False,
            f"the {FLAVOUR_MODULES[flavour]} module is not installed (installed: {', '.join(installed) or 'none'})",
            install_command(env),
        )
    if not installed:
        return Availability(False, _missing_tensorrt(env), install_command(env))
    if not cuda_python_installed():
        return Availability(
            False,
            "cuda-python is not installed: the tensorrt backend moves tensors with it (cuda.bindings)",
            install_command(env),
        )
    chosen = flavour or installed[0]
    try:
        api = import_flavour(chosen)
        api.check_supported()
    except Exception as error:  # HardwareError from the seam, with its fix in the message
        return Availability(False, str(error), install_command(env))
    if device.kind == "dla" and not gpu.dla_cores:
        return Availability(False, f"{device}: this Jetson has no DLA core", None)
    if device.kind == "dla" and gpu.dla_cores is not None and (device.index or 0) >= gpu.dla_cores:
        return Availability(
            False, f"{device}: this Jetson has {gpu.dla_cores} DLA cores (dla:0..dla:{gpu.dla_cores - 1})"
        )
    return Availability(True, f"{api.describe} on {device} ({gpu.describe()})", None)


def _missing_tensorrt(env: Environment) -> str:
    """Why no TensorRT module is found; on a Jetson, where JetPack's bindings are if this Python misses them."""
    bindings = (jetson_facts(env) or {}).get("tensorrt_bindings") or []
    python = ".".join((env.python_version or "").split(".")[:2])
    ours = [binding for binding in bindings if binding.get("python") == python]
    if ours:
        return (
            f"JetPack's TensorRT bindings for Python {python} are in {ours[0].get('path')}, but this Python does not "
            "see them (a virtual environment without system site packages); recreate it with "
            "`python3 -m venv --system-site-packages`"
        )
    if bindings:
        built_for = ", ".join(sorted(str(binding.get("python")) for binding in bindings))
        return f"JetPack's TensorRT bindings are built for Python {built_for}, not for this Python {python}"
    return "TensorRT is not installed (no tensorrt module)"
