"""The index of installed distributions: the same answers as ``importlib.metadata``, read from the modelrt
cache while nothing is installed or removed, and read afresh as soon as something is.

A fake site folder on ``sys.path`` holds a real ``.dist-info`` (``METADATA`` and ``entry_points.txt``), so
``importlib.metadata`` itself sees the plugin these tests install and remove.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrt import installed, plugin_manager
from modelrt._version import __version__ as CORE_VERSION
from modelrt.installed import CoreRequirement, core_requirement, fingerprint


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "cache"))
    installed.forget()
    yield tmp_path / "cache"
    installed.forget()


def index_file(cache: Path) -> Path:
    return cache / installed.CACHE_KIND / installed.cache_key() / installed.INDEX_FILE


def install_fake_plugin(site: Path, requires: str = "modelrt-core>=0.1,<1", version: str = "1.0") -> Path:
    """A plugin distribution ``fake-indexed-plugin`` in ``site``, as pip would leave its metadata."""
    info = site / f"fake_indexed_plugin-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: fake-indexed-plugin\nVersion: {version}\nRequires-Dist: {requires}\n"
    )
    (info / "entry_points.txt").write_text("[modelrt.plugins]\nfake-indexed = fake_indexed_plugin\n")
    (site / "fake_indexed_plugin.py").write_text("")
    return info


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def names(entry_points: list[installed.IndexedEntryPoint]) -> set[str]:
    return {entry_point.name for entry_point in entry_points}


# ------------------------------------------------------------------------------ the same answers


def test_the_index_lists_the_plugins_importlib_metadata_lists() -> None:
    expected = {
        (point.name, point.value, point.dist.metadata["Name"], point.dist.version)
        for point in importlib.metadata.entry_points(group="modelrt.plugins")
        if point.dist is not None
    }
    indexed = {(p.name, p.value, p.dist.name, p.dist.version) for p in installed.plugin_entry_points()}
    assert indexed == expected
    assert "onnx" in {name for name, *_ in indexed}


def test_installed_versions_are_the_metadata_versions() -> None:
    for distribution in ("numpy", "onnxruntime", "modelrt-core", "attrs"):
        assert installed.installed_version(distribution) == importlib.metadata.version(distribution)
    assert installed.installed_version("no-such-distribution-here") is None


def test_an_indexed_entry_point_loads_what_it_names() -> None:
    [onnx] = [point for point in installed.plugin_entry_points() if point.name == "onnx"]
    assert onnx.load() is importlib.import_module(onnx.value.partition(":")[0])
    assert onnx.group == "modelrt.plugins"


# ------------------------------------------------------------------------------ kept, and renewed


def test_the_index_is_written_once_and_then_read_without_importlib_metadata(private_cache: Path) -> None:
    installed.plugin_entry_points()
    record = json.loads(index_file(private_cache).read_text())
    assert record["fingerprint"] == fingerprint()
    code = (
        "import json, sys, modelrt; modelrt.plugins(); "
        "print(json.dumps([m for m in ('importlib.metadata', 'packaging.requirements', 'packaging.utils') "
        "if m in sys.modules]))"
    )

    def start() -> list[str]:
        """What a fresh process imported to find its plugins (its sys.path is not this test process's)."""
        command = [sys.executable, "-c", code]
        completed = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ})
        return list(json.loads(completed.stdout))

    start()  # writes the index for the sys.path a fresh process has
    assert start() == []


def test_installing_a_plugin_is_seen_at_the_next_read(site: Path) -> None:
    before = installed.plugin_entry_points()
    install_fake_plugin(site)
    installed.forget()
    after = installed.plugin_entry_points()
    assert names(after) - names(before) == {"fake-indexed"}
    [fake] = [point for point in after if point.name == "fake-indexed"]
    assert (fake.dist.name, fake.dist.canonical_name, fake.dist.version) == (
        "fake-indexed-plugin",
        "fake-indexed-plugin",
        "1.0",
    )
    assert installed.installed_version("fake-indexed-plugin") == "1.0"


def test_removing_a_plugin_is_seen_at_the_next_read(site: Path) -> None:
    info = install_fake_plugin(site)
    assert "fake-indexed" in names(installed.plugin_entry_points())
    for file in info.iterdir():
        file.unlink()
    info.rmdir()
    installed.forget()
    assert "fake-indexed" not in names(installed.plugin_entry_points())


def test_upgrading_a_plugin_is_seen_at_the_next_read(site: Path) -> None:
    old = install_fake_plugin(site, version="1.0")
    installed.plugin_entry_points()
    for file in old.iterdir():
        file.unlink()
    old.rmdir()
    install_fake_plugin(site, version="2.0")
    installed.forget()
    assert installed.installed_version("fake-indexed-plugin") == "2.0"


def test_entry_points_rewritten_in_place_give_another_fingerprint(site: Path) -> None:
    info = install_fake_plugin(site)
    before = fingerprint()
    entry_points = info / "entry_points.txt"
    entry_points.write_text("[modelrt.plugins]\nrenamed = fake_indexed_plugin\n")
    os.utime(entry_points, ns=(1, 1))  # a different time even on a file system with coarse timestamps
    assert fingerprint() != before


def test_a_zip_on_sys_path_that_changes_gives_another_fingerprint(tmp_path: Path) -> None:
    archive = tmp_path / "plugins.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    before = fingerprint([str(archive)])
    archive.write_bytes(b"PK\x05\x06" + bytes(18) + b"more")
    os.utime(archive, ns=(1, 1))
    assert fingerprint([str(archive)]) != before


def test_a_folder_without_distributions_on_sys_path_changes_nothing(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    assert fingerprint([str(scripts), *sys.path]) == fingerprint()


def test_the_same_distributions_in_another_order_give_another_fingerprint(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    install_fake_plugin(first, version="1.0")
    install_fake_plugin(second, version="2.0")
    assert fingerprint([str(first), str(second)]) != fingerprint([str(second), str(first)])


def test_a_damaged_index_is_read_afresh_and_replaced(private_cache: Path) -> None:
    expected = installed.plugin_entry_points()
    path = index_file(private_cache)
    path.write_text(path.read_text().replace('"onnx"', '"hijacked"'))  # no longer matches its checksum
    installed.forget()
    assert installed.plugin_entry_points() == expected
    assert '"hijacked"' not in path.read_text()


def test_an_index_for_another_fingerprint_is_not_used(private_cache: Path) -> None:
    expected = installed.plugin_entry_points()
    record = json.loads(index_file(private_cache).read_text())
    record["fingerprint"] = "0" * 64
    record["plugins"] = []
    from modelrt import cache

    with cache.open_entry(installed.CACHE_KIND, installed.cache_key()) as entry:
        entry.write_text(installed.INDEX_FILE, json.dumps(record))
    installed.forget()
    assert installed.plugin_entry_points() == expected


def test_each_python_environment_keeps_its_own_index(private_cache: Path, tmp_path: Path) -> None:
    """Two venvs sharing one cache, started in turn, must not keep replacing each other's index."""
    installed.plugin_entry_points()
    other_venv = tmp_path / "other-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other_venv)], check=True)
    code = "import modelrt.installed as i; i.plugin_entry_points(); print(i.cache_key())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    completed = subprocess.run(
        [str(other_venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert completed.stdout.strip() != installed.cache_key()
    assert len(list((private_cache / installed.CACHE_KIND).glob("*/index.json"))) == 2


def test_an_unwritable_cache_only_costs_the_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MODELRT_CACHE", str(blocker / "cache"))
    installed.forget()
    assert "onnx" in names(installed.plugin_entry_points())


def test_reset_plugin_manager_reads_the_index_again(site: Path) -> None:
    assert "fake-indexed" not in {info.name for info in plugin_manager.get_plugin_manager().plugins()}
    install_fake_plugin(site)
    plugin_manager.reset_plugin_manager()
    assert "fake-indexed" in {info.name for info in plugin_manager.get_plugin_manager().plugins()}
    plugin_manager.reset_plugin_manager()


# ------------------------------------------------------------------------------ the core range


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        (None, CoreRequirement()),
        (["numpy>=1.24"], CoreRequirement()),
        (["modelrt-core"], CoreRequirement()),
        (["Modelrt_Core>=0.1,<1"], CoreRequirement(range=">=0.1,<1", specifier="<1,>=0.1", admits=True)),
        (["modelrt-core>=99"], CoreRequirement(range=">=99", specifier=">=99", admits=False)),
        (['modelrt-core>=99; extra == "dev"'], CoreRequirement()),
    ],
)
def test_what_a_plugin_requires_of_the_core(requires: list[str] | None, expected: CoreRequirement) -> None:
    assert core_requirement(requires) == expected


def test_an_unreadable_requirement_says_which_line() -> None:
    found = core_requirement(["modelrt-core >>= 1"])
    assert found.unreadable is not None
    assert found.unreadable.startswith("its metadata has an unreadable requirement 'modelrt-core >>= 1'")


def test_the_core_version_itself_is_admitted_by_its_own_minor_range() -> None:
    major, minor, *_ = CORE_VERSION.split(".")
    assert core_requirement([f"modelrt-core>={major}.{minor},<{int(major) + 1}"]).admits
