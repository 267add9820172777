"""``FakeCuda``: the part of cuda-python's ``cuda.bindings.runtime`` a TensorRT session uses, without a GPU.

It keeps cuda-python's conventions, so the real ``CudaRuntime`` runs against it unchanged: every call
returns a tuple whose first item is a ``cudaError_t`` (``(cudaErrorInsufficientDriver, None)`` from
``cudaGetDeviceCount`` without a driver), and nothing raises. Device memory is ``bytearray`` blocks keyed
by fake addresses; pinned host memory is real ctypes buffers, so numpy views over it work.

Streams are asynchronous as on a GPU: copies and kernels queue on their stream and run at
``cudaStreamSynchronize``, so reading an output before synchronising, or refilling a staging buffer
before the copy ran, gives wrong numbers here too. A capturing stream records the work instead, and
launching the instantiated graph queues it again. The fake TensorRT context enqueues its kernel through
``enqueue``.

Switches: ``driver=False`` (no usable driver), ``device_count``, ``fail_capture`` (``cudaStreamEndCapture``
reports an invalidated capture), ``memory_limit`` (device bytes), and ``fail`` (call name → the error it
returns from now on). Counters: ``live_device_allocations``, ``live_host_allocations``, ``streams``,
``live_graphs``, ``graphs_launched``.
"""

from __future__ import annotations

import ctypes
import enum
import itertools
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

__all__ = ["CaptureMode", "CudaError", "FakeCuda", "MemcpyKind", "install_fake_cuda"]

#: Device addresses start here and are spaced apart, so an address past a block's end is caught.
_DEVICE_BASE = 0x7F0000000000
_DEVICE_ALIGNMENT = 1 << 32


class CudaError(enum.IntEnum):
    """cuda-python's ``cudaError_t`` (the codes the fake returns), with CUDA's values."""

    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInsufficientDriver = 35
    cudaErrorNoDevice = 100
    cudaErrorInvalidDevice = 101
    cudaErrorInvalidResourceHandle = 400
    cudaErrorIllegalAddress = 700
    cudaErrorLaunchFailure = 719
    cudaErrorStreamCaptureUnsupported = 900
    cudaErrorStreamCaptureInvalidated = 901


class MemcpyKind(enum.IntEnum):
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2
    cudaMemcpyDeviceToDevice = 3
    cudaMemcpyDefault = 4


class CaptureMode(enum.IntEnum):
    cudaStreamCaptureModeGlobal = 0
    cudaStreamCaptureModeThreadLocal = 1
    cudaStreamCaptureModeRelaxed = 2


_Op = Callable[[], None]


class FakeStream:
    """A stream: queued work, or the work recorded while capturing. ``int()`` gives its handle."""

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self.pending: list[_Op] = []
        self.captured: list[_Op] | None = None

    def __int__(self) -> int:
        return self.handle

    def __repr__(self) -> str:
        return f"<FakeStream 0x{self.handle:x}>"


class FakeGraph:
    """A captured graph (or its executable instance): the work to queue on launch."""

    def __init__(self, ops: list[_Op]) -> None:
        self.ops = ops


_SUCCESS = CudaError.cudaSuccess


class FakeCuda:
    """A GPU-less ``cuda.bindings.runtime``; see the module docstring for switches and counters."""

    cudaError_t = CudaError
    cudaMemcpyKind = MemcpyKind
    cudaStreamCaptureMode = CaptureMode
    cudaStreamNonBlocking = 1

    def __init__(
        self,
        *,
        driver: bool = True,
        device_count: int = 1,
        fail_capture: bool = False,
        memory_limit: int | None = None,
        calls: list[str] | None = None,
    ) -> None:
        self.driver = driver
        self.device_count = device_count
        self.fail_capture = fail_capture
        self.memory_limit = memory_limit
        self.fail: dict[str, CudaError] = {}
        #: Device and capture calls in order; share a ``FakeTrtState.calls`` list to see CUDA and TensorRT together.
        self.calls = calls if calls is not None else []
        self.current_device: int | None = None
        self.graphs_launched = 0
        self._device: dict[int, bytearray] = {}
        self._host: dict[int, ctypes.Array[ctypes.c_char]] = {}
        self._streams: dict[int, FakeStream] = {}
        self._graphs: set[int] = set()
        self._addresses = itertools.count(_DEVICE_BASE, _DEVICE_ALIGNMENT)
        self._handles = itertools.count(0x1000, 0x10)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------ counters

    @property
    def live_device_allocations(self) -> int:
        return len(self._device)

    @property
    def live_host_allocations(self) -> int:
        return len(self._host)

    @property
    def streams(self) -> int:
        return len(self._streams)

    @property
    def live_graphs(self) -> int:
        return len(self._graphs)

    @property
    def device_bytes(self) -> int:
        return sum(len(block) for block in self._device.values())

    # ------------------------------------------------------------------------------------- devices

    def _refusal(self, call: str) -> CudaError | None:
        if not self.driver:
            return CudaError.cudaErrorInsufficientDriver
        return self.fail.get(call)

    def cudaGetDeviceCount(self) -> tuple[CudaError, int | None]:
        self.calls.append("cudaGetDeviceCount")
        refused = self._refusal("cudaGetDeviceCount")
        if refused is not None:
            return refused, None
        if self.device_count == 0:
            return CudaError.cudaErrorNoDevice, None
        return _SUCCESS, self.device_count

    def cudaSetDevice(self, device: int) -> tuple[CudaError]:
        self.calls.append("cudaSetDevice")
        refused = self._refusal("cudaSetDevice")
        if refused is not None:
            return (refused,)
        if not 0 <= device < self.device_count:
            return (CudaError.cudaErrorInvalidDevice,)
        self.current_device = device
        return (_SUCCESS,)

    def cudaGetLastError(self) -> tuple[CudaError]:
        """Returns and clears the last error; the fake keeps none (its failures are all returned)."""
        self.calls.append("cudaGetLastError")
        return (_SUCCESS,)

    # -------------------------------------------------------------------------------------- memory

    def cudaMalloc(self, size: int) -> tuple[CudaError, int | None]:
        refused = self._refusal("cudaMalloc")
        if refused is not None:
            return refused, None
        with self._lock:
            if self.memory_limit is not None and self.device_bytes + size > self.memory_limit:
                return CudaError.cudaErrorMemoryAllocation, None
            address = next(self._addresses)
            self._device[address] = bytearray(size)
        return _SUCCESS, address

    def cudaFree(self, pointer: int) -> tuple[CudaError]:
        refused = self._refusal("cudaFree")
        if refused is not None:
            return (refused,)
        with self._lock:
            if self._device.pop(int(pointer), None) is None:
                return (CudaError.cudaErrorInvalidValue,)
        return (_SUCCESS,)

    def cudaMallocHost(self, size: int) -> tuple[CudaError, int | None]:
        refused = self._refusal("cudaMallocHost")
        if refused is not None:
            return refused, None
        block = ctypes.create_string_buffer(max(size, 1))
        with self._lock:
            self._host[ctypes.addressof(block)] = block
        return _SUCCESS, ctypes.addressof(block)

    def cudaFreeHost(self, pointer: int) -> tuple[CudaError]:
        refused = self._refusal("cudaFreeHost")
        if refused is not None:
            return (refused,)
        with self._lock:
            if self._host.pop(int(pointer), None) is None:
                return (CudaError.cudaErrorInvalidValue,)
        return (_SUCCESS,)

    def cudaMemcpyAsync(self, dst: int, src: int, count: int, kind: MemcpyKind, stream: Any) -> tuple[CudaError]:
        refused = self._refusal("cudaMemcpyAsync")
        if refused is not None:
            return (refused,)
        dst_address, src_address = int(dst), int(src)
        if kind == MemcpyKind.cudaMemcpyHostToDevice and self.holds(dst_address, count):
            queued = self.enqueue(int(stream), lambda: self.write(dst_address, ctypes.string_at(src_address, count)))
        elif kind == MemcpyKind.cudaMemcpyDeviceToHost and self.holds(src_address, count):
            queued = self.enqueue(int(stream), lambda: self._to_host(dst_address, src_address, count))
        else:
            return (CudaError.cudaErrorInvalidValue,)
        return (_SUCCESS if queued else CudaError.cudaErrorInvalidResourceHandle,)

    def _to_host(self, host_address: int, device_address: int, count: int) -> None:
        ctypes.memmove(host_address, self.read(device_address, count), count)

    # ------------------------------------------------------------------------------------- streams

    def cudaStreamCreateWithFlags(self, flags: int) -> tuple[CudaError, FakeStream | None]:
        refused = self._refusal("cudaStreamCreateWithFlags")
        if refused is not None:
            return refused, None
        with self._lock:
            stream = FakeStream(next(self._handles))
            self._streams[stream.handle] = stream
        return _SUCCESS, stream

    def cudaStreamSynchronize(self, stream: Any) -> tuple[CudaError]:
        refused = self._refusal("cudaStreamSynchronize")
        found = self._streams.get(int(stream))
        if refused is not None or found is None:
            return (refused or CudaError.cudaErrorInvalidResourceHandle,)
        while found.pending:
            found.pending.pop(0)()
        return (_SUCCESS,)

    def cudaStreamDestroy(self, stream: Any) -> tuple[CudaError]:
        refused = self._refusal("cudaStreamDestroy")
        if refused is not None:
            return (refused,)
        with self._lock:
            found = self._streams.pop(int(stream), None)
        return (_SUCCESS if found is not None else CudaError.cudaErrorInvalidResourceHandle,)

    # -------------------------------------------------------------------------------------- graphs

    def cudaStreamBeginCapture(self, stream: Any, mode: CaptureMode) -> tuple[CudaError]:
        self.calls.append("cudaStreamBeginCapture")
        refused = self._refusal("cudaStreamBeginCapture")
        found = self._streams.get(int(stream))
        if refused is not None or found is None:
            return (refused or CudaError.cudaErrorInvalidResourceHandle,)
        found.captured = []
        return (_SUCCESS,)

    def cudaStreamEndCapture(self, stream: Any) -> tuple[CudaError, FakeGraph | None]:
        found = self._streams.get(int(stream))
        if found is None or found.captured is None:
            return CudaError.cudaErrorInvalidValue, None
        ops, found.captured = found.captured, None
        if self.fail_capture:
            return CudaError.cudaErrorStreamCaptureInvalidated, None
        return self._new_graph(ops)

    def cudaGraphInstantiate(self, graph: FakeGraph, flags: int) -> tuple[CudaError, FakeGraph | None]:
        refused = self._refusal("cudaGraphInstantiate")
        if refused is not None:
            return refused, None
        return self._new_graph(list(graph.ops))

    def cudaGraphLaunch(self, executable: FakeGraph, stream: Any) -> tuple[CudaError]:
        refused = self._refusal("cudaGraphLaunch")
        if refused is not None or id(executable) not in self._graphs:
            return (refused or CudaError.cudaErrorInvalidResourceHandle,)
        for op in executable.ops:
            if not self.enqueue(int(stream), op):
                return (CudaError.cudaErrorInvalidResourceHandle,)
        self.graphs_launched += 1
        return (_SUCCESS,)

    def cudaGraphExecDestroy(self, executable: FakeGraph) -> tuple[CudaError]:
        return self._drop_graph(executable)

    def cudaGraphDestroy(self, graph: FakeGraph) -> tuple[CudaError]:
        return self._drop_graph(graph)

    def _new_graph(self, ops: list[_Op]) -> tuple[CudaError, FakeGraph]:
        graph = FakeGraph(ops)
        with self._lock:
            self._graphs.add(id(graph))
        return _SUCCESS, graph

    def _drop_graph(self, graph: FakeGraph) -> tuple[CudaError]:
        with self._lock:
            if id(graph) not in self._graphs:
                return (CudaError.cudaErrorInvalidResourceHandle,)
            self._graphs.discard(id(graph))
        return (_SUCCESS,)

    # ------------------------------------------------------- what the fake TensorRT context calls

    def enqueue(self, stream_handle: int, op: _Op) -> bool:
        """Queue ``op`` on a stream (or record it while capturing); ``False`` for an unknown stream."""
        stream = self._streams.get(stream_handle)
        if stream is None:
            return False
        (stream.captured if stream.captured is not None else stream.pending).append(op)
        return True

    def holds(self, address: int, count: int) -> bool:
        """Whether ``count`` bytes from ``address`` lie inside one device allocation."""
        return self._locate(address, count) is not None

    def read(self, address: int, count: int) -> bytes:
        block, offset = self._located(address, count)
        return bytes(block[offset : offset + count])

    def write(self, address: int, data: bytes) -> None:
        block, offset = self._located(address, len(data))
        block[offset : offset + len(data)] = data

    def _located(self, address: int, count: int) -> tuple[bytearray, int]:
        found = self._locate(address, count)
        if found is None:  # a GPU kernel would fault (cudaErrorIllegalAddress); a test should fail loudly
            raise AssertionError(f"illegal device address 0x{address:x} (+{count} bytes)")
        return found

    def _locate(self, address: int, count: int) -> tuple[bytearray, int] | None:
        base = _DEVICE_BASE + (address - _DEVICE_BASE) // _DEVICE_ALIGNMENT * _DEVICE_ALIGNMENT
        block = self._device.get(base)
        offset = address - base
        if block is None or offset < 0 or offset + count > len(block):
            return None
        return block, offset


def install_fake_cuda(monkeypatch: Any, fake: FakeCuda, *, legacy: bool = False) -> FakeCuda:
    """Make ``from cuda.bindings import runtime`` give ``fake`` for the rest of the test.

    ``legacy=True`` installs it as ``cuda.cudart`` only, as cuda-python releases before 12.6 had it.
    """
    package = types.ModuleType("cuda")
    package.__path__ = []  # a package with no files: submodules come only from sys.modules
    monkeypatch.setitem(sys.modules, "cuda", package)
    if legacy:
        package.cudart = fake  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "cuda.cudart", fake)
        monkeypatch.delitem(sys.modules, "cuda.bindings", raising=False)
        monkeypatch.delitem(sys.modules, "cuda.bindings.runtime", raising=False)
        return fake
    bindings = types.ModuleType("cuda.bindings")
    bindings.__path__ = []
    bindings.runtime = fake  # type: ignore[attr-defined]
    package.bindings = bindings  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", fake)
    return fake
