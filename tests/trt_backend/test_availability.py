"""When the tensorrt backend is usable, and what it says when it is not: cheapest checks first."""

from __future__ import annotations

import sys
from typing import Any

import attrs
import pytest

from modelrt.devices import Device
from modelrt.host_environment import Environment
from modelrt.nvidia.gpus import Gpu
from modelrt_trt import availability
from modelrt_trt.backend import TensorRTBackend
from modelrt_trt.testing.fake_tensorrt import FakeTrtState
from modelrt_trt.testing.gpu_stack import use_fake_gpu_stack

A4000 = Gpu(index=0, name="NVIDIA RTX A4000", compute_capability="8.6", cuda_index=0)


def gpu_host(*gpus: Gpu, cuda_driver: str = "12.4") -> Environment:
    return Environment(
        system="Linux",
        nvidia_evidence=("proc/driver/nvidia/version",),
        nvidia_driver_version="550.54.14",
        cuda_driver_version=cuda_driver,
        gpus=gpus,
    )


def jetson_host(**jetson: Any) -> Environment:
    facts = {"is_jetson": True, "l4t": "36.4.0", "gpu_compute_capability": "8.7", "dla_cores": 2, "module": "AGX Orin"}
    return Environment(system="Linux", jetson_hint="R36", facts={"jetson": {**facts, **jetson}})


@pytest.fixture
def tensorrt(monkeypatch: pytest.MonkeyPatch) -> FakeTrtState:
    """A fake TensorRT 10.3 as the only installed flavour, and cuda-python present."""
    return use_fake_gpu_stack(monkeypatch)


def check(env: Environment, device: str) -> Any:
    return TensorRTBackend().availability(env, Device.parse(device))


def test_a_visible_gpu_with_tensorrt_and_cuda_python_is_usable_and_named(tensorrt: FakeTrtState) -> None:
    result = check(gpu_host(A4000), "cuda:0")
    assert result.usable
    assert result.reason == "TensorRT 10.3.0 on cuda:0 (NVIDIA RTX A4000, compute capability 8.6)"


def test_a_host_without_a_driver_is_not_usable_and_tensorrt_is_not_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    env = Environment(system="Linux", unknown={"nvidia": "no NVIDIA driver on this host"})
    result = check(env, "cuda:0")
    assert not result.usable
    assert result.reason == "no NVIDIA GPU for TensorRT: no NVIDIA driver on this host"
    assert "tensorrt" not in sys.modules


@pytest.mark.parametrize("device", ["cpu", "mps", "coreml"])
def test_devices_other_than_cuda_and_dla_are_not_usable(device: str) -> None:
    assert "runs on cuda:N and (on Jetson) dla:N" in check(gpu_host(A4000), device).reason


def test_a_cuda_index_this_process_does_not_see_names_the_gpus_it_does(tensorrt: FakeTrtState) -> None:
    result = check(gpu_host(A4000), "cuda:1")
    assert not result.usable
    assert result.reason == "cuda:1 is not a GPU this process sees (it sees cuda:0 (NVIDIA RTX A4000))"


@pytest.mark.parametrize(("cuda_driver", "extra"), [("12.4", "trt-cu12"), ("13.0", "trt-cu13")])
def test_without_tensorrt_the_fix_installs_the_build_for_the_drivers_cuda_major(
    monkeypatch: pytest.MonkeyPatch, cuda_driver: str, extra: str
) -> None:
    monkeypatch.setattr(availability, "find_flavours", lambda: ())
    result = check(gpu_host(A4000, cuda_driver=cuda_driver), "cuda:0")
    assert not result.usable
    assert result.reason == "TensorRT is not installed (no tensorrt module)"
    assert result.fix == f'pip install "modelrt[{extra}]"'


def test_without_cuda_python_the_backend_is_not_usable(tensorrt: FakeTrtState, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(availability, "cuda_python_installed", lambda: False)
    result = check(gpu_host(A4000), "cuda:0")
    assert not result.usable
    assert "cuda-python is not installed" in result.reason
    assert result.fix == 'pip install "modelrt[trt-cu12]"'


def test_tensorrt_older_than_10_is_refused_with_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_gpu_stack(monkeypatch, FakeTrtState(version="8.6.2"))
    result = check(gpu_host(A4000), "cuda:0")
    assert not result.usable
    assert "TensorRT 8.6.2 is too old for modelrt-trt, which needs TensorRT 10 or newer" in result.reason


def test_dla_is_only_on_jetson(tensorrt: FakeTrtState) -> None:
    assert "DLA cores exist only on NVIDIA Jetson boards" in check(gpu_host(A4000), "dla:0").reason


def test_a_jetson_offers_its_dla_cores_and_refuses_one_it_lacks(tensorrt: FakeTrtState) -> None:
    env = jetson_host()
    assert check(env, "dla:1").usable
    assert check(env, "cuda:0").reason == "TensorRT 10.3.0 on cuda:0 (Jetson AGX Orin, compute capability 8.7)"
    assert check(env, "dla:2").reason == "dla:2: this Jetson has 2 DLA cores (dla:0..dla:1)"
    assert check(jetson_host(dla_cores=0), "dla:0").reason == "dla:0: this Jetson has no DLA core"


def test_a_pypi_tensorrt_wheel_on_a_jetson_is_refused_with_the_uninstall(tensorrt: FakeTrtState) -> None:
    env = jetson_host(tensorrt_wheels=[{"name": "tensorrt-cu12", "version": "10.3.0", "location": "/venv"}])
    result = check(env, "cuda:0")
    assert not result.usable
    assert "shadow the TensorRT that JetPack ships" in result.reason
    assert result.fix == "pip uninstall -y tensorrt-cu12"


def test_on_a_jetson_without_tensorrt_the_fix_points_to_jetpack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(availability, "find_flavours", lambda: ())
    assert "TensorRT comes with JetPack" in (check(jetson_host(), "cuda:0").fix or "")


def test_on_a_jetson_whose_venv_hides_jetpacks_bindings_the_reason_says_how_to_see_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(availability, "find_flavours", lambda: ())
    bindings = [{"python": "3.10", "path": "/usr/lib/python3.10/dist-packages/tensorrt", "version": "10.3.0"}]
    env = attrs.evolve(jetson_host(tensorrt_bindings=bindings), python_version="3.10.12")
    reason = check(env, "cuda:0").reason
    assert "JetPack's TensorRT bindings for Python 3.10 are in /usr/lib/python3.10/dist-packages/tensorrt" in reason
    assert "--system-site-packages" in reason
    other_python = attrs.evolve(env, python_version="3.12.3")
    assert check(other_python, "cuda:0").reason == (
        "JetPack's TensorRT bindings are built for Python 3.10, not for this Python 3.12"
    )
