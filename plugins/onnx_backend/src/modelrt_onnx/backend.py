"""``OnnxRuntimeBackend``: runs ``onnx`` artifacts with onnxruntime on cpu, cuda and coreml.

onnxruntime is imported here, lazily, and only when this backend is a candidate. Two habits of
onnxruntime shape this module: ``get_available_providers()`` lists what the build was compiled with,
not what can load on this host; and a provider that fails to load (CUDA without a driver) falls back to
CPU with only a log line. So availability checks the host's evidence too, and ``load`` compares the
provider the session really got with the one requested and refuses a silent fallback.
"""

from __future__ import annotations

import importlib
import logging
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path, PurePath
from types import ModuleType
from typing import TYPE_CHECKING, Any

from modelrt.cache import cache_root
from modelrt.errors import HardwareError, ModelRTError, NoUsableBackendError, PackageError
from modelrt.onnx_external_data import ExternalDataFile, read_external_data, resolve_external_data
from modelrt.specs import Availability
from modelrt_onnx.cuda_libraries import preload_cuda_libraries
from modelrt_onnx.io_binding import BindingRunner, Placement
from modelrt_onnx.logs import LOGGER_NAME, captured_messages, route_ort_logging, stderr_messages
from modelrt_onnx.ort_errors import load_error
from modelrt_onnx.providers import (
    ProviderRow,
    RuntimeBuild,
    conflict_fix,
    extra_for,
    installed_runtime_builds,
    provider_for,
    tensorrt_chain,
)
from modelrt_onnx.session import OnnxSession
from modelrt_onnx.session_options import BACKEND_NAME, build_session_options, io_binding_choice, provider_choice
from modelrt_onnx.verified_session import create_session

if TYPE_CHECKING:
    from modelrt.backend import Artifact
    from modelrt.devices import Device
    from modelrt.host_environment import Environment
    from modelrt.options import RunOptions

__all__ = ["OnnxRuntimeBackend"]

logger = logging.getLogger(LOGGER_NAME)

_SUPPORTED_KINDS = "cpu, cuda and coreml"


def import_onnxruntime() -> ModuleType:
    """Import onnxruntime (a seam: tests replace it to simulate a missing or broken runtime)."""
    return importlib.import_module("onnxruntime")


class OnnxRuntimeBackend:
    """The ``onnxruntime`` backend: availability per device, and ``load`` into an ``OnnxSession``."""

    name = BACKEND_NAME

    def availability(self, env: Environment, device: Device) -> Availability:
        """Whether onnxruntime can run on ``device`` here, why not, and the command that fixes it."""
        row = provider_for(device)
        if row is None:
            return Availability(
                False,
                f"the onnxruntime backend runs on {_SUPPORTED_KINDS}, not on {device.kind}",
                None,
            )
        host_verdict = _host_verdict(env, device)
        if host_verdict is not None:
            return host_verdict
        builds = installed_runtime_builds()
        if len(builds) > 1:
            return Availability(
                False,
                f"broken onnxruntime install: {', '.join(map(str, builds))} are all installed, and each "
                "provides the same `onnxruntime` module, overwriting the others' files",
                conflict_fix(builds, device.kind),
            )
        try:
            ort = import_onnxruntime()
        except ImportError as error:
            return Availability(
                False,
                f"onnxruntime is not installed ({error})",
                f'pip install "modelrt[{extra_for(device.kind)}]"',
            )
        except Exception as error:  # a half-installed wheel fails with OSError, AttributeError...
            return Availability(
                False,
                f"onnxruntime is installed but fails to import: {type(error).__name__}: {error}",
                _reinstall_fix(builds, device.kind),
            )
        build = _describe_build(builds, ort)
        available = tuple(ort.get_available_providers())
        if row.provider not in available:
            return _missing_provider(row, device, build, builds, available)
        return Availability(True, f"{build} offers {row.provider} for {device}", None)

    def load(self, artifact: Artifact, device: Device, options: RunOptions) -> OnnxSession:
        """Load ``artifact`` on ``device``: checked file, tuned session, verified provider."""
        if artifact.format != "onnx":
            raise PackageError(
                f"the onnxruntime backend runs 'onnx' artifacts, not {artifact.format!r} ({artifact.file})"
            )
        row = provider_for(device)
        if row is None:
            raise HardwareError(f"the onnxruntime backend runs on {_SUPPORTED_KINDS}, not on {device}")
        _check_precision(artifact, options)
        providers = _providers(row, device, options)
        bound = io_binding_choice(options, device.kind)
        # Everything onnxruntime gets is read here, once, and verified: the model, then each file its
        # tensors name, found in those same bytes.
        model = artifact.read_bytes()
        found = read_external_data(artifact.file, model)
        external_files = resolve_external_data(artifact.file, found.locations, artifact.package_root)
        external_data = _verified_external_data(artifact, external_files)
        try:
            ort = import_onnxruntime()
        except ImportError as error:
            raise NoUsableBackendError(
                f"the onnxruntime backend cannot load {artifact.file.name}: onnxruntime is not installed "
                f'({error}). Install it with: pip install "modelrt[{extra_for(device.kind)}]"'
            ) from None
        routed = route_ort_logging(ort)
        session_options = build_session_options(ort, options)
        if device.kind == "cuda":
            preload_cuda_libraries(ort)
        # Without onnxruntime's log callback, a CUDA fallback is explained on stderr only: keep a copy of it.
        printed: AbstractContextManager[list[str]] = (
            stderr_messages() if device.kind == "cuda" and not routed else nullcontext([])
        )
        try:
            with captured_messages() as messages, printed as printed_messages:
                session = create_session(
                    ort,
                    model,
                    _path_in_package(artifact),
                    external_data,
                    found.top_level_only,
                    session_options,
                    providers,
                )
        except ModelRTError:  # a private copy of the files could not be written
            raise
        # onnxruntime's pybind11 errors (InvalidProtobuf, Fail...) derive directly from Exception.
        except Exception as error:
            raise load_error(error, artifact.file, ort.__version__) from error
        requested = providers[0][0]
        actual = session.get_providers()[0]
        if actual != requested:
            said = messages + printed_messages
            raise HardwareError(_fallback_message(artifact, device, requested, actual, said, routed))
        logger.info(
            "loaded %s with %s on %s (%d intra-op threads%s)",
            artifact.file,
            actual,
            device,
            session_options.intra_op_num_threads,
            f", {len(external_files)} external data file(s)" if external_files else "",
        )
        runner = _binding_runner(ort, session, device) if bound else None
        return OnnxSession(session, device=device, provider=actual, io_binding=runner)


def _binding_runner(ort: ModuleType, session: Any, device: Device) -> BindingRunner:
    """I/O binding on ``device``: its own memory on ``cuda:N``, host memory for the CPU and CoreML."""
    placement = Placement("cuda", device.index or 0) if device.kind == "cuda" else Placement("cpu", 0)
    runner = BindingRunner(
        ort,
        session,
        [arg.name for arg in session.get_inputs()],
        [arg.name for arg in session.get_outputs()],
        placement,
    )
    logger.debug("runs of this session go through I/O binding on %s; input staging %s", device, runner.staging)
    return runner


def _path_in_package(artifact: Artifact) -> PurePath:
    file = artifact.file.absolute()
    root = artifact.package_root.absolute()
    return file.relative_to(root) if file.is_relative_to(root) else PurePath(file.name)


def _verified_external_data(artifact: Artifact, files: tuple[ExternalDataFile, ...]) -> dict[str, bytes]:
    """Each location's content, each file read once and checked against the manifest's entry for it."""
    contents: dict[Path, bytes] = {}
    for data in files:
        if data.file not in contents:
            contents[data.file] = artifact.data_file(data.file).read_bytes()
    return {data.location: contents[data.file] for data in files}


def _providers(row: ProviderRow, device: Device, options: RunOptions) -> list[tuple[str, dict[str, str]]]:
    """The providers list for onnxruntime: the device's own, or TensorRT then CUDA when named explicitly."""
    choice, fp16 = provider_choice(options)
    if choice == "tensorrt":
        if device.kind != "cuda":
            raise HardwareError(
                f"the TensorRT execution provider runs on cuda devices, not on {device}; load on cuda:N, or drop "
                "execution_provider='tensorrt'"
            )
        return tensorrt_chain(device, cache_root(), fp16)
    return [(row.provider, row.options(device))]


def _fallback_message(
    artifact: Artifact, device: Device, requested: str, actual: str, messages: list[str], routed: bool
) -> str:
    cause = (
        "the NVIDIA driver, CUDA or cuDNN libraries are missing or do not match this onnxruntime-gpu"
        if device.kind == "cuda"
        else f"{requested} could not take the model"
    )
    if messages:
        said = f"onnxruntime said: {' | '.join(message.strip() for message in messages)}"
    elif routed:
        said = "onnxruntime logged no reason at the modelrt.onnx logger's level; set it to DEBUG to see more"
    else:
        said = "this onnxruntime writes its reason to stderr"
    return (
        f"onnxruntime was asked to run {artifact.file.name} with {requested} on {device} but fell back to "
        f"{actual}: {cause} ({said}). Fix that, or load with device='cpu' to run on the CPU knowingly."
    )


def _describe_build(builds: tuple[RuntimeBuild, ...], ort: ModuleType) -> str:
    if builds:
        return str(builds[0])
    # Built from source or vendored: no distribution metadata, only the module's version.
    return f"onnxruntime {getattr(ort, '__version__', '(unknown version)')}"


def _reinstall_fix(builds: tuple[RuntimeBuild, ...], device_kind: str) -> str:
    names = " ".join(build.distribution for build in builds) or "onnxruntime"
    return f'pip uninstall -y {names} && pip install "modelrt[{extra_for(device_kind)}]"'


def _missing_provider(
    row: ProviderRow,
    device: Device,
    build: str,
    builds: tuple[RuntimeBuild, ...],
    available: tuple[str, ...],
) -> Availability:
    offered = ", ".join(available) or "none"
    reason = f"{build} has no {row.provider} (this build offers: {offered})"
    if device.kind == "cuda":
        return Availability(
            False,
            f"{reason}; CUDA needs the onnxruntime-gpu build in place of {_installed_names(builds, build)}",
            _reinstall_fix(builds, "cuda"),
        )
    if device.kind == "coreml":
        return Availability(
            False,
            f"{reason}; CoreML needs onnxruntime's macOS wheel in place of {_installed_names(builds, build)}",
            _reinstall_fix(builds, "coreml"),
        )
    return Availability(False, reason, _reinstall_fix(builds, device.kind))


def _installed_names(builds: tuple[RuntimeBuild, ...], build: str) -> str:
    """The installed onnxruntime distributions by name, or the build as ``_describe_build`` gave it."""
    return " and ".join(item.distribution for item in builds) or build


def _host_verdict(env: Environment, device: Device) -> Availability | None:
    """Not usable when the probed host rules the device out; None when it does not (or says nothing).

    onnxruntime-gpu lists CUDAExecutionProvider on any host, so the NVIDIA driver is looked for in the
    environment's facts. A Jetson has no ``/dev/nvidia0`` node, and an environment without NVIDIA
    facts says nothing either way: both are left to ``load``, which checks the provider the session
    really got.
    """
    system = getattr(env, "system", None)
    if device.kind == "coreml" and system is not None and system != "Darwin":
        return Availability(False, f"CoreML exists only on macOS, and this host runs {system}", None)
    if device.kind != "cuda":
        return None
    if system == "Darwin":
        return Availability(False, "CUDA does not run on macOS", None)
    evidence = getattr(env, "nvidia_evidence", None)
    if evidence:
        return _visible_gpu_verdict(env, device)
    if evidence is None or getattr(env, "is_jetson", False):
        return None
    gpu_builds = [build for build in installed_runtime_builds() if build.distribution == "onnxruntime-gpu"]
    return Availability(
        False,
        "this host shows no NVIDIA driver or GPU (no /proc/driver/nvidia/version, no /dev/nvidia*), so "
        "CUDA cannot run here"
        + (f"; the installed {gpu_builds[0]} would silently run on the CPU" if gpu_builds else ""),
        "install the NVIDIA driver (and CUDA 12 libraries), or use device='cpu'",
    )


def _visible_gpu_verdict(env: Environment, device: Device) -> Availability | None:
    """Not usable when NVML listed the GPUs and ``CUDA_VISIBLE_DEVICES`` leaves none at ``device``'s index."""
    gpus = getattr(env, "gpus", ())
    if not gpus:
        return None  # NVML said nothing: onnxruntime decides, and load checks what it chose
    visible = getattr(env, "visible_gpus", ())
    if any(gpu.cuda_index == device.index for gpu in visible):
        return None
    setting = f"CUDA_VISIBLE_DEVICES={getattr(env, 'cuda_visible_devices', None)!r}"
    if not visible:
        return Availability(
            False,
            f"{setting} hides all {len(gpus)} GPU(s) of this host from this process",
            "unset CUDA_VISIBLE_DEVICES, or set it to the GPUs to use (see `modelrt env`), or use device='cpu'",
        )
    seen = ", ".join(f"cuda:{gpu.cuda_index} ({gpu.name or 'unnamed GPU'})" for gpu in visible)
    return Availability(False, f"{device} does not exist here: this process sees {seen}", f"use one of: {seen}")


def _check_precision(artifact: Artifact, options: RunOptions) -> None:
    """An explicit precision must be the artifact's own: onnxruntime does not convert weights."""
    requested = options.precision
    stored = artifact.precision or "fp32"
    if requested in ("auto", stored):
        return
    raise HardwareError(
        f"precision {requested!r} was requested, but {artifact.file.name} holds {stored} weights and the "
        f"onnxruntime backend runs an artifact in its own precision. Use precision='auto' (or "
        f"'{stored}'), or add a {requested} artifact to the package."
    )
