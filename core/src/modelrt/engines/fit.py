"""Whether an engine fits a host: its build facts against the host's, before TensorRT sees the plan.

TensorRT refuses a plan built for another version or GPU with ``None`` and one log line, and a plan of
another TensorRT product may crash the process, so the facts are compared first and a misfit is refused
with a message that says what the engine was built for, what this host is, and how to rebuild. A fact
unknown on either side (a bare plan records none) is not a misfit: ``unknown_facts`` lists it instead.
"""

from __future__ import annotations

import re

import attrs

from modelrt.engines.facts import EngineFacts
from modelrt.errors import HardwareError

__all__ = ["EngineHost", "Misfit", "engine_misfits", "refuse_misfit", "unknown_facts"]

#: Compute capability of the first Ampere GPUs, the floor of TensorRT's ``AMPERE_PLUS`` compatibility.
_AMPERE = (8, 0, 0)


@attrs.frozen
class EngineHost:
    """The facts of the host an engine would run on; ``None`` where unknown.

    ``flavour`` and ``tensorrt_version`` are the installed TensorRT product and version, ``gpu_name`` and
    ``compute_capability`` (``"8.6"``) the GPU the engine would run on, ``l4t`` the Jetson L4T release
    (``None`` off a Jetson), ``dla_cores`` how many DLA cores the host has.
    """

    flavour: str | None = None
    tensorrt_version: str | None = None
    gpu_name: str | None = None
    compute_capability: str | None = None
    l4t: str | None = None
    dla_cores: int | None = None


@attrs.frozen
class Misfit:
    """One fact where engine and host differ. ``fatal``: the plan cannot run here; otherwise it runs,
    with the drawback ``reason`` states."""

    fact: str
    built_for: str
    host: str
    fatal: bool
    reason: str


def engine_misfits(facts: EngineFacts, host: EngineHost) -> list[Misfit]:
    """Every fact where ``facts`` and ``host`` differ, fatal or not, in a fixed order."""
    checks = (_flavour, _tensorrt_version, _compute_capability, _gpu_name, _l4t, _dla_core)
    return [misfit for check in checks if (misfit := check(facts, host)) is not None]


def refuse_misfit(facts: EngineFacts, host: EngineHost, *, engine: str, rebuild: str) -> list[str]:
    """Raise ``HardwareError`` when ``engine`` (its name, for the message) cannot run on ``host``;
    otherwise return the non-fatal misfits as sentences to log. ``rebuild`` is the command that builds
    the engine for this host (``modelrt build ...``)."""
    misfits = engine_misfits(facts, host)
    fatal = [misfit for misfit in misfits if misfit.fatal]
    if fatal:
        built_for = ", ".join(f"{misfit.fact} {misfit.built_for}" for misfit in fatal)
        here = ", ".join(f"{misfit.fact} {misfit.host}" for misfit in fatal)
        reasons = "; ".join(misfit.reason for misfit in fatal)
        raise HardwareError(
            f"{engine} cannot run on this host: it was built for {built_for}, and this host has {here} "
            f"({reasons}); build it for this host: {rebuild}"
        )
    return [f"{engine} runs here, but {misfit.reason}" for misfit in misfits]


def unknown_facts(facts: EngineFacts, host: EngineHost) -> list[str]:
    """The compared facts that cannot be checked, each saying on which side it is unknown."""
    pairs = (
        ("flavour", facts.flavour, host.flavour),
        ("tensorrt_version", facts.tensorrt_version, host.tensorrt_version),
        ("compute_capability", facts.compute_capability, host.compute_capability),
        ("gpu_name", facts.gpu_name, host.gpu_name),
        ("l4t", facts.l4t, host.l4t),
        ("dla_core", facts.dla_core, host.dla_cores),
    )
    unknown = []
    for fact, built_for, here in pairs:
        if built_for is None and here is None:
            unknown.append(f"{fact}: recorded neither in the engine nor known for this host")
        elif built_for is None:
            unknown.append(f"{fact}: not recorded in the engine")
        elif here is None:
            unknown.append(f"{fact}: not known for this host")
    return unknown


def _flavour(facts: EngineFacts, host: EngineHost) -> Misfit | None:
    if facts.flavour is None or host.flavour is None or facts.flavour == host.flavour:
        return None
    reason = f"a {facts.flavour} plan is never handed to {host.flavour}, another TensorRT product"
    return Misfit("flavour", facts.flavour, host.flavour, True, reason)


def _tensorrt_version(facts: EngineFacts, host: EngineHost) -> Misfit | None:
    built, here = facts.tensorrt_version, host.tensorrt_version
    if built is None or here is None:
        return None
    built_numbers, host_numbers = _numbers(built), _numbers(here)
    if built_numbers is None or host_numbers is None:
        fits, reason = built == here, "an engine runs only on the TensorRT version that built it"
    elif facts.version_compatible:
        fits = built_numbers[0] == host_numbers[0] and host_numbers >= built_numbers
        reason = "a version-compatible engine runs on the same TensorRT major version, at least the one that built it"
    else:
        fits = built_numbers == host_numbers
        reason = "an engine that is not version-compatible runs only on the TensorRT version that built it"
    return None if fits else Misfit("tensorrt_version", built, here, True, reason)


def _compute_capability(facts: EngineFacts, host: EngineHost) -> Misfit | None:
    built, here = facts.compute_capability, host.compute_capability
    if built is None or here is None:
        return None
    built_numbers, host_numbers = _numbers(built), _numbers(here)
    if facts.hardware_compatibility == "ampere+":
        fits = host_numbers is not None and host_numbers >= _AMPERE
        reason = "a hardware-compatible (ampere+) engine runs only on GPUs of compute capability 8.0 or later"
    else:
        fits = built_numbers is not None and built_numbers == host_numbers
        reason = "the engine runs only on GPUs of the compute capability it was built on"
    return None if fits else Misfit("compute_capability", built, here, True, reason)


def _gpu_name(facts: EngineFacts, host: EngineHost) -> Misfit | None:
    built, here = facts.gpu_name, host.gpu_name
    if built is None or here is None or built.strip() == here.strip():
        return None
    return Misfit("gpu_name", built, here, False, f"it was tuned for {built}, not {here}: it may run slower")


def _l4t(facts: EngineFacts, host: EngineHost) -> Misfit | None:
    built, here = facts.l4t, host.l4t
    if built is None or here is None:
        return None
    built_numbers, host_numbers = _numbers(built), _numbers(here)
    if built_numbers is not None and host_numbers is not None and built_numbers[:2] == host_numbers[:2]:
        return None
    reason = "a Jetson engine runs only on the L4T release (major.minor) it was built on"
    return Misfit("l4t", built, here, True, reason)


def _dla_core(facts: EngineFacts, host: EngineHost) -> Misfit | None:
    if facts.dla_core is None or host.dla_cores is None or facts.dla_core < host.dla_cores:
        return None
    reason = f"the engine targets DLA core {facts.dla_core}, and this host has {host.dla_cores} DLA core(s)"
    return Misfit("dla_core", str(facts.dla_core), f"{host.dla_cores} DLA core(s)", True, reason)


def _numbers(version: str) -> tuple[int, int, int] | None:
    """``"10.3.0.26"`` → ``(10, 3, 0)``; missing parts are 0; ``None`` when it does not start with a number."""
    match = re.match(r"\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    if match is None:
        return None
    major, minor, patch = (int(part or 0) for part in match.groups())
    return major, minor, patch
