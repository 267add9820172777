"""``Environment``: what this host is, read from files and package metadata only.

``probe_environment`` never imports a framework (runtime versions come from installed package metadata),
never runs a subprocess and never raises: a fact it cannot establish is ``None`` (or empty) with the
reason kept in ``Environment.unknown`` under the field's name. Everything is read through a ``Host``,
so a fake root stands in for the machine; the Python facts and installed runtimes are always those of
the running interpreter.

The record only grows: later probes (NVIDIA libraries, Jetson) add fields with defaults or put their
facts under ``facts[plugin_name]``, so JSON written by an older modelrt still loads, and keys this
version does not know are ignored when loading JSON from a newer one.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from modelrt.errors import InputError
from modelrt.host import FAKE_HOST_FILE, HOST_ROOT_VARIABLE, Host
from modelrt.image_label import ImageLabel, read_image_label
from modelrt.nvidia.gpus import Gpu
from modelrt.nvidia.probe import WSL_LIBCUDA, NvidiaFacts, is_wsl_kernel, probe_nvidia_facts

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "RUNTIME_DISTRIBUTIONS",
    "RUNTIME_DISTRIBUTION_PREFIXES",
    "Environment",
    "normalise_architecture",
    "probe_environment",
]

#: Distributions reported as installed runtimes (normalised names), besides the prefixes below.
RUNTIME_DISTRIBUTIONS = ("torch", "torchvision", "openvino", "coremltools")
#: Every distribution whose normalised name starts with one of these is a runtime build
#: (``onnxruntime-gpu``, ``tensorrt-cu12``, ``tensorrt-lean-cu12``, ...).
RUNTIME_DISTRIBUTION_PREFIXES = ("onnxruntime", "tensorrt")

_NVIDIA_DRIVER_FILE = "proc/driver/nvidia/version"
_TEGRA_RELEASE_FILE = "etc/nv_tegra_release"
#: Strings read from files are shown in reports; a garbage file must not flood them.
_MAX_TEXT_FACT = 200


def _plain_json(value: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy holding only JSON types, so that the record round-trips through JSON exactly."""
    return json.loads(json.dumps(dict(value), default=str, allow_nan=False))


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _str_dict(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


def _gpu_tuple(value: Iterable[Gpu]) -> tuple[Gpu, ...]:
    return tuple(value)


@attrs.frozen
class Environment:
    """A description of the host, serialisable with cattrs and round-tripping through JSON exactly.

    ``system`` is ``Linux``/``Darwin``/``Windows``; ``distribution``/``distribution_version``/
    ``distribution_name`` are ``ID``/``VERSION_ID``/``PRETTY_NAME`` of ``/etc/os-release`` (Linux);
    ``os_version`` is the macOS or Windows product version. ``architecture`` is normalised to
    ``x86_64``, ``aarch64`` (Linux) or ``arm64`` (macOS, Windows). ``cpu_count`` is the number of CPUs
    this process may use (affinity and cgroup quota). ``container`` is ``docker``, ``podman``,
    ``kubernetes`` or ``none``. ``runtimes`` maps installed runtime distributions to versions.
    ``nvidia_evidence`` lists the files that show an NVIDIA GPU driver or device. From NVML:
    ``cuda_driver_version`` (the newest CUDA the driver supports, ``12.4``) and ``gpus``, each with the
    ``cuda:N`` ordinal ``CUDA_VISIBLE_DEVICES`` (kept in ``cuda_visible_devices``) gives it.
    ``cuda_runtime_version``, ``cudnn_version`` and ``cublas_version`` are what Python would load, read
    from wheel and library file names listed in ``cuda_libraries``; none is reported without a driver.
    ``nvidia_container_marks`` are what the NVIDIA Container Toolkit left in a container. ``jetson_hint`` is
    what made the core recognise an NVIDIA Jetson (the first line of ``/etc/nv_tegra_release``, or
    ``kernel <release>`` for a ``-tegra`` kernel). ``image`` is the label of the modelrt Docker image
    this runs in (``/etc/modelrt/image.json``), ``None`` outside one. ``host_root`` is the fake root
    probed, ``None`` for the live machine. ``facts`` holds what plugins added, under each plugin's name; ``unknown``
    maps a field name to the reason it is unknown.
    """

    system: str | None = None
    distribution: str | None = None
    distribution_version: str | None = None
    distribution_name: str | None = None
    os_version: str | None = None
    architecture: str | None = None
    kernel_release: str | None = None
    cpu_model: str | None = None
    cpu_flags: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    cpu_count: int | None = None
    memory_bytes: int | None = None
    python_version: str | None = None
    python_implementation: str | None = None
    container: str | None = None
    runtimes: dict[str, str] = attrs.field(factory=dict, converter=_str_dict, hash=False)
    nvidia_driver_version: str | None = None
    nvidia_evidence: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    cuda_driver_version: str | None = None
    gpus: tuple[Gpu, ...] = attrs.field(default=(), converter=_gpu_tuple)
    cuda_visible_devices: str | None = None
    cuda_runtime_version: str | None = None
    cudnn_version: str | None = None
    cublas_version: str | None = None
    cuda_libraries: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    nvidia_container_marks: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    jetson_hint: str | None = None
    image: ImageLabel | None = None
    host_root: str | None = None
    facts: dict[str, dict[str, Any]] = attrs.field(factory=dict, converter=_plain_json, hash=False)
    unknown: dict[str, str] = attrs.field(factory=dict, converter=_str_dict, hash=False)

    @property
    def is_jetson(self) -> bool:
        """Whether the core recognised an NVIDIA Jetson (details need the jetson plugin)."""
        return self.jetson_hint is not None

    @property
    def has_nvidia_gpu(self) -> bool:
        """Whether files show an NVIDIA driver or GPU device node."""
        return bool(self.nvidia_evidence)

    @property
    def visible_gpus(self) -> tuple[Gpu, ...]:
        """The GPUs this process sees, in ``cuda:N`` order."""
        visible = [gpu for gpu in self.gpus if gpu.cuda_index is not None]
        return tuple(sorted(visible, key=lambda gpu: gpu.cuda_index or 0))

    @property
    def is_wsl(self) -> bool:
        """Whether this is WSL2 with the Windows NVIDIA driver's CUDA library mapped in."""
        return is_wsl_kernel(self.kernel_release) and WSL_LIBCUDA in self.nvidia_evidence

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (cattrs unstructuring)."""
        return _converter().unstructure(self)

    def to_json(self) -> str:
        """Indented JSON text that ``from_json`` turns back into an equal ``Environment``."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> Environment:
        """Rebuild from ``to_dict`` data; an ``InputError`` says what is wrong with it."""
        if not isinstance(data, dict):
            raise InputError(
                f"an environment record must be a JSON object, got {type(data).__name__}; "
                "write one with Environment.to_json()"
            )
        import cattrs

        try:
            return _converter().structure(data, cls)
        except cattrs.BaseValidationError as error:
            problems = "; ".join(cattrs.transform_error(error, path="environment"))
            raise InputError(f"invalid environment record: {problems}") from None
        except (TypeError, ValueError) as error:
            raise InputError(f"invalid environment record: {error}") from None

    @classmethod
    def from_json(cls, text: str) -> Environment:
        """Rebuild from ``to_json`` text; an ``InputError`` says what is wrong with it."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise InputError(
                f"an environment record must be JSON ({error}); write one with Environment.to_json()"
            ) from None
        return cls.from_dict(data)


@functools.cache
def _converter() -> cattrs.Converter:
    # Imported on first (de)serialisation: probing needs none, and cattrs is slow to import.
    import cattrs

    return cattrs.Converter()


def probe_environment(
    host: Host | None = None, plugin_facts: Mapping[str, Mapping[str, Any]] | None = None
) -> Environment:
    """Describe ``host`` (default: ``Host.from_environment()``) plus the facts plugins contributed.

    ``plugin_facts`` maps a plugin name to what its ``probe_environment`` hook returned; a value that
    is not a JSON-able mapping is left out and the reason recorded under ``unknown["facts.<name>"]``.
    """
    host = host if host is not None else Host.from_environment()
    unknown: dict[str, str] = {}
    system = host.system
    if system is None:
        unknown["system"] = _unknown_system_reason(host)

    kernel_release = host.kernel_release
    if kernel_release is None:
        unknown["kernel_release"] = _unknown_platform_fact_reason(host, "proc/sys/kernel/osrelease")

    machine = host.machine
    architecture = normalise_architecture(machine, system)
    if architecture is None:
        unknown["architecture"] = _unknown_platform_fact_reason(host, "proc/sys/kernel/arch or proc/cpuinfo")

    os_release = _probe_os_release(host, system, unknown)
    cpu = _probe_cpu(host, unknown)
    nvidia_driver_version, nvidia_evidence = _probe_nvidia(host, kernel_release, unknown)
    jetson_hint = _probe_jetson_hint(host, kernel_release)
    container = _probe_container(host, system, unknown)
    nvidia = probe_nvidia_facts(
        host,
        unknown,
        proc_driver_version=nvidia_driver_version,
        driver_evidence=nvidia_evidence,
        is_jetson=jetson_hint is not None,
        in_container=container not in (None, "none"),
    )
    return Environment(
        system=system,
        distribution=os_release.get("ID"),
        distribution_version=os_release.get("VERSION_ID"),
        distribution_name=os_release.get("PRETTY_NAME"),
        os_version=_os_version(host, system),
        architecture=architecture,
        kernel_release=kernel_release,
        cpu_model=cpu.model,
        cpu_flags=cpu.flags,
        cpu_count=cpu.count,
        memory_bytes=_probe_memory(host, unknown),
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        container=container,
        runtimes=_probe_runtimes(),
        nvidia_driver_version=nvidia.driver_version,
        nvidia_evidence=nvidia_evidence,
        **_nvidia_fields(nvidia),
        jetson_hint=jetson_hint,
        image=read_image_label(host),
        host_root=None if host.is_live else str(host.root),
        facts=_plain_plugin_facts(plugin_facts or {}, unknown),
        unknown=unknown,
    )


def normalise_architecture(machine: str | None, system: str | None) -> str | None:
    """``x86_64`` for any x86-64 spelling; 64-bit ARM is ``aarch64`` on Linux, ``arm64`` elsewhere.

    Other machines (``armv7l``, ``riscv64``) are returned lower-cased, as the OS names them.
    """
    if not machine or not machine.strip():
        return None
    name = machine.strip().lower()
    if name in ("x86_64", "amd64", "x64", "x86-64"):
        return "x86_64"
    if name in ("aarch64", "arm64"):
        return "aarch64" if system == "Linux" else "arm64"
    return name


# ------------------------------------------------------------------------------------------ reasons


def _unknown_system_reason(host: Host) -> str:
    if host.is_live:
        return "platform.system() returned nothing"
    if not host.exists("."):
        return f"the fake root {host.root} does not exist (check {HOST_ROOT_VARIABLE})"
    return f"none of etc/os-release, proc/ or {FAKE_HOST_FILE} exists under {host.root}"


def _unknown_platform_fact_reason(host: Host, files: str) -> str:
    if host.is_live:
        return "the platform module reported nothing"
    return f"no file under {host.root} says it ({files} or {FAKE_HOST_FILE})"


# ---------------------------------------------------------------------------------------- OS facts


def _probe_os_release(host: Host, system: str | None, unknown: dict[str, str]) -> dict[str, str]:
    """``/etc/os-release`` fields (Linux, or a system not yet known); empty elsewhere."""
    if system not in ("Linux", None):
        return {}
    text = host.read_text("etc/os-release")
    if text is None:
        unknown["distribution"] = "etc/os-release is absent or unreadable"
        return {}
    fields = _parse_os_release(text)
    if "ID" not in fields:
        unknown["distribution"] = "etc/os-release has no ID= line"
    return fields


def _parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines with shell quoting, as os-release(5) defines them."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, separator, raw_value = line.strip().partition("=")
        if not separator or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            continue
        try:
            value = " ".join(shlex.split(raw_value))
        except ValueError:  # unbalanced quotes: keep the text between them
            value = raw_value.strip().strip("\"'")
        if value:
            fields[key] = value[:_MAX_TEXT_FACT]
    return fields


def _os_version(host: Host, system: str | None) -> str | None:
    if system == "Darwin":
        return host.mac_version
    if system == "Windows":
        return host.kernel_release
    return None


def _probe_container(host: Host, system: str | None, unknown: dict[str, str]) -> str | None:
    """Which container runtime this process runs under, from the marker files each one leaves."""
    init_cgroup = host.read_text("proc/1/cgroup") or ""
    if "kubepods" in init_cgroup or host.env("KUBERNETES_SERVICE_HOST") or host.exists("var/run/secrets/kubernetes.io"):
        return "kubernetes"
    if host.exists("run/.containerenv") or "libpod" in init_cgroup:
        return "podman"
    if host.exists(".dockerenv") or "/docker" in init_cgroup:
        return "docker"
    if system is None:
        unknown["container"] = "no container marker found and the operating system is unknown"
        return None
    return "none"


# --------------------------------------------------------------------------------------- CPU facts


@attrs.frozen
class _CpuFacts:
    model: str | None
    flags: tuple[str, ...]
    count: int | None


#: (implementer, part) from ``/proc/cpuinfo`` → core name, for ARM CPUs, whose cpuinfo has no
#: ``model name`` line (same identifiers as util-linux's lscpu).
_ARM_CORES = {
    ("0x41", "0xd03"): "ARM Cortex-A53",
    ("0x41", "0xd04"): "ARM Cortex-A35",
    ("0x41", "0xd05"): "ARM Cortex-A55",
    ("0x41", "0xd07"): "ARM Cortex-A57",
    ("0x41", "0xd08"): "ARM Cortex-A72",
    ("0x41", "0xd09"): "ARM Cortex-A73",
    ("0x41", "0xd0a"): "ARM Cortex-A75",
    ("0x41", "0xd0b"): "ARM Cortex-A76",
    ("0x41", "0xd0c"): "ARM Neoverse-N1",
    ("0x41", "0xd0d"): "ARM Cortex-A77",
    ("0x41", "0xd40"): "ARM Neoverse-V1",
    ("0x41", "0xd41"): "ARM Cortex-A78",
    ("0x41", "0xd42"): "ARM Cortex-A78AE",
    ("0x41", "0xd44"): "ARM Cortex-X1",
    ("0x41", "0xd46"): "ARM Cortex-A510",
    ("0x41", "0xd47"): "ARM Cortex-A710",
    ("0x41", "0xd48"): "ARM Cortex-X2",
    ("0x41", "0xd49"): "ARM Neoverse-N2",
    ("0x41", "0xd4f"): "ARM Neoverse-V2",
    ("0x4e", "0x003"): "NVIDIA Denver 2",
    ("0x4e", "0x004"): "NVIDIA Carmel",
}


def _probe_cpu(host: Host, unknown: dict[str, str]) -> _CpuFacts:
    cpuinfo = host.read_text("proc/cpuinfo")
    blocks = _cpuinfo_blocks(cpuinfo or "")
    model = _cpu_model(blocks) or host.cpu_brand
    if model is None:
        unknown["cpu_model"] = (
            "proc/cpuinfo is absent or unreadable" if cpuinfo is None else "proc/cpuinfo names no CPU model"
        )
    count = _usable_cpus(host, blocks)
    if count is None:
        unknown["cpu_count"] = "proc/cpuinfo lists no processor and the platform reports no CPU count"
    return _CpuFacts(model=model, flags=_cpu_flags(blocks), count=count)


def _cpuinfo_blocks(text: str) -> list[dict[str, str]]:
    """``/proc/cpuinfo`` as one ``{key: value}`` per blank-line-separated block."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        key, separator, value = line.partition(":")
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
        elif separator:
            current.setdefault(key.strip(), value.strip())
    if current:
        blocks.append(current)
    return blocks


def _cpu_flags(blocks: Iterable[Mapping[str, str]]) -> tuple[str, ...]:
    """x86 lists ``flags``, ARM ``Features``; every processor repeats them, so the first one says it."""
    for block in blocks:
        flags = block.get("flags") or block.get("Features")
        if flags:
            return tuple(flags.split())
    return ()


def _cpu_model(blocks: Iterable[Mapping[str, str]]) -> str | None:
    for block in blocks:
        if block.get("model name"):
            return block["model name"][:_MAX_TEXT_FACT]
        implementer, part = block.get("CPU implementer", "").lower(), block.get("CPU part", "").lower()
        if implementer and part:
            return _ARM_CORES.get((implementer, part), f"ARM CPU (implementer {implementer}, part {part})")[
                :_MAX_TEXT_FACT
            ]
    return None


def _usable_cpus(host: Host, blocks: Iterable[Mapping[str, str]]) -> int | None:
    """The live process's usable CPUs, or a fake root's processors capped by its cgroup quota."""
    if host.is_live:
        return host.cpu_count
    processors = sum(1 for block in blocks if block.get("processor", "").isdigit())
    if not processors:
        return host.cpu_count
    quota = host.cgroup_cpu_quota
    return min(processors, quota) if quota else processors


def _probe_memory(host: Host, unknown: dict[str, str]) -> int | None:
    meminfo = host.read_text("proc/meminfo")
    match = re.search(r"^MemTotal:\s*(\d+)\s*kB", meminfo or "", re.MULTILINE)
    if match:
        return int(match.group(1)) * 1024
    memory = host.memory_bytes
    if memory is None:
        unknown["memory_bytes"] = (
            "proc/meminfo is absent or unreadable" if meminfo is None else "proc/meminfo has no MemTotal line"
        )
    return memory


# ------------------------------------------------------------------------------------ NVIDIA, Jetson


def _probe_nvidia(
    host: Host, kernel_release: str | None, unknown: dict[str, str]
) -> tuple[str | None, tuple[str, ...]]:
    """The NVIDIA driver version in ``/proc`` and the files showing a driver or GPU (WSL2: its ``libcuda``)."""
    evidence: list[str] = []
    version = None
    driver_text = host.read_text(_NVIDIA_DRIVER_FILE)
    if driver_text is not None:
        evidence.append(_NVIDIA_DRIVER_FILE)
        # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  ..." or, for the open modules,
        # "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build ..."
        match = re.search(r"Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)", driver_text)
        if match:
            version = match.group(1)
        else:
            unknown["nvidia_driver_version"] = f"{_NVIDIA_DRIVER_FILE} carries no driver version"
    evidence.extend(host.glob("dev/nvidia[0-9]*"))
    if is_wsl_kernel(kernel_release) and host.exists(WSL_LIBCUDA):
        evidence.append(WSL_LIBCUDA)
    return version, tuple(evidence)


def _nvidia_fields(nvidia: NvidiaFacts) -> dict[str, Any]:
    """The ``Environment`` fields filled from NVML and the CUDA library files."""
    return {
        "cuda_driver_version": nvidia.cuda_driver_version,
        "gpus": nvidia.gpus,
        "cuda_visible_devices": nvidia.cuda_visible_devices,
        "cuda_runtime_version": nvidia.libraries.cuda_runtime,
        "cudnn_version": nvidia.libraries.cudnn,
        "cublas_version": nvidia.libraries.cublas,
        "cuda_libraries": nvidia.libraries.sources,
        "nvidia_container_marks": nvidia.container_marks,
    }


def _probe_jetson_hint(host: Host, kernel_release: str | None) -> str | None:
    """What marks an NVIDIA Jetson: ``/etc/nv_tegra_release``, or a ``-tegra`` kernel in a container."""
    text = host.read_text(_TEGRA_RELEASE_FILE)
    if text is not None:
        first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
        return first_line[:_MAX_TEXT_FACT] or f"{_TEGRA_RELEASE_FILE} (empty)"
    if kernel_release and kernel_release.endswith("-tegra"):
        return f"kernel {kernel_release}"
    return None


# ---------------------------------------------------------------------------- packages and plugins


def _probe_runtimes() -> dict[str, str]:
    """Installed runtime distributions → versions (first one on ``sys.path`` wins).

    Read from the names of ``*.dist-info`` folders (``onnxruntime_gpu-1.20.1.dist-info``), which the
    wheel format fixes as ``{name}-{version}``: parsing the metadata of every installed distribution
    would cost tens of milliseconds on each probe in a large environment.
    """
    runtimes: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip file, a missing folder: nothing installed there to report
            continue
        for folder in names:
            if not folder.endswith(".dist-info"):
                continue
            name, _, version = folder[: -len(".dist-info")].partition("-")
            normalised = re.sub(r"[-_.]+", "-", name).lower()
            is_runtime = normalised in RUNTIME_DISTRIBUTIONS or normalised.startswith(RUNTIME_DISTRIBUTION_PREFIXES)
            if version and is_runtime:
                runtimes.setdefault(normalised, version)
    return dict(sorted(runtimes.items()))


def _plain_plugin_facts(
    plugin_facts: Mapping[str, Mapping[str, Any]], unknown: dict[str, str]
) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    for plugin_name, plugin_value in plugin_facts.items():
        if not isinstance(plugin_value, Mapping):
            unknown[f"facts.{plugin_name}"] = (
                f"plugin {plugin_name!r} returned {type(plugin_value).__name__}, not a mapping"
            )
            continue
        try:
            facts[str(plugin_name)] = _plain_json(plugin_value)
        except (TypeError, ValueError) as error:
            unknown[f"facts.{plugin_name}"] = f"plugin {plugin_name!r} returned non-JSON facts ({error})"
    return facts
