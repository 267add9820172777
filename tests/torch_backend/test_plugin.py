"""The plugin as installed: what it registers, where it ranks, and what its distribution declares."""

from __future__ import annotations

import importlib.metadata

from packaging.requirements import Requirement

import modelrt
from modelrt.specs import BackendSpec
from modelrt_onnx import plugin as onnx_plugin
from modelrt_torch import plugin


def test_register_backends_declares_torch_for_its_three_formats_on_cpu_cuda_and_mps() -> None:
    (spec,) = plugin.register_backends()
    assert spec == BackendSpec(
        "torch",
        formats=("exported-program", "torchscript", "torch-pickle"),
        devices=("cpu", "cuda", "mps"),
        priority=30,
        requires=("torch>=2.6",),
        factory="modelrt_torch.backend:TorchBackend",
    )


def test_torch_ranks_below_onnxruntime_where_both_can_run_a_role() -> None:
    (torch_spec,) = plugin.register_backends()
    (onnx_spec,) = onnx_plugin.register_backends()
    assert torch_spec.priority < onnx_spec.priority


def test_the_distribution_names_its_entry_point_and_core_range() -> None:
    distribution = importlib.metadata.distribution("modelrt-torch")
    (entry_point,) = [ep for ep in distribution.entry_points if ep.group == "modelrt.plugins"]
    assert (entry_point.name, entry_point.value) == ("torch", "modelrt_torch.plugin")
    requirements = [Requirement(text) for text in distribution.requires or []]
    core = next(r for r in requirements if r.name == "modelrt-core")
    assert str(core.specifier) == "<1,>=0.2"


def test_torch_comes_only_through_the_extra_named_torch() -> None:
    requirements = [Requirement(text) for text in importlib.metadata.requires("modelrt-torch") or []]
    torch = next(r for r in requirements if r.name == "torch")
    assert torch.marker is not None and torch.marker.evaluate({"extra": "torch"})
    assert not torch.marker.evaluate({"extra": ""})


def test_the_installed_plugin_is_listed_as_ok() -> None:
    rows = {info.name: info for info in modelrt.plugins()}
    assert rows["torch"].status == "ok"
    assert rows["torch"].distribution == "modelrt-torch"
