"""The core's verdicts on the generic rows of the hardware compatibility matrix.

The core judges CPUs, macOS, Windows and NVIDIA GPUs on Linux. Jetson rows belong to the jetson
plugin: the core only recognises a Jetson far enough to say that the plugin is needed, and says
nothing about it once the plugin has contributed its facts. The plugin's ``is_jetson`` fact is the
last word both ways: ``true`` silences the core even where the core saw no Jetson (a device tree
naming a Tegra SoC, with no ``/etc/nv_tegra_release``); ``false`` lets the core judge a host that
carries L4T files without being a Jetson (an L4T image built under emulation on an x86-64 machine)
as the generic host it is. A Jetson is never judged as a generic ARM Linux host. NVIDIA and CPU
verdicts are exclusive, so the merged install command never asks for both ``onnxruntime`` and
``onnxruntime-gpu``. Fixes that install something say it the way modelrt-core was installed here:
released extras from a package index, or the directories of the source tree it came from.
"""

from __future__ import annotations

from modelrt.host_environment import Environment
from modelrt.installation import Installation, detect_installation
from modelrt.specs import Finding, Severity, Status

__all__ = ["JETSON_FACTS_KEY", "NVIDIA_VERIFIED_UBUNTU", "core_findings"]

#: Key under ``Environment.facts`` where the jetson plugin puts its facts.
JETSON_FACTS_KEY = "jetson"
#: Ubuntu releases on which NVIDIA GPUs are verified.
NVIDIA_VERIFIED_UBUNTU = ("22.04", "24.04")

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
            status=Status.STABLE,
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
    driver = f"driver {env.nvidia_driver_version}" if env.nvidia_driver_version else "driver version unknown"
    evidence = f"{driver}; seen in {', '.join(env.nvidia_evidence)}"
    verified = (
        env.architecture == "x86_64"
        and env.distribution == "ubuntu"
        and env.distribution_version in NVIDIA_VERIFIED_UBUNTU
    )
    if verified:
        return Finding(
            row="nvidia-ubuntu",
            status=Status.STABLE,
            severity=Severity.INFO,
            message=(
                f"NVIDIA GPU on {_linux_words(env)} ({evidence}): stable. It needs CUDA 11.8 or 12.x "
                "and an NVIDIA driver."
            ),
            install=(_ONNX_GPU,),
        )
    return Finding(
        row="nvidia-other-linux",
        status=Status.REQUIRES_VERIFICATION,
        severity=Severity.WARNING,
        message=(
            f"NVIDIA GPU on {_linux_words(env)} ({evidence}): NVIDIA GPUs are verified on x86_64 Ubuntu "
            f"{' and '.join(NVIDIA_VERIFIED_UBUNTU)} only, so this host requires verification."
        ),
        fix=(
            f"{installation.pip_install([_ONNX_GPU])} (needs CUDA 11.8 or 12.x and an NVIDIA driver), then check "
            "with `modelrt explain MODEL` that the GPU is chosen"
        ),
        install=(_ONNX_GPU,),
    )


def _macos(env: Environment) -> Finding:
    version = f"macOS {env.os_version}" if env.os_version else "macOS"
    if env.architecture == "x86_64":
        return Finding(
            row="cpu-x86_64-macos",
            status=Status.STABLE,
            severity=Severity.INFO,
            message=f"CPU x86_64 on {version}: stable. The ONNX backend runs models on this CPU.",
            install=(_ONNX,),
        )
    if env.architecture == "arm64":
        return Finding(
            row="cpu-apple-silicon-macos",
            status=Status.STABLE,
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
        status=Status.NOT_TESTED,
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
