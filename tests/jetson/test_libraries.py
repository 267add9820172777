"""JetPack's libraries by file name; TensorRT wheels that shadow JetPack's; ctypes only live."""

from __future__ import annotations

import ctypes
import importlib.metadata
from pathlib import Path
from typing import Any

import pytest

from modelrt.host import Host
from modelrt.testing.hosts import write_file, write_jetson_libraries, write_python_distribution
from modelrt_jetson import PythonDistribution, TensorRTBindings, libraries
from modelrt_jetson.libraries import find_cuda, find_cudnn, find_tensorrt, find_tensorrt_bindings, find_tensorrt_wheels

LIBRARY_DIR = "usr/lib/aarch64-linux-gnu"


# -------------------------------------------------------------------------------------------- TensorRT


def test_the_system_tensorrt_version_comes_from_the_longest_library_name(root: Path) -> None:
    write_jetson_libraries(root)
    found = find_tensorrt(Host(root))
    assert (found.version, found.source, found.path) == (
        "10.3.0",
        "file name",
        "/usr/lib/aarch64-linux-gnu/libnvinfer.so.10.3.0",
    )


def test_plugin_and_lean_libraries_are_not_taken_for_tensorrt(root: Path) -> None:
    write_file(root, f"{LIBRARY_DIR}/libnvinfer_plugin.so.10.3.0", b"")
    write_file(root, f"{LIBRARY_DIR}/libnvinfer_lean.so.10.3.0", b"")
    found = find_tensorrt(Host(root))
    assert found.version is None
    assert found.missing_reason == "no libnvinfer.so* under /usr/lib/aarch64-linux-gnu"


def test_only_a_major_in_the_file_name_gives_the_major_on_a_fake_root(root: Path) -> None:
    write_file(root, f"{LIBRARY_DIR}/libnvinfer.so.8", b"")
    assert find_tensorrt(Host(root)).version == "8"


def test_a_fake_roots_libraries_are_never_loaded(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a fake root's library was loaded")

    monkeypatch.setattr(ctypes, "CDLL", refuse)
    write_file(root, f"{LIBRARY_DIR}/libnvinfer.so.10", b"\x7fELF")
    write_file(root, f"{LIBRARY_DIR}/libcudnn.so.9", b"\x7fELF")
    assert (find_tensorrt(Host(root)).version, find_cudnn(Host(root)).version) == ("10", "9")


def test_only_an_unversioned_library_says_so(root: Path) -> None:
    write_file(root, f"{LIBRARY_DIR}/libnvinfer.so", b"")
    assert (
        find_tensorrt(Host(root)).missing_reason == "only an unversioned libnvinfer.so under /usr/lib/aarch64-linux-gnu"
    )


class _LiveLookingHost(Host):
    """A fake root that claims to be the live machine, to reach the branch that only live hosts take."""

    @property
    def is_live(self) -> bool:
        return True


class _FakeTensorRTLibrary:
    def getInferLibMajorVersion(self) -> int:  # TensorRT's C symbol names
        return 10

    def getInferLibMinorVersion(self) -> int:
        return 3

    def getInferLibPatchVersion(self) -> int:
        return 0


def test_live_a_library_named_by_its_major_alone_is_asked_for_its_version(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []

    def load(path: str) -> _FakeTensorRTLibrary:
        loaded.append(path)
        return _FakeTensorRTLibrary()

    monkeypatch.setattr(ctypes, "CDLL", load)
    write_file(root, f"{LIBRARY_DIR}/libnvinfer.so.10", b"\x7fELF")
    found = find_tensorrt(_LiveLookingHost(root))
    assert (found.version, found.source) == ("10.3.0", "the library itself (ctypes)")
    assert loaded == [str(root / LIBRARY_DIR / "libnvinfer.so.10")]


def test_live_a_full_version_in_the_file_name_loads_nothing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes, "CDLL", lambda path: pytest.fail("loaded a library whose name says its version"))
    write_jetson_libraries(root)
    assert find_tensorrt(_LiveLookingHost(root)).version == "10.3.0"


def test_live_a_library_that_fails_to_load_keeps_the_major_from_its_name(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(path: str) -> None:
        raise OSError("libcudart.so.12: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", fail)
    write_file(root, f"{LIBRARY_DIR}/libcudnn.so.9", b"\x7fELF")
    found = find_cudnn(_LiveLookingHost(root))
    assert (found.version, found.source) == ("9", "file name")


@pytest.mark.parametrize(
    ("number", "version"), [(8502, "8.5.2"), (8602, "8.6.2"), (100300, "10.3.0"), (101303, "10.13.3")]
)
def test_get_infer_lib_version_numbers_decode_before_and_since_tensorrt_10(number: int, version: str) -> None:
    assert libraries._decode_tensorrt_version(number) == version


@pytest.mark.parametrize(("number", "version"), [(8600, "8.6.0"), (8904, "8.9.4"), (90300, "9.3.0"), (91200, "9.12.0")])
def test_cudnn_get_version_numbers_decode_before_and_since_cudnn_9(number: int, version: str) -> None:
    assert libraries._decode_cudnn_version(number) == version


def test_the_cudnn_version_comes_from_its_library_name(root: Path) -> None:
    write_jetson_libraries(root, cudnn="8.9.4")
    assert find_cudnn(Host(root)).version == "8.9.4"


# ----------------------------------------------------------------------------------- Python bindings


def test_jetpacks_tensorrt_bindings_are_found_per_python(root: Path) -> None:
    write_jetson_libraries(root, python="3.10")
    assert find_tensorrt_bindings(Host(root)) == (
        TensorRTBindings(python="3.10", path="/usr/lib/python3.10/dist-packages/tensorrt", version="10.3.0"),
    )


def test_bindings_without_metadata_take_their_version_from_the_package(root: Path) -> None:
    write_file(root, "usr/lib/python3.8/dist-packages/tensorrt/__init__.py", 'import os\n__version__ = "8.5.2.2"\n')
    (found,) = find_tensorrt_bindings(Host(root))
    assert (found.python, found.version) == ("3.8", "8.5.2.2")


def test_a_tensorrt_directory_that_is_no_package_is_not_bindings(root: Path) -> None:
    (root / "usr/lib/python3.10/dist-packages/tensorrt").mkdir(parents=True)
    assert find_tensorrt_bindings(Host(root)) == ()


# ------------------------------------------------------------------------------------ shadowing wheels


def test_a_tensorrt_wheel_pip_installed_system_wide_is_found(root: Path) -> None:
    write_jetson_libraries(root)
    site = "usr/local/lib/python3.10/dist-packages"
    for name in ("tensorrt-cu12", "tensorrt-cu12-bindings", "tensorrt-cu12-libs"):
        write_python_distribution(root, site, name, "10.7.0")
    assert find_tensorrt_wheels(Host(root)) == tuple(
        PythonDistribution(name, "10.7.0", f"/{site}")
        for name in ("tensorrt-cu12", "tensorrt-cu12-bindings", "tensorrt-cu12-libs")
    )


def test_a_tensorrt_wheel_in_a_users_site_directory_is_found(root: Path) -> None:
    write_python_distribution(root, "home/nvidia/.local/lib/python3.10/site-packages", "tensorrt", "10.0.1")
    assert [wheel.location for wheel in find_tensorrt_wheels(Host(root))] == [
        "/home/nvidia/.local/lib/python3.10/site-packages"
    ]


def test_jetpacks_own_bindings_metadata_is_no_wheel(root: Path) -> None:
    write_jetson_libraries(root)
    assert find_tensorrt_wheels(Host(root)) == ()


def test_distributions_that_only_share_the_prefix_are_not_tensorrt(root: Path) -> None:
    site = "usr/local/lib/python3.10/dist-packages"
    write_python_distribution(root, site, "tensorrt-llm", "0.12.0")
    write_python_distribution(root, site, "tensorrt-rtx", "1.0.0")
    assert find_tensorrt_wheels(Host(root)) == ()


class _FakeDistribution:
    def __init__(self, name: str, version: str, location: str) -> None:
        self.metadata = {"Name": name}
        self.version = version
        self._location = location

    def locate_file(self, path: str) -> Path:
        return Path(self._location) / path


def test_live_the_running_interpreters_tensorrt_wheels_are_found_outside_system_dist_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = [
        _FakeDistribution("tensorrt", "10.3.0", "/usr/lib/python3.10/dist-packages"),
        _FakeDistribution("tensorrt_cu12", "10.7.0", "/home/nvidia/venv/lib/python3.10/site-packages"),
        _FakeDistribution("numpy", "1.26.4", "/home/nvidia/venv/lib/python3.10/site-packages"),
    ]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: installed)
    assert find_tensorrt_wheels(Host()) == (
        PythonDistribution("tensorrt-cu12", "10.7.0", "/home/nvidia/venv/lib/python3.10/site-packages"),
    )


def test_live_broken_metadata_does_not_hide_the_other_wheels(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(_FakeDistribution):
        def locate_file(self, path: str) -> Path:
            raise OSError("gone")

    installed = [Broken("tensorrt", "1", "/x"), _FakeDistribution("tensorrt", "10.7.0", "/venv/site-packages")]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: installed)
    assert [wheel.location for wheel in find_tensorrt_wheels(Host())] == ["/venv/site-packages"]


# ------------------------------------------------------------------------------------------------ CUDA


def test_cuda_comes_from_the_default_toolkits_version_json(root: Path) -> None:
    write_jetson_libraries(root, cuda="12.6.68")
    write_file(root, "usr/local/cuda-12.8/version.json", '{"cuda": {"version": "12.8.93"}}')
    found = find_cuda(Host(root))
    assert (found.version, found.path) == ("12.6.68", "/usr/local/cuda/version.json")


def test_without_the_default_link_the_newest_toolkit_wins(root: Path) -> None:
    write_file(root, "usr/local/cuda-11.4/version.json", '{"cuda": {"version": "11.4.315"}}')
    write_file(root, "usr/local/cuda-12.2/version.json", '{"cuda": {"version": "12.2.140"}}')
    assert find_cuda(Host(root)).version == "12.2.140"


def test_an_old_toolkit_says_its_version_in_version_txt(root: Path) -> None:
    write_file(root, "usr/local/cuda-10.2/version.txt", "CUDA Version 10.2.300\n")
    assert find_cuda(Host(root)).version == "10.2.300"


def test_a_toolkit_without_version_files_is_read_from_its_runtime_library_name(root: Path) -> None:
    write_file(root, "usr/local/cuda-12.6/targets/aarch64-linux/lib/libcudart.so.12.6.68", b"")
    found = find_cuda(Host(root))
    assert (found.version, found.source) == ("12.6.68", "file name")


def test_no_toolkit_says_so(root: Path) -> None:
    assert find_cuda(Host(root)).missing_reason == "no /usr/local/cuda* toolkit directory"


def test_a_garbage_version_json_is_no_version(root: Path) -> None:
    write_file(root, "usr/local/cuda-12.6/version.json", '{"cuda": {"version": ["12"]}}')
    found = find_cuda(Host(root))
    assert found.version is None
    assert found.missing_reason == "/usr/local/cuda* holds no version.json, version.txt or libcudart"
