"""A broken plugin next to working ones: listed as broken with its reason, everything else keeps working.

Installed beside the real ONNX Runtime plugin (its real entry point), one broken plugin at a time:

- an entry point whose module raises on import;
- a plugin whose ``register_backends`` hook raises;
- a plugin that calls ``sys.exit`` while it is imported;
- a plugin built for an incompatible core range (``Requires-Dist: modelrt-core>=99``), never imported.

For each: ``modelrt plugins --json`` lists it as ``broken`` with the reason and the ONNX plugin as
``ok``; ``modelrt env`` works; a model loads and predicts on ONNX Runtime. In strict mode
(``MODELRT_STRICT_PLUGINS=1``) loading a model is a ``PluginError`` naming the plugin and its reason,
the CLI exits 1 saying so, and ``modelrt plugins`` still shows what broke.

A plugin claiming a backend name another plugin also claims (an impostor of ``onnxruntime``) is a
contest, not a breakage beside working plugins: every claimant is refused whatever its entry-point name,
so an impostor can never take ``onnxruntime``; skipping it with ``MODELRT_DISABLE_PLUGINS`` settles it.
"""

from __future__ import annotations

import importlib.metadata
import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import modelrt
from modelrt import plugin_manager
from modelrt.cli import main as cli
from modelrt.errors import PluginError
from modelrt.hookspecs import hookimpl
from modelrt.specs import BackendSpec

from .conftest import SIDE


@attrs.frozen
class FakeDistribution:
    name: str
    version: str = "1.0.0"
    requires: tuple[str, ...] = ("modelrt-core>=0.1,<1",)

    @property
    def metadata(self) -> dict[str, str]:
        return {"Name": self.name, "Version": self.version}


@attrs.frozen
class FakeEntryPoint:
    """An installed entry point whose ``load()`` returns ``target``, or raises it; counts its loads."""

    name: str
    target: Any
    dist: FakeDistribution
    value: str = "broken_plugin.plugin"
    loads: list[str] = attrs.field(factory=list, eq=False)

    def load(self) -> Any:
        self.loads.append(self.name)
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


def _plugin_module(**hooks: Callable[..., Any]) -> types.ModuleType:
    module = types.ModuleType("broken_plugin.plugin")
    for name, function in hooks.items():
        setattr(module, name, hookimpl(function))
    return module


def _raise_on_register() -> list[BackendSpec]:
    raise RuntimeError("backend table is corrupt")


def _claims_onnxruntime() -> list[BackendSpec]:
    return [BackendSpec("onnxruntime", ("onnx",), ("cpu",), 100, "broken_plugin.backend:Impostor")]


def _registers_a_backend() -> list[BackendSpec]:
    return [BackendSpec("future-runtime", ("onnx",), ("cpu",), 100, "broken_plugin.backend:Future")]


@attrs.frozen
class Breakage:
    entry_point: FakeEntryPoint
    says: tuple[str, ...]


BREAKAGES: dict[str, Callable[[], Breakage]] = {
    "raises-on-import": lambda: Breakage(
        FakeEntryPoint(
            "zz-broken", ImportError("libexample.so.1: cannot open shared object file"), FakeDistribution("zz")
        ),
        ("failed to import", "ImportError", "libexample.so.1"),
    ),
    "hook-raises": lambda: Breakage(
        FakeEntryPoint("zz-broken", _plugin_module(register_backends=_raise_on_register), FakeDistribution("zz")),
        ("register_backends raised", "RuntimeError", "backend table is corrupt"),
    ),
    "exits-at-import": lambda: Breakage(
        FakeEntryPoint("zz-broken", SystemExit("plugin gave up"), FakeDistribution("zz")),
        ("failed to import", "SystemExit", "plugin gave up"),
    ),
    "incompatible-core-range": lambda: Breakage(
        FakeEntryPoint(
            "zz-broken",
            _plugin_module(register_backends=_registers_a_backend),
            FakeDistribution("zz", requires=("modelrt-core>=99",)),
        ),
        ("modelrt-core>=99", "so it was not imported"),
    ),
}


@pytest.fixture(params=list(BREAKAGES))
def broken(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Breakage:
    """The real ONNX plugin's entry point plus one broken plugin, as the only installed plugins."""
    for variable in (plugin_manager.STRICT_ENV, plugin_manager.ONLY_ENV, plugin_manager.DISABLE_ENV):
        monkeypatch.delenv(variable, raising=False)
    (onnx,) = [
        ep for ep in importlib.metadata.entry_points(group=plugin_manager.ENTRY_POINT_GROUP) if ep.name == "onnx"
    ]
    breakage = BREAKAGES[request.param]()
    monkeypatch.setattr(plugin_manager, "discover_entry_points", lambda: [onnx, breakage.entry_point])
    return breakage


def _plugins_json(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    assert cli(["plugins", "--json"]) == 0
    return {plugin["name"]: plugin for plugin in json.loads(capsys.readouterr().out)}


def test_modelrt_plugins_lists_the_broken_plugin_with_its_reason(
    broken: Breakage, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = _plugins_json(capsys)
    assert listed["zz-broken"]["status"] == "broken"
    for fragment in broken.says:
        assert fragment in listed["zz-broken"]["error"]
    assert listed["onnx"]["status"] == "ok"
    assert listed["onnx"]["registers"]["backends"] == ["onnxruntime"]


def test_a_model_still_loads_and_predicts_on_onnxruntime(broken: Breakage, classifier_package: Path) -> None:
    with modelrt.load(classifier_package) as model:
        assert model.plan.chosen()["main"].backend == "onnxruntime"
        assert len(model.predict(np.zeros((SIDE, SIDE, 3), np.uint8)).probabilities) == 10


def test_modelrt_env_still_reports(broken: Breakage, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["env", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {plugin["name"]: plugin["status"] for plugin in report["plugins"]}["zz-broken"] == "broken"


def test_a_plugin_outside_the_core_range_is_never_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    breakage = BREAKAGES["incompatible-core-range"]()
    monkeypatch.setattr(plugin_manager, "discover_entry_points", lambda: [breakage.entry_point])
    assert [plugin.status for plugin in modelrt.plugins() if plugin.name == "zz-broken"] == ["broken"]
    assert breakage.entry_point.loads == []


def test_strict_mode_makes_loading_a_model_a_plugin_error_naming_it(
    broken: Breakage, classifier_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugin_manager.STRICT_ENV, "1")
    with pytest.raises(PluginError, match="plugin 'zz-broken'") as raised:
        modelrt.load(classifier_package)
    assert broken.says[-1] in str(raised.value)


def test_strict_mode_makes_the_cli_exit_1_naming_the_plugin(
    broken: Breakage, classifier_package: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(plugin_manager.STRICT_ENV, "1")
    assert cli(["explain", str(classifier_package)]) == 1
    error = capsys.readouterr().err
    assert "zz-broken" in error and broken.says[-1] in error


def test_strict_mode_still_lists_what_broke(
    broken: Breakage, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(plugin_manager.STRICT_ENV, "1")
    assert _plugins_json(capsys)["zz-broken"]["status"] == "broken"


@pytest.fixture
def impostor(monkeypatch: pytest.MonkeyPatch) -> FakeEntryPoint:
    """The real ONNX plugin plus an impostor of ``onnxruntime`` whose name sorts before ``onnx``."""
    for variable in (plugin_manager.STRICT_ENV, plugin_manager.ONLY_ENV, plugin_manager.DISABLE_ENV):
        monkeypatch.delenv(variable, raising=False)
    (onnx,) = [
        ep for ep in importlib.metadata.entry_points(group=plugin_manager.ENTRY_POINT_GROUP) if ep.name == "onnx"
    ]
    impostor = FakeEntryPoint(
        "aa-impostor", _plugin_module(register_backends=_claims_onnxruntime), FakeDistribution("aa")
    )
    monkeypatch.setattr(plugin_manager, "discover_entry_points", lambda: [onnx, impostor])
    return impostor


def test_an_impostor_of_a_backend_name_never_gets_to_run_a_model(
    impostor: FakeEntryPoint, classifier_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = _plugins_json(capsys)
    assert (listed["onnx"]["status"], listed["aa-impostor"]["status"]) == ("broken", "broken")
    assert "also registered by plugin 'aa-impostor' (aa)" in listed["onnx"]["error"]
    assert "also registered by plugin 'onnx' (modelrt-onnx)" in listed["aa-impostor"]["error"]
    with pytest.raises(modelrt.NoUsableBackendError):
        modelrt.load(classifier_package, backend="onnxruntime")


def test_disabling_the_impostor_gives_the_name_back_to_the_real_plugin(
    impostor: FakeEntryPoint, classifier_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugin_manager.DISABLE_ENV, "aa-impostor")
    with modelrt.load(classifier_package) as model:
        assert model.plan.chosen()["main"].backend == "onnxruntime"
    assert impostor.loads == []
