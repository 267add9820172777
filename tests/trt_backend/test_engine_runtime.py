"""``deserialize_engine``: CUDA first, then one TensorRT ``Runtime``; TensorRT's ``None`` becomes a reason."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modelrt.devices import Device
from modelrt.errors import HardwareError
from modelrt_trt.binding import TrtModule
from modelrt_trt.cuda import CudaRuntime
from modelrt_trt.engine_runtime import deserialize_engine
from modelrt_trt.testing.fake_cuda import FakeCuda
from modelrt_trt.testing.fake_tensorrt import FakeTrtState, make_fake_tensorrt

CUDA0 = Device.parse("cuda:0")


def load(api: TrtModule, plan: bytes, device: Device = CUDA0) -> object:
    return deserialize_engine(api, plan, device, CudaRuntime())


def test_cuda_is_asked_before_tensorrt_makes_its_runtime(
    trt_api: TrtModule, trt_state: FakeTrtState, make_plan: Callable[..., bytes]
) -> None:
    load(trt_api, make_plan())
    assert trt_state.calls == ["cudaGetDeviceCount", "cudaSetDevice", "Runtime", "deserialize"]


def test_without_a_cuda_driver_no_tensorrt_runtime_is_made(
    trt_api: TrtModule, trt_state: FakeTrtState, fake_cuda: FakeCuda, make_plan: Callable[..., bytes]
) -> None:
    fake_cuda.driver = False
    with pytest.raises(HardwareError, match="cudaErrorInsufficientDriver"):
        load(trt_api, make_plan())
    assert "Runtime" not in trt_state.calls


@pytest.mark.usefixtures("no_cuda_python")
def test_without_cuda_python_no_tensorrt_runtime_is_made(
    trt_state: FakeTrtState, make_plan: Callable[..., bytes]
) -> None:
    api = TrtModule(module=make_fake_tensorrt(trt_state), flavour="tensorrt")
    with pytest.raises(HardwareError, match="cuda-python"):
        load(api, make_plan())
    assert "Runtime" not in trt_state.calls


def test_an_absent_gpu_is_refused_before_tensorrt_runs(
    trt_api: TrtModule, trt_state: FakeTrtState, make_plan: Callable[..., bytes]
) -> None:
    with pytest.raises(HardwareError, match="cuda:1 is absent: this process sees 1 GPU;"):
        load(trt_api, make_plan(), Device.parse("cuda:1"))
    assert "Runtime" not in trt_state.calls


def test_the_handle_keeps_the_runtime_alive_with_its_engine(
    trt_api: TrtModule, make_plan: Callable[..., bytes]
) -> None:
    handle = deserialize_engine(trt_api, make_plan(), CUDA0, CudaRuntime())
    assert handle.engine.num_io_tensors == 2
    assert handle.runtime is not None and handle.device == CUDA0


def test_a_plan_of_another_tensorrt_version_is_refused_quoting_tensorrt(
    trt_api: TrtModule, make_plan: Callable[..., bytes]
) -> None:
    with pytest.raises(HardwareError) as refused:
        load(trt_api, make_plan(version="10.0.1"))
    message = str(refused.value)
    assert "TensorRT 10.3.0 refused this engine on cuda:0" in message
    assert "TensorRT said: IRuntime::deserializeCudaEngine: Error Code 6" in message
    assert "expecting library version 10.3.0 got 10.0.1" in message
    assert "`modelrt build`" in message


def test_a_plan_built_for_another_gpu_is_refused_quoting_tensorrt(
    trt_api: TrtModule, make_plan: Callable[..., bytes]
) -> None:
    with pytest.raises(
        HardwareError, match=r"expecting compute 8\.6 got compute 8\.9.*does not fit this TensorRT or GPU"
    ):
        load(trt_api, make_plan(compute_capability="8.9"))


def test_bytes_that_are_no_plan_are_refused_quoting_tensorrt(trt_api: TrtModule) -> None:
    with pytest.raises(HardwareError, match=r"Magic tag does not match.*not a TensorRT plan"):
        load(trt_api, b"<html>not found</html>")


def test_bindings_older_than_tensorrt_10_are_refused_before_cuda_or_tensorrt_run(
    monkeypatch: pytest.MonkeyPatch, fake_cuda: FakeCuda, make_plan: Callable[..., bytes]
) -> None:
    state = FakeTrtState(version="8.6.2", cuda=fake_cuda, calls=fake_cuda.calls)
    legacy = TrtModule(module=make_fake_tensorrt(state), flavour="tensorrt")
    with pytest.raises(HardwareError, match=r"TensorRT 8\.6\.2 is too old.*TensorRT 10 or newer"):
        load(legacy, make_plan())
    assert state.calls == []


def test_a_dla_device_runs_on_its_dla_core(
    trt_api: TrtModule, trt_state: FakeTrtState, make_plan: Callable[..., bytes]
) -> None:
    trt_state.dla_cores = 2
    handle = deserialize_engine(trt_api, make_plan(), Device.parse("dla:1"), CudaRuntime())
    assert handle.runtime.DLA_core == 1


def test_an_absent_dla_core_is_refused_naming_how_many_there_are(
    trt_api: TrtModule, trt_state: FakeTrtState, make_plan: Callable[..., bytes]
) -> None:
    trt_state.dla_cores = 2
    with pytest.raises(HardwareError, match=r"dla:2 is absent: this device has 2 DLA cores; use dla:0 to dla:1"):
        load(trt_api, make_plan(), Device.parse("dla:2"))
    assert "deserialize" not in trt_state.calls


def test_a_dla_device_on_a_gpu_without_dla_is_refused(trt_api: TrtModule, make_plan: Callable[..., bytes]) -> None:
    with pytest.raises(HardwareError, match=r"dla:0 is absent: this device has no DLA cores.*use cuda:0"):
        load(trt_api, make_plan(), Device.parse("dla:0"))


def test_a_runtime_tensorrt_cannot_make_is_a_hardware_error_quoting_it(
    trt_api: TrtModule, make_plan: Callable[..., bytes]
) -> None:
    trt_api.module.fake_runtime_faults.no_runtime = True
    with pytest.raises(
        HardwareError, match=r"could not start its runtime on cuda:0 \(TensorRT said: .*CUDA init.*nullptr"
    ):
        load(trt_api, make_plan())
