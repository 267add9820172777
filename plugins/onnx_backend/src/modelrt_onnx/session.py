"""``OnnxSession``: a loaded onnxruntime ``InferenceSession`` behind modelrt's ``Session`` protocol.

``run`` passes the caller's arrays to ``InferenceSession.run`` as they are: onnxruntime reads them in
place. ``run_with_ort_values`` and I/O binding were measured on CPU against plain ``run`` (tiny model:
about 7 µs per call for ``run``, 10 µs with I/O binding, 45 µs wrapping inputs as ``OrtValue``; a 5 ms
convolution network: no difference), so plain ``run`` it is on the CPU. On CUDA a ``BindingRunner``
(``io_binding.py``) copies inputs to the device once and outputs back once per call.

onnxruntime allows concurrent ``run`` calls on one session. What it does not guard is ``run`` racing the
release of the session, so runs are counted and ``close`` waits until the ones in flight are done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelrt.backend import TensorInfo
from modelrt.errors import ModelClosedError
from modelrt.inflight import CallGuard
from modelrt_onnx.ort_errors import run_error

if TYPE_CHECKING:
    import numpy as np

    from modelrt.devices import Device
    from modelrt_onnx.io_binding import BindingRunner

__all__ = ["OnnxSession", "tensor_info"]

#: onnxruntime's ``NodeArg.type`` strings as numpy-style dtype names.
_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(bfloat16)": "bfloat16",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
    "tensor(string)": "string",
}


def tensor_info(node_arg: Any) -> TensorInfo:
    """A ``TensorInfo`` from an onnxruntime ``NodeArg``: symbolic dims stay strings, unknown ones None."""
    shape = tuple(dim if isinstance(dim, int | str) or dim is None else None for dim in node_arg.shape or ())
    return TensorInfo(name=node_arg.name, shape=shape, dtype=_ORT_TYPES.get(node_arg.type, node_arg.type))


class OnnxSession:
    """A network loaded in onnxruntime, on the device and provider it really runs on."""

    def __init__(self, session: Any, device: Device, provider: str, io_binding: BindingRunner | None = None) -> None:
        self._session = session
        #: The ``BindingRunner`` when runs go through I/O binding (on CUDA by default), else None.
        self.io_binding = io_binding
        self.device = device
        self.provider = provider
        self.inputs: Sequence[TensorInfo] = tuple(tensor_info(arg) for arg in session.get_inputs())
        self.outputs: Sequence[TensorInfo] = tuple(tensor_info(arg) for arg in session.get_outputs())
        self._output_names = [info.name for info in self.outputs]
        self._guard = CallGuard()

    @property
    def ort_session(self) -> Any:
        """The underlying ``onnxruntime.InferenceSession`` (for diagnostics: options, profiling)."""
        if self._guard.closed:
            raise self._closed_error()
        return self._session

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the network; safe to call from several threads at once."""
        with self._guard.call(self._closed_error):
            try:
                if self.io_binding is not None and self.io_binding.accepts(inputs):
                    values = self.io_binding.run(inputs)
                else:
                    values = self._session.run(self._output_names, inputs)
            # onnxruntime's pybind11 errors (InvalidArgument, Fail...) derive directly from Exception; its
            # Python layer adds ValueError (a missing input) and TypeError (a value it cannot convert).
            except Exception as error:
                raise run_error(error, inputs, self.inputs) from error
        return dict(zip(self._output_names, values, strict=True))

    def close(self) -> None:
        """Wait for runs in flight, then release the session; later runs raise ``ModelClosedError``."""
        if self._guard.close():
            if self.io_binding is not None:
                self.io_binding.close()
            self._session = self.io_binding = None

    def _closed_error(self) -> ModelClosedError:
        return ModelClosedError(
            f"this onnxruntime session ({self.provider} on {self.device}) was closed; load the model again "
            "to keep running it"
        )

    def __repr__(self) -> str:
        state = "closed" if self._guard.closed else "open"
        return f"OnnxSession(device={self.device}, provider={self.provider!r}, {state})"
