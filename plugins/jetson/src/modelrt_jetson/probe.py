"""Probing a host for Jetson facts: files only, never a subprocess, never raising.

A host is a Jetson when its device tree names a Tegra SoC, its kernel is a ``-tegra`` one, or it
carries L4T's files (``/etc/nv_tegra_release``, the ``nvidia-l4t-core`` package) on a machine that
could be one. L4T files on an x86-64 machine, or on a kernel that is not Tegra's with no Tegra
device tree, are an L4T image on other hardware (an emulated image build): not a Jetson, and the
facts say why, so the core judges the host as what it is.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from modelrt.host import Host
from modelrt_jetson.l4t import (
    L4TVersion,
    cuda_for,
    jetpack_for,
    jetpack_major_for,
    read_l4t_core_package,
    read_tegra_release,
    ubuntu_for,
)
from modelrt_jetson.module import SOC_COMPUTE_CAPABILITY, ModuleIdentity, identify_module, read_device_tree

if TYPE_CHECKING:
    from modelrt_jetson.facts import JetsonFacts

__all__ = ["L4T_OVERRIDE_VARIABLE", "probe_jetson"]

#: Names the L4T release when the board's files are missing or wrong (support cases).
L4T_OVERRIDE_VARIABLE = "MODELRT_L4T_VERSION"

#: L4T majors that run on one SoC family only, so a hidden device tree still tells the SoC.
_SOC_BY_L4T_MAJOR = {36: "tegra234", 38: "tegra264"}
_ARM64_MACHINES = ("aarch64", "arm64")


def probe_jetson(host: Host) -> JetsonFacts | None:
    """The Jetson facts of ``host``; ``None`` when nothing on it looks like a Jetson."""
    kernel_release = host.kernel_release
    tree = read_device_tree(host)
    identity = identify_module(tree.compatible)
    release_l4t, release_line = read_tegra_release(host)
    package_version = read_l4t_core_package(host)
    override = host.env(L4T_OVERRIDE_VARIABLE)

    evidence = []
    if release_line is not None:
        evidence.append(f"/etc/nv_tegra_release: {release_line or '(empty)'}")
    if identity.soc is not None and tree.compatible:
        evidence.append(f"the device tree names the SoC nvidia,{identity.soc}")
    if package_version is not None:
        evidence.append(f"package nvidia-l4t-core {package_version} is installed")
    if kernel_release and kernel_release.endswith("-tegra"):
        evidence.append(f"kernel {kernel_release}")
    if not evidence and override is None:
        return None
    # Every process probes, and most hosts are not Jetsons: what describes one is imported only from here.
    from modelrt_jetson.container import container_marks
    from modelrt_jetson.facts import JetsonFacts
    from modelrt_jetson.libraries import find_cudnn, find_tensorrt, find_tensorrt_bindings, find_tensorrt_wheels
    from modelrt_jetson.wheels import wheel_index_url

    if not evidence:
        return JetsonFacts(
            is_jetson=False,
            l4t_override=override,
            not_jetson_reason=(
                "nothing marks an NVIDIA Jetson: no /etc/nv_tegra_release, no Tegra SoC in the device tree, "
                "no nvidia-l4t-core package, no -tegra kernel"
            ),
        )
    not_jetson_reason = _not_jetson_reason(host, kernel_release, identity)
    if not_jetson_reason is not None:
        return JetsonFacts(
            is_jetson=False, evidence=evidence, not_jetson_reason=not_jetson_reason, l4t_override=override
        )

    unknown: dict[str, str] = {}
    l4t, l4t_source = _l4t(release_l4t, release_line, package_version, override, unknown)
    jetpack_major = jetpack_major_for(l4t) if l4t else None
    jetpack = jetpack_for(l4t) if l4t else None
    if l4t is not None and jetpack is None:
        unknown["jetpack"] = f"L4T {l4t} is not in this plugin's JetPack table" + (
            f" (its major, R{l4t.major}, is JetPack {jetpack_major})" if jetpack_major else ""
        )
    soc, soc_source = _soc(identity, l4t, tree.compatible, unknown)
    module = identity.module
    if module is None:
        unknown["module"] = (
            f"module part {identity.module_part} is not in this plugin's table"
            if identity.module_part
            else "the device tree is hidden (as in a container) or names no module part number"
        )
    dla_cores = module.dla_cores if module is not None else None
    if dla_cores is None:
        unknown["dla_cores"] = (
            f"sources disagree on the DLA cores of the {module.name}; ask TensorRT (Builder.num_DLA_cores)"
            if module is not None
            else "the module is unknown; ask TensorRT (Builder.num_DLA_cores)"
        )

    tensorrt = find_tensorrt(host)
    if tensorrt.version is None:
        unknown["tensorrt"] = tensorrt.missing_reason or "not found"
    cudnn = find_cudnn(host)
    if cudnn.version is None:
        unknown["cudnn"] = cudnn.missing_reason or "not found"
    cuda, cuda_source = _cuda(host, l4t, unknown)
    power_mode = _power_mode(host, unknown)
    return JetsonFacts(
        is_jetson=True,
        evidence=evidence,
        l4t=str(l4t) if l4t else None,
        l4t_source=l4t_source,
        l4t_override=override,
        jetpack=jetpack,
        jetpack_major=jetpack_major,
        l4t_ubuntu=ubuntu_for(l4t) if l4t else None,
        model=tree.model,
        module=module.name if module is not None else None,
        module_part=identity.module_part,
        carrier_part=identity.carrier_part,
        soc=soc,
        soc_source=soc_source,
        gpu_compute_capability=SOC_COMPUTE_CAPABILITY.get(soc or ""),
        dla_cores=dla_cores,
        power_mode=power_mode,
        container_marks=container_marks(host, kernel_release, device_tree_seen=tree.source is not None),
        cuda=cuda,
        cuda_source=cuda_source,
        cudnn=cudnn.version,
        tensorrt=tensorrt.version,
        tensorrt_source=tensorrt.source,
        tensorrt_library=tensorrt.path,
        tensorrt_bindings=find_tensorrt_bindings(host),
        tensorrt_wheels=find_tensorrt_wheels(host),
        wheel_index=wheel_index_url(jetpack_major, cuda),
        unknown=unknown,
    )


def _not_jetson_reason(host: Host, kernel_release: str | None, identity: ModuleIdentity) -> str | None:
    machine = (host.machine or "").lower()
    if machine and machine not in _ARM64_MACHINES:
        return f"this is a {machine} machine and every supported Jetson is 64-bit ARM (aarch64)"
    if identity.soc is None and kernel_release and "tegra" not in kernel_release:
        return (
            f"L4T files on a {kernel_release} kernel, which is not a Jetson's, with no Tegra SoC in the device "
            "tree: an L4T image on other hardware, such as an emulated image build"
        )
    return None


def _l4t(
    release_l4t: L4TVersion | None,
    release_line: str | None,
    package_version: str | None,
    override: str | None,
    unknown: dict[str, str],
) -> tuple[L4TVersion | None, str | None]:
    """The L4T in effect and where it came from: the override, the release file, then the package."""
    detected, source = release_l4t, "/etc/nv_tegra_release"
    if detected is None and package_version is not None:
        detected, source = L4TVersion.parse(package_version), "package nvidia-l4t-core"
    if override is not None:
        overridden = L4TVersion.parse(override)
        if overridden is not None:
            said = f"; the board's files say {detected}" if detected is not None and detected != overridden else ""
            return overridden, f"{L4T_OVERRIDE_VARIABLE}{said}"
        unknown["l4t_override"] = (
            f"{L4T_OVERRIDE_VARIABLE}={override!r} is not an L4T release such as 36.4.0, so it was ignored"
        )
    if detected is None:
        if release_line is not None:
            unknown["l4t"] = f"line 1 of /etc/nv_tegra_release names no release: {release_line!r}"
        elif package_version is not None:
            unknown["l4t"] = f"the nvidia-l4t-core package version {package_version!r} names no release"
        else:
            unknown["l4t"] = (
                "no /etc/nv_tegra_release and no installed nvidia-l4t-core package, as in a container built "
                "from a plain Ubuntu image"
            )
        return None, None
    return detected, source


def _soc(
    identity: ModuleIdentity, l4t: L4TVersion | None, compatible: tuple[str, ...], unknown: dict[str, str]
) -> tuple[str | None, str | None]:
    if identity.soc is not None:
        return identity.soc, "device tree"
    if l4t is not None and l4t.major in _SOC_BY_L4T_MAJOR:
        inferred = _SOC_BY_L4T_MAJOR[l4t.major]
        return inferred, f"L4T R{l4t.major} runs on {inferred} only"
    unknown["soc"] = (
        "the device tree names no Tegra SoC" if compatible else "the device tree is hidden (as in a container)"
    )
    return None, None


def _cuda(host: Host, l4t: L4TVersion | None, unknown: dict[str, str]) -> tuple[str | None, str | None]:
    from modelrt_jetson.libraries import find_cuda

    found = find_cuda(host)
    if found.version is not None:
        return found.version, found.path
    shipped = cuda_for(l4t) if l4t is not None else None
    if shipped is not None:
        return shipped, f"what L4T {l4t} ships; {found.missing_reason}"
    unknown["cuda"] = found.missing_reason or "not found"
    return None, None


def _power_mode(host: Host, unknown: dict[str, str]) -> str | None:
    """The nvpmodel mode in ``/var/lib/nvpmodel/status`` (``pmode:0002``), named from ``/etc/nvpmodel.conf``."""
    status = host.read_text("var/lib/nvpmodel/status")
    match = re.search(r"pmode:(\d{1,4})", status or "")
    if match is None:
        unknown["power_mode"] = (
            "no /var/lib/nvpmodel/status (no mode set with nvpmodel yet, or hidden in a container)"
            if status is None
            else "/var/lib/nvpmodel/status names no pmode"
        )
        return None
    mode_id = int(match.group(1))
    names = re.findall(
        r"<\s*POWER_MODEL\s+ID=(\d{1,4})\s+NAME=([^\s>]{1,40})", host.read_text("etc/nvpmodel.conf") or ""
    )
    name = next((name for number, name in names if int(number) == mode_id), None)
    return f"{name} (mode {mode_id})" if name else f"mode {mode_id}"
