"""Runs an onnxruntime session through I/O binding: each input copied to the device once, outputs back once.

With plain ``InferenceSession.run`` on CUDA, onnxruntime copies every input from pageable host memory and
every output back inside the run. With I/O binding each input is an ``OrtValue`` on the session's device,
allocated once per shape and filled in place (``update_inplace``: one host-to-device copy), and each
output is bound to the device and copied to numpy once (``copy_outputs_to_cpu``). ``outputs_on_device``
keeps the outputs as device ``OrtValue`` objects instead, for a next stage that runs on the device too
(none does yet: ``OnnxSession.run`` returns numpy).

Staging: where onnxruntime can allocate page-locked ("pinned") host memory from Python (the CUDA
execution provider's ``HOST_ACCESSIBLE`` memory, listed by ``get_ep_devices()``, onnxruntime 1.23 and
later), each input goes caller array → pinned buffer → device, the last copy at full DMA speed; the
``"cuda_pinned"`` device name of the C++ API is not accepted by the Python ``OrtValue`` factories.
Elsewhere the caller's array is copied straight from pageable memory (``staging`` says which, and why).

One ``IOBinding`` and its buffers serve one call at a time: calls from several threads each take a slot
from a small pool (a lock guards the pool, never the run), so concurrent runs never share buffers.
The same code runs on the CPU (``Placement("cpu", 0)``) so that the real CPU onnxruntime exercises it.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import attrs
import numpy as np

__all__ = ["BindingRunner", "Placement", "pinned_memory_info"]

_CUDA = "CUDAExecutionProvider"


@attrs.frozen
class Placement:
    """Where bound inputs and outputs live: onnxruntime's device name (``cpu``, ``cuda``) and index."""

    device_type: str
    device_id: int = 0


def pinned_memory_info(ort: ModuleType, device_id: int) -> tuple[Any | None, str]:
    """onnxruntime's pinned host memory for the CUDA provider, or None; and a sentence saying which and why.

    The pinned route is tried once with a one-element round trip (host → pinned → ``cuda:device_id``), so a
    build that lists the memory but cannot allocate or copy it falls back here, at load, not in every run.
    """
    version = getattr(ort, "__version__", "?")
    get_ep_devices = getattr(ort, "get_ep_devices", None)
    memory_types = getattr(ort, "OrtDeviceMemoryType", None)
    factory = ort.OrtValue.ortvalue_from_shape_and_type
    if get_ep_devices is None or memory_types is None or "memory_info" not in inspect.signature(factory).parameters:
        return None, f"pageable: onnxruntime {version} cannot allocate pinned host memory from Python"
    try:
        devices = [device for device in get_ep_devices() if device.ep_name == _CUDA]
        infos = (device.memory_info(memory_types.HOST_ACCESSIBLE) for device in devices)
        info = next((info for info in infos if info is not None), None)
        if info is None:
            return None, f"pageable: onnxruntime {version} lists no pinned host memory for the {_CUDA}"
        probe = _InputBuffer(ort, np.zeros(1, np.float32), Placement("cuda", device_id), info)
        probe.load(np.ones(1, np.float32))
    except Exception as error:  # onnxruntime's pybind11 errors derive directly from Exception
        return None, f"pageable: pinned host memory failed its test at load ({type(error).__name__}: {error})"
    return info, f"pinned: the {_CUDA}'s host-accessible memory"


class _InputBuffer:
    """One input's device value (and pinned staging value), for one shape and dtype."""

    def __init__(self, ort: ModuleType, array: np.ndarray, placement: Placement, pinned: Any | None) -> None:
        self.key = (array.shape, array.dtype)
        new_value = ort.OrtValue.ortvalue_from_shape_and_type
        self.device_value = new_value(array.shape, array.dtype.type, placement.device_type, placement.device_id)
        self.staging = None if pinned is None else new_value(array.shape, array.dtype.type, memory_info=pinned)

    def load(self, array: np.ndarray) -> None:
        """Copy ``array`` to the device: through the pinned buffer when there is one, else directly."""
        if self.staging is None:
            self.device_value.update_inplace(array)
        else:
            self.staging.update_inplace(array)
            self.device_value.update_inplace(self.staging)


class _Slot:
    """An ``IOBinding`` with its input buffers, reallocated (and rebound) when an input's shape changes."""

    def __init__(self, ort: ModuleType, session: Any, placement: Placement, pinned: Any | None) -> None:
        self._ort = ort
        self._placement = placement
        self._pinned = pinned
        self.binding = session.io_binding()
        self._buffers: dict[str, _InputBuffer] = {}

    def bind_inputs(self, inputs: Mapping[str, np.ndarray]) -> None:
        for name, array in inputs.items():
            buffer = self._buffers.get(name)
            if buffer is None or buffer.key != (array.shape, array.dtype):
                buffer = _InputBuffer(self._ort, array, self._placement, self._pinned)
                self._buffers[name] = buffer
                self.binding.bind_ortvalue_input(name, buffer.device_value)
            buffer.load(array)


class BindingRunner:
    """Runs one session through I/O binding; thread-safe, one slot per concurrent call."""

    def __init__(
        self,
        ort: ModuleType,
        session: Any,
        input_names: Sequence[str],
        output_names: Sequence[str],
        placement: Placement,
    ) -> None:
        self._ort = ort
        self._session = session
        self._input_names = frozenset(input_names)
        self._output_names = list(output_names)
        self.placement = placement
        on_cuda = placement.device_type == "cuda"
        #: How inputs reach the device: ``pinned: ...``, ``pageable: <why not pinned>`` or ``none: on the CPU``.
        self.staging: str
        self._pinned, self.staging = (
            pinned_memory_info(ort, placement.device_id) if on_cuda else (None, "none: on the CPU")
        )
        self._free: list[_Slot] = []
        self._lock = threading.Lock()

    def accepts(self, inputs: Mapping[str, Any]) -> bool:
        """Whether ``inputs`` are exactly the network's inputs as numeric arrays (anything else takes plain ``run``,
        which reports wrong names with onnxruntime's own message and fills optional inputs with their defaults)."""
        return inputs.keys() == self._input_names and all(
            isinstance(array, np.ndarray) and array.dtype.kind in "biufc" for array in inputs.values()
        )

    def run(self, inputs: Mapping[str, np.ndarray], outputs_on_device: bool = False) -> list[Any]:
        """The outputs in order: numpy arrays, or the device's ``OrtValue`` objects when ``outputs_on_device``."""
        slot = self._take()
        try:
            slot.bind_inputs(inputs)
            binding = slot.binding
            # Rebound on every call: onnxruntime allocates each output for this run's shapes, and values
            # handed out with ``outputs_on_device`` are never overwritten by the next call.
            for name in self._output_names:
                binding.bind_output(name, self.placement.device_type, self.placement.device_id)
            binding.synchronize_inputs()
            self._session.run_with_iobinding(binding)
            binding.synchronize_outputs()
            return list(binding.get_outputs() if outputs_on_device else binding.copy_outputs_to_cpu())
        finally:
            self._give_back(slot)

    def _take(self) -> _Slot:
        with self._lock:
            if self._free:
                return self._free.pop()
        return _Slot(self._ort, self._session, self.placement, self._pinned)

    def _give_back(self, slot: _Slot) -> None:
        with self._lock:
            self._free.append(slot)

    def close(self) -> None:
        """Release the bindings and buffers (the session's ``close`` calls this once no run is in flight)."""
        with self._lock:
            self._free.clear()
        self._session = None
