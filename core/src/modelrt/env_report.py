"""The report behind ``modelrt env``: the host, the matrix verdicts, the plugins, and one install command.

Like ``hf env``, it is data first (``build_report``), with a JSON form for tools and a text form
for people to paste into an issue.

JSON schema (``report_to_dict``), version 1; keys are only ever added within a version::

    {
      "schema": 1,
      "environment": {...},          # Environment.to_dict(): system, distribution, architecture,
                                     # cpu_*, memory_bytes, python_*, container, runtimes, nvidia_*,
                                     # cuda_*, cudnn_version, cublas_version, gpus, jetson_hint,
                                     # image (the same as "image" below), host_root, facts, unknown
      "findings": [                  # one per verdict, in the order the plugins gave them
        {"row": str, "status": str, "severity": "info" | "warning" | "error",
         "message": str, "fix": str | null, "install": [str, ...],
         "index_url": str | null,    # the package index that index_install comes from
         "index_install": [str, ...],
         "matrix_row": {"id": str, "platform": str, "os": str, "install": str,
                        "status": str, "note": str} | null}      # null: a row outside the matrix
      ],
      "plugins": [{"name": ..., "distribution": ..., "version": ..., "status": ...,
                   "error": ..., "registers": ..., "core_range": ...}, ...],  # as the plugin manager lists them
      "installation": {"source_tree": str | null,   # the checkout modelrt-core was installed from;
                       "editable": bool},            # null: a package index (or a wheel file)
      "install_commands": [str, ...],  # pip install "a" "b" for every finding's install entries,
                                       # merged, then one pip install "c" --index-url URL per index
      "install_command": str | null,  # install_commands joined with " && ": one line for a shell
      "installed": bool | null, # whether all of it is already installed in this Python environment; null
                                # where that cannot be told: a fake host root (MODELRT_HOST_ROOT), or a build
                                # from another package index (a Jetson's torch)
      "image": {"image": str, "row": str | null, "version": str | null, "revision": str | null,
                "created": str | null, "base": str | null} | null,  # the modelrt image this runs in
                                                                     # (its /etc/modelrt/image.json;
                                                                     # also environment's "image")
      "docker_image": {"name": str, "dockerfile": str, "build_command": str, "run_command": str,
                       "builds_on": str} | null  # modelrt's image for the first verdict's row
    }

``index_url``, ``index_install``, ``install_commands``, ``installation``, ``installed``, ``image`` and
``docker_image`` were added within version 1.

Findings' ``install`` entries name released distributions (``modelrt[onnx]``); ``install_commands``
follow ``installation``: from a source tree they name the tree's directories instead
(``pip install "/src/modelrt/plugins/onnx_backend[cpu]"``, with ``-e`` where modelrt-core is an editable
install), since the released names would bring a second, released copy or nothing at all.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs

from modelrt.docker_images import DockerImage, image_for_row
from modelrt.hardware_matrix import find_row
from modelrt.host_environment import Environment
from modelrt.image_label import ImageLabel
from modelrt.installation import FROM_INDEX, Installation, detect_installation, requirements_installed
from modelrt.nvidia.gpus import Gpu
from modelrt.specs import Finding, Severity

__all__ = [
    "REPORT_SCHEMA",
    "EnvironmentReport",
    "build_report",
    "install_commands",
    "merged_install_command",
    "render_report",
    "report_to_dict",
]

#: Version of the JSON form of the report.
REPORT_SCHEMA = 1

_WIDTH = 100
_LABEL_WIDTH = 12
_SEVERITY_MARKERS = {Severity.INFO: "[info]", Severity.WARNING: "[warn]", Severity.ERROR: "[error]"}
_CLOSING_LINE = "Copy and paste this into your issue."


def _finding_tuple(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(findings)


def _plain_plugins(plugins: Iterable[Mapping[str, object]]) -> tuple[dict[str, object], ...]:
    """JSON-typed copies, so the report serialises whatever the plugin listing held."""
    return tuple(json.loads(json.dumps(dict(plugin), default=str)) for plugin in plugins)


@attrs.frozen
class EnvironmentReport:
    """What ``modelrt env`` shows: the environment, every Finding, every plugin, what to install.

    ``plugins`` are the plugin manager's listing as plain dicts (``name``, ``distribution``,
    ``version``, ``status``, ``error``, ``registers``, ``core_range``). ``install_commands`` are the pip
    commands this host needs, in order, for the way modelrt is installed (``installation``); ``install_command``
    is all of them as one shell line. ``docker_image`` is modelrt's image for the row of the first verdict
    that has one (the image this process runs in, if any, is ``environment.image``).
    """

    environment: Environment
    findings: tuple[Finding, ...] = attrs.field(converter=_finding_tuple)
    plugins: tuple[dict[str, object], ...] = attrs.field(converter=_plain_plugins, hash=False)
    install_command: str | None = None
    install_commands: tuple[str, ...] = ()
    installation: Installation = FROM_INDEX
    installed: bool | None = None
    docker_image: DockerImage | None = None


def install_commands(findings: Iterable[Finding], installation: Installation = FROM_INDEX) -> tuple[str, ...]:
    """The pip commands for every finding's requirements, de-duplicated, first-seen order kept.

    First one ``pip install "a" "b"`` for all ``install`` entries (PyPI, or the source tree that
    ``installation`` names), then one ``pip install "c" --index-url URL`` per package index that
    ``index_install`` entries come from.
    """
    findings = tuple(findings)
    commands = []
    from_pypi = [requirement for finding in findings for requirement in finding.install]
    if from_pypi:
        commands.append(installation.pip_install(from_pypi))
    by_index: dict[str, list[str]] = {}
    for finding in findings:
        if finding.index_url and finding.index_install:
            by_index.setdefault(finding.index_url, []).extend(finding.index_install)
    for index_url, requirements in by_index.items():
        commands.append(f"{FROM_INDEX.pip_install(requirements)} --index-url {index_url}")
    return tuple(commands)


def merged_install_command(findings: Iterable[Finding], installation: Installation = FROM_INDEX) -> str | None:
    """All of ``install_commands`` as one shell line (joined with ``&&``), or ``None`` when there is none."""
    return _one_shell_line(install_commands(findings, installation))


def _one_shell_line(commands: Iterable[str]) -> str | None:
    return " && ".join(commands) or None


def build_report(
    env: Environment,
    findings: Iterable[Finding],
    plugins: Iterable[Mapping[str, object]] = (),
    installation: Installation | None = None,
) -> EnvironmentReport:
    """Collect the report; the install commands merge all findings' requirements.

    ``installation`` (by default, how this environment's modelrt-core was installed) decides whether
    the install commands name released distributions or directories of a source tree.
    """
    installation = detect_installation() if installation is None else installation
    findings = tuple(findings)
    commands = install_commands(findings, installation)
    installed = _all_installed(env, findings)
    return EnvironmentReport(
        environment=env,
        findings=findings,
        plugins=tuple(plugins),
        install_command=_one_shell_line(commands),
        install_commands=commands,
        installation=installation,
        installed=installed,
        docker_image=next(filter(None, (image_for_row(finding.row) for finding in findings)), None),
    )


def _all_installed(env: Environment, findings: tuple[Finding, ...]) -> bool | None:
    """Whether this Python already has all the findings ask to install; None where that cannot be told.

    Not for a fake host root (its Python is not this one), nor when a finding names a build from another
    package index (a Jetson's torch): the name alone does not say which build is installed.
    """
    requirements = [entry for finding in findings for entry in finding.install]
    if env.host_root is not None or not requirements or any(finding.index_install for finding in findings):
        return None
    return requirements_installed(requirements)


_CONVERTER = cattrs.Converter()
_CONVERTER.register_unstructure_hook(Path, str)


def report_to_dict(report: EnvironmentReport) -> dict[str, Any]:
    """The report as JSON-ready data in the schema documented in this module."""
    return {
        "schema": REPORT_SCHEMA,
        "environment": report.environment.to_dict(),
        "findings": [_finding_to_dict(finding) for finding in report.findings],
        "plugins": [dict(plugin) for plugin in report.plugins],
        "installation": _CONVERTER.unstructure(report.installation),
        "install_commands": list(report.install_commands),
        "install_command": report.install_command,
        "installed": report.installed,
        "image": _CONVERTER.unstructure(report.environment.image) if report.environment.image else None,
        "docker_image": _docker_image_to_dict(report.docker_image),
    }


def _docker_image_to_dict(image: DockerImage | None) -> dict[str, str] | None:
    if image is None:
        return None
    return {
        "name": image.name,
        "dockerfile": image.dockerfile,
        "build_command": image.build_command,
        "run_command": image.run_command,
        "builds_on": image.builds_on,
    }


def _finding_to_dict(finding: Finding) -> dict[str, Any]:
    row = find_row(finding.row)
    data: dict[str, Any] = _CONVERTER.unstructure(finding)
    data["matrix_row"] = _CONVERTER.unstructure(row) if row is not None else None
    return data


# ---------------------------------------------------------------------------------------------- text


def render_report(report: EnvironmentReport) -> str:
    """Human-readable text for a terminal, ending with the line that asks to paste it into an issue."""
    sections = [
        _host_section(report.environment, report.installation),
        _findings_section(report.findings),
        _plugins_section(report.plugins),
    ]
    if report.docker_image is not None and report.environment.image is None:
        sections.append(_docker_section(report.docker_image))
    sections.append(_install_section(report.install_commands, report.installed))
    return "\n\n".join(sections) + f"\n\n{_CLOSING_LINE}\n"


def _host_section(env: Environment, installation: Installation) -> str:
    lines = ["modelrt environment"]
    if env.host_root is not None:
        lines.append(_field("Host root", f"{env.host_root} (a fake root: the facts below come from its files)"))
    if installation.source_tree is not None:
        how = "an editable install of it" if installation.editable else "installed from it"
        advice = "so the install commands below name its directories"
        lines.append(_field("Source tree", f"{installation.source_tree} (modelrt-core is {how}, {advice})"))
    lines.append(_field("System", _system_words(env)))
    lines.append(_field("CPU", _cpu_words(env)))
    lines.append(_field("Memory", _memory_words(env.memory_bytes)))
    lines.append(_field("Python", f"{env.python_implementation or '?'} {env.python_version or '?'}"))
    lines.append(_field("Container", env.container or "unknown"))
    if env.image is not None:
        lines.append(_field("Image", _image_words(env.image)))
    runtimes = ", ".join(f"{name} {version}" for name, version in env.runtimes.items())
    lines.append(_field("Runtimes", runtimes or "none installed"))
    if env.has_nvidia_gpu:
        lines.extend(_nvidia_lines(env))
    if env.jetson_hint is not None:
        lines.append(_field("Jetson", env.jetson_hint))
    for plugin_name, facts in env.facts.items():
        lines.extend(_facts_lines(plugin_name, facts))
    for fact, reason in env.unknown.items():
        lines.append(_field("Unknown", f"{fact}: {reason}"))
    return "\n".join(lines)


def _nvidia_lines(env: Environment) -> list[str]:
    """The driver, each GPU (hidden ones marked), the CUDA libraries and the container toolkit's marks."""
    driver = f"driver {env.nvidia_driver_version or 'version unknown'}"
    if env.cuda_driver_version:
        driver += f", supports CUDA {env.cuda_driver_version}"
    lines = [_field("NVIDIA", f"{driver} ({', '.join(env.nvidia_evidence)})")]
    lines.extend(_field("GPU", _gpu_words(gpu)) for gpu in sorted(env.gpus, key=_gpu_order))
    if env.cuda_visible_devices is not None:
        lines.append(_field("Visible", f"CUDA_VISIBLE_DEVICES={env.cuda_visible_devices!r}"))
    libraries = [
        f"{label} {version}"
        for label, version in (
            ("runtime", env.cuda_runtime_version),
            ("cuDNN", env.cudnn_version),
            ("cuBLAS", env.cublas_version),
        )
        if version
    ]
    if libraries:
        lines.append(_field("CUDA", ", ".join(libraries)))
    if env.nvidia_container_marks:
        lines.append(_field("Toolkit", f"NVIDIA Container Toolkit: {', '.join(env.nvidia_container_marks)}"))
    return lines


def _gpu_order(gpu: Gpu) -> tuple[int, int]:
    """Visible GPUs first in ``cuda:N`` order, then hidden ones in NVML order."""
    return (0, gpu.cuda_index) if gpu.cuda_index is not None else (1, gpu.index)


def _gpu_words(gpu: Gpu) -> str:
    where = f"cuda:{gpu.cuda_index}" if gpu.cuda_index is not None else "hidden:"
    parts = [f"{where} {gpu.name or 'unnamed GPU'} (NVML index {gpu.index})"]
    if gpu.compute_capability:
        parts.append(f"compute capability {gpu.compute_capability}")
    if gpu.memory_bytes:
        parts.append(_memory_words(gpu.memory_bytes))
    if gpu.mig_mode:
        parts.append("MIG mode")
    parts.extend(part for part in (gpu.pci_bus_id and f"PCI {gpu.pci_bus_id}", gpu.uuid) if part)
    return ", ".join(parts)


def _facts_lines(plugin_name: str, facts: Mapping[str, Any]) -> list[str]:
    """One line per fact a plugin contributed, nested keys dotted; empty values only in the JSON form."""
    pairs = [(key, value) for key, value in _flattened(facts) if value not in (None, [], {}, "")]
    if not pairs:
        return [_field("Facts", f"{plugin_name}: none")]
    lines = [_field("Facts", f"{plugin_name}:")]
    fact_indent = " " * (_LABEL_WIDTH + 5)
    lines.extend(
        _wrapped(f"{key}: {json.dumps(value)}", initial_indent=fact_indent, indent=fact_indent + "  ")
        for key, value in pairs
    )
    return lines


def _flattened(facts: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in facts.items():
        if isinstance(value, Mapping) and value:
            pairs.extend(_flattened(value, f"{prefix}{key}."))
        else:
            pairs.append((f"{prefix}{key}", value))
    return pairs


def _system_words(env: Environment) -> str:
    parts = [env.system or "unknown OS", env.architecture or "unknown architecture"]
    if env.distribution_name or env.distribution:
        parts.append(env.distribution_name or f"{env.distribution} {env.distribution_version or ''}".strip())
    if env.os_version:
        parts.append(f"version {env.os_version}")
    if env.kernel_release and env.kernel_release != env.os_version:  # Windows reports its version twice
        parts.append(f"kernel {env.kernel_release}")
    return ", ".join(parts)


def _cpu_words(env: Environment) -> str:
    cores = f"{env.cpu_count} usable cores" if env.cpu_count is not None else "usable cores unknown"
    return f"{env.cpu_model or 'model unknown'}, {cores}"


def _memory_words(memory_bytes: int | None) -> str:
    return f"{memory_bytes / 1024**3:.1f} GiB" if memory_bytes is not None else "unknown"


def _findings_section(findings: tuple[Finding, ...]) -> str:
    lines = ["Compatibility"]
    if not findings:
        lines.append("  no plugin judged this host")
    for finding in findings:
        marker = _SEVERITY_MARKERS[finding.severity]
        row = find_row(finding.row)
        where = f"{row.platform} | {row.os} | {row.install}" if row is not None else "outside the matrix"
        lines.append(f"  {marker:<8}{finding.row} ({where}): {finding.status.value}")
        lines.append(_wrapped(finding.message))
        if finding.fix:
            lines.append(_wrapped(f"fix: {finding.fix}"))
    return "\n".join(lines)


def _plugins_section(plugins: tuple[dict[str, object], ...]) -> str:
    lines = ["Plugins"]
    if not plugins:
        lines.append("  none found")
    columns = [
        (
            str(plugin.get("name", "?")),
            " ".join(str(plugin[key]) for key in ("distribution", "version") if plugin.get(key)) or "-",
        )
        for plugin in plugins
    ]
    name_width = max((len(name) for name, _ in columns), default=0) + 2
    distribution_width = max((len(distribution) for _, distribution in columns), default=0) + 2
    for plugin, (name, distribution) in zip(plugins, columns, strict=True):
        status = plugin.get("status", "?")
        lines.append(f"  {name:<{name_width}}{distribution:<{distribution_width}}{status}")
        registers = _registers_words(plugin.get("registers"))
        if registers:
            lines.append(_wrapped(f"registers: {registers}"))
        if plugin.get("error"):
            lines.append(_wrapped(f"error: {plugin['error']}"))
    return "\n".join(lines)


def _registers_words(registers: object) -> str:
    """Whatever shape the listing uses: ``{"backends": [...]}``, a list of names, or text."""
    if isinstance(registers, Mapping):
        return "; ".join(f"{kind}: {_registers_words(names)}" for kind, names in registers.items() if names)
    if isinstance(registers, list | tuple):
        return ", ".join(str(name) for name in registers)
    return str(registers) if registers else ""


def _install_section(commands: tuple[str, ...], installed: bool | None) -> str:
    if installed and commands:
        return "\n".join(
            ["Install what this host needs", "  nothing: it is all installed here; to install it elsewhere:"]
            + [f"    {command}" for command in commands]
        )
    return "\n".join(
        ["Install what this host needs", *(f"  {command}" for command in commands or ("nothing to install",))]
    )


def _image_words(image: ImageLabel) -> str:
    """``modelrt cpu-onnx 0.1.0 (row cpu-x86_64-linux, revision 1a2b3c, on python:3.12-slim-bookworm)``."""
    details = [
        f"{label} {value}"
        for label, value in (("row", image.row), ("revision", image.revision), ("built", image.created))
        if value and value != "unknown"
    ]
    if image.base:
        details.append(f"on {image.base}")
    words = " ".join(part for part in ("modelrt", image.image, image.version) if part)
    return f"{words} ({', '.join(details)})" if details else words


def _docker_section(image: DockerImage) -> str:
    """modelrt's image for this host's row, and the commands that build and run it in a modelrt clone."""
    return "\n".join(
        [
            "Docker image for this row",
            _wrapped(f"{image.dockerfile}, built in the root of a modelrt clone on {image.builds_on}:", indent="  "),
            f"    {image.build_command}",
            f"    {image.run_command}",
        ]
    )


def _field(label: str, value: str) -> str:
    return _wrapped(value, initial_indent=f"  {label:<{_LABEL_WIDTH}} ", indent=" " * (_LABEL_WIDTH + 3))


def _wrapped(text: str, initial_indent: str | None = None, indent: str = " " * 10) -> str:
    # Commands in fixes and paths must stay copyable: never split a word or a requirement at its hyphen.
    return textwrap.fill(
        text,
        width=_WIDTH,
        initial_indent=indent if initial_indent is None else initial_indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
