"""``CudaRuntime``: the CUDA runtime calls a TensorRT session needs, through cuda-python, with typed errors.

cuda-python reports failure as the first item of a returned tuple (``(cudaError_t, value)``), never as an
exception, so every call here goes through ``_checked``, which turns a non-success code into a modelrt
error naming the call and CUDA's error name: ``HardwareError`` when the driver or device is missing or
refused, ``ModelRTError`` for a failure while running (out of memory names the size asked for).

``check_device`` runs before anything touches TensorRT's ``Runtime``: the lean runtime crashes the
process when it deserialises a plan without a usable CUDA driver, while cuda-python answers
``cudaErrorInsufficientDriver`` politely.

cuda-python is imported on first use (``cuda.bindings.runtime``, or ``cuda.cudart`` from cuda-python
releases before 12.6), and numpy only by ``malloc_host``; importing this module imports neither.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from modelrt.errors import HardwareError, ModelRTError

if TYPE_CHECKING:
    import numpy as np

    from modelrt.devices import Device

__all__ = ["CudaGraph", "CudaRuntime", "cuda_device_index", "import_cudart"]

#: Codes that mean the driver or the device cannot be used at all (a ``HardwareError``).
_DEVICE_ERRORS = frozenset(
    {
        "cudaErrorInsufficientDriver",
        "cudaErrorNoDevice",
        "cudaErrorInvalidDevice",
        "cudaErrorDevicesUnavailable",
        "cudaErrorSystemDriverMismatch",
        "cudaErrorCompatNotSupportedOnDevice",
        "cudaErrorSystemNotReady",
    }
)
_OUT_OF_MEMORY = "cudaErrorMemoryAllocation"
#: Errors after which the process's CUDA context is unusable (CUDA makes them "sticky").
_STICKY_ERRORS = frozenset(
    {"cudaErrorIllegalAddress", "cudaErrorLaunchFailure", "cudaErrorHardwareStackError", "cudaErrorIllegalInstruction"}
)
_INSTALL_HINT = 'install it with `pip install "modelrt-trt[cu12]"` (or [cu13] for CUDA 13 drivers)'


def import_cudart() -> Any:
    """cuda-python's runtime module; a ``HardwareError`` saying what to install when it is missing."""
    try:
        from cuda.bindings import runtime

        return runtime
    except ImportError:
        pass
    except Exception as error:  # a broken install raises OSError or worse from its extension modules
        raise _broken_install(error) from None
    try:
        from cuda import cudart  # cuda-python before 12.6 has no cuda.bindings

        return cudart
    except ImportError:
        raise HardwareError(
            f"TensorRT engines need cuda-python (the CUDA runtime bindings), which is not installed; {_INSTALL_HINT}"
        ) from None
    except Exception as error:
        raise _broken_install(error) from None


def _broken_install(error: Exception) -> HardwareError:
    return HardwareError(
        f"cuda-python is installed but does not import: {type(error).__name__}: {error}. Reinstall it; {_INSTALL_HINT}"
    )


def cuda_device_index(device: Device) -> int:
    """The CUDA device a TensorRT device runs on: ``cuda:N`` is N; ``dla:N`` is on the Jetson's one GPU."""
    if device.kind == "cuda":
        return device.index or 0
    if device.kind == "dla":
        return 0
    raise HardwareError(f"TensorRT runs on cuda:N or dla:N devices, not {device}; choose another backend for it")


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB"


@attrs.frozen
class CudaGraph:
    """A captured CUDA graph and its executable instance, replayed with ``CudaRuntime.launch_graph``."""

    graph: Any
    executable: Any


class CudaRuntime:
    """The CUDA runtime calls of one TensorRT device, each checked; cuda-python is imported on first use."""

    def __init__(self) -> None:
        self._module: Any = None

    @property
    def module(self) -> Any:
        """cuda-python's runtime module (imported now if it was not yet)."""
        if self._module is None:
            self._module = import_cudart()
        return self._module

    # ------------------------------------------------------------------------------------- devices

    def check_device(self, index: int) -> int:
        """That a driver works and ``cuda:index`` exists; the number of GPUs this process sees."""
        count = self._checked("cudaGetDeviceCount", self.module.cudaGetDeviceCount(), hardware=True)
        if index >= count:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            limited = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
            raise HardwareError(
                f"cuda:{index} is absent: this process sees {count} GPU{'s' if count != 1 else ''}{limited}; "
                f"choose a device from cuda:0 to cuda:{count - 1}"
            )
        return int(count)

    def set_device(self, index: int) -> None:
        """Make ``cuda:index`` current on the calling thread (CUDA keeps one current device per thread)."""
        self._checked("cudaSetDevice", self.module.cudaSetDevice(index), hardware=True)

    # -------------------------------------------------------------------------------------- memory

    def malloc(self, nbytes: int) -> int:
        """``nbytes`` of device memory; its address."""
        return int(self._checked("cudaMalloc", self.module.cudaMalloc(nbytes), nbytes=nbytes))

    def free(self, pointer: int) -> None:
        self._checked("cudaFree", self.module.cudaFree(pointer))

    def malloc_host(self, nbytes: int) -> np.ndarray:
        """``nbytes`` of pinned host memory as a flat ``uint8`` numpy view (valid until ``free_host``)."""
        import numpy as np

        pointer = int(self._checked("cudaMallocHost", self.module.cudaMallocHost(nbytes), nbytes=nbytes, host=True))
        return np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(pointer))

    def free_host(self, array: np.ndarray) -> None:
        """Release pinned memory from ``malloc_host``; ``array`` must not be used afterwards."""
        self._checked("cudaFreeHost", self.module.cudaFreeHost(array.ctypes.data))

    def memcpy_htod_async(self, device_pointer: int, host_pointer: int, nbytes: int, stream: Any) -> None:
        kind = self.module.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._checked(
            "cudaMemcpyAsync", self.module.cudaMemcpyAsync(device_pointer, host_pointer, nbytes, kind, stream)
        )

    def memcpy_dtoh_async(self, host_pointer: int, device_pointer: int, nbytes: int, stream: Any) -> None:
        kind = self.module.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._checked(
            "cudaMemcpyAsync", self.module.cudaMemcpyAsync(host_pointer, device_pointer, nbytes, kind, stream)
        )

    # ------------------------------------------------------------------------------------- streams

    def stream_create(self) -> Any:
        """A non-blocking stream: it never waits on the legacy default stream other libraries may use."""
        flags = self.module.cudaStreamNonBlocking
        return self._checked("cudaStreamCreateWithFlags", self.module.cudaStreamCreateWithFlags(flags))

    @staticmethod
    def stream_handle(stream: Any) -> int:
        """The integer handle TensorRT's ``execute_async_v3`` takes."""
        return int(stream)

    def stream_synchronize(self, stream: Any) -> None:
        self._checked("cudaStreamSynchronize", self.module.cudaStreamSynchronize(stream))

    def stream_destroy(self, stream: Any) -> None:
        self._checked("cudaStreamDestroy", self.module.cudaStreamDestroy(stream))

    # -------------------------------------------------------------------------------------- graphs

    def capture_graph(self, stream: Any, enqueue: Callable[[], None]) -> CudaGraph:
        """Record what ``enqueue`` puts on ``stream`` into a graph instead of running it.

        The capture mode is thread-local, so other threads may keep allocating and running on their
        own streams meanwhile. Capture always ends, also when ``enqueue`` raises, so ``stream`` stays usable.
        """
        runtime = self.module
        mode = runtime.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self._checked("cudaStreamBeginCapture", runtime.cudaStreamBeginCapture(stream, mode))
        try:
            enqueue()
        except BaseException:
            self._discard(runtime.cudaStreamEndCapture(stream))
            raise
        ended = runtime.cudaStreamEndCapture(stream)
        if ended[0] != runtime.cudaError_t.cudaSuccess:
            self._discard(ended)
        graph = self._checked("cudaStreamEndCapture", ended)
        try:
            executable = self._checked("cudaGraphInstantiate", runtime.cudaGraphInstantiate(graph, 0))
        except ModelRTError:
            self._discard((None, graph))
            raise
        return CudaGraph(graph, executable)

    def _discard(self, ended: Any) -> None:
        """Destroy what a failed or abandoned capture left, and clear CUDA's last error.

        A failed capture leaves its error as the thread's last CUDA error, which TensorRT's next enqueue
        would otherwise report as its own failure.
        """
        if len(ended) > 1 and ended[1] is not None:
            self.module.cudaGraphDestroy(ended[1])
        self.module.cudaGetLastError()

    def launch_graph(self, graph: CudaGraph, stream: Any) -> None:
        self._checked("cudaGraphLaunch", self.module.cudaGraphLaunch(graph.executable, stream))

    def destroy_graph(self, graph: CudaGraph) -> None:
        self._checked("cudaGraphExecDestroy", self.module.cudaGraphExecDestroy(graph.executable))
        self._checked("cudaGraphDestroy", self.module.cudaGraphDestroy(graph.graph))

    # ------------------------------------------------------------------------------------- errors

    def _checked(
        self, call: str, result: Any, *, nbytes: int | None = None, hardware: bool = False, host: bool = False
    ) -> Any:
        """The value of a cuda-python ``(error, value)`` tuple, or the typed error for ``error``."""
        error = result[0]
        if error == self.module.cudaError_t.cudaSuccess:
            return result[1] if len(result) > 1 else None
        name = getattr(error, "name", None) or str(error)
        code = f"{name} ({int(error)})"
        if name in _DEVICE_ERRORS:
            raise HardwareError(
                f"{call} failed with {code}: no usable NVIDIA driver/GPU for CUDA. Check that the NVIDIA driver is "
                "installed and new enough for this CUDA runtime (`nvidia-smi` lists the GPUs it sees), or run on "
                "another device"
            )
        if name == _OUT_OF_MEMORY and nbytes is not None:
            where = "pinned host memory" if host else "GPU memory"
            raise ModelRTError(
                f"{call} of {_mib(nbytes)} failed with {code}: out of {where}. Use fewer execution contexts "
                "(extras={'tensorrt': {'contexts': 1}}), smaller batches, or free memory held by other models or "
                "processes"
            )
        if hardware:
            raise HardwareError(f"{call} failed with {code}; the GPU cannot be used by this process")
        if name in _STICKY_ERRORS:
            raise ModelRTError(
                f"{call} failed with {code}: the GPU faulted while running, and CUDA keeps this process's context "
                "unusable after such an error; restart the process (if it recurs, rebuild the engine here with "
                "`modelrt build`)"
            )
        raise ModelRTError(f"{call} failed with {code} while running a TensorRT engine")
