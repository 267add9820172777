"""Probing a Jetson never raises, whatever the files under the root hold or however they are broken."""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrt.host import FAKE_HOST_FILE, Host
from modelrt.host_environment import Environment
from modelrt.testing.hosts import make_jetson_host, write_file, write_jetson_libraries
from modelrt_jetson.probe import probe_jetson
from modelrt_jetson.verdicts import jetson_findings

from .conftest import environment_of, findings_of

PROBED_FILES = (
    "etc/nv_tegra_release",
    "proc/device-tree/compatible",
    "proc/device-tree/model",
    "proc/sys/kernel/osrelease",
    "proc/cpuinfo",
    "proc/1/cgroup",
    "var/lib/dpkg/status",
    "var/lib/nvpmodel/status",
    "etc/nvpmodel.conf",
    "usr/local/cuda/version.json",
    "usr/local/cuda-12.6/version.txt",
    "usr/lib/python3.10/dist-packages/tensorrt/__init__.py",
    FAKE_HOST_FILE,
)

JUNK = bytes(range(256)) * 4 + b"\x00=\n:\n\n# R\n" + "é中".encode("utf-16")


def test_binary_junk_in_every_probed_file_does_not_raise(root: Path) -> None:
    make_jetson_host(root)
    for relative in PROBED_FILES:
        write_file(root, relative, JUNK)
    env = environment_of(Host(root))
    assert Environment.from_json(env.to_json()) == env
    assert findings_of(Host(root))


def test_directories_where_files_belong_read_as_absent(root: Path) -> None:
    for relative in PROBED_FILES:
        (root / relative).mkdir(parents=True)
    write_file(root, "proc/sys/kernel/osrelease_", "")
    assert probe_jetson(Host(root)) is None


def test_broken_and_looping_links_read_as_absent(root: Path) -> None:
    make_jetson_host(root)
    (root / "usr/local").mkdir(parents=True)
    os.symlink("cuda", root / "usr/local/cuda")  # a link to itself
    (root / "usr/lib/aarch64-linux-gnu").mkdir(parents=True)
    os.symlink("libnvinfer.so.10.3.0", root / "usr/lib/aarch64-linux-gnu/libnvinfer.so.10")  # dangling
    facts = probe_jetson(Host(root))
    assert facts is not None
    assert (facts.tensorrt, facts.cuda, facts.cuda_source) == (
        None,
        "12.6",
        "what L4T 36.4.0 ships; no /usr/local/cuda* toolkit directory",
    )


def test_absurdly_nested_json_in_cudas_version_file_reads_as_no_version(root: Path) -> None:
    make_jetson_host(root)
    write_file(root, "usr/local/cuda-12.6/version.json", "[" * 200_000)
    facts = probe_jetson(Host(root))
    assert facts is not None and facts.cuda_source is not None
    assert facts.cuda_source.startswith("what L4T 36.4.0 ships")


def test_absurd_version_numbers_in_library_names_are_ignored(root: Path) -> None:
    make_jetson_host(root)
    write_file(root, "usr/lib/aarch64-linux-gnu/libnvinfer.so.99999999999.1", b"")
    facts = probe_jetson(Host(root))
    assert facts is not None and facts.tensorrt is None


def test_a_huge_release_line_is_clipped_in_the_facts(root: Path) -> None:
    make_jetson_host(root, nv_tegra_release="# R36 " + "x" * 100_000)
    facts = probe_jetson(Host(root))
    assert facts is not None
    assert all(len(evidence) < 300 for evidence in facts.evidence)


def _probe_files(contents: dict[str, bytes]) -> None:
    """Probe a fresh Jetson root whose files hold ``contents``, and judge it (package metadata left out)."""
    with tempfile.TemporaryDirectory() as directory, pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.metadata, "distributions", list)
        root = Path(directory)
        make_jetson_host(root)
        write_jetson_libraries(root)
        for relative, content in contents.items():
            write_file(root, relative, content)
        env = environment_of(Host(root))
        assert Environment.from_json(env.to_json()) == env
        jetson_findings(env)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(PROBED_FILES), st.binary(max_size=300), min_size=1))
def test_arbitrary_bytes_in_probed_files_never_raise(contents: dict[str, bytes]) -> None:
    _probe_files(contents)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_in_the_release_file_and_device_tree_never_raises(text: str) -> None:
    _probe_files({"etc/nv_tegra_release": text.encode(), "proc/device-tree/compatible": text.encode()})


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60))
def test_any_l4t_override_never_raises(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        host = Host(make_jetson_host(Path(directory)).root, {"MODELRT_L4T_VERSION": text})
        facts = probe_jetson(host)
        assert facts is not None
