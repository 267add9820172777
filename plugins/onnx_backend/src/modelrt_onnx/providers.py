"""Which onnxruntime execution provider serves which device, with which options, and which build is installed.

Both are data read without importing onnxruntime: the provider table is constant, and the build comes
from the installed distributions (``modelrt.installed``: package metadata, read once per install).
Every build of the runtime (``onnxruntime``, ``onnxruntime-gpu``, the Apple and vendor builds) installs
the same ``onnxruntime`` module, so two of them in one environment overwrite each other's files and the
result is whichever was installed last, or a broken mix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from modelrt.devices import Device
from modelrt.installed import installed_version

__all__ = [
    "CUDA_PROVIDER_OPTIONS",
    "PROVIDERS",
    "TENSORRT_CACHE_KIND",
    "RUNTIME_DISTRIBUTIONS",
    "ProviderRow",
    "RuntimeBuild",
    "conflict_fix",
    "extra_for",
    "installed_runtime_builds",
    "provider_for",
    "tensorrt_chain",
]

#: CUDA provider options, spelled out rather than left to onnxruntime's defaults, which change between releases.
CUDA_PROVIDER_OPTIONS = {
    # Grow the memory arena by what a run asks for, not to the next power of two: a second model on the
    # same GPU then still finds room.
    "arena_extend_strategy": "kSameAsRequested",
    # Vision models run at a fixed input size: cuDNN tries every convolution algorithm once per shape,
    # on the first run, and keeps the fastest.
    "cudnn_conv_algo_search": "EXHAUSTIVE",
    "cudnn_conv_use_max_workspace": "1",
    # Input copies and kernels on one stream, so that no copy races a kernel still reading the buffer.
    "do_copy_in_default_stream": "1",
}
#: Folder under the modelrt cache where the TensorRT provider keeps its engines and timing cache.
TENSORRT_CACHE_KIND = "onnxruntime-tensorrt"


def _no_options(_device: Device) -> dict[str, str]:
    return {}


def _cuda_options(device: Device) -> dict[str, str]:
    return {"device_id": str(device.index or 0), **CUDA_PROVIDER_OPTIONS}


@attrs.frozen
class ProviderRow:
    """An execution provider for a device kind; ``offered`` rows are the ones ``load`` may choose."""

    device_kind: str
    provider: str
    options_for: Callable[[Device], dict[str, str]] = _no_options
    offered: bool = True

    def options(self, device: Device) -> dict[str, str]:
        """Provider options for ``device`` (e.g. the CUDA ``device_id``)."""
        return self.options_for(device)


PROVIDERS: tuple[ProviderRow, ...] = (
    ProviderRow("cpu", "CPUExecutionProvider"),
    ProviderRow("cuda", "CUDAExecutionProvider", _cuda_options),
    ProviderRow("coreml", "CoreMLExecutionProvider"),
    # Builds engines on first load (minutes): only used when named (``tensorrt_chain``); the TensorRT
    # plugin remains the first choice for TensorRT.
    ProviderRow("cuda", "TensorrtExecutionProvider", _cuda_options, offered=False),
)

#: Distributions that install the ``onnxruntime`` module; at most one may be installed.
RUNTIME_DISTRIBUTIONS: tuple[str, ...] = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-silicon",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-rocm",
    "onnxruntime-migraphx",
    "onnxruntime-qnn",
)


def provider_for(device: Device) -> ProviderRow | None:
    """The offered provider for ``device``'s kind, or None when this backend cannot serve it."""
    for row in PROVIDERS:
        if row.offered and row.device_kind == device.kind:
            return row
    return None


def tensorrt_chain(device: Device, cache_root: Path, fp16: bool) -> list[tuple[str, dict[str, str]]]:
    """TensorRT first, then CUDA for the nodes TensorRT does not take, as onnxruntime's providers list.

    Engines and the timing cache go under ``cache_root`` when that directory exists (a first load builds
    engines for minutes; later ones reuse them); otherwise nothing is written and every load rebuilds.
    """
    options = {"device_id": str(device.index or 0), "trt_fp16_enable": "True" if fp16 else "False"}
    if cache_root.is_dir():
        cache = str(cache_root / TENSORRT_CACHE_KIND)
        options.update(
            trt_engine_cache_enable="True",
            trt_engine_cache_path=cache,
            trt_timing_cache_enable="True",
            trt_timing_cache_path=cache,
        )
    return [("TensorrtExecutionProvider", options), ("CUDAExecutionProvider", _cuda_options(device))]


@attrs.frozen
class RuntimeBuild:
    """An installed distribution of onnxruntime and its version."""

    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.distribution} {self.version}"


def installed_runtime_builds(
    version_of: Callable[[str], str | None] = installed_version,
) -> tuple[RuntimeBuild, ...]:
    """The onnxruntime distributions installed in this environment, from package metadata."""
    found = ((name, version_of(name)) for name in RUNTIME_DISTRIBUTIONS)
    return tuple(RuntimeBuild(name, version) for name, version in found if version is not None)


def extra_for(device_kind: str) -> str:
    """The modelrt extra that installs the right onnxruntime build for a device kind."""
    return "onnx-gpu" if device_kind == "cuda" else "onnx"


def conflict_fix(builds: tuple[RuntimeBuild, ...], device_kind: str) -> str:
    """The command that replaces several clashing builds by the one ``device_kind`` needs."""
    names = " ".join(build.distribution for build in builds)
    return f'pip uninstall -y {names} && pip install "modelrt[{extra_for(device_kind)}]"'
