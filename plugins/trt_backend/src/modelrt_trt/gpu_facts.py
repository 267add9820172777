"""The GPU a TensorRT device names, from the ``Environment``: NVML's GPUs, or the Jetson plugin's facts.

Engines are keyed by, and checked against, the GPU's name and compute capability, the CUDA driver and,
on a Jetson, the L4T release. A discrete GPU is the ``cuda:N`` that ``CUDA_VISIBLE_DEVICES`` exposes as
N; a Jetson's integrated GPU has no NVML, so its facts come from ``Environment.facts["jetson"]`` (read as
plain data: this plugin does not import the Jetson plugin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from modelrt.devices import Device
    from modelrt.host_environment import Environment

__all__ = ["TargetGpu", "jetson_facts", "target_gpu"]


@attrs.frozen
class TargetGpu:
    """The GPU (or the Jetson whose DLA) a device means; ``found`` False when this host has no such GPU."""

    found: bool
    name: str | None = None
    compute_capability: str | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    l4t: str | None = None
    dla_cores: int | None = None
    is_jetson: bool = False

    def describe(self) -> str:
        """``NVIDIA RTX A4000, compute capability 8.6``."""
        capability = (
            f"compute capability {self.compute_capability}" if self.compute_capability else "compute capability unknown"
        )
        return f"{self.name or 'an unnamed GPU'}, {capability}"


def jetson_facts(env: Environment) -> dict[str, Any] | None:
    """The Jetson plugin's facts when this host is a Jetson, else ``None``."""
    facts = env.facts.get("jetson")
    return facts if isinstance(facts, dict) and facts.get("is_jetson") else None


def target_gpu(env: Environment, device: Device) -> TargetGpu:
    """The GPU behind ``device`` (``cuda:N`` or ``dla:N``) on ``env``."""
    jetson = jetson_facts(env)
    if jetson is not None:
        name = jetson.get("module") or jetson.get("model") or jetson.get("soc")
        return TargetGpu(
            found=device.kind == "dla" or (device.index or 0) == 0,
            name=f"Jetson {name}" if name and "jetson" not in str(name).lower() else name,
            compute_capability=jetson.get("gpu_compute_capability"),
            driver_version=env.nvidia_driver_version,
            cuda_version=jetson.get("cuda"),
            l4t=jetson.get("l4t"),
            dla_cores=jetson.get("dla_cores"),
            is_jetson=True,
        )
    if device.kind != "cuda":
        return TargetGpu(found=False)
    index = device.index or 0
    for gpu in env.visible_gpus:
        if gpu.cuda_index == index:
            return TargetGpu(
                found=True,
                name=gpu.name,
                compute_capability=gpu.compute_capability,
                driver_version=env.nvidia_driver_version,
                cuda_version=env.cuda_runtime_version,
            )
    return TargetGpu(found=False, driver_version=env.nvidia_driver_version)
