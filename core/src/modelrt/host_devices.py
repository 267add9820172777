"""Which device kinds a host can never offer, judged from its probed ``Environment`` alone.

``modelrt explain`` shows the candidates that could run on this kind of host and one line for each
device kind that cannot, instead of ranking CUDA, MPS and CoreML candidates on a Linux CPU box. The
judgement only rules a kind out on evidence: where the environment cannot tell (an unknown system, or
Windows, whose NVIDIA driver leaves no file that probing reads), the kind stays, and backends decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrt.host_environment import Environment

__all__ = ["absent_device_reason"]


def absent_device_reason(env: Environment, kind: str) -> str | None:
    """Why this host has no device of ``kind`` (``cuda``, ``mps``, ``coreml``, ``dla``), or None if it may."""
    system = env.system
    if system is None or kind == "cpu":
        return None
    if kind in ("mps", "coreml"):
        name = "MPS (Apple's Metal GPU)" if kind == "mps" else "CoreML"
        return None if system == "Darwin" else f"{name} exists only on macOS, and this host runs {system}"
    if kind == "dla":
        return None if env.is_jetson else "DLA cores exist only on NVIDIA Jetson boards, and this is not one"
    if kind == "cuda":
        if system == "Darwin":
            return "CUDA does not run on macOS"
        if system == "Linux" and not env.has_nvidia_gpu and not env.is_jetson:
            return "no NVIDIA driver or GPU on this host (no /proc/driver/nvidia/version, no /dev/nvidia*)"
    return None
