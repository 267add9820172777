"""Fake host roots: directories laid out like the machines of the compatibility matrix.

Probing reads a machine only through ``modelrt.host.Host``, so a fake root written here is probed
exactly like the machine it imitates, on any CI runner. The file contents are those of real systems
(``/etc/os-release`` of Ubuntu, Debian, Fedora and RHEL releases, ``/proc/cpuinfo`` of x86-64, Neoverse
and Jetson Orin CPUs, ``/proc/meminfo``, cgroup lines of Docker, Podman and Kubernetes, the NVIDIA
driver's ``/proc/driver/nvidia/version``, a Jetson's ``/etc/nv_tegra_release``, device tree, dpkg
status stanza, JetPack's library file names and nvpmodel files).

The verbatim files live in ``system_files/`` beside this module (package data, read when a root is
written); a file with ``{field}`` placeholders is a template filled with ``str.format``.

``make_*_host`` writes a whole machine and returns a ``Host`` over it; each ``write_*`` function
writes one part, so tests and plugins can compose other machines (the jetson plugin adds its
libraries to a ``make_jetson_host`` root, a test adds a cgroup quota to a Linux root)::

    host = make_linux_host(tmp_path, distro="ubuntu", version="24.04", nvidia_driver="550.54.14")
    write_cpu_quota(tmp_path, 1.5)
"""

from __future__ import annotations

import functools
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from modelrt.host import FAKE_HOST_FILE, Host

__all__ = [
    "DOCKER_CGROUP_V1",
    "JETSON_AGX_ORIN_COMPATIBLE",
    "JETSON_AGX_ORIN_MODEL",
    "JETSON_AGX_THOR_COMPATIBLE",
    "JETSON_AGX_THOR_MODEL",
    "JETSON_ORIN_NANO_COMPATIBLE",
    "JETSON_ORIN_NANO_MODEL",
    "JETSON_ORIN_NX_16GB_COMPATIBLE",
    "JETSON_ORIN_NX_MODEL",
    "JETSON_R35_TEGRA_RELEASE",
    "JETSON_R36_TEGRA_RELEASE",
    "JETSON_XAVIER_NX_COMPATIBLE",
    "JETSON_XAVIER_NX_MODEL",
    "KUBERNETES_CGROUP_V1",
    "NVIDIA_A100",
    "NVIDIA_B200",
    "NVIDIA_H100",
    "NVIDIA_RTX_3090",
    "PODMAN_CGROUP_V1",
    "make_jetson_host",
    "make_linux_host",
    "make_macos_host",
    "make_nvidia_host",
    "nvidia_gpu",
    "make_windows_host",
    "tegra_release_line",
    "write_container_markers",
    "write_cpu_quota",
    "write_cpuinfo",
    "write_cuda_libraries",
    "write_cuda_wheels",
    "write_dpkg_status",
    "write_file",
    "write_host_file",
    "write_jetson_files",
    "write_jetson_libraries",
    "write_kernel_release",
    "write_meminfo",
    "write_nvidia_container_toolkit",
    "write_nvidia_driver",
    "write_nvml",
    "write_nvpmodel",
    "write_os_release",
    "write_python_distribution",
    "write_wsl2",
]

# ------------------------------------------------------------------------------------ system files


@functools.cache
def _system_file(name: str) -> str:
    """The text of ``system_files/<name>``: a real system's file, or its template."""
    return (files("modelrt.testing") / "system_files" / name).read_text(encoding="utf-8")


#: The releases whose real ``/etc/os-release`` is in ``system_files/os-release/<distro>-<version>``.
_OS_RELEASES = {
    ("ubuntu", "20.04"),
    ("ubuntu", "22.04"),
    ("ubuntu", "24.04"),
    ("debian", "12"),
    ("fedora", "40"),
    ("rhel", "9.4"),
}

#: Kernel releases these distributions ship (x86-64 spelling; see ``_default_kernel_release``).
_KERNELS = {
    ("ubuntu", "18.04"): "4.15.0-213-generic",
    ("ubuntu", "20.04"): "5.4.0-193-generic",
    ("ubuntu", "22.04"): "5.15.0-119-generic",
    ("ubuntu", "24.04"): "6.8.0-45-generic",
    ("debian", "12"): "6.1.0-25-{debian_arch}",
    ("fedora", "40"): "6.10.6-200.fc40.{machine}",
    ("rhel", "9.4"): "5.14.0-427.13.1.el9_4.{machine}",
}

# ------------------------------------------------------------------------------------------ cpuinfo

#: 64-bit ARM cpuinfo has no model name: the core is named by implementer and part (0xd0c is
#: Neoverse-N1, as in AWS Graviton2 and Ampere Altra; 0xd42 is the Jetson Orin's Cortex-A78AE).
_NEOVERSE_N1 = {
    "part": "0xd0c",
    "variant": "0x3",
    "bogomips": "243.75",
    "features": "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop "
    "asimddp ssbs",
}
_ORIN_CORTEX_A78AE = {
    "part": "0xd42",
    "variant": "0x0",
    "bogomips": "62.50",
    "features": "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop "
    "asimddp uscat ilrcpc flagm paca pacg",
}

#: What ``sysctl machdep.cpu.brand_string`` says on an Apple Silicon and an Intel Mac.
_MAC_CPU_BRANDS = {"arm64": "Apple M2", "x86_64": "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz"}

# ------------------------------------------------------------------------------------------ cgroups

_BARE_METAL_CGROUP_V2 = "0::/init.scope\n"
#: Inside a container with its own cgroup namespace (cgroup v2), ``/proc/1/cgroup`` shows nothing.
_CONTAINER_CGROUP_V2 = "0::/\n"
#: ``/proc/1/cgroup`` of a Docker container on a cgroup v1 host.
DOCKER_CGROUP_V1 = """\
12:freezer:/docker/5c2b8f1d3c0e4a6b9f7d2e1a0c3b5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c
11:memory:/docker/5c2b8f1d3c0e4a6b9f7d2e1a0c3b5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c
10:cpu,cpuacct:/docker/5c2b8f1d3c0e4a6b9f7d2e1a0c3b5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c
1:name=systemd:/docker/5c2b8f1d3c0e4a6b9f7d2e1a0c3b5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c
0::/system.slice/containerd.service
"""
#: ``/proc/1/cgroup`` of a Kubernetes pod's container on a cgroup v1 node.
KUBERNETES_CGROUP_V1 = """\
12:memory:/kubepods/burstable/pod6a2f8c1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b/8e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f
11:cpu,cpuacct:/kubepods/burstable/pod6a2f8c1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b/8e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f
1:name=systemd:/kubepods/burstable/pod6a2f8c1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b/8e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f
0::/
"""
#: ``/proc/1/cgroup`` of a rootful Podman container on a cgroup v1 host.
PODMAN_CGROUP_V1 = """\
11:memory:/machine.slice/libpod-3f9a1c2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8.scope
1:name=systemd:/machine.slice/libpod-3f9a1c2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8.scope
0::/
"""

# -------------------------------------------------------------------------------------- NVIDIA, Jetson

#: Line 1 of ``/etc/nv_tegra_release`` on JetPack 6.1 (L4T 36.4.0).
JETSON_R36_TEGRA_RELEASE = (
    "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13 04:36:44 UTC 2024"
)
#: Line 1 of ``/etc/nv_tegra_release`` on JetPack 5.1.2 (L4T 35.4.1).
JETSON_R35_TEGRA_RELEASE = (
    "# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023"
)
#: ``/proc/device-tree/compatible`` (carrier+module, module, SoC) and ``model`` of each developer kit.
JETSON_AGX_ORIN_COMPATIBLE = ("nvidia,p3737-0000+p3701-0005", "nvidia,p3701-0005", "nvidia,tegra234")
JETSON_AGX_ORIN_MODEL = "NVIDIA Jetson AGX Orin Developer Kit"
JETSON_ORIN_NX_16GB_COMPATIBLE = ("nvidia,p3768-0000+p3767-0000", "nvidia,p3767-0000", "nvidia,tegra234")
JETSON_ORIN_NX_MODEL = "NVIDIA Jetson Orin NX Engineering Reference Developer Kit"
JETSON_ORIN_NANO_COMPATIBLE = ("nvidia,p3768-0000+p3767-0005", "nvidia,p3767-0005", "nvidia,tegra234")
#: Orin Nano developer kits name themselves without "Jetson".
JETSON_ORIN_NANO_MODEL = "NVIDIA Orin Nano Developer Kit"
JETSON_XAVIER_NX_COMPATIBLE = ("nvidia,p3509-0000+p3668-0001", "nvidia,p3668-0001", "nvidia,tegra194")
JETSON_XAVIER_NX_MODEL = "NVIDIA Jetson Xavier NX Developer Kit"
JETSON_AGX_THOR_COMPATIBLE = ("nvidia,p4071-0000+p3834-0008", "nvidia,p3834-0008", "nvidia,tegra264")
JETSON_AGX_THOR_MODEL = "NVIDIA Jetson AGX Thor Developer Kit"

#: L4T major → (Ubuntu release, kernel release) that JetPack ships.
_L4T_SYSTEMS = {
    32: ("18.04", "4.9.337-tegra"),
    34: ("20.04", "5.10.65-tegra"),
    35: ("20.04", "5.10.216-tegra"),
    36: ("22.04", "5.15.148-tegra"),
    38: ("24.04", "6.8.12-tegra"),
    39: ("24.04", "6.8.12-tegra"),
}


# ------------------------------------------------------------------------------------------ writers


def write_file(root: Path, relative: str, content: str | bytes) -> Path:
    """Write ``content`` at ``relative`` under ``root``, creating directories; return the path."""
    path = Path(root) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_os_release(root: Path, distro: str = "ubuntu", version: str = "22.04") -> None:
    """``etc/os-release`` of a real release where known, else a minimal one with the same keys."""
    if (distro, version) in _OS_RELEASES:
        text = _system_file(f"os-release/{distro}-{version}")
    else:
        text = f'PRETTY_NAME="{distro.capitalize()} {version}"\nNAME="{distro.capitalize()}"\n'
        text += f'VERSION_ID="{version}"\nID={distro}\n'
    write_file(root, "etc/os-release", text)


def write_kernel_release(root: Path, release: str) -> None:
    write_file(root, "proc/sys/kernel/osrelease", release + "\n")


def write_cpuinfo(root: Path, machine: str = "x86_64", cores: int = 4, cpu_model: str | None = None) -> None:
    """``proc/cpuinfo`` with ``cores`` processors: an AMD EPYC for x86_64, a Neoverse-N1 for aarch64.

    64-bit ARM kernels print no model name, so ``cpu_model`` applies to x86_64 only.
    """
    if machine == "x86_64":
        model = cpu_model or "AMD EPYC 9R14"
        text = "".join(
            _system_file("cpuinfo-x86_64-block.txt").format(index=index, cores=cores, model=model)
            for index in range(cores)
        )
    elif machine == "aarch64":
        if cpu_model is not None:
            raise ValueError("aarch64 /proc/cpuinfo has no model name; leave cpu_model unset")
        text = _aarch64_cpuinfo(cores, _NEOVERSE_N1)
    else:
        raise ValueError(f"fake cpuinfo exists for x86_64 and aarch64, not {machine!r}")
    write_file(root, "proc/cpuinfo", text)


def _aarch64_cpuinfo(cores: int, core_kind: dict[str, str]) -> str:
    return "".join(_system_file("cpuinfo-aarch64-block.txt").format(index=index, **core_kind) for index in range(cores))


def write_meminfo(root: Path, mem_kb: int = 16_318_440) -> None:
    write_file(
        root,
        "proc/meminfo",
        _system_file("meminfo.txt").format(total=mem_kb, free=mem_kb * 6 // 10, available=mem_kb * 8 // 10),
    )


def write_cpu_quota(root: Path, cpus: float | None) -> None:
    """``sys/fs/cgroup/cpu.max`` (cgroup v2): a quota of ``cpus`` CPUs, or ``None`` for no limit."""
    period = 100_000
    write_file(root, "sys/fs/cgroup/cpu.max", f"{'max' if cpus is None else round(cpus * period)} {period}\n")


def write_container_markers(root: Path, kind: str) -> None:
    """What a ``docker``, ``podman`` or ``kubernetes`` container shows on a cgroup v2 host."""
    if kind == "docker":
        write_file(root, ".dockerenv", "")
    elif kind == "podman":
        write_file(root, "run/.containerenv", 'engine="podman-4.9.3"\n')
    elif kind == "kubernetes":
        write_file(root, "var/run/secrets/kubernetes.io/serviceaccount/namespace", "default")
        write_host_file(root, environ={"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"})
    else:
        raise ValueError(f"unknown container kind {kind!r}: use docker, podman or kubernetes")
    write_file(root, "proc/1/cgroup", _CONTAINER_CGROUP_V2)


def write_nvidia_driver(root: Path, version: str = "535.183.01", gpus: int = 1) -> None:
    """The NVIDIA driver's ``proc/driver/nvidia/version`` and device nodes ``dev/nvidia0..``."""
    write_file(root, "proc/driver/nvidia/version", _system_file("nvidia-driver-version.txt").format(version=version))
    write_file(root, "dev/nvidiactl", "")
    for index in range(gpus):
        write_file(root, f"dev/nvidia{index}", "")


def write_host_file(root: Path, **facts: Any) -> None:
    """Merge ``facts`` into the fake root's ``.modelrt-host.json`` (see ``modelrt.host``)."""
    path = Path(root) / FAKE_HOST_FILE
    existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for key, value in facts.items():
        if isinstance(value, dict) and isinstance(existing.get(key), dict):
            existing[key] = {**existing[key], **value}
        else:
            existing[key] = value
    write_file(root, FAKE_HOST_FILE, json.dumps(existing, indent=2))


def write_jetson_files(
    root: Path,
    nv_tegra_release: str | None = JETSON_R36_TEGRA_RELEASE,
    compatible: tuple[str, ...] | None = JETSON_AGX_ORIN_COMPATIBLE,
    model: str | None = JETSON_AGX_ORIN_MODEL,
) -> None:
    """``etc/nv_tegra_release`` (line 1 as given) and the device tree's ``compatible`` and ``model``.

    ``None`` leaves a file out: containers often hide the device tree, and some images lack the
    release file.
    """
    if nv_tegra_release is not None:
        write_file(root, "etc/nv_tegra_release", nv_tegra_release + "\n" + _system_file("nv_tegra_release-tail.txt"))
    # The kernel writes device-tree strings NUL-terminated; compatible is a NUL-separated list.
    if compatible is not None:
        write_file(root, "proc/device-tree/compatible", b"".join(entry.encode() + b"\0" for entry in compatible))
    if model is not None:
        write_file(root, "proc/device-tree/model", model.encode() + b"\0")


def tegra_release_line(l4t: str, board: str = "generic") -> str:
    """Line 1 of ``/etc/nv_tegra_release`` for an L4T release such as ``36.4.3``."""
    major, _, revision = l4t.partition(".")
    return (
        f"# R{major} (release), REVISION: {revision}, GCID: 38968081, BOARD: {board}, EABI: aarch64, "
        "DATE: Wed Jan  8 01:49:37 UTC 2025"
    )


def write_dpkg_status(root: Path, packages: dict[str, str], status: str = "install ok installed") -> None:
    """``var/lib/dpkg/status`` with a stanza per ``{package: version}``, among two ordinary packages.

    Like dpkg, it keeps a file list ``var/lib/dpkg/info/<package>.list`` for each package it still
    has files of (every status but ``not-installed``).
    """
    stanza = _system_file("dpkg-status-stanza.txt")
    stanzas = [stanza.format(package="adduser", status="install ok installed", version="3.118ubuntu5")]
    stanzas += [stanza.format(package=name, status=status, version=version) for name, version in packages.items()]
    stanzas.append(stanza.format(package="zlib1g", status="install ok installed", version="1:1.2.11.dfsg-2"))
    write_file(root, "var/lib/dpkg/status", "".join(stanzas))
    if not status.endswith("not-installed"):
        for name in packages:
            write_file(root, f"var/lib/dpkg/info/{name}.list", f"/.\n/usr/share/doc/{name}\n")


def write_jetson_libraries(
    root: Path,
    tensorrt: str | None = "10.3.0",
    cudnn: str | None = "9.3.0",
    cuda: str | None = "12.6.68",
    python: str | None = "3.10",
) -> None:
    """JetPack's libraries as a board lays them out (``None`` leaves one out).

    ``libnvinfer.so -> .so.10 -> .so.10.3.0`` and ``libcudnn.so.9 -> .so.9.3.0`` under
    ``usr/lib/aarch64-linux-gnu``; ``usr/local/cuda -> cuda-12.6`` with its ``version.json``; and
    TensorRT's Python bindings in ``usr/lib/python3.10/dist-packages``. Links are relative, so they
    resolve inside the fake root.
    """
    root = Path(root)
    library_dir = "usr/lib/aarch64-linux-gnu"
    if tensorrt is not None:
        _write_versioned_library(root, library_dir, "libnvinfer.so", tensorrt, link_unversioned=True)
        if python is not None:
            bindings = f"usr/lib/python{python}/dist-packages"
            write_file(root, f"{bindings}/tensorrt/__init__.py", f'__version__ = "{tensorrt}"\n')
            write_python_distribution(root, bindings, "tensorrt", tensorrt)
    if cudnn is not None:
        _write_versioned_library(root, library_dir, "libcudnn.so", cudnn, link_unversioned=False)
    if cuda is not None:
        major_minor = ".".join(cuda.split(".")[:2])
        write_file(
            root,
            f"usr/local/cuda-{major_minor}/version.json",
            _system_file("cuda-version.json.txt").format(version=cuda),
        )
        _symlink(root / "usr/local/cuda", f"cuda-{major_minor}")


def _write_versioned_library(root: Path, directory: str, name: str, version: str, link_unversioned: bool) -> None:
    major = version.split(".")[0]
    write_file(root, f"{directory}/{name}.{version}", b"\x7fELF")
    _symlink(root / directory / f"{name}.{major}", f"{name}.{version}")
    if link_unversioned:
        _symlink(root / directory / name, f"{name}.{major}")


def _symlink(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def write_python_distribution(root: Path, site_dir: str, name: str, version: str) -> None:
    """An installed distribution's ``NAME-VERSION.dist-info`` (as pip writes it) under ``site_dir``."""
    dist_info = f"{site_dir}/{name.replace('-', '_')}-{version}.dist-info"
    write_file(root, f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    write_file(root, f"{dist_info}/INSTALLER", "pip\n")


def write_nvpmodel(root: Path, mode_id: int | None = 2) -> None:
    """An Orin Nano's ``etc/nvpmodel.conf`` and, unless ``None``, the active mode in ``var/lib/nvpmodel/status``."""
    write_file(root, "etc/nvpmodel.conf", _system_file("nvpmodel-orin-nano.conf"))
    if mode_id is not None:
        write_file(root, "var/lib/nvpmodel/status", f"pmode:{mode_id:04d} fmode:quiet\n")


# ------------------------------------------------------------------------------------------- NVIDIA

#: GPUs as NVML describes them (name, compute capability, memory); ``nvidia_gpu`` adds index, UUID and PCI id.
NVIDIA_RTX_3090 = {"name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6", "memory_bytes": 24 * 1024**3}
NVIDIA_A100 = {"name": "NVIDIA A100-SXM4-80GB", "compute_capability": "8.0", "memory_bytes": 80 * 1024**3}
NVIDIA_H100 = {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "memory_bytes": 81_559 * 1024**2}
NVIDIA_B200 = {"name": "NVIDIA B200", "compute_capability": "10.0", "memory_bytes": 183_359 * 1024**2}


def nvidia_gpu(index: int, model: dict[str, Any] = NVIDIA_A100, mig_mode: bool | None = False) -> dict[str, Any]:
    """One GPU of a fake NVML answer: ``model`` at PCI slot ``index`` with a UUID derived from it."""
    return {
        **model,
        "index": index,
        "uuid": f"GPU-{index:08x}-5b7d-4e2f-9a0c-1d2e3f4a5b6c",
        "pci_bus_id": f"00000000:{index + 7:02X}:00.0",
        "mig_mode": mig_mode,
    }


def write_nvml(
    root: Path, driver: str = "550.54.14", cuda: str | None = "12.4", gpus: list[dict[str, Any]] | None = None
) -> None:
    """What NVML answers on this fake host (see ``modelrt.nvidia.fake_nvml``); one A100 by default."""
    answer: dict[str, Any] = {"driver_version": driver, "gpus": gpus if gpus is not None else [nvidia_gpu(0)]}
    if cuda is not None:
        answer["cuda_driver_version"] = cuda
    write_host_file(root, nvml=answer)


def write_cuda_wheels(
    root: Path,
    cuda_runtime: str | None = "12.4.127",
    cudnn: str | None = "9.1.0.70",
    cublas: str | None = "12.4.5.8",
    python: str = "3.12",
) -> None:
    """The ``nvidia-*-cuXX`` wheels ``onnxruntime-gpu`` and torch bring, in a fake root's site-packages."""
    site = f"usr/local/lib/python{python}/dist-packages"
    suffix = f"cu{(cuda_runtime or cublas or '12').split('.')[0]}"
    for distribution, version in (("cuda-runtime", cuda_runtime), ("cudnn", cudnn), ("cublas", cublas)):
        if version is not None:
            write_python_distribution(root, site, f"nvidia-{distribution}-{suffix}", version)


def write_cuda_libraries(root: Path, cuda_runtime: str | None = "12.4.127", cudnn: str | None = "9.1.0") -> None:
    """A system CUDA toolkit's ``libcudart`` and cuDNN's ``libcudnn`` files, as the .deb packages lay them out."""
    if cuda_runtime is not None:
        _write_versioned_library(Path(root), "usr/local/cuda/lib64", "libcudart.so", cuda_runtime, True)
    if cudnn is not None:
        _write_versioned_library(Path(root), "usr/lib/x86_64-linux-gnu", "libcudnn.so", cudnn, False)


def write_nvidia_container_toolkit(root: Path, driver: str = "550.54.14") -> None:
    """What the NVIDIA Container Toolkit leaves in a container: its variables and the driver's mounted NVML."""
    write_host_file(root, environ={"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility"})
    write_file(root, f"usr/lib/x86_64-linux-gnu/libnvidia-ml.so.{driver}", b"\x7fELF")


def write_wsl2(root: Path) -> None:
    """WSL2: a ``microsoft`` kernel and the Windows driver's ``libcuda`` mapped in, no ``/proc/driver/nvidia``."""
    write_kernel_release(root, "5.15.153.1-microsoft-standard-WSL2")
    write_file(root, "usr/lib/wsl/lib/libcuda.so", b"\x7fELF")


# -------------------------------------------------------------------------------------- whole hosts


def make_linux_host(
    root: Path,
    distro: str = "ubuntu",
    version: str = "22.04",
    machine: str = "x86_64",
    cpu_model: str | None = None,
    cores: int = 4,
    mem_kb: int = 16_318_440,
    docker: bool = False,
    nvidia_driver: str | None = None,
    kernel_release: str | None = None,
) -> Host:
    """A Linux machine (bare metal, or a Docker container with ``docker``), optionally with an NVIDIA GPU."""
    root = Path(root)
    write_os_release(root, distro, version)
    write_kernel_release(root, kernel_release or _default_kernel_release(distro, version, machine))
    write_cpuinfo(root, machine, cores, cpu_model)
    write_meminfo(root, mem_kb)
    if docker:
        write_container_markers(root, "docker")
        write_cpu_quota(root, None)
    else:
        write_file(root, "proc/1/cgroup", _BARE_METAL_CGROUP_V2)
    if nvidia_driver is not None:
        write_nvidia_driver(root, nvidia_driver)
    return Host(root)


def make_nvidia_host(
    root: Path,
    distro: str = "ubuntu",
    version: str = "22.04",
    driver: str = "550.54.14",
    cuda_driver: str | None = "12.4",
    gpus: list[dict[str, Any]] | None = None,
    cuda_runtime: str | None = "12.4.127",
    cudnn: str | None = "9.1.0.70",
    visible_devices: str | None = None,
    docker: bool = False,
) -> Host:
    """A Linux machine with an NVIDIA driver, NVML's answers, and CUDA wheels (default: Ubuntu 22.04, one A100)."""
    host = make_linux_host(root, distro=distro, version=version, docker=docker, nvidia_driver=driver)
    gpus = gpus if gpus is not None else [nvidia_gpu(0)]
    for gpu in gpus:
        write_file(root, f"dev/nvidia{gpu['index']}", "")
    write_nvml(root, driver, cuda_driver, gpus)
    if cuda_runtime is not None:
        write_cuda_wheels(root, cuda_runtime, cudnn, cublas=f"{cuda_runtime.split('.')[0]}.4.5.8")
    if visible_devices is not None:
        write_host_file(root, environ={"CUDA_VISIBLE_DEVICES": visible_devices})
    return host


def make_macos_host(
    root: Path,
    machine: str = "arm64",
    mac_ver: str = "14.5",
    cpu_brand: str | None = None,
    cores: int = 8,
    memory_bytes: int = 16 * 1024**3,
) -> Host:
    """A Mac (Apple Silicon with ``arm64``, Intel with ``x86_64``): facts in ``.modelrt-host.json``."""
    write_host_file(
        root,
        system="Darwin",
        machine=machine,
        kernel_release="23.5.0",
        mac_ver=mac_ver,
        cpu_brand=cpu_brand or ("Apple M2" if machine == "arm64" else "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz"),
        cpu_count=cores,
        memory_bytes=memory_bytes,
    )
    return Host(Path(root))


def make_windows_host(
    root: Path,
    machine: str = "AMD64",
    release: str = "10",
    cpu_brand: str = "Intel64 Family 6 Model 154 Stepping 3, GenuineIntel",
    cores: int = 8,
    memory_bytes: int = 16 * 1024**3,
) -> Host:
    """A Windows machine (``platform.release()`` is ``10`` on Windows 10 and, before Python 3.12, 11)."""
    write_host_file(
        root,
        system="Windows",
        machine=machine,
        kernel_release=release,
        cpu_brand=cpu_brand,
        cpu_count=cores,
        memory_bytes=memory_bytes,
    )
    return Host(Path(root))


def make_jetson_host(
    root: Path,
    nv_tegra_release: str | None = JETSON_R36_TEGRA_RELEASE,
    compatible: tuple[str, ...] | None = JETSON_AGX_ORIN_COMPATIBLE,
    model: str | None = JETSON_AGX_ORIN_MODEL,
    docker: bool = False,
    cores: int = 12,
    mem_kb: int = 64_335_836,
    kernel_release: str | None = None,
) -> Host:
    """An NVIDIA Jetson (default: AGX Orin 64GB devkit on JetPack 6.1 / L4T 36.4.0).

    The Ubuntu release and ``-tegra`` kernel follow the L4T major of ``nv_tegra_release``. With
    ``docker`` the root is a container on that Jetson: ``.dockerenv`` present and the device tree
    hidden, as Docker masks ``/sys/firmware`` that ``/proc/device-tree`` points into.
    """
    root = Path(root)
    ubuntu, tegra_kernel = _L4T_SYSTEMS.get(_l4t_major(nv_tegra_release), _L4T_SYSTEMS[36])
    write_os_release(root, "ubuntu", ubuntu)
    write_kernel_release(root, kernel_release or tegra_kernel)
    write_file(root, "proc/cpuinfo", _aarch64_cpuinfo(cores, _ORIN_CORTEX_A78AE))
    write_meminfo(root, mem_kb)
    if docker:
        write_container_markers(root, "docker")
        write_jetson_files(root, nv_tegra_release, compatible=None, model=None)
    else:
        write_file(root, "proc/1/cgroup", _BARE_METAL_CGROUP_V2)
        write_jetson_files(root, nv_tegra_release, compatible, model)
    return Host(root)


def _l4t_major(nv_tegra_release: str | None) -> int:
    """``36`` from ``# R36 (release), ...``; JetPack 6's when the line is absent or says no release."""
    match = re.match(r"#\s*R(\d+)", nv_tegra_release or "")
    return int(match.group(1)) if match else 36


def _default_kernel_release(distro: str, version: str, machine: str) -> str:
    template = _KERNELS.get((distro, version), "6.1.0")
    return template.format(debian_arch="amd64" if machine == "x86_64" else "arm64", machine=machine)
