"""The plugin manager's everyday behaviour: what it loads, when, and how it answers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from modelrt import plugin_manager
from modelrt._version import __version__ as core_version
from modelrt.errors import InputError
from modelrt.plugin_manager import PluginManager, get_plugin_manager, reset_plugin_manager
from modelrt.specs import SourceSpec


def test_builtin_plugin_is_registered_first(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("aaa", backend_plugin("aaa_plugin", "aaa-backend"), distribution("modelrt-aaa")))
    assert [info.name for info in PluginManager().plugins()] == ["builtin", "aaa"]


def test_builtin_plugin_belongs_to_the_core_distribution():
    builtin = PluginManager(entry_points=False).plugins()[0]
    assert (builtin.distribution, builtin.version, builtin.status) == ("modelrt-core", core_version, "ok")


def test_builtin_plugin_registers_the_builtin_architectures_and_local_source():
    manager = PluginManager(entry_points=False)
    assert "yolov8" in manager.architectures()
    assert [spec.name for spec in manager.sources()] == ["local-directory", "huggingface-hub"]


def test_explicit_plugins_are_registered_after_the_builtin(backend_plugin):
    manager = PluginManager(entry_points=False, plugins={"mine": backend_plugin("mine", "my-backend")})
    assert [info.name for info in manager.plugins()] == ["builtin", "mine"]
    assert manager.owner("backend", "my-backend") == "mine"


def test_installed_plugins_are_ignored_without_entry_points(installed, entry_point, distribution, backend_plugin):
    fake = entry_point("other", backend_plugin("other_plugin", "other-backend"), distribution("modelrt-other"))
    installed(fake)
    assert PluginManager(entry_points=False).backends() == {}
    assert fake.loads == []


def test_nothing_is_imported_before_the_first_query(installed, entry_point, distribution, backend_plugin):
    fake = entry_point("lazy", backend_plugin("lazy_plugin", "lazy-backend"), distribution("modelrt-lazy"))
    installed(fake)
    manager = PluginManager()
    assert fake.loads == []
    manager.backends()
    assert fake.loads == ["lazy"]


def test_entry_points_are_loaded_once(installed, entry_point, distribution, backend_plugin):
    fake = entry_point("once", backend_plugin("once_plugin", "once-backend"), distribution("modelrt-once"))
    installed(fake)
    manager = PluginManager()
    manager.backends()
    manager.architectures()
    manager.plugins()
    assert fake.loads == ["once"]


def test_plugins_load_in_entry_point_name_order(installed, entry_point, distribution, backend_plugin):
    installed(
        entry_point("zeta", backend_plugin("zeta_plugin", "z"), distribution("modelrt-zeta")),
        entry_point("alpha", backend_plugin("alpha_plugin", "a"), distribution("modelrt-alpha")),
    )
    assert [info.name for info in PluginManager().plugins()] == ["builtin", "alpha", "zeta"]


def test_sources_come_highest_priority_first(make_plugin):
    low = SourceSpec("low", ("low://",), 5, "fake:Source")
    high = SourceSpec("high", ("high://",), 500, "fake:Source")
    manager = PluginManager(entry_points=False, plugins={"p": make_plugin("p", register_sources=lambda: [low, high])})
    assert [spec.name for spec in manager.sources()] == ["high", "local-directory", "huggingface-hub", "low"]


def test_owner_names_the_plugin_that_registered_a_source():
    assert PluginManager(entry_points=False).owner("source", "local-directory") == "builtin"


def test_owner_of_an_unregistered_name_is_an_input_error():
    with pytest.raises(InputError, match="no plugin registers a backend named 'nope'"):
        PluginManager(entry_points=False).owner("backend", "nope")


def test_owner_of_an_unknown_kind_is_an_input_error():
    with pytest.raises(InputError, match="unknown registration kind 'engine'"):
        PluginManager(entry_points=False).owner("engine", "x")


def test_plugin_info_lists_what_each_plugin_registers(backend_plugin):
    manager = PluginManager(entry_points=False, plugins={"two": backend_plugin("two", "first", "second")})
    info = manager.plugins()[1]
    assert info.registers == {"backends": ("first", "second"), "architectures": (), "sources": ()}


def test_plugin_info_serialises_to_json(backend_plugin):
    import cattrs

    manager = PluginManager(entry_points=False, plugins={"two": backend_plugin("two", "first")})
    row = json.loads(json.dumps(cattrs.unstructure(manager.plugins()[1])))
    assert row == {
        "name": "two",
        "distribution": None,
        "version": None,
        "status": "ok",
        "error": None,
        "registers": {"backends": ["first"], "architectures": [], "sources": []},
        "core_range": None,
    }


def test_answers_are_copies_the_caller_may_change(backend_plugin):
    manager = PluginManager(entry_points=False, plugins={"p": backend_plugin("p", "kept")})
    manager.backends().clear()
    assert list(manager.backends()) == ["kept"]


def test_get_plugin_manager_returns_the_same_manager_each_time():
    assert get_plugin_manager() is get_plugin_manager()


def test_reset_plugin_manager_makes_the_next_use_build_a_new_one():
    first = get_plugin_manager()
    reset_plugin_manager()
    assert get_plugin_manager() is not first


def test_get_plugin_manager_builds_one_manager_for_concurrent_first_uses():
    barrier = threading.Barrier(8)
    managers = []

    def first_use() -> None:
        barrier.wait()
        managers.append(get_plugin_manager())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(manager) for manager in managers}) == 1


def test_concurrent_first_queries_load_each_plugin_once(installed, entry_point, distribution, backend_plugin):
    fake = entry_point("shared", backend_plugin("shared_plugin", "shared-backend"), distribution("modelrt-shared"))
    installed(fake)
    manager = PluginManager()
    barrier = threading.Barrier(8)

    def query() -> None:
        barrier.wait()
        manager.backends()

    threads = [threading.Thread(target=query) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.loads == ["shared"]


def test_importing_the_plugin_manager_imports_no_numpy_or_framework():
    code = (
        "import json, sys, modelrt.plugin_manager; heavy = ('numpy', 'cv2', 'onnxruntime', 'onnx', 'torch'); "
        "print(json.dumps([name for name in heavy if name in sys.modules]))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(completed.stdout) == []


def test_discover_entry_points_reads_the_modelrt_plugins_group():
    # The real listing: every entry point it returns belongs to the group (modelrt-onnx is installed here).
    entry_points = plugin_manager.discover_entry_points()
    assert all(entry_point.group == "modelrt.plugins" for entry_point in entry_points)
    assert "onnx" in {entry_point.name for entry_point in entry_points}
