"""``TensorRTSession``: a deserialised TensorRT engine behind modelrt's ``Session`` protocol.

Made by the backend's load: ``TensorRTSession(api, handle, device, contexts=2, cuda_graphs=None,
cuda=CudaRuntime())``, with ``handle`` from ``engine_runtime.deserialize_engine``. It is imported only
then, so it imports numpy at module level; TensorRT comes in as ``api.module``, CUDA through ``CudaRuntime``.

Execution slots. An ``IExecutionContext`` holds per-call state (input shapes, tensor addresses) and may
run one call at a time, so the session keeps a bounded pool of slots (``contexts``, default 2), each one
context, one CUDA stream, device memory per input and output tensor, and pinned host staging buffers
(DMA-able, so copies run asynchronously). Buffers grow to the largest shape a slot has seen and never
shrink. ``run`` borrows a slot, waiting while all are busy, so any number of threads may call it and each
gets the result of its own inputs. The first slot is made at load (an engine whose context does not fit in
GPU memory fails there, not on the first call); the others when concurrent calls first need them, since
every context holds the engine's activation memory.

One call: check input names, dtypes, ranks and shapes (the optimisation profile's min/max, before
TensorRT sees them) → ``set_input_shape`` when the shapes differ from the slot's last call → copy each
input into its pinned buffer and to the device once → ``execute_async_v3`` on the slot's stream →
output shapes from the context → one copy back per output → synchronise → fresh arrays, never views of
the staging memory, which the next call overwrites.

Batches larger than the engine's profile. When every input has a dynamic batch dimension and the
profile starts at batch 1, a call with more images than the profile's largest batch runs in chunks of
that size on one slot and the outputs are concatenated, so ``model.predict`` of a long list works with
an engine built for batch 1 (vision networks treat the images of a batch independently).

CUDA graphs. When every input shape of the engine is static, a slot that has run once plainly (TensorRT
does its lazy set-up there) captures its enqueue into a graph and replays it for later calls, which saves
the host's launch cost per kernel (``cuda_graphs``: default on for static engines, ``False`` disables;
``provider`` then ends in `` + CUDA graphs``). When capture fails (a layer or plugin that cannot be
captured), the session runs without graphs from then on and says so once at INFO.

``close()`` waits for calls in flight, then frees every graph, buffer, stream and context, and drops the
engine and its runtime; it is idempotent, and ``run`` afterwards raises ``ModelClosedError``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from modelrt.backend import TensorInfo
from modelrt.errors import InputError, ModelClosedError, ModelRTError
from modelrt.inflight import CallGuard
from modelrt_trt.cuda import CudaGraph, CudaRuntime, cuda_device_index
from modelrt_trt.logs import LOGGER_NAME, make_logger, quoted

if TYPE_CHECKING:
    from modelrt.devices import Device
    from modelrt.engines.facts import EngineTensor
    from modelrt_trt.binding import TrtModule
    from modelrt_trt.engine_runtime import EngineHandle

__all__ = ["TensorRTSession"]

logger = logging.getLogger(LOGGER_NAME)

#: Buffers are allocated in multiples of this (CUDA's own allocation granularity is coarser still).
_ALIGNMENT = 256


def _round_up(nbytes: int) -> int:
    return max(_ALIGNMENT, -(-nbytes // _ALIGNMENT) * _ALIGNMENT)


def _tensor_info(tensor: EngineTensor) -> TensorInfo:
    """Run-time dimensions (-1) become names, as an ONNX model's symbolic dimensions are."""
    shape = tuple(
        dim if dim >= 0 else ("batch" if index == 0 else f"dim{index}") for index, dim in enumerate(tensor.shape)
    )
    return TensorInfo(name=tensor.name, shape=shape, dtype=tensor.dtype)


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join("?" if dim < 0 else str(dim) for dim in shape) + ")"


@attrs.define
class _Buffer:
    """One tensor's device memory and pinned host staging of ``capacity`` bytes (0: none yet)."""

    capacity: int = 0
    device: int = 0
    host: np.ndarray | None = None
    host_pointer: int = 0


@attrs.define(eq=False)
class _Slot:
    """One execution context with its stream and buffers; used by one call at a time."""

    context: Any
    stream: Any
    buffers: dict[str, _Buffer]
    shapes: dict[str, tuple[int, ...]] | None = None
    plain_runs: int = 0
    graph: CudaGraph | None = None


class _SlotPool:
    """At most ``size`` slots, made on demand; ``borrow`` waits while all are in use.

    A call that fails other than on its inputs may leave its slot's stream or context in an unknown
    state, so that slot is released and a fresh one is made when needed.
    """

    def __init__(self, size: int, make: Callable[[], _Slot], release: Callable[[_Slot], None]) -> None:
        self._size, self._make, self._release = size, make, release
        self._idle: list[_Slot] = []
        self._made = 0
        self._changed = threading.Condition()

    def prime(self) -> None:
        """Make the first slot now."""
        with self.borrow():
            pass

    @contextmanager
    def borrow(self) -> Iterator[_Slot]:
        with self._changed:
            self._changed.wait_for(lambda: bool(self._idle) or self._made < self._size)
            slot = self._idle.pop() if self._idle else None
            if slot is None:
                self._made += 1
        if slot is None:
            try:
                slot = self._make()
            except BaseException:
                self._forget()
                raise
        try:
            yield slot
        except InputError:
            self._give_back(slot)
            raise
        except BaseException:
            self._release(slot)
            self._forget()
            raise
        self._give_back(slot)

    def drain(self) -> list[_Slot]:
        """Every idle slot, now no longer the pool's (all of them, once no call is in flight)."""
        with self._changed:
            slots, self._idle = self._idle, []
            self._made -= len(slots)
        return slots

    def _give_back(self, slot: _Slot) -> None:
        with self._changed:
            self._idle.append(slot)
            self._changed.notify()

    def _forget(self) -> None:
        with self._changed:
            self._made -= 1
            self._changed.notify()


class TensorRTSession:
    """A TensorRT engine, ready to run from any thread; see the module docstring for the design.

    ``api`` is the TensorRT module the engine was deserialised with, ``engine`` the ``EngineHandle``,
    ``contexts`` the number of calls that run at once, ``cuda_graphs`` ``False`` to never capture graphs.
    """

    def __init__(
        self,
        api: TrtModule,
        engine: EngineHandle,
        device: Device,
        *,
        contexts: int = 2,
        cuda_graphs: bool | None = None,
        cuda: CudaRuntime | None = None,
    ) -> None:
        if contexts < 1:
            raise InputError(f"a TensorRT session needs at least one execution context, not {contexts}")
        self.device = device
        self.notes: tuple[str, ...] = ()
        self._api = api
        self._handle: EngineHandle | None = engine
        self._cuda = cuda or CudaRuntime()
        self._cuda_index = cuda_device_index(device)
        self._trt_logger = make_logger(api.module)
        tensors = api.engine_tensors(engine.engine)
        self._inputs = tuple(tensor for tensor in tensors if tensor.mode == "input")
        self._outputs = tuple(tensor for tensor in tensors if tensor.mode == "output")
        self._input_names = {tensor.name for tensor in self._inputs}
        self.inputs: Sequence[TensorInfo] = tuple(_tensor_info(tensor) for tensor in self._inputs)
        self.outputs: Sequence[TensorInfo] = tuple(_tensor_info(tensor) for tensor in self._outputs)
        self._bounds = {tensor.name: self._profile_bounds(tensor) for tensor in self._inputs if -1 in tensor.shape}
        self._batch_limit = self._splittable_batch()
        self._graphs = not self._bounds and cuda_graphs is not False
        self.provider = api.describe + (" + CUDA graphs" if self._graphs else "")
        self._fallback = threading.Lock()
        self._guard = CallGuard()
        self._pool = _SlotPool(contexts, self._new_slot, self._release_quietly)
        self._cuda.set_device(self._cuda_index)
        self._pool.prime()

    # ------------------------------------------------------------------------------------------ run

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the engine on named arrays; safe to call from several threads at once."""
        with self._guard.call(self._closed_error):
            arrays = self._checked_inputs(inputs)
            limit = self._batch_limit
            batches = {array.shape[0] for array in arrays.values()}
            with self._pool.borrow() as slot:
                if limit is None or len(batches) != 1 or (batch := batches.pop()) <= limit:
                    return self._run_on(slot, arrays)
                parts = [
                    self._run_on(slot, {name: array[start : start + limit] for name, array in arrays.items()})
                    for start in range(0, batch, limit)
                ]
            return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    def _splittable_batch(self) -> int | None:
        """The profile's largest batch when calls beyond it can run in chunks (see the module docstring)."""
        bounds = [self._bounds.get(tensor.name) for tensor in self._inputs]
        if not self._inputs or any(tensor.shape[0] != -1 for tensor in self._inputs) or None in bounds:
            return None
        lows = [low[0] for low, _ in bounds if low]  # type: ignore[misc]
        highs = [high[0] for _, high in bounds if high]  # type: ignore[misc]
        return min(highs) if lows and max(lows) == 1 else None

    def _run_on(self, slot: _Slot, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cuda = self._cuda
        cuda.set_device(self._cuda_index)  # CUDA's current device is per thread, and callers' threads vary
        shapes = {name: tuple(array.shape) for name, array in arrays.items()}
        if slot.shapes != shapes:
            self._set_input_shapes(slot, shapes)
        shapes.update({tensor.name: self._output_shape(slot, tensor.name) for tensor in self._outputs})
        sizes = {
            tensor.name: math.prod(shapes[tensor.name]) * np.dtype(tensor.dtype).itemsize
            for tensor in (*self._inputs, *self._outputs)
        }
        self._fit_buffers(slot, sizes)
        for name, array in arrays.items():
            buffer, size = slot.buffers[name], sizes[name]
            if size:
                assert buffer.host is not None
                buffer.host[:size] = array.reshape(-1).view(np.uint8)
                cuda.memcpy_htod_async(buffer.device, buffer.host_pointer, size, slot.stream)
        self._enqueue(slot)
        for tensor in self._outputs:
            buffer, size = slot.buffers[tensor.name], sizes[tensor.name]
            if size:
                cuda.memcpy_dtoh_async(buffer.host_pointer, buffer.device, size, slot.stream)
        cuda.stream_synchronize(slot.stream)
        results = {}
        for tensor in self._outputs:
            buffer, size = slot.buffers[tensor.name], sizes[tensor.name]
            assert buffer.host is not None  # _fit_buffers gave every tensor one
            results[tensor.name] = buffer.host[:size].view(tensor.dtype).reshape(shapes[tensor.name]).copy()
        return results

    def _checked_inputs(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The inputs as C-contiguous arrays, after every check that needs no TensorRT call."""
        missing = sorted(self._input_names - set(inputs))
        unknown = sorted(set(inputs) - self._input_names)
        if missing or unknown:
            expected = ", ".join(
                f"{tensor.name} ({tensor.dtype} {_shape_text(tensor.shape)})" for tensor in self._inputs
            )
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"unknown {', '.join(unknown)}"] if unknown else []
            raise InputError(f"this TensorRT engine takes the inputs {expected}; given: {'; '.join(problems)}")
        arrays = {}
        for tensor in self._inputs:
            array = np.asarray(inputs[tensor.name])
            self._check_input(tensor, array)
            arrays[tensor.name] = np.ascontiguousarray(array)
        return arrays

    def _check_input(self, tensor: EngineTensor, array: np.ndarray) -> None:
        name, expected = tensor.name, _shape_text(tensor.shape)
        if array.dtype != np.dtype(tensor.dtype):
            raise InputError(
                f"input {name!r} must be {tensor.dtype}, got {array.dtype}; convert it with .astype({tensor.dtype!r})"
            )
        if array.ndim != len(tensor.shape):
            raise InputError(
                f"input {name!r} must have {len(tensor.shape)} dimensions {expected}, got shape {array.shape}"
            )
        if any(fixed not in (-1, given) for fixed, given in zip(tensor.shape, array.shape, strict=True)):
            raise InputError(f"input {name!r} must have shape {expected}, got {array.shape}")
        bounds = self._bounds.get(name)
        if bounds is not None:
            low, high = bounds
            if self._batch_limit is not None:  # run() splits a larger batch
                high = (max(high[0], array.shape[0]), *high[1:])
            if any(not lo <= given <= hi for given, lo, hi in zip(array.shape, low, high, strict=True)):
                raise InputError(
                    f"input {name!r} has shape {array.shape}, outside the shapes this engine was built for: from {low} "
                    f"to {high} (its optimisation profile). Split the batch, or rebuild the engine for these shapes "
                    "with `modelrt build --batch MIN:OPT:MAX` (or --shape NAME:MIN:OPT:MAX)"
                )

    def _profile_bounds(self, tensor: EngineTensor) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """Profile 0's smallest and largest shape of a dynamic input; ``None`` when TensorRT gives none."""
        assert self._handle is not None
        with self._trt_logger.capture():
            shapes = self._handle.engine.get_tensor_profile_shape(tensor.name, 0)
        if len(shapes) != 3 or any(len(shape) != len(tensor.shape) for shape in shapes):
            return None  # then set_input_shape judges, and its refusal is quoted
        low, _, high = (tuple(int(dim) for dim in shape) for shape in shapes)
        return low, high

    def _set_input_shapes(self, slot: _Slot, shapes: dict[str, tuple[int, ...]]) -> None:
        slot.shapes = None  # a refusal part-way leaves the context's shapes mixed
        with self._trt_logger.capture() as said:
            for name, shape in shapes.items():
                if not slot.context.set_input_shape(name, shape):
                    raise InputError(f"TensorRT refused shape {shape} for input {name!r}: {quoted(said)}")
        slot.shapes = shapes

    def _output_shape(self, slot: _Slot, name: str) -> tuple[int, ...]:
        shape = tuple(int(dim) for dim in slot.context.get_tensor_shape(name))
        if any(dim < 0 for dim in shape):
            raise ModelRTError(
                f"output {name!r} of this engine has shape {_shape_text(shape)}, known only after running it "
                "(a data-dependent output); modelrt-trt runs engines whose output shapes follow from their inputs"
            )
        return shape

    def _fit_buffers(self, slot: _Slot, sizes: dict[str, int]) -> None:
        """Grow the buffers that are too small; after a change, bind every address and drop the graph."""
        grown = False
        for name, size in sizes.items():
            buffer = slot.buffers[name]
            if size > buffer.capacity or buffer.capacity == 0:
                self._free_buffer(buffer)
                capacity = _round_up(size)
                buffer.device = self._cuda.malloc(capacity)
                buffer.host = self._cuda.malloc_host(capacity)
                buffer.host_pointer = buffer.host.ctypes.data
                buffer.capacity = capacity
                grown = True
        if not grown:
            return
        if slot.graph is not None:  # it replays the old addresses
            self._cuda.destroy_graph(slot.graph)
            slot.graph, slot.plain_runs = None, 0
        with self._trt_logger.capture() as said:
            for name, buffer in slot.buffers.items():
                if not slot.context.set_tensor_address(name, buffer.device):
                    raise ModelRTError(f"TensorRT refused the device address of tensor {name!r}: {quoted(said)}")

    def _enqueue(self, slot: _Slot) -> None:
        if slot.graph is None and self._graphs and slot.plain_runs > 0:
            slot.graph = self._capture(slot)
        if slot.graph is not None:
            self._cuda.launch_graph(slot.graph, slot.stream)
            return
        self._execute(slot)
        slot.plain_runs += 1

    def _execute(self, slot: _Slot) -> None:
        with self._trt_logger.capture() as said:
            enqueued = slot.context.execute_async_v3(self._cuda.stream_handle(slot.stream))
        if not enqueued:
            raise ModelRTError(f"TensorRT could not run this engine on {self.device}: {quoted(said)}")

    def _capture(self, slot: _Slot) -> CudaGraph | None:
        """The slot's enqueue as a CUDA graph; ``None``, and no graphs from now on, when capture fails."""
        try:
            return self._cuda.capture_graph(slot.stream, lambda: self._execute(slot))
        except ModelRTError as error:
            with self._fallback:
                first, self._graphs = self._graphs, False
            if first:
                self.provider = self._api.describe
                logger.info("this TensorRT engine cannot be captured as a CUDA graph (%s); running it without", error)
            return None

    # ---------------------------------------------------------------------------------------- close

    def close(self) -> None:
        """Wait for calls in flight, then free all GPU and pinned memory; later runs raise ``ModelClosedError``."""
        if not self._guard.close():
            return
        for slot in self._pool.drain():
            self._release_quietly(slot)
        self._handle = None  # the engine, then its runtime, go with the last reference

    def _release_quietly(self, slot: _Slot) -> None:
        """Free what a slot holds, each part even when another fails (that failure is logged)."""
        if slot.graph is not None:
            self._quietly(self._cuda.destroy_graph, slot.graph)
        for buffer in slot.buffers.values():
            self._quietly(self._free_buffer, buffer)
        self._quietly(self._cuda.stream_destroy, slot.stream)
        slot.graph, slot.context, slot.stream = None, None, None

    def _quietly(self, release: Callable[[Any], None], item: Any) -> None:
        try:
            release(item)
        except ModelRTError as error:  # closing must go on; the memory goes with the process at the latest
            logger.warning("could not release TensorRT session memory on %s: %s", self.device, error)

    def _free_buffer(self, buffer: _Buffer) -> None:
        device, host = buffer.device, buffer.host
        buffer.capacity, buffer.device, buffer.host, buffer.host_pointer = 0, 0, None, 0
        try:
            if device:
                self._cuda.free(device)
        finally:
            if host is not None:
                self._cuda.free_host(host)

    def _new_slot(self) -> _Slot:
        assert self._handle is not None
        with self._trt_logger.capture() as said:
            context = self._handle.engine.create_execution_context()
        if context is None:
            raise ModelRTError(
                f"TensorRT could not create an execution context for this engine on {self.device} ({quoted(said)}); "
                "usually GPU memory is short: use fewer contexts (extras={'tensorrt': {'contexts': 1}}) or close "
                "other models"
            )
        stream = self._cuda.stream_create()
        buffers = {tensor.name: _Buffer() for tensor in (*self._inputs, *self._outputs)}
        return _Slot(context=context, stream=stream, buffers=buffers)

    def _closed_error(self) -> ModelClosedError:
        return ModelClosedError(
            f"this TensorRT session ({self.provider} on {self.device}) was closed; load the model again to keep "
            "running it"
        )

    def __repr__(self) -> str:
        state = "closed" if self._guard.closed else "open"
        return f"TensorRTSession(device={self.device}, provider={self.provider!r}, {state})"
