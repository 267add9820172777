"""``CudaRuntime``: cuda-python's error tuples become typed errors that name the call and CUDA's error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelrt.devices import Device
from modelrt.errors import HardwareError, ModelRTError
from modelrt_trt.cuda import CudaRuntime, cuda_device_index
from modelrt_trt.testing.fake_cuda import CudaError, FakeCuda, install_fake_cuda


@pytest.fixture
def cuda(fake_cuda: FakeCuda) -> CudaRuntime:
    return CudaRuntime()


def round_trip(cuda: CudaRuntime, values: np.ndarray) -> np.ndarray:
    """Copy ``values`` to the device and back through pinned memory, as a session does."""
    size = values.nbytes
    staging, device, stream = cuda.malloc_host(size), cuda.malloc(size), cuda.stream_create()
    staging[:] = values.view(np.uint8).reshape(-1)
    cuda.memcpy_htod_async(device, staging.ctypes.data, size, stream)
    cuda.stream_synchronize(stream)  # the copy reads the staging memory when it runs, not when it is queued
    staging[:] = 0
    cuda.memcpy_dtoh_async(staging.ctypes.data, device, size, stream)
    cuda.stream_synchronize(stream)
    result = staging.view(values.dtype).copy()
    cuda.free_host(staging)
    cuda.free(device)
    cuda.stream_destroy(stream)
    return result


def test_check_device_answers_how_many_gpus_the_process_sees(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.device_count = 2
    assert cuda.check_device(1) == 2


@pytest.mark.usefixtures("no_cuda_python")
def test_missing_cuda_python_is_a_hardware_error_naming_the_extra_to_install() -> None:
    with pytest.raises(HardwareError, match=r"cuda-python.*not installed.*modelrt-trt\[cu12\].*\[cu13\]"):
        CudaRuntime().check_device(0)


def test_cuda_python_before_12_6_is_used_through_cuda_cudart(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = install_fake_cuda(monkeypatch, FakeCuda(device_count=3), legacy=True)
    assert CudaRuntime().check_device(0) == 3
    assert fake.calls == ["cudaGetDeviceCount"]


def test_no_usable_driver_is_a_hardware_error_naming_cudas_error(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.driver = False
    with pytest.raises(
        HardwareError, match=r"cudaGetDeviceCount.*cudaErrorInsufficientDriver \(35\).*no usable NVIDIA"
    ):
        cuda.check_device(0)


def test_a_driver_without_gpus_is_a_hardware_error_naming_cudas_error(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.device_count = 0
    with pytest.raises(HardwareError, match=r"cudaErrorNoDevice \(100\).*no usable NVIDIA driver/GPU"):
        cuda.check_device(0)


def test_an_absent_gpu_index_says_how_many_gpus_this_process_sees(
    fake_cuda: FakeCuda, cuda: CudaRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cuda.device_count = 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with pytest.raises(
        HardwareError, match=r"cuda:2 is absent: this process sees 2 GPUs \(CUDA_VISIBLE_DEVICES='0,1'\)"
    ):
        cuda.check_device(2)


def test_set_device_makes_the_gpu_current(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.device_count = 2
    cuda.set_device(1)
    assert fake_cuda.current_device == 1


def test_a_device_cuda_refuses_to_make_current_is_a_hardware_error(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    with pytest.raises(HardwareError, match=r"cudaSetDevice failed with cudaErrorInvalidDevice"):
        cuda.set_device(1)


def test_tensorrt_devices_map_to_cuda_devices() -> None:
    assert cuda_device_index(Device.parse("cuda:1")) == 1
    assert cuda_device_index(Device.parse("dla:1")) == 0  # a Jetson's DLA cores sit beside its one GPU
    with pytest.raises(HardwareError, match="cuda:N or dla:N"):
        cuda_device_index(Device.parse("cpu"))


def test_data_goes_to_the_device_and_back_through_pinned_memory(cuda: CudaRuntime) -> None:
    values = np.arange(24, dtype=np.float32)
    np.testing.assert_array_equal(round_trip(cuda, values), values)


def test_pinned_memory_is_a_flat_byte_view_released_by_free_host(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    staging = cuda.malloc_host(64)
    assert (staging.dtype, staging.shape, fake_cuda.live_host_allocations) == (np.uint8, (64,), 1)
    cuda.free_host(staging)
    assert fake_cuda.live_host_allocations == 0


def test_out_of_gpu_memory_names_the_size_asked_for(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.memory_limit = 2**20
    with pytest.raises(
        ModelRTError, match=r"cudaMalloc of 3\.0 MiB failed with cudaErrorMemoryAllocation.*out of GPU memory"
    ):
        cuda.malloc(3 * 2**20)


def test_out_of_pinned_memory_says_it_is_host_memory(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.fail["cudaMallocHost"] = CudaError.cudaErrorMemoryAllocation
    with pytest.raises(ModelRTError, match=r"cudaMallocHost of 1\.0 MiB .*out of pinned host memory"):
        cuda.malloc_host(2**20)


def _calls_through_a_live_stream(name: str) -> Callable[[CudaRuntime], Any]:
    def call(cuda: CudaRuntime) -> Any:
        stream, device, staging = cuda.stream_create(), cuda.malloc(16), cuda.malloc_host(16)
        actions: dict[str, Callable[[], Any]] = {
            "cudaMemcpyAsync": lambda: cuda.memcpy_htod_async(device, staging.ctypes.data, 16, stream),
            "cudaStreamSynchronize": lambda: cuda.stream_synchronize(stream),
            "cudaStreamDestroy": lambda: cuda.stream_destroy(stream),
            "cudaFree": lambda: cuda.free(device),
            "cudaFreeHost": lambda: cuda.free_host(staging),
            "cudaStreamBeginCapture": lambda: cuda.capture_graph(stream, lambda: None),
            "cudaGraphInstantiate": lambda: cuda.capture_graph(stream, lambda: None),
        }
        return actions[name]()

    return call


@pytest.mark.parametrize(
    "call",
    [
        "cudaMemcpyAsync",
        "cudaStreamSynchronize",
        "cudaStreamDestroy",
        "cudaFree",
        "cudaFreeHost",
        "cudaStreamBeginCapture",
        "cudaGraphInstantiate",
    ],
)
def test_a_failure_while_running_is_a_modelrt_error_naming_the_call_and_cudas_error(
    fake_cuda: FakeCuda, cuda: CudaRuntime, call: str
) -> None:
    fake_cuda.fail[call] = CudaError.cudaErrorLaunchFailure
    with pytest.raises(ModelRTError, match=rf"{call} failed with cudaErrorLaunchFailure \(719\).*restart the process"):
        _calls_through_a_live_stream(call)(cuda)


def test_creating_a_stream_can_fail_with_a_typed_error(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.fail["cudaStreamCreateWithFlags"] = CudaError.cudaErrorInvalidValue
    with pytest.raises(ModelRTError, match=r"cudaStreamCreateWithFlags failed with cudaErrorInvalidValue \(1\)"):
        cuda.stream_create()


def test_a_captured_graph_replays_the_captured_work_on_each_launch(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    stream, device, staging = cuda.stream_create(), cuda.malloc(4), cuda.malloc_host(4)
    graph = cuda.capture_graph(stream, lambda: cuda.memcpy_htod_async(device, staging.ctypes.data, 4, stream))
    cuda.stream_synchronize(stream)
    assert fake_cuda.read(device, 4) == bytes(4)  # capturing records the copy without running it
    for value in (7, 9):
        staging[:] = value
        cuda.launch_graph(graph, stream)
        cuda.stream_synchronize(stream)
        assert fake_cuda.read(device, 4) == bytes([value] * 4)
    assert fake_cuda.graphs_launched == 2
    cuda.destroy_graph(graph)
    assert fake_cuda.live_graphs == 0


def test_a_capture_cuda_invalidates_is_a_modelrt_error_leaving_no_graph(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.fail_capture = True
    stream = cuda.stream_create()
    with pytest.raises(ModelRTError, match=r"cudaStreamEndCapture failed with cudaErrorStreamCaptureInvalidated"):
        cuda.capture_graph(stream, lambda: None)
    assert fake_cuda.live_graphs == 0
    assert fake_cuda.calls[-1] == "cudaGetLastError"  # cleared, so TensorRT's next enqueue does not inherit it


def test_capture_ends_when_the_enqueue_raises_so_the_stream_runs_work_again(
    fake_cuda: FakeCuda, cuda: CudaRuntime
) -> None:
    stream, device, staging = cuda.stream_create(), cuda.malloc(4), cuda.malloc_host(4)

    def failing_enqueue() -> None:
        raise ModelRTError("TensorRT could not run this engine")

    with pytest.raises(ModelRTError, match="could not run"):
        cuda.capture_graph(stream, failing_enqueue)
    staging[:] = 5
    cuda.memcpy_htod_async(device, staging.ctypes.data, 4, stream)
    cuda.stream_synchronize(stream)
    assert fake_cuda.read(device, 4) == bytes([5] * 4)
    assert fake_cuda.live_graphs == 0


def test_instantiating_a_graph_that_fails_destroys_the_captured_graph(fake_cuda: FakeCuda, cuda: CudaRuntime) -> None:
    fake_cuda.fail["cudaGraphInstantiate"] = CudaError.cudaErrorInvalidValue
    with pytest.raises(ModelRTError, match="cudaGraphInstantiate"):
        cuda.capture_graph(cuda.stream_create(), lambda: None)
    assert fake_cuda.live_graphs == 0


# ------------------------------------------------------------------ the real cuda-python, where installed


def _real_gpu_count() -> int | None:
    """GPUs the installed cuda-python sees: ``None`` without cuda-python, 0 without a driver or GPU."""
    try:
        from cuda.bindings import runtime
    except Exception:  # not installed, or a broken install: nothing real to test against
        return None
    error, count = runtime.cudaGetDeviceCount()
    return int(count) if error == runtime.cudaError_t.cudaSuccess else 0


REAL_GPUS = _real_gpu_count()


@pytest.mark.skipif(REAL_GPUS != 0, reason="needs cuda-python installed on a machine without a usable GPU")
def test_the_real_cuda_python_without_a_gpu_is_a_hardware_error_before_tensorrt() -> None:
    with pytest.raises(HardwareError, match=r"cudaGetDeviceCount failed with cudaError(InsufficientDriver|NoDevice)"):
        CudaRuntime().check_device(0)


@pytest.mark.gpu
@pytest.mark.skipif(not REAL_GPUS, reason="needs cuda-python and an NVIDIA GPU")
def test_on_a_gpu_data_round_trips_and_a_captured_copy_replays() -> None:
    cuda = CudaRuntime()
    assert cuda.check_device(0) == REAL_GPUS
    cuda.set_device(0)
    values = np.linspace(-1, 1, 1024, dtype=np.float32)
    np.testing.assert_array_equal(round_trip(cuda, values), values)
    stream, device, staging, back = cuda.stream_create(), cuda.malloc(16), cuda.malloc_host(16), cuda.malloc_host(16)
    graph = cuda.capture_graph(stream, lambda: cuda.memcpy_htod_async(device, staging.ctypes.data, 16, stream))
    for value in (3, 4):
        staging[:] = value
        cuda.launch_graph(graph, stream)
        cuda.memcpy_dtoh_async(back.ctypes.data, device, 16, stream)
        cuda.stream_synchronize(stream)
        assert bytes(back) == bytes([value] * 16)
    cuda.destroy_graph(graph)
    for array in (staging, back):
        cuda.free_host(array)
    cuda.free(device)
    cuda.stream_destroy(stream)
