"""``modelrt --version`` lists every installed modelrt distribution; ``modelrt plugins`` shows the core
range each plugin declares, as the plugin manager read it from the plugin's metadata."""

from __future__ import annotations

import argparse
import importlib.metadata

import pytest

from modelrt import cli_version, installation, plugin_manager
from modelrt._version import __version__ as core_version
from modelrt.cli_version import ShowVersions, installed_versions, plugin_line, versions_text
from modelrt.plugin_manager import PluginInfo, PluginManager


def _info(manager: PluginManager, name: str) -> PluginInfo:
    (info,) = [info for info in manager.plugins() if info.name == name]
    return info


def test_the_plugin_manager_keeps_the_core_range_a_plugin_declares_lower_bound_first(
    installed, entry_point, distribution, backend_plugin
):
    installed(
        entry_point("fits", backend_plugin("fits_plugin", "f"), distribution("modelrt-fits", ["modelrt-core<1,>=0.2"]))
    )
    assert _info(PluginManager(), "fits").core_range == ">=0.2,<1"


def test_a_broken_plugin_shows_the_core_range_that_excluded_it(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("old", backend_plugin("old_plugin", "o"), distribution("modelrt-old", ["modelrt-core<0.1"])))
    info = _info(PluginManager(), "old")
    assert (info.status, info.core_range) == ("broken", "<0.1")


def test_a_plugin_declaring_no_core_range_has_none(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("free", backend_plugin("free_plugin", "f"), distribution("modelrt-free", [])))
    assert _info(PluginManager(), "free").core_range is None


def test_the_plugin_line_names_the_distribution_its_version_and_its_core_range() -> None:
    info = PluginInfo("onnx", "modelrt-onnx", "0.2.0", "ok", core_range=">=0.2,<1")
    assert plugin_line(info) == "onnx (modelrt-onnx 0.2.0, modelrt-core>=0.2,<1): ok"


def test_the_plugin_line_of_a_plugin_without_a_range_or_distribution_says_what_is_known() -> None:
    assert plugin_line(PluginInfo("explicit", None, None, "unversioned")) == "explicit (?): unversioned"


def test_installed_versions_start_with_the_running_core_and_list_every_installed_plugin_distribution() -> None:
    versions = installed_versions()
    assert next(iter(versions.items())) == ("modelrt-core", core_version)
    for plugin in ("modelrt-onnx", "modelrt-jetson"):
        assert versions[plugin] == importlib.metadata.version(plugin)


def test_versions_are_aligned_one_per_line() -> None:
    assert versions_text({"modelrt-core": "0.2.0", "modelrt": "0.2.0"}) == "modelrt-core  0.2.0\nmodelrt       0.2.0"


def test_the_version_option_prints_the_versions_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="modelrt")
    parser.add_argument("--version", action=ShowVersions)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == versions_text(installed_versions()) + "\n"


def test_the_names_the_version_option_spells_out_are_the_cores_own() -> None:
    assert cli_version.CORE_DISTRIBUTION == installation.CORE_DISTRIBUTION
    assert cli_version.ENTRY_POINT_GROUP == plugin_manager.ENTRY_POINT_GROUP
