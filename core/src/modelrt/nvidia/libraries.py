"""CUDA runtime, cuDNN and cuBLAS versions visible to Python, read from file names only.

First the wheels that ``onnxruntime-gpu`` and torch load (``nvidia-cuda-runtime-cu12``,
``nvidia-cudnn-cu12``, ``nvidia-cublas-cu12``; for CUDA 13 also the names without the ``-cuXX`` suffix),
from their ``.dist-info`` folder names in the interpreter's ``sys.path`` (a fake root: its
``usr/lib/python3*/*-packages`` folders); then the system's libraries (``libcudart.so.12.4.127``,
``libcudnn.so.9.1.0``) in the usual library folders. Nothing is loaded, so no library can crash probing.
"""

from __future__ import annotations

import os
import re
import sys

import attrs

from modelrt.host import Host

__all__ = ["CudaLibraries", "find_cuda_libraries"]

#: Library → (wheel distribution pattern, system library file pattern).
_LIBRARIES = {
    "cuda_runtime": (r"nvidia_cuda_runtime(?:_cu\d+)?", "libcudart.so"),
    "cudnn": (r"nvidia_cudnn(?:_cu\d+)?", "libcudnn.so"),
    "cublas": (r"nvidia_cublas(?:_cu\d+)?", "libcublas.so"),
}
_SYSTEM_LIBRARY_DIRS = (
    "usr/local/cuda/lib64",
    "usr/local/cuda/targets/x86_64-linux/lib",
    "usr/local/cuda/targets/sbsa-linux/lib",
    "usr/lib/x86_64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib64",
)
_FAKE_ROOT_SITE_PATTERNS = ("usr/lib/python3*/*-packages", "usr/local/lib/python3*/*-packages")
_VERSION = r"(\d+(?:\.\d+)*)"


@attrs.frozen
class CudaLibraries:
    """Each library's version (``None`` when not found) and where it was read, for the report."""

    cuda_runtime: str | None = None
    cudnn: str | None = None
    cublas: str | None = None
    sources: tuple[str, ...] = ()


def find_cuda_libraries(host: Host) -> CudaLibraries:
    """The CUDA libraries Python would find on ``host``: wheels first, then system library files."""
    versions: dict[str, str] = {}
    sources: list[str] = []
    site_listings = _site_listings(host)
    system_listings = _Listings(host)
    for library, (distribution, file_name) in _LIBRARIES.items():
        found = _from_wheels(site_listings, distribution) or _from_system(system_listings, file_name)
        if found is not None:
            versions[library], where = found
            sources.append(f"{library} {versions[library]}: {where}")
    return CudaLibraries(sources=tuple(sources), **versions)


class _Listings:
    """Each system library folder listed once, when first needed (``/usr/lib/x86_64-linux-gnu`` is long)."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._names: dict[str, list[str]] = {}

    def names(self, directory: str) -> list[str]:
        if directory not in self._names:
            self._names[directory] = self._host.list_dir(directory)
        return self._names[directory]


def _site_listings(host: Host) -> list[tuple[str, list[str]]]:
    """(folder as the report names it, its ``.dist-info`` names) for each site folder Python reads."""
    if host.is_live:
        folders = [(entry or ".", entry or ".") for entry in sys.path]
    else:  # a fake root's folders are named from its root
        relatives = [relative for pattern in _FAKE_ROOT_SITE_PATTERNS for relative in host.glob(pattern)]
        folders = [(str(host.path(relative)), f"/{relative}") for relative in relatives]
    listings = []
    for folder, shown in folders:
        try:
            names = sorted(name for name in os.listdir(folder) if name.endswith(".dist-info"))
        except OSError:  # a zip file or a missing folder on sys.path
            continue
        listings.append((shown, names))
    return listings


def _from_wheels(listings: list[tuple[str, list[str]]], distribution: str) -> tuple[str, str] | None:
    pattern = re.compile(rf"{distribution}-{_VERSION}\.dist-info", re.IGNORECASE)
    for shown, names in listings:
        for name in names:
            match = pattern.fullmatch(name)
            if match:
                return match.group(1), f"{shown.rstrip('/')}/{name}"
    return None


def _from_system(listings: _Listings, file_name: str) -> tuple[str, str] | None:
    """The most precise version among ``libcudart.so.12``, ``libcudart.so.12.4.127`` in the library folders."""
    pattern = re.compile(rf"{re.escape(file_name)}\.{_VERSION}")
    for directory in _SYSTEM_LIBRARY_DIRS:
        candidates = (name for name in listings.names(directory) if name.startswith(file_name))
        versions = [match.group(1) for name in candidates if (match := pattern.fullmatch(name))]
        if versions:
            best = max(versions, key=lambda version: (version.count("."), [int(part) for part in version.split(".")]))
            return best, f"/{directory}/{file_name}.{best}"
    return None
