"""The plugin as modelrt sees it: its hooks, its light import, its packaging, and facts that round-trip."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from modelrt.host_environment import Environment
from modelrt.testing.hosts import make_jetson_host, make_linux_host, write_jetson_libraries
from modelrt_jetson import JetsonFacts, plugin

from .conftest import environment_of, jetson_manager


def test_hook_probe_environment_returns_plain_facts_for_a_jetson(root: Path) -> None:
    facts = plugin.probe_environment(make_jetson_host(root))
    assert facts is not None
    assert facts["is_jetson"] is True and facts["jetpack"] == "6.1"


def test_hook_probe_environment_returns_nothing_for_another_host(root: Path) -> None:
    assert plugin.probe_environment(make_linux_host(root)) is None


def test_hook_check_compatibility_judges_the_facts_the_plugin_probed(root: Path) -> None:
    env = environment_of(make_jetson_host(root))
    assert [finding.row for finding in plugin.check_compatibility(env)] == ["jetson-jp61-bare-metal"]


def test_the_manager_keeps_the_plugin_working_and_the_core_silent_on_a_jetson(root: Path) -> None:
    manager = jetson_manager()
    env = environment_of(make_jetson_host(root))
    assert [finding.row for finding in manager.findings(env)] == ["jetson-jp61-bare-metal"]
    assert {info.name: info.status for info in manager.plugins()}["jetson"] in ("ok", "unversioned")


def test_facts_survive_the_environments_json_round_trip(root: Path) -> None:
    make_jetson_host(root)
    write_jetson_libraries(root)
    env = environment_of(make_jetson_host(root))
    reloaded = Environment.from_json(env.to_json())
    assert JetsonFacts.from_environment(reloaded) == JetsonFacts.from_environment(env)


def test_facts_from_a_newer_plugin_with_unknown_keys_still_load() -> None:
    facts = JetsonFacts.from_dict({"is_jetson": True, "l4t": "36.4.0", "added_later": [1, 2]})
    assert (facts.is_jetson, facts.l4t) == (True, "36.4.0")


def test_an_environment_without_jetson_facts_has_none() -> None:
    assert JetsonFacts.from_environment(Environment()) is None


def test_importing_the_plugin_module_imports_no_framework_and_no_cattrs() -> None:
    code = (
        "import sys, modelrt_jetson.plugin; "
        "print(sorted(m for m in ('tensorrt', 'torch', 'onnxruntime', 'numpy', 'cattrs', 'cv2') if m in sys.modules))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


@pytest.mark.usefixtures("jetson_plugin_installed")
def test_the_distribution_declares_its_entry_point_and_core_range_and_no_tensorrt() -> None:
    distribution = importlib.metadata.distribution("modelrt-jetson")
    entry_points = [(point.group, point.name, point.value) for point in distribution.entry_points]
    assert entry_points == [("modelrt.plugins", "jetson", "modelrt_jetson.plugin")]
    assert distribution.requires == ["modelrt-core<1,>=0.2"]
    assert distribution.metadata["Requires-Python"] == ">=3.10"
