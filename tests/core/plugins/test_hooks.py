"""Each hook of the plugin contract, shown through the manager with small in-test plugins."""

from __future__ import annotations

import pytest

from modelrt.errors import PluginError
from modelrt.host import Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.specs import ArchitectureSpec, BackendSpec, Finding, Severity, SourceSpec, Status
from modelrt.testing.managers import manager_with

ROCKET_BACKEND = BackendSpec(
    name="rocket",
    formats=("onnx", "rocket-plan"),
    devices=("cpu", "cuda"),
    priority=70,
    requires=("rocket-runtime>=2",),
    factory="rocket_plugin.backend:RocketBackend",
)


def _raise_os_error(host: Host) -> dict[str, object]:
    raise OSError("cannot read /sys/rocket")


def _raise_key_error(env: Environment) -> list[Finding]:
    raise KeyError("rocket")


@pytest.fixture
def host(tmp_path) -> Host:
    return Host(root=tmp_path)


@pytest.fixture
def environment(host) -> Environment:
    return probe_environment(host)


# ------------------------------------------------------------------------ register_backends


def test_hook_register_backends(make_plugin):
    manager = manager_with(make_plugin("rocket_plugin", register_backends=lambda: [ROCKET_BACKEND]))
    assert manager.backends() == {"rocket": ROCKET_BACKEND}
    assert manager.owner("backend", "rocket") == "rocket_plugin"


def test_hook_register_backends_may_answer_with_a_generator(make_plugin):
    def register_backends():
        yield ROCKET_BACKEND

    assert "rocket" in manager_with(make_plugin("rocket_plugin", register_backends=register_backends)).backends()


def test_hook_register_backends_answer_none_registers_nothing(make_plugin):
    assert manager_with(make_plugin("quiet", register_backends=lambda: None)).backends() == {}


# ------------------------------------------------------------------------ register_architectures


def test_hook_register_architectures(make_plugin):
    spec = ArchitectureSpec("rocket-detector", ("object-detection",), "rocket_plugin.arch:Detector")
    manager = manager_with(make_plugin("rocket_plugin", register_architectures=lambda: [spec]))
    assert manager.architectures()["rocket-detector"] == spec
    assert manager.owner("architecture", "rocket-detector") == "rocket_plugin"


def test_hook_register_architectures_cannot_replace_a_builtin(make_plugin):
    spec = ArchitectureSpec("yolov8", ("object-detection",), "rocket_plugin.arch:Detector")
    manager = manager_with(make_plugin("rocket_plugin", register_architectures=lambda: [spec]), strict=False)
    assert manager.owner("architecture", "yolov8") == "builtin"
    assert manager.plugins()[1].status == "broken"


# ------------------------------------------------------------------------ register_sources


def test_hook_register_sources(make_plugin):
    spec = SourceSpec("rocket-store", ("rocket://",), 80, "rocket_plugin.source:RocketStore")
    manager = manager_with(make_plugin("rocket_plugin", register_sources=lambda: [spec]))
    assert [source.name for source in manager.sources()] == ["local-directory", "huggingface-hub", "rocket-store"]
    assert manager.owner("source", "rocket-store") == "rocket_plugin"


# ------------------------------------------------------------------------ probe_environment


def test_hook_probe_environment(make_plugin, host):
    def probe_environment(host):
        return {"root": str(host.root), "boosters": 2}

    manager = manager_with(make_plugin("rocket_plugin", probe_environment=probe_environment))
    assert manager.environment_facts(host) == {"rocket_plugin": {"root": str(host.root), "boosters": 2}}


def test_hook_probe_environment_answer_none_adds_no_facts(make_plugin, host):
    manager = manager_with(make_plugin("quiet", probe_environment=lambda host: None))
    assert manager.environment_facts(host) == {}


def test_hook_probe_environment_implementation_may_take_fewer_arguments(make_plugin, host):
    manager = manager_with(make_plugin("rocket_plugin", probe_environment=lambda: {"boosters": 2}))
    assert manager.environment_facts(host) == {"rocket_plugin": {"boosters": 2}}


def test_hook_probe_environment_that_raises_breaks_only_its_plugin(make_plugin, host):
    manager = manager_with(
        make_plugin("failing", probe_environment=_raise_os_error),
        make_plugin("working", probe_environment=lambda host: {"ok": True}),
        strict=False,
    )
    assert manager.environment_facts(host) == {"working": {"ok": True}}
    assert "probe_environment raised OSError: cannot read /sys/rocket" in manager.plugins()[1].error


def test_hook_probe_environment_failure_withdraws_the_plugins_backends(make_plugin, host):
    plugin = make_plugin("failing", probe_environment=_raise_os_error, register_backends=lambda: [ROCKET_BACKEND])
    manager = manager_with(plugin, strict=False)
    manager.environment_facts(host)
    assert "rocket" not in manager.backends()


def test_hook_probe_environment_answer_must_be_a_mapping(make_plugin, host):
    manager = manager_with(make_plugin("listy", probe_environment=lambda: ["boosters"]), strict=False)
    assert manager.environment_facts(host) == {}
    assert "answered a list, not a mapping of facts or None" in manager.plugins()[1].error


def test_hook_probe_environment_failure_is_a_plugin_error_in_strict_mode(make_plugin, host):
    manager = manager_with(make_plugin("failing", probe_environment=_raise_os_error))
    with pytest.raises(PluginError, match="plugin 'failing': its probe_environment raised OSError"):
        manager.environment_facts(host)


# ------------------------------------------------------------------------ check_compatibility


def test_hook_check_compatibility(make_plugin, environment):
    finding = Finding("rocket-board", Status.EXPERIMENTAL, Severity.WARNING, "boosters untested", "pip install x")
    manager = manager_with(make_plugin("rocket_plugin", check_compatibility=lambda env: [finding]))
    assert finding in manager.findings(environment)


def test_hook_check_compatibility_receives_the_environment(make_plugin, environment):
    seen = []

    def check_compatibility(env):
        seen.append(env)
        return []

    manager_with(make_plugin("rocket_plugin", check_compatibility=check_compatibility)).findings(environment)
    assert seen == [environment]


def test_hook_check_compatibility_that_raises_is_isolated(make_plugin, environment):
    finding = Finding("rocket-board", Status.STABLE, Severity.INFO, "fine")
    manager = manager_with(
        make_plugin("failing", check_compatibility=_raise_key_error),
        make_plugin("working", check_compatibility=lambda env: [finding]),
        strict=False,
    )
    assert finding in manager.findings(environment)
    assert manager.plugins()[1].status == "broken"


def test_hook_check_compatibility_answer_must_hold_findings(make_plugin, environment):
    manager = manager_with(make_plugin("loose", check_compatibility=lambda env: ["all good"]), strict=False)
    manager.findings(environment)
    assert "where Finding records belong" in manager.plugins()[1].error
