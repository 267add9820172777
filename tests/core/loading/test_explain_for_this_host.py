"""``explain`` speaks to this host: candidates on device kinds it cannot have become one line each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import modelrt
from modelrt.host_environment import Environment
from modelrt.plan import HiddenDevice, LoadPlan
from modelrt.plugin_manager import PluginManager
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with

LINUX_CPU_BOX = Environment(system="Linux", architecture="x86_64", nvidia_evidence=())
LINUX_WITH_NVIDIA = Environment(system="Linux", architecture="x86_64", nvidia_evidence=("dev/nvidia0",))
APPLE_SILICON_MAC = Environment(system="Darwin", architecture="arm64")
NO_NVIDIA_DRIVER = "no NVIDIA driver or GPU on this host (no /proc/driver/nvidia/version, no /dev/nvidia*)"


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.repeat(np.array([[0.1, 0.7, 0.2]], np.float32), batch.shape[0], axis=0)


def _everywhere() -> PluginManager:
    """A backend offering every device kind and usable only on the CPU, as a CPU-only runtime build is."""
    runtime = fake_backend_plugin(
        "runtime", devices=("cuda", "mps", "coreml", "cpu"), usable=lambda d: d.kind == "cpu", compute=_compute
    )
    return manager_with(runtime)


def _devices(plan: LoadPlan) -> list[str]:
    return [candidate.device for candidate in plan.candidates]


def test_a_linux_cpu_box_sees_only_cpu_candidates_and_one_line_per_absent_device(
    make_package: Callable[..., Path],
) -> None:
    plan = modelrt.explain(make_package(), manager=_everywhere(), environment=LINUX_CPU_BOX)
    assert _devices(plan) == ["cpu"]
    assert plan.hidden_devices == (
        HiddenDevice("cuda", NO_NVIDIA_DRIVER),
        HiddenDevice("mps", "MPS (Apple's Metal GPU) exists only on macOS, and this host runs Linux"),
        HiddenDevice("coreml", "CoreML exists only on macOS, and this host runs Linux"),
    )
    text = str(plan)
    assert "on cuda" not in text and "on mps" not in text and "on coreml" not in text
    assert f"    cuda: {NO_NVIDIA_DRIVER}" in text
    assert "`modelrt explain --all` shows them" in text


def test_all_candidates_keeps_the_full_ranking(make_package: Callable[..., Path]) -> None:
    plan = modelrt.explain(make_package(), manager=_everywhere(), environment=LINUX_CPU_BOX, all_candidates=True)
    assert _devices(plan) == ["cuda:0", "mps", "coreml", "cpu"]
    assert plan.hidden_devices == ()


def test_the_choice_is_the_one_load_makes_whatever_is_hidden(make_package: Callable[..., Path]) -> None:
    shown = modelrt.explain(make_package(), manager=_everywhere(), environment=LINUX_CPU_BOX)
    loaded = modelrt.load(make_package(), manager=_everywhere(), environment=LINUX_CPU_BOX, warmup=0)
    assert (shown.backend, shown.device) == (loaded.backend, loaded.device) == ("runtime", "cpu")


def test_a_mac_keeps_its_apple_accelerators_and_loses_cuda(make_package: Callable[..., Path]) -> None:
    plan = modelrt.explain(make_package(), manager=_everywhere(), environment=APPLE_SILICON_MAC)
    assert _devices(plan) == ["mps", "coreml", "cpu"]
    assert plan.hidden_devices == (HiddenDevice("cuda", "CUDA does not run on macOS"),)


def test_a_host_with_an_nvidia_driver_keeps_cuda_with_the_backends_reason(make_package: Callable[..., Path]) -> None:
    plan = modelrt.explain(make_package(), manager=_everywhere(), environment=LINUX_WITH_NVIDIA)
    cuda = next(c for c in plan.candidates if c.device == "cuda:0")
    assert (cuda.status, cuda.reason) == ("unavailable", "runtime cannot run on cuda:0")
    assert [hidden.kind for hidden in plan.hidden_devices] == ["mps", "coreml"]


def test_a_device_named_by_the_caller_is_never_hidden(make_package: Callable[..., Path]) -> None:
    plan = modelrt.explain(make_package(), manager=_everywhere(), environment=LINUX_CPU_BOX, device="cuda")
    assert _devices(plan) == ["cuda:0"]
    assert plan.candidates[0].reason == "runtime cannot run on cuda:0"
    assert plan.hidden_devices == ()


def test_a_device_a_backend_can_use_stays_even_where_the_host_shows_no_driver(
    make_package: Callable[..., Path],
) -> None:
    remote = fake_backend_plugin("remote-gpu", devices=("cuda", "cpu"), compute=_compute)
    plan = modelrt.explain(make_package(), manager=manager_with(remote), environment=LINUX_CPU_BOX)
    assert plan.device == "cuda:0"
    assert plan.hidden_devices == ()


def test_the_note_on_apple_accelerators_is_left_to_hosts_that_have_them(make_package: Callable[..., Path]) -> None:
    text = make_package(architecture="db-text-detector", task="text-detection", name="text")
    on_linux = modelrt.explain(text, manager=_everywhere(), environment=LINUX_CPU_BOX)
    on_a_mac = modelrt.explain(text, manager=_everywhere(), environment=APPLE_SILICON_MAC)
    assert not any("not tried" in note for note in on_linux.notes)
    assert [hidden.kind for hidden in on_linux.hidden_devices] == ["cuda", "mps", "coreml"]
    (note,) = [note for note in on_a_mac.notes if "not tried" in note]
    assert note.startswith("coreml and mps not tried: Apple's accelerators (MPS and CoreML) are experimental")
    assert "registered with mps_capable=True, and 'db-text-detector' is not" in note


def test_the_host_view_serialises_with_its_hidden_devices(make_package: Callable[..., Path]) -> None:
    plan = modelrt.explain(make_package(), manager=_everywhere(), environment=LINUX_CPU_BOX)
    data = plan.to_dict()
    assert data["hidden_devices"][0] == {"kind": "cuda", "reason": NO_NVIDIA_DRIVER}
    assert LoadPlan.from_dict(data) == plan
    assert plan.on_host(LINUX_CPU_BOX) == plan
