"""The running half of a fake TensorRT module: loggers, data types, ``Runtime``, engines, execution contexts.

It behaves as TensorRT does where modelrt depends on it: ``deserialize_cuda_engine`` answers a plan it
cannot load (not a plan; another flavour, version or compute capability) by logging an ERROR and
returning ``None``; ``set_input_shape`` returns ``False`` outside the optimisation profile;
``execute_async_v3`` only enqueues, on the ``FakeCuda`` stream it is given (``state.cuda``), reading its
inputs from and writing ``scale * input`` to fake device memory when the stream runs. Deserialising with
no CUDA driver raises, standing for the crash of the real lean runtime, so a wrong call order cannot pass.

For ``state.major < 10`` the module has the legacy binding API instead (``num_bindings``, ``execute_v2``,
no ``num_io_tensors``), which the binding seam refuses. ``module.fake_runtime_faults`` injects the
failures of a real GPU (no execution context, a failing enqueue).
"""

from __future__ import annotations

import enum
import math
from typing import Any

import attrs
import numpy as np

from modelrt_trt.testing.plan_format import decode_plan

__all__ = ["DataType", "RuntimeFaults", "Severity", "TensorIOMode", "install"]


class Severity(enum.IntEnum):
    """``ILogger.Severity``."""

    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


class DataType(enum.IntEnum):
    """``trt.DataType``, with TensorRT's values."""

    FLOAT = 0
    HALF = 1
    INT8 = 2
    INT32 = 3
    BOOL = 4
    UINT8 = 5
    INT64 = 8


class TensorIOMode(enum.IntEnum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


#: numpy's name of each ``DataType``, as TensorRT's module-level aliases spell them (``trt.float32``).
_NUMPY_NAMES = {
    DataType.FLOAT: "float32",
    DataType.HALF: "float16",
    DataType.INT8: "int8",
    DataType.INT32: "int32",
    DataType.BOOL: "bool",
    DataType.UINT8: "uint8",
    DataType.INT64: "int64",
}
_BY_NUMPY_NAME = {name: member for member, name in _NUMPY_NAMES.items()}
#: Where TensorRT's messages say they come from.
_DESERIALIZE = "IRuntime::deserializeCudaEngine"
_SET_SHAPE = "IExecutionContext::setInputShape"
_ENQUEUE = "IExecutionContext::enqueueV3"


@attrs.define
class RuntimeFaults:
    """Failures to inject: ``no_runtime`` makes ``Runtime()`` log an error and raise pybind's ``TypeError``
    (TensorRT returned nullptr); ``no_context`` makes ``create_execution_context`` log and return ``None``
    (out of GPU memory); ``execute_error`` makes ``execute_async_v3`` log it as an ERROR and return ``False``.
    """

    no_runtime: bool = False
    no_context: bool = False
    execute_error: str | None = None


def install(module: Any, state: Any) -> None:
    """Add the runtime API to ``module``, a fake TensorRT for ``state`` (a ``FakeTrtState``)."""
    module.fake_runtime_faults = RuntimeFaults()
    module.ILogger = type("ILogger", (_ILogger,), {"Severity": Severity})
    module.Logger = type("Logger", (module.ILogger,), {})
    module.DataType = DataType
    for member, name in _NUMPY_NAMES.items():
        setattr(module, name, member)
    module.nptype = lambda trt_type: np.dtype(_NUMPY_NAMES[DataType(trt_type)]).type
    module.TensorIOMode = TensorIOMode
    if state.major >= 10:
        module.ICudaEngine = type("ICudaEngine", (_Engine,), {})
        module.IExecutionContext = type("IExecutionContext", (_Context,), {})
    else:
        module.ICudaEngine = type("ICudaEngine", (_LegacyEngine,), {})
        module.IExecutionContext = type("IExecutionContext", (_LegacyContext,), {})
    module.Runtime = _runtime_class(module, state)


class _ILogger:
    """``trt.ILogger``: subclasses override ``log``; ``Logger`` (the stock one) drops messages."""

    def __init__(self, min_severity: Any = None) -> None:
        self.min_severity = min_severity

    def log(self, severity: Any, msg: str) -> None:
        """TensorRT's own ``Logger`` prints; the fake keeps tests quiet."""


def _runtime_class(module: Any, state: Any) -> type:
    class Runtime:
        """``trt.Runtime``: one per engine; ``DLA_core`` chooses the DLA core a plan runs on."""

        def __init__(self, logger: Any) -> None:
            state.calls.append("Runtime")
            self.logger = logger
            self.num_DLA_cores = state.dla_cores
            self.DLA_core = -1
            if _cuda_missing(state):  # the real runtime logs CUDA's refusal and carries on regardless
                _log(logger, "CUDA initialization failure with error: 35")
            if module.fake_runtime_faults.no_runtime:
                _log(logger, "createInferRuntime: Error Code 6: API Usage Error (CUDA initialization failure)")
                raise TypeError("pybind11::init(): factory function returned nullptr")

        def deserialize_cuda_engine(self, serialized_engine: bytes) -> Any:
            state.calls.append("deserialize")
            if _cuda_missing(state):
                raise RuntimeError(
                    "deserialize_cuda_engine without a CUDA driver: the real lean runtime segfaults here"
                )
            network = decode_plan(serialized_engine)
            if network is None:
                _log(self.logger, f"{_DESERIALIZE}: Error Code 1: Serialization (Serialization assertion "
                     "magicTagRead == kMAGIC_TAG failed.Magic tag does not match)")  # fmt: skip
                return None
            refusal = _refusal(state, network)
            if refusal is not None:
                _log(self.logger, f"{_DESERIALIZE}: Error Code 6: API Usage Error ({refusal})")
                return None
            return module.ICudaEngine(module, state, network, self.logger)

    return Runtime


def _cuda_missing(state: Any) -> bool:
    return state.cuda is not None and not state.cuda.driver


def _refusal(state: Any, network: dict[str, Any]) -> str | None:
    """Why TensorRT would refuse this plan here, in TensorRT's words; ``None`` when it loads."""
    build = network.get("build") or {}
    version_compatible = "VERSION_COMPATIBLE" in build.get("flags", ())
    flavour = network.get("flavour", state.flavour)
    lean_runs_it = state.flavour == "tensorrt_lean" and flavour == "tensorrt" and version_compatible
    if flavour != state.flavour and not lean_runs_it:
        return f"The engine plan file was built by {flavour}, which {state.flavour} cannot load, please rebuild."
    version = network.get("version", state.version)
    if version != state.version and not (version_compatible and _compatible_version(version, state.version)):
        return (
            f"The engine plan file is not compatible with this version of TensorRT, expecting library version "
            f"{state.version} got {version}, please rebuild."
        )
    capability = network.get("compute_capability", state.compute_capability)
    ampere_plus = build.get("hardware_compatibility") == "AMPERE_PLUS" and float(state.compute_capability) >= 8.0
    if capability != state.compute_capability and not ampere_plus:
        return (
            f"The engine plan file is generated on an incompatible device, expecting compute "
            f"{state.compute_capability} got compute {capability}, please rebuild."
        )
    return None


def _compatible_version(plan: str, runtime: str) -> bool:
    """A version-compatible plan runs on a runtime of the same major, as new or newer."""
    plan_parts, runtime_parts = (tuple(int(part) for part in text.split(".")[:3]) for text in (plan, runtime))
    return plan_parts[0] == runtime_parts[0] and runtime_parts >= plan_parts


def _log(logger: Any, message: str, severity: Severity = Severity.ERROR) -> None:
    logger.log(severity, message)


@attrs.frozen
class _Tensor:
    name: str
    input: bool
    dtype: str
    shape: tuple[int, ...]
    source: str = ""
    scale: float = 1.0


class _EngineBase:
    """What both engine APIs share: the plan's tensors, profiles and the logger to complain through."""

    def __init__(self, module: Any, state: Any, network: dict[str, Any], logger: Any) -> None:
        self._module, self._state, self.logger = module, state, logger
        inputs = {
            item["name"]: _Tensor(item["name"], True, item["dtype"], tuple(item["shape"])) for item in network["inputs"]
        }
        outputs = [
            attrs.evolve(
                inputs[item["source"]], name=item["name"], input=False, source=item["source"], scale=item["scale"]
            )
            for item in network["outputs"]
        ]
        self.tensors = [*inputs.values(), *outputs]
        self.by_name = {tensor.name: tensor for tensor in self.tensors}
        self.profiles: list[dict[str, Any]] = network.get("profiles") or []
        self.network = network

    def profile(self, name: str, index: int) -> list[tuple[int, ...]]:
        tensor = self.by_name.get(name)
        if tensor is None or not tensor.input or not 0 <= index < max(len(self.profiles), 1):
            _log(self.logger, f"ICudaEngine::getProfileShape: Error Code 3: no input {name} in profile {index}")
            return []
        shapes = self.profiles[index].get(name) if self.profiles else None
        if shapes is None:
            return [tensor.shape] * 3 if -1 not in tensor.shape else []
        return [tuple(shapes[key]) for key in ("min", "opt", "max")]

    def trt_dtype(self, name: str) -> DataType:
        return _BY_NUMPY_NAME[self.by_name[name].dtype]

    def new_context(self, factory: type) -> Any:
        if self._module.fake_runtime_faults.no_context:
            _log(self.logger, "Requested amount of GPU memory could not be allocated: out of memory")
            return None
        self._state.calls.append("execution_context")
        return factory(self)


class _Engine(_EngineBase):
    """``ICudaEngine`` with named I/O tensors (TensorRT 10 and later)."""

    @property
    def num_io_tensors(self) -> int:
        return len(self.tensors)

    @property
    def num_optimization_profiles(self) -> int:
        return max(len(self.profiles), 1)

    def get_tensor_name(self, index: int) -> str:
        return self.tensors[index].name

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        tensor = self.by_name.get(name)
        return TensorIOMode.NONE if tensor is None else TensorIOMode.INPUT if tensor.input else TensorIOMode.OUTPUT

    def get_tensor_dtype(self, name: str) -> DataType:
        return self.trt_dtype(name)

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.by_name[name].shape

    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[tuple[int, ...]]:
        return self.profile(name, profile_index)

    def create_execution_context(self) -> Any:
        return self.new_context(self._module.IExecutionContext)


class _Context:
    """``IExecutionContext``: input shapes and tensor addresses, then an enqueue on a CUDA stream."""

    def __init__(self, engine: _EngineBase) -> None:
        self.engine = engine
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._addresses: dict[str, int] = {}

    def _error(self, message: str) -> bool:
        _log(self.engine.logger, message)
        return False

    def set_input_shape(self, name: str, shape: Any) -> bool:
        tensor = self.engine.by_name.get(name)
        shape = tuple(int(dim) for dim in shape)
        if tensor is None or not tensor.input:
            return self._error(f"{_SET_SHAPE}: Error Code 3: API Usage Error (no input named {name})")
        low, _, high = self.engine.profile(name, 0) or [tensor.shape] * 3
        fits = len(shape) == len(tensor.shape) and all(
            (dim == fixed) if fixed != -1 else (lo <= dim <= hi)
            for dim, fixed, lo, hi in zip(shape, tensor.shape, low, high, strict=True)
        )
        if not fits:
            return self._error(
                f"{_SET_SHAPE}: Error Code 3: API Usage Error (Parameter check failed, condition: "
                f"{name} shape {shape} within profile 0 [{low}, {high}])"
            )
        self._shapes[name] = shape
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        tensor = self.engine.by_name[name]
        return self._shapes.get(tensor.source or name, tensor.shape)

    def set_tensor_address(self, name: str, memory: int) -> bool:
        if name not in self.engine.by_name:
            return self._error(f"IExecutionContext::setTensorAddress: Error Code 3: API Usage Error (no {name})")
        self._addresses[name] = int(memory)
        return True

    def get_tensor_address(self, name: str) -> int:
        return self._addresses.get(name, 0)

    def execute_async_v3(self, stream_handle: int) -> bool:
        engine = self.engine
        engine._state.calls.append("execute")
        fault = engine._module.fake_runtime_faults.execute_error
        if fault is not None:
            return self._error(fault)
        cuda = engine._state.cuda
        for tensor in engine.tensors:
            if -1 in self.get_tensor_shape(tensor.name):
                return self._error(f"{_ENQUEUE}: Error Code 3: API Usage Error (shape of {tensor.name} not set)")
            if tensor.name not in self._addresses:
                return self._error(f"{_ENQUEUE}: Error Code 3: API Usage Error (address of {tensor.name} not set)")
        if cuda is None:
            return self._error(f"{_ENQUEUE}: Error Code 1: Cuda Runtime (no CUDA runtime in this test)")
        work = [
            (self._addresses[tensor.source], self._addresses[tensor.name], self.get_tensor_shape(tensor.name), tensor)
            for tensor in engine.tensors
            if not tensor.input
        ]

        def kernel() -> None:
            for source, target, shape, tensor in work:
                dtype = np.dtype(tensor.dtype)
                count = math.prod(shape) * dtype.itemsize
                values = np.frombuffer(cuda.read(source, count), dtype=dtype).reshape(shape)
                cuda.write(target, (values * tensor.scale).astype(dtype).tobytes())

        if not cuda.enqueue(int(stream_handle), kernel):
            return self._error(f"{_ENQUEUE}: Error Code 1: Cuda Runtime (invalid resource handle)")
        return True


class _LegacyEngine(_EngineBase):
    """``ICudaEngine`` of TensorRT 8 and 9: bindings by index, no named I/O tensors."""

    @property
    def num_bindings(self) -> int:
        return len(self.tensors)

    def get_binding_name(self, index: int) -> str:
        return self.tensors[index].name

    def binding_is_input(self, index: int) -> bool:
        return self.tensors[index].input

    def get_binding_shape(self, index: int) -> tuple[int, ...]:
        return self.tensors[index].shape

    def get_binding_dtype(self, index: int) -> Any:
        return self.trt_dtype(self.tensors[index].name)

    def create_execution_context(self) -> Any:
        return self.new_context(self._module.IExecutionContext)


class _LegacyContext:
    """``IExecutionContext`` of TensorRT 8 and 9: ``execute_v2`` over a list of binding addresses.

    modelrt refuses these bindings before running anything, so the fake only records the call.
    """

    def __init__(self, engine: _EngineBase) -> None:
        self.engine = engine

    def execute_v2(self, bindings: list[int]) -> bool:
        self.engine._state.calls.append("execute_v2")
        return True
