"""``TorchSession``: a loaded torch network behind modelrt's ``Session`` protocol.

``run`` wraps the caller's arrays with ``torch.from_numpy`` (no copy on the CPU; on CUDA through pinned
memory with a ``non_blocking`` copy), calls the network under ``torch.inference_mode()`` and hands back
numpy arrays. An output that shares memory with an input (a network that returns a view of what it was
given) is copied, since modelrt reuses its input buffers for the next batch. In fp16 the conversion
happens on the device, both ways: callers always see float32.

torch operators are safe to call from several threads, and an exported program or TorchScript module
holds no state between calls, so runs are concurrent; a pickled module's own code might, so its runs
take turns. Runs are counted so that ``close`` waits for the ones in flight before letting go.

A session used in a process forked after it was loaded (``os.fork``, multiprocessing's ``fork`` start
method) runs on the CPU with torch on one thread (``threads.py``: the thread pool does not survive fork);
on CUDA or MPS it raises ``HardwareError``, since neither can be used again in a forked process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from modelrt.backend import TensorInfo
from modelrt.errors import HardwareError, InputError, ModelClosedError
from modelrt.inflight import CallGuard
from modelrt_torch.forks import fork_generation
from modelrt_torch.formats import LoadedNetwork
from modelrt_torch.threads import process_threads
from modelrt_torch.torch_errors import describe_arrays, describe_signature, run_error

if TYPE_CHECKING:
    from modelrt.devices import Device

__all__ = ["TorchSession"]


class TorchSession:
    """A network loaded in torch, on the device it really runs on, in the precision it computes in."""

    def __init__(
        self,
        torch: ModuleType,
        network: LoadedNetwork,
        device: Device,
        torch_device: Any,
        precision: str,
        notes: Sequence[str] = (),
    ) -> None:
        self._torch = torch
        self._module = network.module
        self.device = device
        self.precision = precision
        self.inputs: Sequence[TensorInfo] = network.inputs
        self.outputs: Sequence[TensorInfo] = network.outputs
        self.notes: tuple[str, ...] = tuple(network.notes) + tuple(notes)
        self.provider = f"torch {torch.__version__} on {_device_name(torch, torch_device)} ({precision})"
        self._torch_device = torch_device
        self._on_cuda = torch_device.type == "cuda"
        self._half = precision == "fp16"
        self._input_names = [info.name for info in network.inputs]
        self._expected_dtypes = {info.name: info.dtype for info in network.inputs if info.dtype != "unknown"}
        self._one_at_a_time: AbstractContextManager[Any] = threading.Lock() if network.serialised else nullcontext()
        self._guard = CallGuard()
        self._loaded_in = fork_generation()

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the network; safe to call from several threads at once."""
        if self._loaded_in != fork_generation():
            self._prepare_forked_process()
        with self._guard.call(self._closed_error):
            arrays = self._checked(inputs)
            try:
                tensors = [self._to_device(array) for array in arrays]
                with self._one_at_a_time, self._torch.inference_mode():
                    result = self._module(*tensors)
                return self._to_numpy(result, arrays)
            # torch raises bare RuntimeError (shapes, dtypes), AssertionError (export guards), TypeError...
            except Exception as error:
                raise run_error(error, inputs, self.inputs, self.precision) from error

    def close(self) -> None:
        """Wait for runs in flight, then release the network; later runs raise ``ModelClosedError``."""
        if not self._guard.close():
            return
        self._module = None
        if self._on_cuda and self._loaded_in == fork_generation():
            self._torch.cuda.empty_cache()  # give the freed weights back to the driver, not only to torch

    def _prepare_forked_process(self) -> None:
        """Make torch safe in this fork of the loading process, or say why the device cannot be used here."""
        if self._torch_device.type == "cpu":
            process_threads.fork_safe(self._torch)
            return
        raise HardwareError(
            f"this model was loaded on {self.device} by the process this one was forked from, and "
            f"{self.device.kind.upper()} cannot be used in a forked process (torch cannot initialise CUDA again "
            "after fork, and Metal does not survive it). Start worker processes with the 'spawn' or 'forkserver' "
            "start method (multiprocessing.get_context('spawn')) and load the model in each of them."
        )

    # ------------------------------------------------------------------------------ conversions

    def _checked(self, inputs: Mapping[str, Any]) -> list[np.ndarray]:
        """The caller's arrays in the network's input order, C-contiguous; names and dtypes checked."""
        if set(inputs) != set(self._input_names):
            raise InputError(
                f"the model expects inputs {describe_signature(self.inputs)} but got {describe_arrays(inputs)}; "
                "pass exactly these names"
            )
        arrays = []
        for name in self._input_names:
            array = inputs[name]
            if not isinstance(array, np.ndarray):
                raise InputError(f"input {name!r} must be a numpy array, not {type(array).__name__}")
            expected = self._expected_dtypes.get(name)
            if expected is not None and array.dtype.name != expected:
                raise InputError(
                    f"input {name!r} must be {expected}, got {array.dtype}; convert it with .astype(np.{expected})"
                )
            # torch.from_numpy needs a writable buffer with non-negative strides (it warns or fails otherwise).
            array = np.ascontiguousarray(array)
            arrays.append(array if array.flags.writeable else array.copy())
        return arrays

    def _to_device(self, array: np.ndarray) -> Any:
        tensor = self._torch.from_numpy(array)
        if self._on_cuda:
            tensor = tensor.pin_memory().to(self._torch_device, non_blocking=True)
        elif self._torch_device.type != "cpu":
            tensor = tensor.to(self._torch_device)
        return tensor.half() if self._half and tensor.is_floating_point() else tensor

    def _to_numpy(self, result: Any, arrays: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        named = named_outputs(result, [info.name for info in self.outputs])
        outputs = {}
        for name, tensor in named.items():
            value = tensor.detach()
            if self._half and value.dtype == self._torch.float16:
                value = value.float()
            array = value.cpu().numpy()
            if any(np.may_share_memory(array, given) for given in arrays):
                array = array.copy()
            outputs[name] = array
        return outputs

    def _closed_error(self) -> ModelClosedError:
        return ModelClosedError(
            f"this torch session ({self.provider}) was closed; load the model again to keep running it"
        )

    def __repr__(self) -> str:
        state = "closed" if self._guard.closed else "open"
        return f"TorchSession(device={self.device}, provider={self.provider!r}, {state})"


def named_outputs(result: Any, names: Sequence[str]) -> dict[str, Any]:
    """Outputs by name: a dict keeps its keys; a tensor, tuple or list gets ``names`` in order.

    A result with more tensors than ``names`` describes (a pickled module without annotations) names the
    rest ``output<N>``.
    """
    if isinstance(result, Mapping):
        return dict(result)
    values = list(result) if isinstance(result, tuple | list) else [result]
    return {names[index] if index < len(names) else f"output{index}": value for index, value in enumerate(values)}


def _device_name(torch: ModuleType, torch_device: Any) -> str:
    if torch_device.type == "cuda":
        return f"{torch_device} ({torch.cuda.get_device_name(torch_device)})"
    return str(torch_device)
