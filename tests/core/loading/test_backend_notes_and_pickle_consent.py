"""What a backend may add to the LoadPlan, how the per-call pickle consent reaches it, and why MPS is withheld."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelrt
from modelrt.backend import Artifact
from modelrt.devices import Device
from modelrt.errors import InputError
from modelrt.hookspecs import hookimpl
from modelrt.host_environment import Environment
from modelrt.model import pickle_allowed
from modelrt.options import RunOptions
from modelrt.specs import Availability, BackendSpec
from modelrt.testing.fakes import FakeSession, fake_backend_plugin
from modelrt.testing.managers import manager_with

_loaded_options: list[RunOptions] = []
APPLE_SILICON_MAC = Environment(system="Darwin", architecture="arm64")


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.tile(np.array([[0.2, 0.5, 0.3]], np.float32), (batch.shape[0], 1))


class NotingBackend:
    """Loads like a fake backend and leaves a note for the plan, as a deprecated format would."""

    def availability(self, env: Any, device: Device) -> Availability:
        return Availability(True, "always here")

    def load(self, artifact: Artifact, device: Device, options: RunOptions) -> FakeSession:
        _loaded_options.append(options)
        session = FakeSession(_compute, device, "noting", artifact, options)
        session.notes = ("this format is deprecated; export it again",)
        return session


class NotingPlugin:
    @hookimpl
    def register_backends(self) -> list[BackendSpec]:
        return [BackendSpec("noting", ("onnx", "torch-pickle"), ("cpu",), 10, f"{__name__}:NotingBackend")]


def _load(package: Path, **kwargs: Any) -> modelrt.Model:
    return modelrt.load(package, manager=manager_with(NotingPlugin()), warmup=0, **kwargs)


def test_a_sessions_notes_join_the_plan_under_its_role(make_package: Callable[..., Path]) -> None:
    model = _load(make_package())
    assert "role 'main': this format is deprecated; export it again" in model.plan.notes
    assert "this format is deprecated" in str(model.plan)


def test_the_pickle_consent_of_the_call_reaches_the_backend(make_package: Callable[..., Path]) -> None:
    _loaded_options.clear()
    _load(make_package(artifacts=[("model.pt", "torch-pickle")]), allow_pickle=True)
    assert pickle_allowed(_loaded_options[-1])


def test_a_load_without_consent_tells_the_backend_pickle_is_not_allowed(make_package: Callable[..., Path]) -> None:
    _loaded_options.clear()
    _load(make_package())
    assert not pickle_allowed(_loaded_options[-1])


def test_callers_cannot_grant_pickle_consent_through_extras(make_package: Callable[..., Path]) -> None:
    with pytest.raises(InputError, match="allow_pickle=True"):
        _load(make_package(), extras={"modelrt": {"allow_pickle": True}})


def test_options_built_without_modelrt_load_allow_no_pickle() -> None:
    assert not pickle_allowed(RunOptions())
    assert not pickle_allowed(RunOptions(extras={"other": {"allow_pickle": True}}))


def test_on_a_mac_the_plan_says_why_mps_is_not_tried_for_an_architecture_not_marked_capable(
    make_package: Callable[..., Path],
) -> None:
    apple = fake_backend_plugin("apple", devices=("mps", "cpu"), compute=_compute)
    text = make_package(architecture="db-text-detector", task="text-detection", name="text")
    plan = modelrt.explain(text, manager=manager_with(apple), environment=APPLE_SILICON_MAC)
    assert any("mps not tried" in note and "'db-text-detector'" in note for note in plan.notes)


def test_no_mps_note_for_a_capable_architecture_or_an_explicit_device(make_package: Callable[..., Path]) -> None:
    apple = fake_backend_plugin("apple", devices=("mps", "cpu"), compute=_compute)
    capable = modelrt.explain(make_package(), manager=manager_with(apple))
    text = make_package(architecture="db-text-detector", task="text-detection", name="text")
    explicit = modelrt.explain(text, manager=manager_with(apple), device="cpu")
    assert not any("not tried" in note for note in capable.notes + explicit.notes)
