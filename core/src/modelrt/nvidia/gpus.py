"""The NVML answers modelrt keeps: one ``NvmlReading`` per probe, one ``Gpu`` per physical device."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = ["Gpu", "NvmlReading", "cuda_version_words"]


def _gpu_tuple(gpus: Iterable[Gpu]) -> tuple[Gpu, ...]:
    return tuple(gpus)


@attrs.frozen
class Gpu:
    """One physical GPU as NVML numbers it.

    ``index`` is NVML's (PCI order, ``CUDA_VISIBLE_DEVICES`` ignored); ``cuda_index`` is the ordinal this
    process sees it as (``cuda:N``), ``None`` when ``CUDA_VISIBLE_DEVICES`` hides it. ``compute_capability``
    is ``"8.6"``; ``mig_mode`` is ``None`` on GPUs without MIG support.
    """

    index: int
    name: str | None = None
    uuid: str | None = None
    compute_capability: str | None = None
    memory_bytes: int | None = None
    pci_bus_id: str | None = None
    mig_mode: bool | None = None
    cuda_index: int | None = None

    @property
    def compute_major(self) -> int | None:
        """The major compute capability (8 for Ampere, 9 for Hopper, 10 and 12 for Blackwell)."""
        major, _, _ = (self.compute_capability or "").partition(".")
        return int(major) if major.isdigit() else None


@attrs.frozen
class NvmlReading:
    """What NVML answered, or why it could not be asked (``error``; the other fields are then empty)."""

    driver_version: str | None = None
    cuda_driver_version: str | None = None
    gpus: tuple[Gpu, ...] = attrs.field(default=(), converter=_gpu_tuple)
    error: str | None = None


def cuda_version_words(encoded: int) -> str | None:
    """``12040`` (NVML's and the CUDA driver API's encoding) as ``12.4``; ``None`` for nonsense."""
    if encoded <= 0:
        return None
    return f"{encoded // 1000}.{encoded % 1000 // 10}"
