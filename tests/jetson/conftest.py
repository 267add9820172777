"""Fixtures for the jetson plugin's tests: fake roots, and managers that hold the plugin under its real name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from modelrt.compatibility import JETSON_FACTS_KEY
from modelrt.host import HOST_ROOT_VARIABLE, Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.plugin_manager import PluginManager
from modelrt.specs import Finding
from modelrt.testing import manager_with
from modelrt_jetson import plugin
from modelrt_jetson.probe import L4T_OVERRIDE_VARIABLE


@pytest.fixture(autouse=True)
def _no_host_settings_from_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide themselves whether a fake root or an L4T override is set."""
    monkeypatch.delenv(HOST_ROOT_VARIABLE, raising=False)
    monkeypatch.delenv(L4T_OVERRIDE_VARIABLE, raising=False)


PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "jetson"


@pytest.fixture(scope="session")
def jetson_plugin_installed(install_plugin: Callable[[Path, str, str], AbstractContextManager[str]]) -> Iterator[None]:
    """The plugin installed as a user installs it (left alone when it already is, as `make test` does)."""
    with install_plugin(PLUGIN_DIR, "modelrt-jetson", "modelrt_jetson"):
        yield


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty directory to build a fake host root in."""
    path = tmp_path / "host"
    path.mkdir()
    return path


def jetson_manager() -> PluginManager:
    """The built-in plugin and the jetson plugin, under the entry-point name its facts are keyed by."""
    return manager_with(plugin, names=[JETSON_FACTS_KEY])


def environment_of(host: Host) -> Environment:
    """``host`` probed as ``modelrt env`` probes it, with the jetson plugin installed."""
    return probe_environment(host, jetson_manager().environment_facts(host))


def findings_of(host: Host) -> list[Finding]:
    """Every verdict on ``host``, the core's and the jetson plugin's, as ``modelrt env`` collects them."""
    manager = jetson_manager()
    return manager.findings(probe_environment(host, manager.environment_facts(host)))
