"""A Model says where it runs: what was chosen, apart from what was asked, for the whole model and per role."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

import modelrt
from modelrt.options import RunOptions
from modelrt.plan import Candidate, LoadPlan
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.repeat(np.array([[0.1, 0.7, 0.2]], np.float32), batch.shape[0], axis=0)


def test_a_model_loaded_with_auto_names_the_backend_and_device_chosen(make_package: Callable[..., Path]) -> None:
    gpu = fake_backend_plugin("gpu-runtime", devices=("cuda", "cpu"), priority=50, compute=_compute)
    model = modelrt.load(make_package(), manager=manager_with(gpu), warmup=0)
    assert (model.backend, model.device) == ("gpu-runtime", "cuda:0")
    assert (model.plan.requested_backend, model.plan.requested_device) == ("auto", "auto")
    assert (model.plan.backend, model.plan.device) == ("gpu-runtime", "cuda:0")
    assert model.plan.chosen()["main"].backend == "gpu-runtime"


def test_the_plan_as_json_carries_both_what_was_asked_and_what_was_chosen(make_package: Callable[..., Path]) -> None:
    runtime = fake_backend_plugin("runtime", compute=_compute)
    plan = modelrt.load(make_package(), manager=manager_with(runtime), warmup=0, device="cpu").plan
    data = json.loads(plan.to_json())
    assert (data["requested_backend"], data["requested_device"]) == ("auto", "cpu")
    assert (data["backend"], data["device"]) == ("runtime", "cpu")
    assert LoadPlan.from_dict(data) == plan


def test_the_readable_plan_says_what_was_chosen(make_package: Callable[..., Path]) -> None:
    runtime = fake_backend_plugin("runtime", compute=_compute)
    text = str(modelrt.load(make_package(), manager=manager_with(runtime), warmup=0).plan)
    assert "  asked: backend=auto device=auto" in text
    assert "  chosen: runtime on cpu" in text


def test_a_plan_with_nothing_usable_has_no_backend_or_device(make_package: Callable[..., Path]) -> None:
    absent = fake_backend_plugin("absent", usable=False)
    plan = modelrt.explain(make_package(), manager=manager_with(absent))
    assert (plan.backend, plan.device) == (None, None)
    assert "chosen: nothing for role 'main'" in str(plan)


def _chosen(role: str, backend: str, device: str) -> Candidate:
    return Candidate(role, f"{role}.onnx", "onnx", backend, device, 10, status="chosen")


def test_roles_on_different_backends_are_all_named_and_each_role_is_in_chosen() -> None:
    plan = LoadPlan(
        model="faces",
        reference="",
        source="local-directory",
        architecture="mtcnn",
        requested_backend="auto",
        requested_device="auto",
        options=RunOptions(),
        candidates=(_chosen("pnet", "tensorrt", "cuda:0"), _chosen("onet", "onnxruntime", "cuda:0")),
    )
    assert (plan.backend, plan.device) == ("tensorrt+onnxruntime", "cuda:0")
    assert {role: c.backend for role, c in plan.chosen().items()} == {"pnet": "tensorrt", "onet": "onnxruntime"}
