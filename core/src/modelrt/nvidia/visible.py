"""``CUDA_VISIBLE_DEVICES`` applied to NVML's GPUs, the way the CUDA driver applies it.

Entries are NVML indexes or GPU UUIDs (``GPU-8f6e...``, a unique prefix is enough), separated by commas.
Like the driver, enumeration stops at the first entry that names no GPU (``-1``, an index out of
range, a repeated GPU), so ``-1`` and an empty value hide every GPU. MIG instances (``MIG-...``) are
not GPUs NVML lists at this level: such an entry also ends the list here, and the report says so.
"""

from __future__ import annotations

import attrs

from modelrt.nvidia.gpus import Gpu

__all__ = ["CUDA_VISIBLE_DEVICES", "apply_visible_devices"]

CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"


def apply_visible_devices(gpus: tuple[Gpu, ...], visible: str | None) -> tuple[Gpu, ...]:
    """``gpus`` with ``cuda_index`` set for those this process sees, in the order it sees them."""
    if visible is None:
        return tuple(attrs.evolve(gpu, cuda_index=gpu.index) for gpu in gpus)
    order: list[int] = []
    for entry in (part.strip() for part in visible.split(",")):
        match = _find(gpus, entry)
        if match is None or match in order:
            break
        order.append(match)
    return tuple(attrs.evolve(gpu, cuda_index=order.index(gpu.index) if gpu.index in order else None) for gpu in gpus)


def _find(gpus: tuple[Gpu, ...], entry: str) -> int | None:
    """The NVML index ``entry`` names, or ``None`` when it names no GPU (or more than one)."""
    if entry.isdigit():
        index = int(entry)
        return index if any(gpu.index == index for gpu in gpus) else None
    if entry.startswith("GPU-"):
        matches = [gpu.index for gpu in gpus if gpu.uuid and gpu.uuid.startswith(entry)]
        return matches[0] if len(matches) == 1 else None
    return None
