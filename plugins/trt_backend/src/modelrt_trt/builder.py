"""Build a TensorRT plan from ONNX bytes, and record what it was built for.

``build_plan`` drives one TensorRT module through the ``TrtModule`` seam: parse the model, derive one
optimisation profile from the network's own inputs (names and shapes are read, never assumed), configure
precision, workspace, DLA, compatibility and the timing cache, build, and return the plan with the facts
a modelrt engine container records. TensorRT reports most failures only through its log and a ``None``
return, so each step runs inside the logger's ``capture()`` and a failure is a typed error quoting it.

Quirks followed here:

- Strongly typed builders (TensorRT 11, TensorRT for RTX) have no ``BuilderFlag.FP16``: the caller hands
  them an fp16 ONNX model (``fp16_onnx``), and the network is created ``STRONGLY_TYPED`` on them only.
- TensorRT for RTX builds without a GPU for a target compute capability set on the config; TensorRT
  proper builds for the GPU it runs on. Its hardware-compatibility setter is "unsupported" (a log line,
  no effect) and its timing cache calls are deprecated no-ops, so neither is used with it.
- The ONNX parser owns the weights it read: it is kept alive until the plan is built.

Imported only at build time; TensorRT arrives as the module wrapped by ``TrtModule``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from modelrt.engines.facts import HARDWARE_COMPATIBILITY_LEVELS, EngineFacts, EngineTensor, ProfileShape
from modelrt.errors import HardwareError, InputError, ModelRTError, PackageError
from modelrt_trt import __version__
from modelrt_trt.binding import TrtModule
from modelrt_trt.logs import make_logger, quoted

__all__ = ["PRECISIONS", "BuildSettings", "BuiltPlan", "build_plan"]

logger = logging.getLogger("modelrt.trt")

#: The precisions ``build_plan`` builds (int8 needs calibration data, which it does not take).
PRECISIONS = ("fp32", "fp16")
#: modelrt's spelling of a hardware-compatibility level → TensorRT's ``HardwareCompatibilityLevel`` member.
_HARDWARE_LEVEL_MEMBERS = {"ampere+": "AMPERE_PLUS", "same-compute-capability": "SAME_COMPUTE_CAPABILITY"}
#: Words in TensorRT's log that mean the GPU (or its installation) could not do the build, not the model.
_HARDWARE_HINTS = ("memory", "unsupported", "not supported", "unable to load library", "cuda")

Shape = tuple[int, ...]
ProgressCallback = Callable[[str, int, int], None]


def _batch(value: Sequence[int] | None) -> tuple[int, int, int] | None:
    if value is None:
        return None
    low, opt, high = (int(item) for item in value)
    return low, opt, high


def _shapes(value: Mapping[str, Sequence[Sequence[int]]] | None) -> dict[str, tuple[Shape, Shape, Shape]]:
    shapes = {}
    for name, triple in (value or {}).items():
        low, opt, high = (tuple(int(dim) for dim in shape) for shape in triple)
        shapes[name] = (low, opt, high)
    return shapes


def _check_precision(_instance: object, _attribute: object, value: str) -> None:
    if value not in PRECISIONS:
        raise InputError(f"precision {value!r} cannot be built: expected one of {', '.join(PRECISIONS)}")


def _check_batch(_instance: object, _attribute: object, value: tuple[int, int, int] | None) -> None:
    if value is not None and not 1 <= value[0] <= value[1] <= value[2]:
        raise InputError(f"batch range {':'.join(map(str, value))} must satisfy 1 <= min <= opt <= max (e.g. 1:4:8)")


def _check_shapes(_instance: object, _attribute: object, value: Mapping[str, tuple[Shape, Shape, Shape]]) -> None:
    for name, (low, opt, high) in value.items():
        if not len(low) == len(opt) == len(high):
            raise InputError(f"the shapes given for input {name!r} differ in rank: {low}, {opt}, {high}")
        if not all(1 <= a <= b <= c for a, b, c in zip(low, opt, high, strict=True)):
            raise InputError(
                f"the shapes given for input {name!r} must satisfy 1 <= min <= opt <= max in every dimension"
            )


def _check_level(_instance: object, _attribute: object, value: str) -> None:
    if value not in HARDWARE_COMPATIBILITY_LEVELS:
        raise InputError(
            f"hardware compatibility {value!r}: expected one of {', '.join(HARDWARE_COMPATIBILITY_LEVELS)}"
        )


@attrs.frozen
class BuildSettings:
    """What to build. ``batch`` is (min, opt, max) of a dynamic first dimension (default 1:1:1, widened
    with ``--batch 1:8:16``); ``shapes`` gives full min/opt/max shapes per input and overrides ``batch``
    for it. ``compute_capability`` is the target of TensorRT for RTX (``"8.6"``); TensorRT proper builds
    for the GPU it runs on and ignores it.
    """

    precision: str = attrs.field(default="fp32", validator=_check_precision)
    batch: tuple[int, int, int] | None = attrs.field(default=None, converter=_batch, validator=_check_batch)
    shapes: Mapping[str, tuple[Shape, Shape, Shape]] = attrs.field(
        factory=dict, converter=_shapes, validator=_check_shapes
    )
    workspace_bytes: int | None = None
    dla_core: int | None = None
    version_compatible: bool = False
    hardware_compatibility: str = attrs.field(default="none", validator=_check_level)
    compute_capability: str | None = None


@attrs.frozen
class BuiltPlan:
    """A serialised plan and its build facts (the caller adds the GPU, driver, CUDA, L4T and ONNX digest).

    ``timing_cache`` is the serialised timing cache to store for the next build (``None`` where the
    TensorRT keeps none). ``gpu_fallback_layers`` counts the layers of a DLA build that run on the GPU
    (``None`` for a GPU build, or where TensorRT cannot say).
    """

    plan: bytes
    facts: EngineFacts
    timing_cache: bytes | None = None
    gpu_fallback_layers: int | None = None


def build_plan(
    api: TrtModule,
    onnx_model: bytes,
    settings: BuildSettings,
    *,
    timing_cache: bytes | None,
    progress: ProgressCallback | None = None,
) -> BuiltPlan:
    """Build ``onnx_model`` with ``api``'s TensorRT as ``settings`` ask; typed errors quote TensorRT's log."""
    if not api.can_build:
        raise HardwareError(
            f"{api.describe} runs engines but cannot build them (it has no builder); install TensorRT itself "
            '(pip install "modelrt-trt[cu12]") or TensorRT for RTX to build'
        )
    trt = api.module
    trt_logger = make_logger(trt)
    builder = _make_builder(api, trt_logger)
    network = _make_network(api, builder)
    parser = _parse(api, network, trt_logger, onnx_model)
    inputs = _tensors(api, network, "input")
    profiles = _profile_shapes(inputs, settings)
    config = _make_config(api, builder, settings)
    if profiles:
        _add_profile(builder, config, profiles)
    uses_timing_cache = api.flavour != "tensorrt_rtx"
    if uses_timing_cache:
        _set_timing_cache(config, timing_cache, trt_logger)
    fallback = _gpu_fallback_layers(config, network) if settings.dla_core is not None else None
    plan = _build(api, builder, network, config, trt_logger, settings, progress)
    del parser  # the parser owned the weights until now
    facts = EngineFacts(
        flavour=api.flavour,
        tensorrt_version=api.version,
        compute_capability=settings.compute_capability if _targets_compute_capability(trt, config) else None,
        hardware_compatibility=settings.hardware_compatibility,
        version_compatible=settings.version_compatible,
        dla_core=settings.dla_core,
        precision=settings.precision,
        profiles=profiles,
        tensors=inputs + _tensors(api, network, "output"),
        builder=f"modelrt-trt {__version__}",
    )
    cache = _serialized_timing_cache(config) if uses_timing_cache else None
    return BuiltPlan(plan=plan, facts=facts, timing_cache=cache, gpu_fallback_layers=fallback)


def _make_builder(api: TrtModule, trt_logger: Any) -> Any:
    """``trt.Builder``; TensorRT answers a CUDA failure with ``None`` (or pybind's "returned nullptr")."""
    with trt_logger.capture() as log:
        try:
            builder = api.module.Builder(trt_logger)
        except Exception as error:  # pybind raises TypeError when TensorRT's factory returns nullptr
            log.append(f"{type(error).__name__}: {error}")
            builder = None
    if builder is None:
        raise HardwareError(
            f"{api.describe} could not start its builder, which needs a working NVIDIA GPU and driver "
            f"({quoted(log)}). Check `nvidia-smi` and `modelrt env`"
        )
    return builder


def _make_network(api: TrtModule, builder: Any) -> Any:
    """An empty network; strongly typed where the builder has no other kind (explicit batch is implied ≥ 10)."""
    flags = 0
    if api.strongly_typed_only:
        flags |= 1 << int(api.module.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return builder.create_network(flags)


def _parse(api: TrtModule, network: Any, trt_logger: Any, onnx_model: bytes) -> Any:
    """Parse the model into ``network``; the parser is returned because it owns the weights."""
    parser = api.module.OnnxParser(network, trt_logger)
    with trt_logger.capture() as log:
        parsed = parser.parse(onnx_model)
    if not parsed:
        problems = [_describe_parser_error(parser.get_error(index)) for index in range(parser.num_errors)]
        raise PackageError(
            f"{api.describe} could not parse the ONNX model: {'; '.join(problems) or quoted(log)}. Check the "
            "model with onnx.checker, re-export it with an opset this TensorRT supports, or run it with the "
            "onnxruntime backend"
        )
    return parser


def _describe_parser_error(error: Any) -> str:
    """``node 'conv1' (Conv): <description>``, or the description alone when no node is named."""
    description = str(error.desc()).rstrip(".")
    node_name = str(error.node_name() or "") if hasattr(error, "node_name") else ""
    operator = str(error.node_operator() or "") if hasattr(error, "node_operator") else ""
    if not node_name and not operator:
        return description
    return f"node {node_name!r} ({operator or 'unknown op'}): {description}"


def _tensors(api: TrtModule, network: Any, mode: str) -> tuple[EngineTensor, ...]:
    """The network's inputs or outputs as parsed: names, dtypes and shapes (-1 for a dynamic dimension)."""
    count, get = (
        (network.num_inputs, network.get_input) if mode == "input" else (network.num_outputs, network.get_output)
    )
    tensors = []
    for index in range(count):
        tensor = get(index)
        shape = tuple(int(dim) for dim in tensor.shape)
        tensors.append(EngineTensor(tensor.name, mode, api.numpy_dtype(tensor.dtype), shape))
    return tuple(tensors)


def _profile_shapes(inputs: tuple[EngineTensor, ...], settings: BuildSettings) -> tuple[ProfileShape, ...]:
    """One profile covering every dynamic input, from ``shapes`` or else ``batch`` for a dynamic first dim."""
    names = [tensor.name for tensor in inputs]
    unknown = sorted(set(settings.shapes) - set(names))
    if unknown:
        raise InputError(
            f"shapes were given for {unknown}, which this ONNX model does not take; its inputs are {names}"
        )
    profiles = []
    for tensor in inputs:
        given = settings.shapes.get(tensor.name)
        if given is not None:
            _check_given_shapes(tensor, given)
            if -1 in tensor.shape:
                profiles.append(ProfileShape(tensor.name, *given))
            continue
        _check_batch_fits(tensor, settings.batch)
        if -1 not in tensor.shape:
            continue
        if -1 in tensor.shape[1:]:
            example = "x".join("N" if dim == -1 else str(dim) for dim in tensor.shape)
            raise InputError(
                f"input {tensor.name!r} has dynamic dimensions besides the batch ({example}), so TensorRT needs "
                f"their range: pass --shape {tensor.name}:MIN:OPT:MAX with full shapes (e.g. "
                f"{tensor.name}:{_example_shape(tensor.shape, 1, 320)}:{_example_shape(tensor.shape, 1, 640)}:"
                f"{_example_shape(tensor.shape, 1, 640)}), or re-export the model with fixed sizes"
            )
        low, opt, high = settings.batch or (1, 1, 1)
        rest = tensor.shape[1:]
        profiles.append(ProfileShape(tensor.name, (low, *rest), (opt, *rest), (high, *rest)))
    return tuple(profiles)


def _example_shape(shape: tuple[int, ...], batch: int, size: int) -> str:
    return "x".join(
        str(batch if index == 0 and dim == -1 else (size if dim == -1 else dim)) for index, dim in enumerate(shape)
    )


def _check_given_shapes(tensor: EngineTensor, given: tuple[Shape, Shape, Shape]) -> None:
    """Given shapes must have the input's rank and agree with every fixed dimension."""
    if len(given[0]) != len(tensor.shape):
        raise InputError(
            f"the shapes given for input {tensor.name!r} have {len(given[0])} dimensions, but the model's input "
            f"has {len(tensor.shape)} ({tensor.shape}, -1 is dynamic)"
        )
    for shape in given:
        if any(fixed not in (-1, dim) for fixed, dim in zip(tensor.shape, shape, strict=True)):
            raise InputError(
                f"the shape {shape} given for input {tensor.name!r} changes a fixed dimension of the model's "
                f"{tensor.shape} (-1 is dynamic); only dynamic dimensions can take a range"
            )


def _check_batch_fits(tensor: EngineTensor, batch: tuple[int, int, int] | None) -> None:
    if batch is None or not tensor.shape or tensor.shape[0] == -1:
        return
    fixed = tensor.shape[0]
    if batch != (fixed, fixed, fixed):
        raise InputError(
            f"this ONNX model has a fixed batch of {fixed} (input {tensor.name!r} is {tensor.shape}), so it "
            f"cannot be built for batch {':'.join(map(str, batch))}; re-export it with a dynamic batch "
            "(e.g. `yolo export format=onnx dynamic=True`), or build without --batch"
        )


def _add_profile(builder: Any, config: Any, profiles: tuple[ProfileShape, ...]) -> None:
    profile = builder.create_optimization_profile()
    for shape in profiles:
        profile.set_shape(shape.input, shape.min, shape.opt, shape.max)
    config.add_optimization_profile(profile)


def _make_config(api: TrtModule, builder: Any, settings: BuildSettings) -> Any:
    """A builder config for ``settings``; what this TensorRT cannot do is an ``InputError`` before the build."""
    trt = api.module
    config = builder.create_builder_config()
    if settings.precision == "fp16" and not api.strongly_typed_only:
        config.set_flag(trt.BuilderFlag.FP16)
    if settings.workspace_bytes is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_bytes))
    if settings.dla_core is not None:
        _target_dla(api, builder, config, settings)
    if settings.version_compatible:
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    if settings.hardware_compatibility != "none":
        _set_hardware_level(api, config, settings.hardware_compatibility)
    if settings.compute_capability is not None and _targets_compute_capability(trt, config):
        _set_compute_capability(api, config, settings.compute_capability)
    return config


def _target_dla(api: TrtModule, builder: Any, config: Any, settings: BuildSettings) -> None:
    """Put the network on DLA core ``dla_core``, with layers DLA cannot run falling back to the GPU."""
    trt = api.module
    core = settings.dla_core
    cores = int(getattr(builder, "num_DLA_cores", 0))
    if core is None or not 0 <= core < cores:
        raise HardwareError(
            f"DLA core {core} was asked for, but this device has {cores} DLA cores (Jetson AGX Orin, Orin NX and "
            "Xavier have them); build for the GPU (--device cuda:0) instead"
        )
    if settings.precision == "fp32":
        raise InputError("DLA runs fp16 and int8 networks only; build with --precision fp16 for a DLA core")
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = core
    config.set_flag(trt.BuilderFlag.GPU_FALLBACK)


def _set_hardware_level(api: TrtModule, config: Any, level: str) -> None:
    trt = api.module
    levels = getattr(trt, "HardwareCompatibilityLevel", None)
    # TensorRT for RTX has the setter but logs "unsupported" and ignores it: refuse rather than mis-record.
    if levels is None or api.flavour == "tensorrt_rtx" or not hasattr(config, "hardware_compatibility_level"):
        raise InputError(
            f"{api.describe} cannot build hardware-compatible ({level}) engines; build with hardware "
            "compatibility 'none' (an engine for this GPU's compute capability)"
        )
    config.hardware_compatibility_level = getattr(levels, _HARDWARE_LEVEL_MEMBERS[level])


def _targets_compute_capability(trt: Any, config: Any) -> bool:
    """Whether this builder is told its target GPU (TensorRT for RTX) rather than building for the one it runs on."""
    return hasattr(trt, "ComputeCapability") and hasattr(config, "set_compute_capability")


def _set_compute_capability(api: TrtModule, config: Any, compute_capability: str) -> None:
    members = api.module.ComputeCapability
    member = getattr(members, "SM" + compute_capability.replace(".", ""), None)
    if member is None:
        known = sorted(
            f"{name[2:-1]}.{name[-1]}" for name in getattr(members, "__members__", {}) if name.startswith("SM")
        )
        raise HardwareError(
            f"{api.describe} cannot build for compute capability {compute_capability}; it builds for "
            f"{', '.join(known) or 'other GPUs'}. Install a newer TensorRT for RTX, or use the onnxruntime backend"
        )
    config.num_compute_capabilities = 1
    config.set_compute_capability(member, 0)


def _set_timing_cache(config: Any, serialized: bytes | None, trt_logger: Any) -> None:
    """Reuse ``serialized`` where TensorRT accepts it; a stale or foreign cache only costs build time."""
    with trt_logger.capture() as log:
        cache = config.create_timing_cache(serialized or b"")
        accepted = cache is not None and config.set_timing_cache(cache, ignore_mismatch=False)
    if accepted:
        return
    logger.warning("the stored TensorRT timing cache was not accepted, building without it (%s)", quoted(log))
    config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)


def _serialized_timing_cache(config: Any) -> bytes | None:
    cache = config.get_timing_cache()
    return None if cache is None else bytes(cache.serialize())


def _gpu_fallback_layers(config: Any, network: Any) -> int | None:
    """How many layers of a DLA build run on the GPU (``None`` where the config cannot tell)."""
    if not hasattr(config, "can_run_on_DLA"):
        return None
    fallback = sum(1 for index in range(network.num_layers) if not config.can_run_on_DLA(network.get_layer(index)))
    logger.info("%d of %d layers cannot run on DLA and fall back to the GPU", fallback, network.num_layers)
    return fallback


def _build(
    api: TrtModule,
    builder: Any,
    network: Any,
    config: Any,
    trt_logger: Any,
    settings: BuildSettings,
    progress: ProgressCallback | None,
) -> bytes:
    """The serialised plan; progress goes through TensorRT's monitor where it has one, else start and end."""
    trt = api.module
    monitor = None
    if progress is not None and hasattr(trt, "IProgressMonitor"):
        monitor = _progress_monitor(trt, progress)
        config.progress_monitor = monitor
    elif progress is not None:
        progress("building", 0, 1)
    started = time.monotonic()
    with trt_logger.capture() as log:
        try:
            plan = builder.build_serialized_network(network, config)
        except Exception as error:  # bindings raise for a few API misuses instead of logging them
            log.append(f"{type(error).__name__}: {error}")
            plan = None
    if monitor is not None and monitor.error is not None:
        raise monitor.error  # the caller's progress callback failed, and the build was cancelled for it
    if plan is None:
        raise _build_error(api, settings, log)
    if monitor is None and progress is not None:
        progress("building", 1, 1)
    logger.info("%s built the engine in %.1f s", api.describe, time.monotonic() - started)
    return bytes(plan)


def _build_error(api: TrtModule, settings: BuildSettings, log: list[str]) -> ModelRTError:
    what = f"{api.describe} could not build a {settings.precision} engine from this ONNX model ({quoted(log)})"
    if any(hint in message.lower() for message in log for hint in _HARDWARE_HINTS):
        return HardwareError(
            f"{what}. The GPU or its TensorRT installation could not do this build: free GPU memory, lower the "
            "profile's largest shapes (--batch/--shape) or the workspace, or check the install with `modelrt env`"
        )
    return ModelRTError(
        f"{what}. Run with --verbose for TensorRT's full log, try --precision fp32, or use the onnxruntime backend"
    )


def _progress_monitor(trt: Any, progress: ProgressCallback) -> Any:
    """A ``trt.IProgressMonitor`` forwarding to ``progress(phase, steps_done, steps_total)``.

    TensorRT calls it from C++, where a Python exception cannot travel: one raised by ``progress`` is kept,
    the build is cancelled (``step_complete`` returns False), and ``_build`` raises it afterwards.
    """

    class ProgressMonitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.totals: dict[str, int] = {}
            self.error: BaseException | None = None

        def _report(self, phase: str, done: int, total: int) -> bool:
            if self.error is None:
                try:
                    progress(phase, done, total)
                except Exception as error:
                    self.error = error
            return self.error is None

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            self.totals[phase_name] = int(num_steps)
            self._report(phase_name, 0, int(num_steps))

        def step_complete(self, phase_name: str, step: int) -> bool:
            return self._report(phase_name, int(step) + 1, self.totals.get(phase_name, 0))

        def phase_finish(self, phase_name: str) -> None:
            total = self.totals.pop(phase_name, 0)
            self._report(phase_name, total, total)

    return ProgressMonitor()
