"""The provider table and the detection of which onnxruntime build is installed (from metadata only)."""

from __future__ import annotations

import pytest

from modelrt.devices import Device
from modelrt_onnx.providers import (
    PROVIDERS,
    RuntimeBuild,
    conflict_fix,
    installed_runtime_builds,
    provider_for,
)


def _versions(installed: dict[str, str]):  # type: ignore[no-untyped-def]
    return installed.get


@pytest.mark.parametrize(
    ("device", "provider"),
    [
        ("cpu", "CPUExecutionProvider"),
        ("cuda:1", "CUDAExecutionProvider"),
        ("coreml", "CoreMLExecutionProvider"),
    ],
)
def test_each_supported_device_kind_maps_to_its_execution_provider(device: str, provider: str) -> None:
    row = provider_for(Device.parse(device))
    assert row is not None and row.provider == provider


@pytest.mark.parametrize("device", ["mps", "dla:0"])
def test_device_kinds_without_an_onnxruntime_provider_have_no_row(device: str) -> None:
    assert provider_for(Device.parse(device)) is None


def test_cuda_provider_options_carry_the_device_index() -> None:
    row = provider_for(Device.parse("cuda:1"))
    assert row is not None and row.options(Device.parse("cuda:1"))["device_id"] == "1"


def test_cpu_provider_takes_no_options() -> None:
    row = provider_for(Device.parse("cpu"))
    assert row is not None and row.options(Device.parse("cpu")) == {}


def test_tensorrt_provider_is_listed_but_not_offered_yet() -> None:
    tensorrt = [row for row in PROVIDERS if row.provider == "TensorrtExecutionProvider"]
    assert len(tensorrt) == 1 and not tensorrt[0].offered
    chosen = provider_for(Device.parse("cuda"))
    assert chosen is not None and chosen.provider == "CUDAExecutionProvider"


def test_installed_builds_are_read_from_package_metadata() -> None:
    builds = installed_runtime_builds(_versions({"onnxruntime-gpu": "1.22.0"}))
    assert builds == (RuntimeBuild("onnxruntime-gpu", "1.22.0"),)


def test_no_build_installed_gives_no_builds() -> None:
    assert installed_runtime_builds(_versions({})) == ()


def test_every_clashing_build_is_reported() -> None:
    builds = installed_runtime_builds(_versions({"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.22.0"}))
    assert [build.distribution for build in builds] == ["onnxruntime", "onnxruntime-gpu"]


def test_this_environment_has_exactly_the_cpu_build() -> None:
    assert [build.distribution for build in installed_runtime_builds()] == ["onnxruntime"]


def test_conflict_fix_uninstalls_both_builds_and_installs_the_one_extra_the_device_needs() -> None:
    builds = (RuntimeBuild("onnxruntime", "1.32.0"), RuntimeBuild("onnxruntime-gpu", "1.22.0"))
    assert conflict_fix(builds, "cpu") == 'pip uninstall -y onnxruntime onnxruntime-gpu && pip install "modelrt[onnx]"'
    assert conflict_fix(builds, "cuda") == (
        'pip uninstall -y onnxruntime onnxruntime-gpu && pip install "modelrt[onnx-gpu]"'
    )
