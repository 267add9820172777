"""``device="auto"`` on a CUDA host picks the first GPU this process sees, and the plan names it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import modelrt
from modelrt.host_environment import Environment
from modelrt.nvidia.gpus import Gpu
from modelrt.plugin_manager import PluginManager
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with

A100 = Gpu(index=0, name="NVIDIA A100-SXM4-80GB", uuid="GPU-a100")
H100 = Gpu(index=1, name="NVIDIA H100 80GB HBM3", uuid="GPU-h100")


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.repeat(np.array([[0.1, 0.7, 0.2]], np.float32), batch.shape[0], axis=0)


def _gpu_runtime() -> PluginManager:
    return manager_with(fake_backend_plugin("runtime", devices=("cuda", "cpu"), compute=_compute))


def _host(gpus: tuple[Gpu, ...], visible: str | None = None) -> Environment:
    return Environment(
        system="Linux", architecture="x86_64", nvidia_evidence=("dev/nvidia0",), gpus=gpus, cuda_visible_devices=visible
    )


def test_auto_picks_cuda_0_and_the_plan_names_the_first_gpu(make_package: Callable[..., Path]) -> None:
    env = _host((Gpu(0, A100.name, A100.uuid, cuda_index=0), Gpu(1, H100.name, H100.uuid, cuda_index=1)))
    plan = modelrt.explain(make_package(), manager=_gpu_runtime(), environment=env)
    assert plan.device == "cuda:0"
    assert "cuda:0 is NVIDIA A100-SXM4-80GB (NVML index 0, GPU-a100)" in str(plan)


def test_with_cuda_visible_devices_cuda_0_is_the_gpu_it_exposes_first(make_package: Callable[..., Path]) -> None:
    gpus = (Gpu(0, A100.name, A100.uuid, cuda_index=None), Gpu(1, H100.name, H100.uuid, cuda_index=0))
    plan = modelrt.explain(make_package(), manager=_gpu_runtime(), environment=_host(gpus, visible="1"))
    assert plan.device == "cuda:0"
    assert (
        "cuda:0 is NVIDIA H100 80GB HBM3 (NVML index 1, GPU-h100; CUDA_VISIBLE_DEVICES='1' exposes it as cuda:0)"
        in plan.notes
    )


def test_a_plan_on_the_cpu_names_no_gpu(make_package: Callable[..., Path]) -> None:
    gpus = (Gpu(0, A100.name, A100.uuid, cuda_index=0),)
    plan = modelrt.explain(make_package(), manager=_gpu_runtime(), environment=_host(gpus), device="cpu")
    assert plan.device == "cpu"
    assert not any("NVIDIA" in note for note in plan.notes)
