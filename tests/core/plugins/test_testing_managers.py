"""``modelrt.testing.manager_with``: a manager over exactly the plugins a test names."""

from __future__ import annotations

import pytest

from modelrt.errors import InputError, PluginError
from modelrt.hookspecs import hookimpl
from modelrt.specs import BackendSpec
from modelrt.testing import manager_with


def test_manager_with_names_plugins_after_their_modules(backend_plugin):
    manager = manager_with(backend_plugin("my_plugin.plugin", "mine"))
    assert manager.owner("backend", "mine") == "my_plugin.plugin"


def test_manager_with_takes_explicit_names(backend_plugin):
    manager = manager_with(backend_plugin("a", "first"), backend_plugin("b", "second"), names=["one", "two"])
    assert [info.name for info in manager.plugins()] == ["builtin", "one", "two"]


def test_manager_with_names_a_plain_object_after_its_class():
    class RocketPlugin:
        @hookimpl
        def register_backends(self):
            return [BackendSpec("rocket", ("onnx",), ("cpu",), 1, "rocket:Backend")]

    assert manager_with(RocketPlugin()).owner("backend", "rocket") == "RocketPlugin"


def test_manager_with_ignores_installed_plugins(installed, entry_point, distribution, backend_plugin):
    fake = entry_point("installed", backend_plugin("installed_plugin", "elsewhere"), distribution("modelrt-x"))
    installed(fake)
    assert manager_with().backends() == {}
    assert fake.loads == []


def test_manager_with_is_strict_by_default(make_plugin):
    with pytest.raises(PluginError, match="'register_backend'"):
        manager_with(make_plugin("typo", register_backend=lambda: [])).backends()


def test_manager_with_can_isolate_instead(make_plugin):
    manager = manager_with(make_plugin("typo", register_backend=lambda: []), strict=False)
    assert manager.plugins()[1].status == "broken"


def test_manager_with_needs_one_name_per_plugin(backend_plugin):
    with pytest.raises(InputError, match="2 plugins but 1 names"):
        manager_with(backend_plugin("a", "x"), backend_plugin("b", "y"), names=["only"])


def test_manager_with_refuses_a_name_given_twice(backend_plugin):
    with pytest.raises(InputError, match="each plugin needs its own name"):
        manager_with(backend_plugin("a", "x"), backend_plugin("b", "y"), names=["same", "same"])
