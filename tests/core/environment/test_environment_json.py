"""``Environment`` round-trips through JSON exactly, and bad records are typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrt.errors import InputError
from modelrt.host import Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.testing.hosts import make_jetson_host, make_linux_host


def test_a_probed_fake_host_round_trips_through_json(root: Path) -> None:
    env = probe_environment(make_jetson_host(root), plugin_facts={"jetson": {"l4t": "36.4.0", "modules": [{"dla": 2}]}})
    assert Environment.from_json(env.to_json()) == env


def test_the_live_machine_round_trips_through_json() -> None:
    env = probe_environment(Host())
    assert Environment.from_json(env.to_json()) == env


def test_an_nvidia_host_with_unknown_facts_round_trips_through_json(root: Path) -> None:
    make_linux_host(root, nvidia_driver="550.54.14")
    (root / "proc/meminfo").unlink()
    env = probe_environment(Host(root))
    assert env.unknown
    assert Environment.from_json(env.to_json()) == env


def test_json_field_names_are_the_documented_ones(root: Path) -> None:
    data = json.loads(probe_environment(make_linux_host(root)).to_json())
    assert {"system", "distribution", "architecture", "cpu_count", "runtimes", "facts", "unknown"} <= set(data)


def test_json_from_a_newer_version_with_extra_keys_still_loads(root: Path) -> None:
    data = probe_environment(make_linux_host(root)).to_dict()
    data["cuda_version"] = "12.6"
    assert Environment.from_dict(data).distribution == "ubuntu"


def test_json_from_an_older_version_missing_keys_loads_with_defaults() -> None:
    env = Environment.from_json('{"system": "Linux", "architecture": "x86_64"}')
    assert (env.system, env.architecture, env.facts, env.unknown) == ("Linux", "x86_64", {}, {})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "must be JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"cpu_count": "many"}', "invalid environment record"),
    ],
)
def test_a_bad_record_is_an_input_error_that_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        Environment.from_json(text)
