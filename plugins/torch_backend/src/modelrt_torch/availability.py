"""Whether torch can run on a device here, why not, and the fix: a pure function of host and torch facts.

The host's ``Environment`` says what the machine is (macOS and its version, NVIDIA driver files); a
``TorchCapabilities`` record says what the installed torch build does and reaches. Keeping both as
data makes every branch testable on any CI machine: a CUDA build without a driver, an MPS build on
an old macOS, a CPU-only build asked for ``cuda:1``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from modelrt.specs import Availability
from modelrt_torch.capabilities import TorchCapabilities

if TYPE_CHECKING:
    from modelrt.devices import Device
    from modelrt.host_environment import Environment

__all__ = [
    "CUDA_BUILD_FIX",
    "INSTALL_FIX",
    "MINIMUM_TORCH",
    "MPS_MINIMUM_MACOS",
    "broken_install",
    "device_availability",
    "torch_missing",
    "torch_too_old",
]

INSTALL_FIX = 'pip install "modelrt[torch]"'
CUDA_BUILD_FIX = (
    "install torch's CUDA build for your driver, e.g. pip install --force-reinstall torch "
    "--index-url https://download.pytorch.org/whl/cu128 (see https://pytorch.org/get-started)"
)
#: The first torch whose ``torch.load`` defaults to ``weights_only=True`` and that fixes CVE-2025-32434.
MINIMUM_TORCH = (2, 6)
#: torch's MPS backend needs macOS 14 since torch 2.9 (pytorch/pytorch#163515); older wheels took 12.3.
MPS_MINIMUM_MACOS = (14, 0)


def torch_missing(error: BaseException) -> Availability:
    return Availability(False, f"torch is not installed ({error})", INSTALL_FIX)


def broken_install(error: BaseException) -> Availability:
    return Availability(
        False,
        f"torch is installed but fails to import: {type(error).__name__}: {error}",
        'pip install --force-reinstall "torch>=2.6"',
    )


def torch_too_old(version: str) -> Availability | None:
    """Unusable when ``version`` predates ``MINIMUM_TORCH``; None when it is recent enough."""
    if _version_tuple(version)[:2] >= MINIMUM_TORCH:
        return None
    return Availability(
        False,
        f"torch {version} is older than 2.6, whose safe-loading defaults and export format this backend needs",
        'pip install -U "torch>=2.6"',
    )


def device_availability(env: Environment | None, device: Device, capabilities: TorchCapabilities) -> Availability:
    """Whether torch, as ``capabilities`` describes it, can run on ``device`` of the host ``env``."""
    if device.kind == "cpu":
        return Availability(True, f"torch {capabilities.version} runs on the CPU")
    if device.kind == "cuda":
        return _cuda(env, device, capabilities)
    if device.kind == "mps":
        return _mps(env, capabilities)
    return Availability(False, f"the torch backend runs on cpu, cuda and mps, not on {device.kind}")


def _cuda(env: Environment | None, device: Device, capabilities: TorchCapabilities) -> Availability:
    version = capabilities.version
    system = getattr(env, "system", None)
    if system == "Darwin":
        return Availability(False, "CUDA does not run on macOS", "use device='mps' on Apple Silicon, or device='cpu'")
    if capabilities.cuda_version is None:
        return Availability(False, f"torch {version} is a CPU-only build: it has no CUDA support", CUDA_BUILD_FIX)
    build = f"torch {version} (built for CUDA {capabilities.cuda_version})"
    if capabilities.cuda_devices == 0:
        said = f": {capabilities.cuda_error}" if capabilities.cuda_error else ""
        if env is not None and not env.nvidia_evidence and not env.is_jetson:
            fix = "install the NVIDIA driver (nvidia-smi must list the GPU), or use device='cpu'"
        else:
            fix = (
                f"check that nvidia-smi lists the GPU, that its driver supports CUDA {capabilities.cuda_version} "
                "(nvidia-smi shows the newest CUDA it supports), and CUDA_VISIBLE_DEVICES; or use device='cpu'"
            )
        return Availability(False, f"{build} finds no CUDA device{said}", fix)
    index = device.index or 0
    if index >= capabilities.cuda_devices:
        count = capabilities.cuda_devices
        return Availability(
            False,
            f"{build} sees {count} CUDA device(s), cuda:0 to cuda:{count - 1}, so there is no cuda:{index} "
            "(CUDA_VISIBLE_DEVICES renumbers the devices it lists from 0)",
            f"use a device from cuda:0 to cuda:{count - 1}",
        )
    return Availability(True, f"{build} sees {capabilities.cuda_devices} CUDA device(s)")


def _mps(env: Environment | None, capabilities: TorchCapabilities) -> Availability:
    version = capabilities.version
    system = getattr(env, "system", None)
    if system is not None and system != "Darwin":
        return Availability(False, f"MPS exists only on macOS with Apple Silicon, and this host runs {system}")
    if not capabilities.mps_built:
        return Availability(
            False,
            f"torch {version} was built without MPS (only torch's macOS arm64 wheels have it)",
            "on Apple Silicon, use an arm64 Python (not one under Rosetta) and "
            'pip install --force-reinstall "torch>=2.6"',
        )
    if capabilities.mps_available:
        return Availability(True, f"torch {version} runs on MPS (experimental in modelrt)")
    macos = getattr(env, "os_version", None)
    if macos is not None and _version_tuple(macos)[:2] < MPS_MINIMUM_MACOS:
        minimum = ".".join(map(str, MPS_MINIMUM_MACOS))
        return Availability(
            False,
            f"macOS {macos} is too old for the MPS backend of torch {version}, which needs macOS {minimum} or newer",
            f"upgrade macOS to {minimum} or newer, or use device='cpu'",
        )
    return Availability(
        False,
        f"torch {version} has MPS built in but cannot use it on this Mac (no Metal GPU it supports, or a "
        "virtual machine without Metal)",
        "use device='cpu'",
    )


def _version_tuple(text: str) -> tuple[int, ...]:
    """Leading numbers of a version: ``"2.13.0+cpu"`` → (2, 13, 0), ``"14.5"`` → (14, 5)."""
    numbers = []
    for part in text.split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
    return tuple(numbers)
