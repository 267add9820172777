"""The core's verdicts on the generic rows of the hardware compatibility matrix.

The core judges CPUs, macOS, Windows and NVIDIA GPUs on Linux. Jetson rows belong to the jetson
plugin: the core only recognises a Jetson far enough to say that the plugin is needed, and says
nothing about it once the plugin has contributed its facts. The plugin's ``is_jetson`` fact is the
last word both ways: ``true`` silences the core even where the core saw no Jetson (a device tree
naming a Tegra SoC, with no ``/etc/nv_tegra_release``); ``false`` lets the core judge a host that
carries L4T files without being a Jetson (an L4T image built under emulation on an x86-64 machine)
as the generic host it is. A Jetson is never judged as a generic ARM Linux host. NVIDIA and CPU
verdicts are exclusive, so the merged install command never asks for both ``onnxruntime`` and
``onnxruntime-gpu``. NVIDIA verdicts go from the most serious down: WSL2 (Windows-hosted, not tested),
a driver too old for the installed CUDA runtime (an error naming both and the minimum driver), CUDA 13
or a GPU of compute capability 10 and up (recognised, outside the verified matrix), then the row of the
distribution. Fixes that install something say it the way modelrt-core was installed here: released
extras from a package index, or the directories of the source tree it came from.
"""

from __future__ import annotations

from modelrt.hardware_matrix import matrix_status
from modelrt.host_environment import Environment
from modelrt.installation import Installation, detect_installation
from modelrt.nvidia.cuda_versions import (
    MINIMUM_DRIVER_BY_CUDA_MAJOR,
    ONNX_GPU_CUDA_MAJOR,
    cuda_major,
    driver_shortfall,
    is_verified_cuda,
    tensorrt_extra,
)
from modelrt.specs import Finding, Severity, Status

__all__ = ["JETSON_FACTS_KEY", "NVIDIA_OUTSIDE_MATRIX_ROW", "NVIDIA_VERIFIED_UBUNTU", "NVIDIA_WSL_ROW", "core_findings"]

#: Key under ``Environment.facts`` where the jetson plugin puts its facts.
JETSON_FACTS_KEY = "jetson"
#: Ubuntu releases on which NVIDIA GPUs are verified.
NVIDIA_VERIFIED_UBUNTU = ("22.04", "24.04")

#: Off-matrix rows: CUDA 13 or a GPU newer than the matrix; an NVIDIA GPU reached through WSL2.
NVIDIA_OUTSIDE_MATRIX_ROW = "nvidia-outside-matrix"
NVIDIA_WSL_ROW = "nvidia-wsl2"
#: Blackwell (10.x data centre, 12.x consumer) and later are newer than the verified matrix.
_FIRST_UNVERIFIED_COMPUTE_MAJOR = 10
_VERIFY_GPU = (
    "check with `modelrt explain MODEL` that cuda:0 is chosen and that `modelrt predict` gives the same "
    "results with --device cuda:0 and --device cpu"
)
_SHOW_GPUS = "unset CUDA_VISIBLE_DEVICES, or set it to the GPUs to use (indexes or UUIDs, see `modelrt env`)"

_ONNX = "modelrt[onnx]"
_ONNX_GPU = "modelrt[onnx-gpu]"
_JETSON = "modelrt[jetson]"


def core_findings(env: Environment, installation: Installation | None = None) -> list[Finding]:
    """The core's Findings for ``env``: one verdict for the generic row it matches, or none.

    ``installation`` (by default, how modelrt-core was installed here) words the install commands in fixes.
    """
    installation = detect_installation() if installation is None else installation
    plugin_says_jetson = _jetson_plugin_verdict(env)
    if plugin_says_jetson is True:
        return []
    if plugin_says_jetson is None and env.is_jetson:
        return [_jetson_needs_plugin(env, installation)]
    if env.system == "Linux":
        return [_linux(env, installation)]
    if env.system == "Darwin":
        return [_macos(env)]
    if env.system == "Windows":
        return [_windows(env)]
    return [_unknown_host(env)]


def _jetson_plugin_verdict(env: Environment) -> bool | None:
    """Whether the jetson plugin judged this host a Jetson; ``None`` when it said nothing.

    Facts from a plugin that predates the ``is_jetson`` key count as "yes" on a host the core
    recognised, as they did before the key existed.
    """
    facts = env.facts.get(JETSON_FACTS_KEY)
    if facts is None:
        return None
    said = facts.get("is_jetson")
    if isinstance(said, bool):
        return said
    return True if env.is_jetson else None


def _jetson_needs_plugin(env: Environment, installation: Installation) -> Finding:
    return Finding(
        row="jetson",
        status=Status.UNKNOWN,
        severity=Severity.WARNING,
        message=(
            f"This is an NVIDIA Jetson ({env.jetson_hint}). Its JetPack release, module and system "
            "TensorRT decide which matrix row applies, and judging them needs the jetson plugin, "
            "which is not installed."
        ),
        fix=installation.pip_install([_JETSON]),
        install=(_JETSON,),
    )


def _linux(env: Environment, installation: Installation) -> Finding:
    if env.has_nvidia_gpu:
        return _nvidia(env, installation)
    if env.architecture == "x86_64":
        return Finding(
            row="cpu-x86_64-linux",
            status=matrix_status("cpu-x86_64-linux"),
            severity=Severity.INFO,
            message=(f"CPU x86_64 on {_linux_words(env)}: stable. The ONNX backend runs models on this CPU."),
            install=(_ONNX,),
        )
    if env.architecture == "aarch64":
        return Finding(
            row="cpu-aarch64-linux",
            status=Status.OUTSIDE_VERIFIED_MATRIX,
            severity=Severity.WARNING,
            message=(
                f"CPU aarch64 on {_linux_words(env)}: ARM Linux hosts other than NVIDIA Jetson are outside "
                "the verified matrix. The ONNX backend is expected to work on this CPU, but no release "
                "is checked on it."
            ),
            fix=f"{installation.pip_install([_ONNX])}, then check a model with `modelrt explain MODEL`",
            install=(_ONNX,),
        )
    return _unknown_host(env)


def _nvidia(env: Environment, installation: Installation) -> Finding:
    """The NVIDIA verdict, most serious first: WSL2, a driver too old, CUDA outside the matrix, hidden GPUs."""
    if env.is_wsl:
        return _nvidia_wsl(env, installation)
    verified = (
        env.architecture == "x86_64"
        and env.distribution == "ubuntu"
        and env.distribution_version in NVIDIA_VERIFIED_UBUNTU
    )
    row = "nvidia-ubuntu" if verified else "nvidia-other-linux"
    where = f"NVIDIA GPU on {_linux_words(env)} ({_nvidia_words(env)})"
    too_old = _driver_too_old(env)
    if too_old is not None:
        return Finding(
            row=row,
            status=Status.NOT_POSSIBLE,
            severity=Severity.ERROR,
            message=f"{where}: CUDA cannot run, because the {too_old}.",
            fix=f"upgrade the NVIDIA driver, then {installation.pip_install([_ONNX_GPU])}",
            install=(),
        )
    # TensorRT ranks first on NVIDIA GPUs; ONNX Runtime on CUDA runs what has no engine built yet.
    gpu_extras = (_ONNX_GPU, tensorrt_extra(env.cuda_driver_version))
    gpu_install = installation.pip_install(list(gpu_extras))
    outside = _outside_verified_cuda(env)
    if outside is not None:
        return Finding(
            row=NVIDIA_OUTSIDE_MATRIX_ROW,
            status=Status.OUTSIDE_VERIFIED_MATRIX,
            severity=Severity.WARNING,
            message=(
                f"{where}: recognised, but {outside} outside the verified matrix (CUDA 11.8 or 12.x on "
                "GPUs up to compute capability 9.x), so no release is checked on it."
            ),
            fix=f"{gpu_install}, then {_VERIFY_GPU}",
            install=gpu_extras,
        )
    hidden = _hidden_gpus_words(env)
    if verified:
        return Finding(
            row=row,
            status=matrix_status(row),
            severity=Severity.WARNING if hidden else Severity.INFO,
            message=f"{where}: stable. It needs CUDA 11.8 or 12.x and an NVIDIA driver.{hidden}{_mig_words(env)}",
            fix=_SHOW_GPUS if hidden else None,
            install=gpu_extras,
        )
    return Finding(
        row=row,
        status=matrix_status(row),
        severity=Severity.WARNING,
        message=(
            f"{where}: NVIDIA GPUs are verified on x86_64 Ubuntu {' and '.join(NVIDIA_VERIFIED_UBUNTU)} only, so "
            f"this host requires verification.{hidden}{_mig_words(env)}"
        ),
        fix=(f"{gpu_install} (needs CUDA 11.8 or 12.x and an NVIDIA driver), then {_VERIFY_GPU}"),
        install=gpu_extras,
    )


def _nvidia_wsl(env: Environment, installation: Installation) -> Finding:
    return Finding(
        row=NVIDIA_WSL_ROW,
        status=Status.NOT_TESTED,
        severity=Severity.WARNING,
        message=(
            f"NVIDIA GPU under WSL2 on {_linux_words(env)} ({_nvidia_words(env)}): the GPU belongs to the Windows "
            "host and its Windows driver, which is not tested. CUDA is expected to work through WSL2's libcuda."
        ),
        fix=f"{installation.pip_install([_ONNX_GPU])}, then {_VERIFY_GPU}",
        install=(_ONNX_GPU,),
    )


def _nvidia_words(env: Environment) -> str:
    """``driver 550.54.14 (CUDA 12.4); cuda:0 NVIDIA A100 (compute 8.0); CUDA runtime 12.4.127, cuDNN 9.1.0``."""
    driver = f"driver {env.nvidia_driver_version}" if env.nvidia_driver_version else "driver version unknown"
    if env.cuda_driver_version:
        driver += f" (CUDA {env.cuda_driver_version})"
    parts = [driver]
    gpus = ", ".join(f"cuda:{gpu.cuda_index} {gpu.name or 'unnamed GPU'}" for gpu in env.visible_gpus)
    parts.append(gpus or f"seen in {', '.join(env.nvidia_evidence)}")
    libraries = [
        f"{label} {version}"
        for label, version in (("CUDA runtime", env.cuda_runtime_version), ("cuDNN", env.cudnn_version))
        if version
    ]
    if libraries:
        parts.append(", ".join(libraries))
    return "; ".join(parts)


def _driver_too_old(env: Environment) -> str | None:
    """What the driver cannot run: the installed CUDA runtime, or PyPI's CUDA 12 build of onnxruntime-gpu."""
    if env.cuda_runtime_version:
        return driver_shortfall(env.nvidia_driver_version, env.cuda_driver_version, env.cuda_runtime_version)
    driver_major = cuda_major(env.cuda_driver_version)
    if driver_major is not None and driver_major < ONNX_GPU_CUDA_MAJOR:
        minimum = MINIMUM_DRIVER_BY_CUDA_MAJOR[ONNX_GPU_CUDA_MAJOR]
        driver = f"driver {env.nvidia_driver_version}" if env.nvidia_driver_version else "driver"
        return (
            f"{driver} supports CUDA up to {env.cuda_driver_version}, and modelrt[onnx-gpu] installs "
            f"onnxruntime-gpu built for CUDA {ONNX_GPU_CUDA_MAJOR}, which needs driver {minimum} or newer"
        )
    return None


def _outside_verified_cuda(env: Environment) -> str | None:
    """``CUDA 13.0 is``, ``... and NVIDIA B200 (compute capability 10.0) are``: what is newer than the matrix."""
    reasons = []
    if env.cuda_runtime_version and not is_verified_cuda(env.cuda_runtime_version):
        reasons.append(f"CUDA {env.cuda_runtime_version}")
    newer = [gpu for gpu in env.visible_gpus if (gpu.compute_major or 0) >= _FIRST_UNVERIFIED_COMPUTE_MAJOR]
    reasons.extend(f"{gpu.name or 'a GPU'} (compute capability {gpu.compute_capability})" for gpu in newer)
    if not reasons:
        return None
    return f"{' and '.join(reasons)} {'is' if len(reasons) == 1 else 'are'}"


def _mig_words(env: Environment) -> str:
    """A sentence naming the visible GPUs in MIG mode, whose CUDA devices are MIG instances, else empty."""
    mig = [f"cuda:{gpu.cuda_index}" for gpu in env.visible_gpus if gpu.mig_mode]
    if not mig:
        return ""
    return (
        f" {', '.join(mig)} {'is' if len(mig) == 1 else 'are'} in MIG mode: CUDA runs on one MIG instance of it, "
        "chosen with CUDA_VISIBLE_DEVICES=MIG-<uuid>."
    )


def _hidden_gpus_words(env: Environment) -> str:
    """A sentence when ``CUDA_VISIBLE_DEVICES`` hides every GPU, else empty."""
    value = env.cuda_visible_devices
    if value is None or env.visible_gpus or (not env.gpus and value.strip() not in ("", "-1")):
        return ""
    return f" CUDA_VISIBLE_DEVICES={value!r} hides every GPU from this process, so models run on the CPU."


def _macos(env: Environment) -> Finding:
    version = f"macOS {env.os_version}" if env.os_version else "macOS"
    if env.architecture == "x86_64":
        return Finding(
            row="cpu-x86_64-macos",
            status=matrix_status("cpu-x86_64-macos"),
            severity=Severity.INFO,
            message=f"CPU x86_64 on {version}: stable. The ONNX backend runs models on this CPU.",
            install=(_ONNX,),
        )
    if env.architecture == "arm64":
        return Finding(
            row="cpu-apple-silicon-macos",
            status=matrix_status("cpu-apple-silicon-macos"),
            severity=Severity.INFO,
            message=(
                f"Apple Silicon on {version}: stable on the CPU. The MPS device is experimental and "
                "offered only for MPS-capable architectures, through a torch backend plugin."
            ),
            install=(_ONNX,),
        )
    return _unknown_host(env)


def _windows(env: Environment) -> Finding:
    version = f"Windows {env.os_version}" if env.os_version else "Windows"
    return Finding(
        row="windows",
        status=matrix_status("windows"),
        severity=Severity.WARNING,
        message=(
            f"{version} ({env.architecture or 'architecture unknown'}): not tested. The ONNX backend is "
            "expected to work on the CPU, but no release is checked on Windows."
        ),
        fix="for a tested setup, run modelrt under Linux (WSL2 with Ubuntu 22.04 or 24.04 works)",
        install=(_ONNX,),
    )


def _unknown_host(env: Environment) -> Finding:
    reasons = [f"{fact}: {env.unknown[fact]}" for fact in ("system", "architecture") if fact in env.unknown]
    because = f" ({'; '.join(reasons)})" if reasons else ""
    return Finding(
        row="unknown",
        status=Status.UNKNOWN,
        severity=Severity.WARNING,
        message=(
            f"No row of the compatibility matrix matches this host: system {env.system or 'unknown'}, "
            f"architecture {env.architecture or 'unknown'}{because}."
        ),
        fix="report the output of `modelrt env` in an issue so that this host can be judged",
    )


def _linux_words(env: Environment) -> str:
    """``Ubuntu 22.04.4 LTS in a docker container``: the Linux flavour as a user recognises it."""
    name = env.distribution_name or " ".join(part for part in (env.distribution, env.distribution_version) if part)
    words = name or "Linux (distribution unknown)"
    if env.container and env.container != "none":
        words += f" in a {env.container} container"
    return words
