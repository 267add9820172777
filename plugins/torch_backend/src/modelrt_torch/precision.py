"""Which precision a torch session computes in, from what was asked, what the artifact holds and the device.

- ``auto``: the artifact's own precision; on CUDA the backend then measures whether fp16 is faster for
  this network on this GPU (``auto_precision.py``). fp16 on the CPU is slower than fp32 in torch, and
  MPS's fp16 coverage varies between macOS releases, so neither is tried there.
- ``fp32``/``fp16``: converted from the artifact's precision when it differs (``Module.float()`` /
  ``.half()``); fp16 on the CPU is refused, as it would only be slower.
- ``int8``: only an artifact that already is int8 (this backend does not quantise), run as it is.

Inputs and outputs stay float32 for the caller whatever the precision: the session converts on the
device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrt.errors import HardwareError

if TYPE_CHECKING:
    from modelrt.devices import Device

__all__ = ["resolve_precision"]


def resolve_precision(requested: str, stored: str | None, device: Device, artifact_name: str) -> str:
    """``fp32``, ``fp16`` or ``int8``: what to run ``artifact_name`` in; ``HardwareError`` when impossible."""
    stored = stored or "fp32"
    if stored == "int8" or requested == "int8":
        if requested in ("auto", "int8") and stored == "int8":
            return "int8"
        raise HardwareError(
            f"precision {requested!r} was requested for {artifact_name}, which holds {stored} weights; the torch "
            "backend does not quantise or dequantise. Use precision='auto', or add an artifact of that precision."
        )
    if requested == "auto":
        return stored
    if requested == "fp16" and device.kind == "cpu":
        raise HardwareError(
            f"precision 'fp16' was requested on the CPU for {artifact_name}: torch runs fp16 slower than fp32 "
            "there. Use precision='auto' or 'fp32' on the CPU, or fp16 on cuda or mps."
        )
    return requested
