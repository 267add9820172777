"""Fake installed plugins, in the manner of pluggy's own tests: entry points and distributions as plain
objects, handed to the manager in place of ``importlib.metadata``'s, so nothing is installed."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from modelrt import plugin_manager
from modelrt.hookspecs import hookimpl
from modelrt.specs import BackendSpec


@attrs.frozen
class FakeDistribution:
    """What the manager reads of a distribution: its metadata name, version and ``Requires-Dist``."""

    name: str
    version: str = "1.0.0"
    requires: list[str] | None = None

    @property
    def metadata(self) -> dict[str, str]:
        return {"Name": self.name, "Version": self.version}


@attrs.frozen
class FakeEntryPoint:
    """An entry point whose ``load()`` returns ``target``, or raises it when it is an exception."""

    name: str
    target: Any
    dist: FakeDistribution | None = None
    value: str = "fake_plugin.module"
    loads: list[str] = attrs.field(factory=list, eq=False)

    def load(self) -> Any:
        self.loads.append(self.name)
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


@pytest.fixture(autouse=True)
def no_plugin_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from no plugin-related environment variables and no process-wide manager."""
    for variable in (plugin_manager.STRICT_ENV, plugin_manager.ONLY_ENV, plugin_manager.DISABLE_ENV):
        monkeypatch.delenv(variable, raising=False)
    plugin_manager.reset_plugin_manager()
    yield
    plugin_manager.reset_plugin_manager()


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the given fake entry points the only installed plugins."""

    def install(*entry_points: FakeEntryPoint) -> None:
        monkeypatch.setattr(plugin_manager, "discover_entry_points", lambda: list(entry_points))

    return install


@pytest.fixture
def entry_point() -> Callable[..., FakeEntryPoint]:
    """A fake entry point: ``entry_point("name", module_or_exception, dist)``."""

    def make(name: str, target: Any, dist: FakeDistribution | None = None) -> FakeEntryPoint:
        return FakeEntryPoint(name, target, dist, value=f"{name.replace('-', '_')}.plugin")

    return make


@pytest.fixture
def make_plugin() -> Callable[..., types.ModuleType]:
    """Build a plugin module from hook functions: ``make_plugin("name", register_backends=lambda: [...])``."""

    def make(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
        module = types.ModuleType(name)
        for hook_name, function in hooks.items():
            setattr(module, hook_name, hookimpl(function))
        return module

    return make


@pytest.fixture
def backend_plugin(make_plugin: Callable[..., types.ModuleType]) -> Callable[..., types.ModuleType]:
    """A plugin registering backends with the given names (priority 10, onnx on cpu)."""

    def make(name: str, *backend_names: str) -> types.ModuleType:
        specs = [BackendSpec(backend, ("onnx",), ("cpu",), 10, f"{name}:Backend") for backend in backend_names]
        return make_plugin(name, register_backends=lambda: specs)

    return make


@pytest.fixture
def distribution() -> Callable[..., FakeDistribution]:
    """A fake distribution that supports this core (``modelrt-core>=0.1,<1``) unless told otherwise."""

    def make(name: str, requires: list[str] | None = None, version: str = "1.0.0") -> FakeDistribution:
        return FakeDistribution(name, version, ["modelrt-core>=0.1,<1"] if requires is None else requires)

    return make
