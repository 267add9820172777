"""The builder half of a fake TensorRT module: ``Builder``, ``OnnxParser``, configs, profiles, timing caches.

It behaves as TensorRT's Python API does where modelrt depends on it: the parser really reads the ONNX
bytes (with the ``onnx`` package), so names, shapes (-1 for a symbolic dimension) and dtypes are the
model's; failures are a log line plus ``False``/``None``, never an exception; the API's shape follows the
version (``EXPLICIT_BATCH`` below 10, ``IProgressMonitor`` from 10, no ``BuilderFlag.FP16`` on strongly
typed builders, a target ``ComputeCapability`` on TensorRT for RTX). A built plan is a ``plan_format``
plan that the fake runtime can run: each output is ``scale * source`` where the graph is exactly
``Y = X * c``. The plan's ``build`` entry records how it was configured, for tests to check.

``module.fake_builder_faults`` (``BuilderFaults``) injects the failures a real GPU can produce.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import attrs

from modelrt_trt.testing.plan_format import encode_plan

__all__ = ["BuilderFaults", "install"]

_TIMING_CACHE_MAGIC = b"fake-timing-cache:"
#: ONNX ``TensorProto`` element types → TensorRT ``DataType`` member names.
_DATA_TYPES = {1: "FLOAT", 10: "HALF", 6: "INT32", 7: "INT64", 3: "INT8", 2: "UINT8", 9: "BOOL", 16: "BF16"}
_NUMPY_NAMES = {"FLOAT": "float32", "HALF": "float16", "INT32": "int32", "INT64": "int64", "INT8": "int8",
                "UINT8": "uint8", "BOOL": "bool", "BF16": "bfloat16"}  # fmt: skip
#: What the fake DLA can run (a small subset, so a DLA build has some GPU fallback to count).
_DLA_OPS = ("Conv", "Relu", "Add", "Mul", "MaxPool", "AveragePool", "BatchNormalization", "Concat")


@attrs.define
class BuilderFaults:
    """Failures to inject. ``builder_error``: ``Builder()`` logs it and fails as pybind does on a nullptr
    (no GPU, driver too old); ``build_error``: ``build_serialized_network`` logs it as an ERROR and returns
    ``None`` (out of memory, unsupported layer).
    """

    builder_error: str | None = None
    build_error: str | None = None


def install(module: Any, state: Any) -> None:
    """Add the builder API to ``module``, a fake TensorRT for ``state`` (a ``FakeTrtState``)."""
    module.fake_builder_faults = BuilderFaults()
    creation_flags = {"STRONGLY_TYPED": 1} | ({"EXPLICIT_BATCH": 0} if state.major < 10 else {})
    module.NetworkDefinitionCreationFlag = _enum("NetworkDefinitionCreationFlag", creation_flags)
    builder_flags = ["GPU_FALLBACK", "VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME", "REFIT", "STRIP_PLAN", "TF32"]
    if not state.strongly_typed_only:
        builder_flags += ["FP16", "INT8", "BF16"]
    module.BuilderFlag = _enum("BuilderFlag", builder_flags)
    module.MemoryPoolType = _enum("MemoryPoolType", ["WORKSPACE", "DLA_MANAGED_SRAM", "TACTIC_DRAM"])
    module.DeviceType = _enum("DeviceType", ["GPU", "DLA"])
    levels = ["NONE", "AMPERE_PLUS", "SAME_COMPUTE_CAPABILITY"]
    module.HardwareCompatibilityLevel = _enum("HardwareCompatibilityLevel", levels)
    if state.flavour == "tensorrt_rtx":
        capabilities = ["NONE", "CURRENT", "SM75", "SM80", "SM86", "SM89", "SM120", "SM121"]
        module.ComputeCapability = _enum("ComputeCapability", capabilities)
    if state.major >= 10:
        module.IProgressMonitor = IProgressMonitor
    module.ITimingCache = ITimingCache
    module.IOptimizationProfile = IOptimizationProfile
    module.Builder = _builder_class(module, state)
    module.OnnxParser = _parser_class(module)


def _enum(name: str, members: list[str] | dict[str, int]) -> Any:
    """An enum like TensorRT's pybind11 ones (``int()`` gives the value), numbered from 0 in the given order."""
    values = members if isinstance(members, dict) else {member: index for index, member in enumerate(members)}
    return enum.IntEnum(name, values)


def _log(module: Any, logger: Any, severity: str, message: str) -> None:
    """Log as TensorRT does, with the module's ``ILogger.Severity`` member where it has one."""
    severities = getattr(getattr(module, "ILogger", None), "Severity", None)
    logger.log(getattr(severities, severity, severity), message)


class IProgressMonitor:
    """TensorRT ≥ 10's progress callback interface; subclasses override the three methods."""

    def __init__(self) -> None:
        pass

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        pass

    def step_complete(self, phase_name: str, step: int) -> bool:
        return True

    def phase_finish(self, phase_name: str) -> None:
        pass


class ITimingCache:
    """A timing cache that counts the builds that used it, so a test can see it carried over."""

    def __init__(self, builds: int = 0) -> None:
        self.builds = builds

    def serialize(self) -> bytes:
        return _TIMING_CACHE_MAGIC + json.dumps({"builds": self.builds}).encode()

    @staticmethod
    def builds_recorded(serialized: bytes) -> int | None:
        """The build count in serialised fake cache bytes; ``None`` for bytes that are not one."""
        if not serialized.startswith(_TIMING_CACHE_MAGIC):
            return None
        try:
            return int(json.loads(serialized[len(_TIMING_CACHE_MAGIC) :])["builds"])
        except (ValueError, KeyError, TypeError):
            return None


class IOptimizationProfile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

    def set_shape(self, input: str, min: Any, opt: Any, max: Any) -> None:
        self.shapes[input] = tuple(tuple(int(dim) for dim in shape) for shape in (min, opt, max))

    def get_shape(self, input: str) -> list[tuple[int, ...]]:
        return list(self.shapes.get(input, ()))


@attrs.define
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: Any
    numpy_dtype: str


@attrs.define
class _Layer:
    name: str
    type: str


@attrs.define
class _Network:
    flags: int
    inputs: list[_Tensor] = attrs.field(factory=list)
    outputs: list[_Tensor] = attrs.field(factory=list)
    layers: list[_Layer] = attrs.field(factory=list)
    #: output name → (source input, scale): what the fake engine computes.
    computes: dict[str, tuple[str, float]] = attrs.field(factory=dict)
    has_fp16: bool = False

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def get_input(self, index: int) -> _Tensor:
        return self.inputs[index]

    def get_output(self, index: int) -> _Tensor:
        return self.outputs[index]

    def get_layer(self, index: int) -> _Layer:
        return self.layers[index]


class _ParserError:
    def __init__(self, code: str, desc: str, node_name: str = "", node_operator: str = "") -> None:
        self._code, self._desc, self._node_name, self._node_operator = code, desc, node_name, node_operator

    def code(self) -> str:
        return self._code

    def desc(self) -> str:
        return self._desc

    def node(self) -> int:
        return -1

    def node_name(self) -> str:
        return self._node_name

    def node_operator(self) -> str:
        return self._node_operator


def _parser_class(module: Any) -> type:
    class OnnxParser:
        """Reads the model with the ``onnx`` package into the network it was given."""

        def __init__(self, network: _Network, logger: Any) -> None:
            self.network = network
            self.logger = logger
            self.errors: list[_ParserError] = []

        @property
        def num_errors(self) -> int:
            return len(self.errors)

        def get_error(self, index: int) -> _ParserError:
            return self.errors[index]

        def clear_errors(self) -> None:
            self.errors.clear()

        def parse(self, model: bytes, path: str | None = None) -> bool:
            import onnx

            try:
                proto = onnx.load_from_string(bytes(model))
            except Exception:
                self._fail("MODEL_DESERIALIZE_FAILED", "Failed to parse the ONNX model.")
                return False
            for node in proto.graph.node:
                if node.domain not in ("", "ai.onnx"):
                    self._fail(
                        "UNSUPPORTED_NODE", f"No importer registered for op: {node.op_type}", node.name, node.op_type
                    )
                    return False
            _read_graph(module, proto.graph, self.network)
            return True

        def _fail(self, code: str, desc: str, node_name: str = "", node_operator: str = "") -> None:
            self.errors.append(_ParserError(code, desc, node_name, node_operator))
            _log(module, self.logger, "ERROR", f"ModelImporter: {code}: {desc}")

    return OnnxParser


def _read_graph(module: Any, graph: Any, network: _Network) -> None:
    """Fill ``network`` from an ONNX graph: real I/O, one layer per node, and ``Y = X * c`` recognised."""
    from onnx import numpy_helper

    initializers = {tensor.name: tensor for tensor in graph.initializer}
    for value in graph.input:
        if value.name not in initializers:
            network.inputs.append(_tensor(module, value))
    for value in graph.output:
        network.outputs.append(_tensor(module, value))
    for node in graph.node:
        network.layers.append(_Layer(node.name, node.op_type))
    network.has_fp16 = any(tensor.data_type == 10 for tensor in graph.initializer)
    scale = 1.0
    if len(graph.node) == 1 and graph.node[0].op_type == "Mul":
        constants = [initializers[name] for name in graph.node[0].input if name in initializers]
        if len(constants) == 1 and numpy_helper.to_array(constants[0]).size == 1:
            scale = float(numpy_helper.to_array(constants[0]).reshape(()))
    source = network.inputs[0].name if network.inputs else ""
    network.computes = {output.name: (source, scale) for output in network.outputs}


def _tensor(module: Any, value: Any) -> _Tensor:
    tensor_type = value.type.tensor_type
    name = _DATA_TYPES.get(tensor_type.elem_type, "FLOAT")
    shape = tuple(dim.dim_value if dim.HasField("dim_value") else -1 for dim in tensor_type.shape.dim)
    return _Tensor(value.name, shape, getattr(getattr(module, "DataType", None), name, name), _NUMPY_NAMES[name])


class _Config:
    """``IBuilderConfig``: flags, memory pools, device placement, profiles, timing cache, progress."""

    def __init__(self, module: Any, state: Any, logger: Any) -> None:
        self._module, self._state, self._logger = module, state, logger
        self.flags: set[Any] = set()
        self.memory_limits: dict[Any, int] = {}
        self.profiles: list[IOptimizationProfile] = []
        self.default_device_type = module.DeviceType.GPU
        self.DLA_core = -1
        self._hardware_level = module.HardwareCompatibilityLevel.NONE
        self.timing_cache: ITimingCache | None = None
        self.progress_monitor: Any = None
        if hasattr(module, "ComputeCapability"):
            self.num_compute_capabilities = 0
            self.compute_capabilities: dict[int, Any] = {}
            self.set_compute_capability = self._set_compute_capability

    def set_flag(self, flag: Any) -> None:
        self.flags.add(flag)

    def get_flag(self, flag: Any) -> bool:
        return flag in self.flags

    def set_memory_pool_limit(self, pool: Any, size: int) -> None:
        self.memory_limits[pool] = int(size)

    @property
    def hardware_compatibility_level(self) -> Any:
        return self._hardware_level

    @hardware_compatibility_level.setter
    def hardware_compatibility_level(self, level: Any) -> None:
        if self._state.flavour == "tensorrt_rtx":  # TensorRT for RTX logs this and ignores the level
            _log(
                self._module, self._logger, "WARNING", "setHardwareCompatibilityLevel() is unsupported in TensorRT-RTX."
            )
            return
        self._hardware_level = level

    def _set_compute_capability(self, capability: Any, index: int) -> bool:
        if index >= self.num_compute_capabilities:
            return False
        self.compute_capabilities[index] = capability
        return True

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def can_run_on_DLA(self, layer: _Layer) -> bool:
        return self._state.dla_cores > 0 and layer.type in _DLA_OPS

    def create_timing_cache(self, serialized: bytes) -> ITimingCache | None:
        if not serialized:
            return ITimingCache()
        builds = ITimingCache.builds_recorded(bytes(serialized))
        if builds is None:
            _log(
                self._module,
                self._logger,
                "ERROR",
                "Timing cache deserialization failed: the blob is not a timing cache.",
            )
            return None
        return ITimingCache(builds)

    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        self.timing_cache = cache
        return True

    def get_timing_cache(self) -> ITimingCache | None:
        return self.timing_cache


def _builder_class(module: Any, state: Any) -> type:
    class Builder:
        def __init__(self, logger: Any) -> None:
            faults = module.fake_builder_faults
            if faults.builder_error is not None:
                _log(module, logger, "ERROR", faults.builder_error)
                raise TypeError("pybind11::init(): factory function returned nullptr")
            self.logger = logger
            self.num_DLA_cores = state.dla_cores

        def create_network(self, flags: int = 0) -> _Network:
            return _Network(int(flags))

        def create_builder_config(self) -> _Config:
            return _Config(module, state, self.logger)

        def create_optimization_profile(self) -> IOptimizationProfile:
            return IOptimizationProfile()

        def build_serialized_network(self, network: _Network, config: _Config) -> bytes | None:
            state.calls.append("build")
            problem = module.fake_builder_faults.build_error or _check_build(module, state, network, config)
            if problem is None and not _report_progress(config.progress_monitor):
                problem = "Build was cancelled by the progress monitor."
            if problem is not None:
                _log(module, self.logger, "ERROR", f"IBuilder::buildSerializedNetwork: {problem}")
                return None
            if config.timing_cache is not None:
                config.timing_cache.builds += 1
            return encode_plan(_plan(module, state, network, config))

    return Builder


def _check_build(module: Any, state: Any, network: _Network, config: _Config) -> str | None:
    """What TensorRT would refuse in this network and config, or ``None``."""
    dynamic = [tensor for tensor in network.inputs if -1 in tensor.shape]
    if dynamic and not config.profiles:
        return "Error Code 4: API Usage Error (Network has dynamic inputs, but no optimization profile is defined.)"
    for profile in config.profiles:
        for tensor in dynamic:
            for shape in profile.shapes.get(tensor.name, [()]):
                fits = len(shape) == len(tensor.shape) and all(
                    dim in (-1, size) for dim, size in zip(tensor.shape, shape, strict=True)
                )
                if not fits:
                    return f"Error Code 4: API Usage Error (profile {shape} does not fit {tensor.name} {tensor.shape})"
    if config.default_device_type == module.DeviceType.DLA and not 0 <= config.DLA_core < state.dla_cores:
        return f"Error Code 2: Internal Error (DLA core {config.DLA_core} does not exist: {state.dla_cores} cores)"
    return None


def _report_progress(monitor: Any) -> bool:
    """Walk a two-step build through ``monitor`` as TensorRT does; False when the monitor cancels."""
    if monitor is None:
        return True
    monitor.phase_start("Building engine", None, 2)
    for step in range(2):
        if not monitor.step_complete("Building engine", step):
            return False
    monitor.phase_finish("Building engine")
    return True


def _plan(module: Any, state: Any, network: _Network, config: _Config) -> dict[str, Any]:
    flags = {flag.name for flag in config.flags}
    precision = "fp16" if "FP16" in flags or network.has_fp16 else "fp32"
    capability = state.compute_capability
    targets = getattr(config, "compute_capabilities", {})
    if targets and targets.get(0) is not None and targets[0].name.startswith("SM"):
        capability = f"{targets[0].name[2:-1]}.{targets[0].name[-1]}"
    return {
        "inputs": [{"name": t.name, "dtype": t.numpy_dtype, "shape": list(t.shape)} for t in network.inputs],
        "outputs": [
            {"name": name, "source": source, "scale": scale} for name, (source, scale) in network.computes.items()
        ],
        "profiles": [
            {
                name: dict(zip(("min", "opt", "max"), map(list, shapes), strict=True))
                for name, shapes in profile.shapes.items()
            }
            for profile in config.profiles
        ],
        "precision": precision,
        "flavour": state.flavour,
        "version": state.version,
        "compute_capability": capability,
        "build": {
            "network_flags": network.flags,
            "flags": sorted(flags),
            "workspace": {pool.name: size for pool, size in config.memory_limits.items()},
            "device": config.default_device_type.name,
            "dla_core": config.DLA_core,
            "hardware_compatibility": config.hardware_compatibility_level.name,
        },
    }
