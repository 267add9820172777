"""NVML answers a fake root declares, so that ``MODELRT_HOST_ROOT`` drives GPU hosts like any other fact.

A fake root cannot carry a loadable ``libnvidia-ml``; its ``.modelrt-host.json`` carries what NVML would
answer under the key ``nvml``::

    "nvml": {"driver_version": "550.54.14", "cuda_driver_version": "12.4",
             "gpus": [{"index": 0, "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-...",
                       "compute_capability": "8.0", "memory_bytes": 85899345920,
                       "pci_bus_id": "00000000:07:00.0", "mig_mode": false}]}

or ``"nvml": {"error": "why NVML failed"}``. Malformed entries are skipped, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelrt.host import FAKE_HOST_FILE, Host
from modelrt.nvidia.gpus import Gpu, NvmlReading

__all__ = ["FAKE_NVML_KEY", "read_declared_nvml"]

FAKE_NVML_KEY = "nvml"

_MAX_TEXT = 200


def read_declared_nvml(host: Host) -> NvmlReading:
    """The NVML answers declared in the fake root's host file, or an error saying none are declared."""
    declared = _declared_nvml(host)
    if declared is None:
        return NvmlReading(error=f"a fake root's NVML answers come from its {FAKE_HOST_FILE}, which declares none")
    error = declared.get("error")
    if isinstance(error, str):
        return NvmlReading(error=error[:_MAX_TEXT])
    gpus = declared.get("gpus")
    return NvmlReading(
        driver_version=_text(declared.get("driver_version")),
        cuda_driver_version=_text(declared.get("cuda_driver_version")),
        gpus=tuple(_gpu(entry, position) for position, entry in enumerate(gpus if isinstance(gpus, list) else [])),
    )


def _declared_nvml(host: Host) -> Mapping[str, Any] | None:
    try:
        data = json.loads(host.read_text(FAKE_HOST_FILE) or "{}")
    except (ValueError, RecursionError):
        return None
    declared = data.get(FAKE_NVML_KEY) if isinstance(data, dict) else None
    return declared if isinstance(declared, dict) else None


def _gpu(entry: Any, position: int) -> Gpu:
    if not isinstance(entry, dict):
        return Gpu(index=position)
    index = entry.get("index")
    memory = entry.get("memory_bytes")
    mig = entry.get("mig_mode")
    return Gpu(
        index=index if isinstance(index, int) and not isinstance(index, bool) else position,
        name=_text(entry.get("name")),
        uuid=_text(entry.get("uuid")),
        compute_capability=_text(entry.get("compute_capability")),
        memory_bytes=memory if isinstance(memory, int) and not isinstance(memory, bool) and memory > 0 else None,
        pci_bus_id=_text(entry.get("pci_bus_id")),
        mig_mode=mig if isinstance(mig, bool) else None,
    )


def _text(value: Any) -> str | None:
    return value.strip()[:_MAX_TEXT] or None if isinstance(value, str) else None
