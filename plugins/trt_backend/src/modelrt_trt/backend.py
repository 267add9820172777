"""``TensorRTBackend``: runs ``tensorrt-engine`` artifacts, and ``onnx`` ones through engines it builds.

An ``onnx`` artifact runs from an engine in the modelrt cache (``engine_cache``). A load never starts a
build unless the caller allowed it (``extras={"tensorrt": {"build": True}}``): without a cached engine it
raises ``EngineNotBuiltError``, which ``backend="auto"`` records in the plan (with the ``modelrt build``
command that makes one) before it tries the next backend. ``build`` (the core's ``EngineBuilder``
protocol, behind ``modelrt build``) makes the engine, under the cache lock, so two processes build it once.

Every engine, cached or shipped in a package, is checked against this host before TensorRT sees it:
its container's facts (flavour, TensorRT version, GPU compute capability, L4T, DLA core) must fit, so a
mismatch is a ``HardwareError`` that names both sides and the rebuild command, never TensorRT's silent
``None``. Then CUDA is checked (TensorRT's lean runtime crashes without it), and only then TensorRT's
``Runtime`` is made. TensorRT and CUDA are imported here, lazily, only when this backend is a candidate.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from modelrt.engines.facts import EngineFacts
from modelrt.engines.fit import EngineHost
from modelrt.errors import HardwareError, InputError, ModelRTError, PackageError
from modelrt_trt import __version__
from modelrt_trt.availability import check_availability
from modelrt_trt.binding import TrtModule, find_flavours, import_flavour
from modelrt_trt.engine_cache import (
    ENGINE_FILE,
    ENGINE_KIND,
    KEY_FILE,
    TIMING_FILE,
    TIMING_KIND,
    EngineKey,
    find_cached,
)
from modelrt_trt.gpu_facts import TargetGpu, target_gpu
from modelrt_trt.settings import BACKEND_NAME, TrtSettings

if TYPE_CHECKING:
    from modelrt.backend import Artifact, BuildOutcome, BuildRequest
    from modelrt.devices import Device
    from modelrt.host_environment import Environment
    from modelrt.manifest import ArtifactEntry
    from modelrt.options import RunOptions
    from modelrt.packages import ModelPackage
    from modelrt.specs import Availability
    from modelrt_trt.session import TensorRTSession

__all__ = ["EngineNotBuiltError", "TensorRTBackend", "choose_precision"]

#: What a build usually costs, for the plan's note (TensorRT tries tactics for every layer).
TYPICAL_BUILD_TIME = "from under a minute for a classifier to several minutes for a detector"
#: Tensor cores (Volta and later) make fp16 engines faster than fp32 ones for vision networks.
FP16_FROM_COMPUTE_MAJOR = 7


class EngineNotBuiltError(ModelRTError):
    """No cached engine fits this model, GPU and TensorRT, and the caller did not allow a build."""


def choose_precision(requested: str, gpu: TargetGpu, device: Device) -> tuple[str, str]:
    """The precision to build and why: ``auto`` is fp16 on DLA and on GPUs with tensor cores, else fp32."""
    if requested == "int8":
        raise InputError(
            "int8 TensorRT engines need calibration data, which modelrt-trt does not take yet; build fp16 "
            "(--precision fp16) or fp32"
        )
    if requested != "auto":
        return requested, f"{requested} as requested"
    if device.kind == "dla":
        return "fp16", "fp16: DLA cores run fp16 or int8 only"
    major = int(gpu.compute_capability.split(".")[0]) if gpu.compute_capability else None
    if major is not None and major >= FP16_FROM_COMPUTE_MAJOR:
        return "fp16", f"fp16: compute capability {gpu.compute_capability} has tensor cores (auto rule: >= 7.0)"
    return "fp32", f"fp32: compute capability {gpu.compute_capability or 'unknown'} has no tensor cores"


class TensorRTBackend:
    """The ``tensorrt`` backend: availability, ``load`` into a ``TensorRTSession``, and ``build``."""

    name = BACKEND_NAME

    def __init__(self) -> None:
        self._env: Environment | None = None

    def availability(self, env: Environment, device: Device) -> Availability:
        # The planner asks availability before load, build and readiness, with the environment the caller
        # gave (``modelrt.load(..., environment=)``); those take the GPU's facts from that same one.
        self._env = env
        return check_availability(env, device, None)

    def _environment(self) -> Environment:
        from modelrt.context import current_environment

        return self._env if self._env is not None else current_environment()

    # ------------------------------------------------------------------------------------------ load

    def load(self, artifact: Artifact, device: Device, options: RunOptions) -> TensorRTSession:
        settings = TrtSettings.from_options(options)
        gpu = target_gpu(self._environment(), device)
        if artifact.format == "tensorrt-engine":
            return self._open_engine(artifact.read_bytes(), artifact.file.name, artifact, device, gpu, settings, [])
        if artifact.format != "onnx":
            raise PackageError(f"the tensorrt backend runs onnx and tensorrt-engine artifacts, not {artifact.format!r}")
        api = _api(settings.flavour)
        found = self._cached_engine(_onnx_sha256(artifact), api, device, gpu, options, settings)
        notes: list[str] = []
        if found is None:
            if not settings.build:
                raise EngineNotBuiltError(_not_built(artifact.file.name, api, gpu, _build_command(artifact, device)))
            from modelrt.backend import BuildRequest

            request = BuildRequest(precision=options.precision, batch=settings.batch, shapes=dict(settings.shapes))
            outcome = self.build(artifact, device, options, request)
            notes.append(f"built a TensorRT engine on load in {outcome.seconds:.1f} s: {outcome.summary}")
            found = self._cached_engine(_onnx_sha256(artifact), api, device, gpu, options, settings)
            if found is None:  # pragma: no cover - the build just wrote it
                raise ModelRTError(f"the engine built for {artifact.file.name} is not in the modelrt cache")
        key, data = found
        return self._open_engine(
            data, f"{ENGINE_KIND}/{key.digest()}/{ENGINE_FILE}", artifact, device, gpu, settings, notes
        )

    def readiness(
        self, entry: ArtifactEntry, device: Device, options: RunOptions, *, package: ModelPackage
    ) -> Availability | None:
        """For ``explain``: whether an ONNX artifact has a cached engine, and whether an engine file fits."""
        from modelrt.specs import Availability

        settings = TrtSettings.from_options(options)
        gpu = target_gpu(self._environment(), device)
        if entry.format == "tensorrt-engine":
            return _engine_file_readiness(entry, package, gpu, settings)
        if entry.format != "onnx" or entry.sha256 is None:
            return None
        if settings.build:
            return Availability(True, f"a load builds the TensorRT engine first ({TYPICAL_BUILD_TIME})")
        api = _api(settings.flavour)
        found = self._cached_engine(entry.sha256.lower(), api, device, gpu, options, settings)
        if found is None:
            command = f"modelrt build {package.reference} --backend tensorrt"
            return Availability(False, _not_built(entry.path, api, gpu, command), command)
        key, _ = found
        return Availability(True, f"{api.describe}, cached {key.precision} engine {key.digest()} for {gpu.describe()}")

    def _cached_engine(
        self, sha256: str, api: TrtModule, device: Device, gpu: TargetGpu, options: RunOptions, settings: TrtSettings
    ) -> tuple[EngineKey, bytes] | None:
        precisions = ("fp16", "fp32") if options.precision == "auto" else (options.precision,)
        for precision in precisions:
            key = _engine_key(sha256, api, gpu, device, precision, settings.batch, settings.shapes, False)
            found = find_cached(key, exact_profile=settings.names_profile)
            if found is not None:
                return found
        return None

    def _open_engine(
        self,
        data: bytes,
        name: str,
        artifact: Artifact,
        device: Device,
        gpu: TargetGpu,
        settings: TrtSettings,
        notes: list[str],
    ) -> TensorRTSession:
        from modelrt.engines.container import read_engine
        from modelrt.engines.fit import refuse_misfit
        from modelrt_trt.cuda import CudaRuntime
        from modelrt_trt.engine_runtime import deserialize_engine
        from modelrt_trt.session import TensorRTSession

        engine_file = read_engine(data, name=name)
        facts = _with_manifest_target(engine_file.facts, artifact)
        rebuild = _build_command(artifact, device)
        api = _engine_api(facts, settings.flavour, name, rebuild)
        warnings = refuse_misfit(facts, _engine_host(api, gpu), engine=name, rebuild=rebuild)
        unknown = [fact for fact in ("tensorrt_version", "compute_capability") if getattr(facts, fact) is None]
        if unknown:
            notes.append(
                f"{name} is a {engine_file.kind} engine that does not record its {' and '.join(unknown)}: it could not "
                "be checked against this host before loading"
            )
        cuda = CudaRuntime()
        handle = deserialize_engine(api, bytes(engine_file.plan), device, cuda)
        session = TensorRTSession(
            api, handle, device, contexts=settings.contexts, cuda_graphs=settings.cuda_graphs, cuda=cuda
        )
        session.notes = (*getattr(session, "notes", ()), *notes, *warnings)
        return session

    # ----------------------------------------------------------------------------------------- build

    def build(
        self,
        artifact: Artifact,
        device: Device,
        options: RunOptions,
        request: BuildRequest,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> BuildOutcome:
        """Find a cached engine for ``request`` or build one, under the cache lock (one build per key)."""
        from modelrt import cache
        from modelrt.backend import BuildOutcome
        from modelrt.engines.container import write_container
        from modelrt_trt.builder import BuildSettings, build_plan

        if artifact.format != "onnx":
            raise InputError(
                f"{artifact.file.name} is already a {artifact.format} artifact; the tensorrt backend builds onnx"
            )
        settings = TrtSettings.from_options(options)
        api = _api(settings.flavour)
        if not api.can_build:
            raise InputError(f"{api.describe} runs engines but cannot build them; install TensorRT itself to build")
        gpu = target_gpu(self._environment(), device)
        precision, why = choose_precision(request.precision, gpu, device)
        model = artifact.read_bytes()
        sha256 = _onnx_sha256(artifact, model)
        key = _engine_key(
            sha256, api, gpu, device, precision, request.batch, request.shapes, request.version_compatible
        )
        started = time.monotonic()
        with cache.open_entry(ENGINE_KIND, key.digest()) as entry:
            existing = None if request.rebuild else entry.read_bytes(ENGINE_FILE)
            if existing is not None:
                return BuildOutcome(artifact.role, artifact.file.name, entry.directory / ENGINE_FILE, True, 0.0, why)
            if precision == "fp16" and api.strongly_typed_only:
                model = _fp16_model(model, sha256)
            with cache.open_entry(TIMING_KIND, key.timing_digest()) as timing_entry:
                built = build_plan(
                    api,
                    model,
                    BuildSettings(
                        precision=precision,
                        batch=request.batch,
                        shapes=request.shapes,
                        workspace_bytes=request.workspace_bytes,
                        dla_core=device.index if device.kind == "dla" else None,
                        version_compatible=request.version_compatible,
                        compute_capability=gpu.compute_capability,
                    ),
                    timing_cache=timing_entry.read_bytes(TIMING_FILE),
                    progress=progress,
                )
                if built.timing_cache:
                    timing_entry.write_bytes(TIMING_FILE, built.timing_cache)
            facts = attrs.evolve(
                built.facts,
                gpu_name=gpu.name,
                compute_capability=built.facts.compute_capability or gpu.compute_capability,
                driver_version=gpu.driver_version,
                cuda_version=gpu.cuda_version,
                l4t=gpu.l4t,
                onnx_sha256=sha256,
                builder=f"modelrt-trt {__version__}",
            )
            path = entry.write_bytes(ENGINE_FILE, write_container(built.plan, facts))
            entry.write_text(KEY_FILE, json.dumps(key.to_dict(), indent=1, sort_keys=True) + "\n")
        fallback = getattr(built, "gpu_fallback_layers", None)
        dla_note = f"; {fallback} layers fall back to the GPU" if fallback else ""
        summary = f"{api.describe}, {why}, for {gpu.describe()}{dla_note}"
        return BuildOutcome(artifact.role, artifact.file.name, path, False, time.monotonic() - started, summary)


def _engine_file_readiness(
    entry: ArtifactEntry, package: ModelPackage, gpu: TargetGpu, settings: TrtSettings
) -> Availability | None:
    """An engine file whose recorded facts do not fit this host, from its header alone; else no opinion."""
    from modelrt.engines.container import peek_facts
    from modelrt.engines.fit import refuse_misfit
    from modelrt.specs import Availability

    rebuild = f"modelrt build {package.reference} --backend tensorrt"
    try:
        facts = peek_facts(package.resolve_path(entry.path))
        if facts is None:
            return None
        api = _engine_api(facts, settings.flavour, entry.path, rebuild)
        refuse_misfit(facts, _engine_host(api, gpu), engine=entry.path, rebuild=rebuild)
    except ModelRTError as error:
        return Availability(False, str(error))
    return None


def _engine_api(facts: EngineFacts, requested: str | None, name: str, rebuild: str) -> TrtModule:
    """The TensorRT that must run an engine: the flavour it records (a plan of one product is never
    handed to another), else the one requested, else the first installed."""
    flavour = facts.flavour or requested or _first_flavour()
    if requested is not None and facts.flavour is not None and requested != facts.flavour:
        raise InputError(f"{name} is a {facts.flavour} plan; it cannot run on the {requested} requested")
    installed = find_flavours()
    if flavour not in installed:
        raise HardwareError(
            f"{name} is a {flavour} plan, which only {flavour}'s own runtime loads, and this environment has "
            f"{', '.join(installed) or 'no TensorRT'}; install {flavour}, or `{rebuild}` to build an engine "
            "with the TensorRT installed here"
        )
    return _api(flavour)


def _not_built(artifact: str, api: TrtModule, gpu: TargetGpu, command: str) -> str:
    return (
        f"no TensorRT engine for {artifact} on {gpu.describe()} with {api.describe} is cached, and loads do not "
        f"start builds; `{command}` makes one ({TYPICAL_BUILD_TIME}), or pass "
        "extras={'tensorrt': {'build': True}} to build on load"
    )


def _first_flavour() -> str:
    installed = find_flavours()
    if not installed:
        raise HardwareError(
            'TensorRT is not installed; install it with pip install "modelrt[trt-cu12]" (or [trt-cu13])'
        )
    return installed[0]


def _api(flavour: str | None) -> TrtModule:
    api = import_flavour(flavour or _first_flavour())
    api.check_supported()
    return api


def _engine_host(api: TrtModule, gpu: TargetGpu) -> EngineHost:
    return EngineHost(
        flavour=api.flavour,
        tensorrt_version=api.version,
        gpu_name=gpu.name,
        compute_capability=gpu.compute_capability,
        l4t=gpu.l4t,
        dla_cores=gpu.dla_cores,
    )


def _onnx_sha256(artifact: Artifact, model: bytes | None = None) -> str:
    if artifact.sha256:
        return artifact.sha256.lower()
    return hashlib.sha256(model if model is not None else artifact.read_bytes()).hexdigest()


def _engine_key(
    sha256: str,
    api: TrtModule,
    gpu: TargetGpu,
    device: Device,
    precision: str,
    batch: tuple[int, ...] | None,
    shapes: object,
    version_compatible: bool,
) -> EngineKey:
    return EngineKey(
        onnx_sha256=sha256,
        flavour=api.flavour,
        tensorrt_version=api.version,
        gpu_name=gpu.name,
        compute_capability=gpu.compute_capability,
        precision=precision,
        profile={"batch": list(batch) if batch else None, "shapes": shapes or {}},
        dla_core=device.index if device.kind == "dla" else None,
        version_compatible=version_compatible,
        l4t=gpu.l4t,
    )


def _fp16_model(model: bytes, sha256: str) -> bytes:
    """The fp16 copy of an ONNX model (strongly typed TensorRT builds need one), converted once and cached."""
    from modelrt import cache
    from modelrt_trt.fp16_onnx import to_fp16_onnx

    with cache.open_entry("onnx-fp16", sha256[:32]) as entry:
        converted = entry.read_bytes("model.onnx")
        if converted is None:
            converted = to_fp16_onnx(model)
            entry.write_bytes("model.onnx", converted)
    return converted


def _with_manifest_target(facts: EngineFacts, artifact: Artifact) -> EngineFacts:
    """Facts a file lacks (bare and Ultralytics plans), taken from the manifest's ``target`` of the artifact."""
    target = artifact.target or {}
    if not target:
        return facts
    return attrs.evolve(
        facts,
        compute_capability=facts.compute_capability or target.get("gpu_compute_capability"),
        tensorrt_version=facts.tensorrt_version or target.get("tensorrt"),
        hardware_compatibility=facts.hardware_compatibility or target.get("hardware_compatibility"),
    )


def _build_command(artifact: Artifact, device: Device) -> str:
    package = artifact.package_root
    model = package if (package / "modelrt.json").is_file() else artifact.file
    where = (
        f" --dla {device.index}"
        if device.kind == "dla"
        else ("" if device.index in (None, 0) else f" --device {device}")
    )
    return f"modelrt build {model} --backend tensorrt{where}"
