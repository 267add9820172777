"""How modelrt chooses: ranking, probing in order, fallback, explicit choices and the readable plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.devices import Device
from modelrt.errors import IntegrityError, NoUsableBackendError, PackageError, SecurityError
from modelrt.plan import LoadPlan
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with

PROBABILITIES = np.array([[0.1, 0.7, 0.2]], np.float32)


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.repeat(PROBABILITIES, batch.shape[0], axis=0)


def _load(package: Path, *plugins: object, **kwargs: object) -> modelrt.Model:
    return modelrt.load(package, manager=manager_with(*plugins), warmup=0, **kwargs)


def test_auto_chooses_the_highest_priority_usable_backend(make_package: Callable[..., Path]) -> None:
    low = fake_backend_plugin("slow-runtime", priority=10, compute=_compute)
    high = fake_backend_plugin("fast-runtime", priority=50, compute=_compute)
    model = _load(make_package(), low, high)
    chosen = model.plan.chosen()["main"]
    assert (chosen.backend, chosen.device) == ("fast-runtime", "cpu")


def test_a_usable_accelerator_ranks_before_the_cpu(make_package: Callable[..., Path]) -> None:
    gpu = fake_backend_plugin("gpu-runtime", devices=("cuda", "cpu"), priority=10, compute=_compute)
    cpu = fake_backend_plugin("cpu-runtime", priority=90, compute=_compute)
    model = _load(make_package(), gpu, cpu)
    assert model.plan.chosen()["main"].device == "cuda:0"


def test_probing_stops_at_the_first_usable_candidate(make_package: Callable[..., Path]) -> None:
    asked: list[Device] = []

    def usable(device: Device) -> bool:
        asked.append(device)
        return True

    best = fake_backend_plugin("best", priority=90, compute=_compute)
    never_asked = fake_backend_plugin("worse", priority=10, usable=usable, compute=_compute)
    model = _load(make_package(), best, never_asked)
    assert asked == []
    statuses = {c.backend: c.status for c in model.plan.candidates}
    assert statuses == {"best": "chosen", "worse": "not-probed"}


def test_an_unusable_candidate_is_skipped_with_its_reason_and_fix(make_package: Callable[..., Path]) -> None:
    broken = fake_backend_plugin("gpu-only", devices=("cuda",), priority=90, usable=False, fix="install a driver")
    fine = fake_backend_plugin("cpu-runtime", priority=10, compute=_compute)
    model = _load(make_package(), broken, fine)
    rejected = next(c for c in model.plan.candidates if c.backend == "gpu-only")
    assert rejected.status == "unavailable"
    assert rejected.fix == "install a driver"
    assert model.plan.chosen()["main"].backend == "cpu-runtime"


def test_auto_falls_back_when_a_load_fails_and_records_why(make_package: Callable[..., Path]) -> None:
    failing = fake_backend_plugin("flaky", priority=90, load_error=PackageError("opset 99 is not supported"))
    fine = fake_backend_plugin("steady", priority=10, compute=_compute)
    model = _load(make_package(), failing, fine)
    failed = next(c for c in model.plan.candidates if c.backend == "flaky")
    assert failed.status == "failed" and "opset 99" in failed.reason
    assert model.plan.chosen()["main"].backend == "steady"


def test_a_checksum_failure_is_never_retried_elsewhere(make_package: Callable[..., Path]) -> None:
    package = make_package()
    (package / "model.onnx").write_bytes(b"tampered")
    loads: list[object] = []
    with pytest.raises(IntegrityError):
        _load(package, fake_backend_plugin("a", priority=90, loads=loads), fake_backend_plugin("b", loads=loads))
    assert loads == []


def test_an_explicit_backend_is_never_silently_replaced(make_package: Callable[..., Path]) -> None:
    wanted = fake_backend_plugin("wanted", usable=False, fix="pip install wanted-runtime")
    other = fake_backend_plugin("other", priority=90, compute=_compute)
    with pytest.raises(NoUsableBackendError, match="pip install wanted-runtime") as caught:
        _load(make_package(), wanted, other, backend="wanted")
    assert isinstance(caught.value.plan, LoadPlan)
    assert {c.backend for c in caught.value.plan.candidates} == {"wanted"}


def test_an_unknown_backend_lists_the_installed_ones(make_package: Callable[..., Path]) -> None:
    with pytest.raises(NoUsableBackendError, match=r"unknown backend 'openvino'.*\(installed backends: cpu-runtime\)"):
        _load(make_package(), fake_backend_plugin("cpu-runtime"), backend="openvino")


def test_an_explicit_device_no_backend_offers_is_an_error(make_package: Callable[..., Path]) -> None:
    cpu_only = fake_backend_plugin("cpu-runtime", compute=_compute)
    with pytest.raises(NoUsableBackendError, match="cuda:0"):
        _load(make_package(), cpu_only, device="cuda")


def test_an_explicit_absent_device_is_not_replaced_by_the_cpu(make_package: Callable[..., Path]) -> None:
    runtime = fake_backend_plugin(
        "runtime", devices=("cuda", "cpu"), usable=lambda d: d.kind == "cpu", compute=_compute
    )
    with pytest.raises(NoUsableBackendError, match="runtime cannot run on cuda:0"):
        _load(make_package(), runtime, device="cuda:0")


def test_a_bad_device_string_fails_before_anything_is_loaded(make_package: Callable[..., Path]) -> None:
    with pytest.raises(modelrt.InputError, match="unknown device"):
        _load(make_package(), fake_backend_plugin("cpu-runtime"), device="gpu0")


def test_mps_is_offered_only_to_mps_capable_architectures(make_package: Callable[..., Path]) -> None:
    apple = fake_backend_plugin("apple", devices=("mps", "cpu"), compute=_compute)
    capable = modelrt.explain(make_package(), manager=manager_with(apple))
    text = make_package(architecture="db-text-detector", task="text-detection", name="text")
    not_capable = modelrt.explain(text, manager=manager_with(apple))
    assert [c.device for c in capable.candidates] == ["mps", "cpu"]
    assert [c.device for c in not_capable.candidates] == ["cpu"]


def test_pickle_weights_are_refused_without_opt_in(make_package: Callable[..., Path]) -> None:
    package = make_package(artifacts=[("model.pt", "torch-pickle")])
    runtime = fake_backend_plugin("pickle-runtime", formats=("torch-pickle",), compute=_compute)
    with pytest.raises(SecurityError, match="allow_pickle=True"):
        _load(package, runtime)


def test_pickle_weights_load_with_per_call_opt_in(make_package: Callable[..., Path]) -> None:
    package = make_package(artifacts=[("model.pt", "torch-pickle")])
    runtime = fake_backend_plugin("pickle-runtime", formats=("torch-pickle",), compute=_compute)
    model = _load(package, runtime, allow_pickle=True)
    assert model.plan.chosen()["main"].format == "torch-pickle"


def test_no_backend_for_the_format_says_what_to_install(make_package: Callable[..., Path]) -> None:
    package = make_package(artifacts=[("model.engine", "tensorrt-engine")])
    with pytest.raises(NoUsableBackendError, match="modelrt env"):
        _load(package, fake_backend_plugin("onnx-only"))


def test_an_unknown_architecture_is_a_package_error(make_package: Callable[..., Path]) -> None:
    package = make_package(architecture="no-such-architecture")
    with pytest.raises(PackageError, match="architecture 'no-such-architecture'"):
        _load(package, fake_backend_plugin("cpu-runtime"))


def test_run_options_reach_the_backend(make_package: Callable[..., Path]) -> None:
    loads: list[object] = []
    runtime = fake_backend_plugin("runtime", compute=_compute, loads=loads)
    _load(make_package(), runtime, threads=3, extras={"runtime": {"arena": False}})
    (session,) = loads
    assert session.options.threads == 3  # type: ignore[attr-defined]
    assert session.options.for_backend("runtime") == {"arena": False}  # type: ignore[attr-defined]


def test_explain_does_not_load_anything(make_package: Callable[..., Path]) -> None:
    loads: list[object] = []
    plan = modelrt.explain(make_package(), manager=manager_with(fake_backend_plugin("r", loads=loads)))
    assert loads == []
    assert plan.chosen()["main"].backend == "r"


def test_the_plan_reads_well_and_round_trips(make_package: Callable[..., Path]) -> None:
    broken = fake_backend_plugin("gpu-only", devices=("cuda",), priority=90, usable=False, fix="install a driver")
    fine = fake_backend_plugin("cpu-runtime", compute=_compute)
    plan = _load(make_package(), broken, fine).plan
    text = str(plan)
    assert "-> " in text and "cpu-runtime on cpu" in text and "[chosen]" in text
    assert "fix: install a driver" in text
    assert LoadPlan.from_dict(plan.to_dict()) == plan
