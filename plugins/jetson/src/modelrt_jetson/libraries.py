"""JetPack's libraries, found by their file names: TensorRT and its Python bindings, cuDNN, CUDA.

JetPack installs them as files, not wheels: ``libnvinfer.so.10.3.0`` under
``/usr/lib/aarch64-linux-gnu``, the ``tensorrt`` bindings under ``/usr/lib/python3.X/dist-packages``,
CUDA under ``/usr/local/cuda-X.Y``. A file name carries the version; only where it carries the major
alone (``libnvinfer.so.10``) and only on the live machine is the library itself asked, through
ctypes (``getInferLibMajorVersion``..., ``cudnnGetVersion``). A fake root's libraries are never
loaded: they are not code for this machine. Paths are reported as the board sees them (``/usr/...``),
whatever root was probed.

A ``tensorrt`` wheel installed from PyPI shadows the bindings JetPack ships and brings libraries
not built for Jetson. Live, the running interpreter's distributions are checked (what
``import tensorrt`` would find); for a fake root, the site directories under it.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import attrs

from modelrt.host import Host
from modelrt_jetson.facts import PythonDistribution, TensorRTBindings

__all__ = [
    "LIBRARY_DIR",
    "FoundVersion",
    "find_cuda",
    "find_cudnn",
    "find_tensorrt",
    "find_tensorrt_bindings",
    "find_tensorrt_wheels",
]

LIBRARY_DIR = "usr/lib/aarch64-linux-gnu"
#: Where JetPack's Debian packages put Python modules; anything else holding ``tensorrt`` is a wheel.
SYSTEM_SITE_PATTERN = "usr/lib/python3*/dist-packages"
#: Site directories pip writes to outside a virtual environment (as root, or with ``--user``).
_FAKE_ROOT_SITE_PATTERNS = (
    "usr/local/lib/python3*/dist-packages",
    "usr/local/lib/python3*/site-packages",
    "root/.local/lib/python3*/site-packages",
    "home/*/.local/lib/python3*/site-packages",
)
#: Distributions that provide ``tensorrt`` (or its lean/dispatch runtimes) and their libraries.
_TENSORRT_DISTRIBUTION = re.compile(r"tensorrt(-(lean|dispatch))?(-cu\d+)?(-bindings|-libs)?")


@attrs.frozen
class FoundVersion:
    """A version found on the board (``None`` when not), where it was found, and why not if it was not."""

    version: str | None
    source: str | None
    path: str | None = None
    missing_reason: str | None = None


# -------------------------------------------------------------------------------------------- TensorRT


def find_tensorrt(host: Host) -> FoundVersion:
    """The system TensorRT: ``libnvinfer.so*`` in the library directory, its version from the name."""
    return _find_library(host, "libnvinfer.so", _tensorrt_version_through_ctypes)


def find_cudnn(host: Host) -> FoundVersion:
    """The system cuDNN: ``libcudnn.so*`` in the library directory, its version from the name."""
    return _find_library(host, "libcudnn.so", _cudnn_version_through_ctypes)


def _find_library(host: Host, name: str, ask_library: Callable[[Path], str | None]) -> FoundVersion:
    candidates = [
        path
        for path in host.glob(f"{LIBRARY_DIR}/{name}*")
        if _library_version(path, name) is not None and host.exists(path)  # a dangling link is no library
    ]
    if not candidates:
        unversioned = host.exists(f"{LIBRARY_DIR}/{name}")
        reason = (
            f"only an unversioned {name} under /{LIBRARY_DIR}" if unversioned else f"no {name}* under /{LIBRARY_DIR}"
        )
        return FoundVersion(None, None, missing_reason=reason)
    best = max(candidates, key=lambda path: _library_version(path, name) or ())
    version = ".".join(str(part) for part in _library_version(best, name) or ())
    if version.count(".") == 0 and host.is_live:
        asked = ask_library(host.path(best))
        if asked is not None:
            return FoundVersion(asked, "the library itself (ctypes)", f"/{best}")
    return FoundVersion(version, "file name", f"/{best}")


def _library_version(path: str, name: str) -> tuple[int, ...] | None:
    """``(10, 3, 0)`` from ``.../libnvinfer.so.10.3.0``; ``None`` for another file or an unversioned one."""
    suffix = PurePosixPath(path).name[len(name) :]
    if not re.fullmatch(r"(\.\d{1,6}){1,4}", suffix):
        return None
    return tuple(int(part) for part in suffix[1:].split("."))


def _tensorrt_version_through_ctypes(path: Path) -> str | None:
    library = _load(path)
    if library is None:
        return None
    try:
        if hasattr(library, "getInferLibMajorVersion"):
            parts = [
                int(getattr(library, f"getInferLib{part}Version")())
                for part in ("Major", "Minor", "Patch")
                if hasattr(library, f"getInferLib{part}Version")
            ]
            return ".".join(str(part) for part in parts)
        return _decode_tensorrt_version(int(library.getInferLibVersion()))
    except (AttributeError, OSError, ValueError):
        return None


def _cudnn_version_through_ctypes(path: Path) -> str | None:
    library = _load(path)
    if library is None:
        return None
    try:
        return _decode_cudnn_version(int(library.cudnnGetVersion()))
    except (AttributeError, OSError, ValueError):
        return None


def _load(path: Path) -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(str(path))
    except OSError:  # a missing dependency (libcudart) or a foreign architecture
        return None


def _decode_tensorrt_version(number: int) -> str:
    """``getInferLibVersion()``: major*1000+minor*100+patch before TensorRT 10 (``8502``), major*10000+... since."""
    if number >= 100_000:
        return f"{number // 10_000}.{number // 100 % 100}.{number % 100}"
    return f"{number // 1000}.{number // 100 % 10}.{number % 100}"


def _decode_cudnn_version(number: int) -> str:
    """``cudnnGetVersion()``: major*1000+minor*100+patch before cuDNN 9 (``8906``), major*10000+... since."""
    if number >= 90_000:
        return f"{number // 10_000}.{number // 100 % 100}.{number % 100}"
    return f"{number // 1000}.{number // 100 % 10}.{number % 100}"


def find_tensorrt_bindings(host: Host) -> tuple[TensorRTBindings, ...]:
    """JetPack's ``tensorrt`` Python packages, one per Python they are built for."""
    found = []
    for package_dir in host.glob(f"{SYSTEM_SITE_PATTERN}/tensorrt"):
        site_dir = PurePosixPath(package_dir).parent
        python = re.fullmatch(r"python(3\.\d+)", site_dir.parent.name)
        if python is None or not host.exists(f"{package_dir}/__init__.py"):
            continue
        version = _distribution_version(host.glob(f"{site_dir}/tensorrt-*.*-info")) or _version_in_init(
            host.read_text(f"{package_dir}/__init__.py") or ""
        )
        found.append(TensorRTBindings(python=python.group(1), path=f"/{package_dir}", version=version))
    return tuple(found)


def _distribution_version(metadata_dirs: Iterable[str]) -> str | None:
    """``10.3.0`` from ``tensorrt-10.3.0.dist-info`` (or ``.egg-info``)."""
    for metadata_dir in metadata_dirs:
        match = re.fullmatch(r"[^-]+-([0-9][0-9A-Za-z.+]*)\.(dist|egg)-info", PurePosixPath(metadata_dir).name)
        if match:
            return match.group(1)[:40]
    return None


def _version_in_init(text: str) -> str | None:
    match = re.search(r"""^__version__\s*=\s*["']([0-9][0-9A-Za-z.+]{0,39})["']""", text, re.MULTILINE)
    return match.group(1) if match else None


def find_tensorrt_wheels(host: Host) -> tuple[PythonDistribution, ...]:
    """TensorRT distributions installed by pip that shadow JetPack's bindings."""
    if host.is_live:
        return _live_tensorrt_wheels()
    found = []
    for pattern in _FAKE_ROOT_SITE_PATTERNS:
        for metadata_dir in host.glob(f"{pattern}/tensorrt*.dist-info"):
            match = re.fullmatch(r"([A-Za-z0-9_.]+)-([0-9][0-9A-Za-z.+]*)\.dist-info", PurePosixPath(metadata_dir).name)
            if match and _is_tensorrt_distribution(match.group(1)):
                site_dir = str(PurePosixPath(metadata_dir).parent)
                found.append(PythonDistribution(_normalised(match.group(1)), match.group(2), f"/{site_dir}"))
    return tuple(sorted(set(found)))


def _live_tensorrt_wheels() -> tuple[PythonDistribution, ...]:
    found = set()
    try:
        distributions = list(importlib.metadata.distributions())
    except Exception:  # metadata on sys.path belongs to third parties; probing must not raise
        return ()
    for distribution in distributions:
        try:
            name, version = distribution.metadata["Name"], distribution.version
            location = str(distribution.locate_file(""))
        except Exception:  # one broken .dist-info must not hide the others
            continue
        if name and version and _is_tensorrt_distribution(name) and not _is_system_site(location):
            found.add(PythonDistribution(_normalised(name), version, location))
    return tuple(sorted(found))


def _is_tensorrt_distribution(name: str) -> bool:
    return _TENSORRT_DISTRIBUTION.fullmatch(_normalised(name)) is not None


def _is_system_site(location: str) -> bool:
    return re.fullmatch(r"/usr/lib/python3(\.\d+)?/dist-packages/?", location) is not None


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# ------------------------------------------------------------------------------------------------ CUDA


def find_cuda(host: Host) -> FoundVersion:
    """CUDA from ``/usr/local/cuda*/version.json`` (or ``version.txt``), else a ``libcudart.so.X.Y.Z`` name.

    ``/usr/local/cuda`` (the link JetPack points at the default toolkit) wins over the newest
    ``cuda-X.Y`` directory.
    """
    toolkit_dirs = [directory for directory in host.glob("usr/local/cuda*") if host.exists(directory)]
    ordered = sorted(toolkit_dirs, key=lambda directory: (directory != "usr/local/cuda", _negated_version(directory)))
    for directory in ordered:
        version = _cuda_version_file(host, directory)
        if version is not None:
            return version
    for pattern in ("usr/local/cuda*/lib64/libcudart.so.*", "usr/local/cuda*/targets/*/lib/libcudart.so.*"):
        for library in host.glob(pattern):
            numbers = _library_version(library, "libcudart.so")
            if numbers is not None and len(numbers) >= 2:
                return FoundVersion(".".join(map(str, numbers)), "file name", f"/{library}")
    if toolkit_dirs:
        return FoundVersion(
            None, None, missing_reason="/usr/local/cuda* holds no version.json, version.txt or libcudart"
        )
    return FoundVersion(None, None, missing_reason="no /usr/local/cuda* toolkit directory")


def _cuda_version_file(host: Host, directory: str) -> FoundVersion | None:
    text = host.read_text(f"{directory}/version.json")
    if text is not None:
        try:
            data = json.loads(text)
            version = data["cuda"]["version"]
        except (ValueError, TypeError, KeyError, RecursionError):  # RecursionError: absurdly nested JSON
            version = None
        if isinstance(version, str) and re.fullmatch(r"\d{1,3}\.\d{1,3}(\.\d{1,6})?", version):
            return FoundVersion(version, "version.json", f"/{directory}/version.json")
    match = re.search(
        r"CUDA Version\s+(\d{1,3}\.\d{1,3}(?:\.\d{1,6})?)", host.read_text(f"{directory}/version.txt") or ""
    )
    if match:
        return FoundVersion(match.group(1), "version.txt", f"/{directory}/version.txt")
    return None


def _negated_version(directory: str) -> tuple[int, ...]:
    """Sort key putting ``cuda-12.6`` before ``cuda-11.4``."""
    match = re.search(r"cuda-(\d+)\.(\d+)$", directory)
    return (-int(match.group(1)), -int(match.group(2))) if match else (0,)
