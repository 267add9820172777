"""The ``modelrt env`` report: data, a documented JSON schema, and text to paste into an issue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrt.compatibility import core_findings
from modelrt.env_report import (
    REPORT_SCHEMA,
    EnvironmentReport,
    build_report,
    install_commands,
    merged_install_command,
    render_report,
    report_to_dict,
)
from modelrt.host import Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.installation import FROM_INDEX
from modelrt.specs import Finding, Severity, Status
from modelrt.testing.hosts import make_jetson_host, make_linux_host

ONNX_PLUGIN = {
    "name": "onnx",
    "distribution": "modelrt-onnx",
    "version": "0.1.0",
    "status": "ok",
    "error": None,
    "registers": {"backends": ["onnxruntime"], "sources": ["onnx-file"]},
}
BROKEN_PLUGIN = {
    "name": "acme",
    "distribution": "acme-modelrt",
    "version": "2.0",
    "status": "broken",
    "error": "it requires modelrt-core<0.1; pip install -U acme-modelrt",
    "registers": [],
}


def _finding(row: str, *install: str, severity: Severity = Severity.INFO) -> Finding:
    return Finding(row, Status.STABLE, severity, f"verdict on {row}", install=install)


@pytest.fixture(autouse=True)
def installed_from_an_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests show released names, whatever this checkout's install; source trees: test_install_advice.py."""
    monkeypatch.setattr("modelrt.env_report.detect_installation", lambda: FROM_INDEX)
    monkeypatch.setattr("modelrt.compatibility.detect_installation", lambda: FROM_INDEX)


@pytest.fixture
def linux_report(root: Path) -> EnvironmentReport:
    env = probe_environment(make_linux_host(root))
    return build_report(env, core_findings(env), [ONNX_PLUGIN, BROKEN_PLUGIN])


# ----------------------------------------------------------------------------------- install command


def test_install_entries_of_all_findings_merge_into_one_command() -> None:
    findings = [_finding("a", "modelrt[jetson]"), _finding("b", "modelrt[onnx]", "acme-modelrt>=2")]
    assert merged_install_command(findings) == 'pip install "modelrt[jetson]" "modelrt[onnx]" "acme-modelrt>=2"'


def test_repeated_install_entries_appear_once_in_first_seen_order() -> None:
    findings = [_finding("a", "modelrt[onnx]"), _finding("b", "modelrt[torch]", "modelrt[onnx]")]
    assert merged_install_command(findings) == 'pip install "modelrt[onnx]" "modelrt[torch]"'


def test_no_install_entries_give_no_command() -> None:
    assert merged_install_command([_finding("a")]) is None
    assert build_report(Environment(), [_finding("a")]).install_command is None


JETSON_INDEX = "https://pypi.jetson-ai-lab.io/jp6/cu126"


def _index_finding(row: str, index_url: str, *index_install: str, install: tuple[str, ...] = ()) -> Finding:
    return Finding(
        row,
        Status.STABLE,
        Severity.INFO,
        f"verdict on {row}",
        install=install,
        index_url=index_url,
        index_install=index_install,
    )


def test_requirements_from_another_index_get_their_own_command_after_the_pypi_one() -> None:
    findings = [_index_finding("jetson", JETSON_INDEX, "onnxruntime-gpu", "torch", install=("modelrt[jetson]",))]
    assert install_commands(findings) == (
        'pip install "modelrt[jetson]"',
        f'pip install "onnxruntime-gpu" "torch" --index-url {JETSON_INDEX}',
    )


def test_requirements_from_the_same_index_merge_into_one_command() -> None:
    findings = [_index_finding("a", JETSON_INDEX, "onnxruntime-gpu"), _index_finding("b", JETSON_INDEX, "torch")]
    assert install_commands(findings) == (f'pip install "onnxruntime-gpu" "torch" --index-url {JETSON_INDEX}',)


def test_the_merged_install_command_is_every_command_on_one_shell_line() -> None:
    findings = [_index_finding("jetson", JETSON_INDEX, "torch", install=("modelrt[jetson]",))]
    assert merged_install_command(findings) == (
        f'pip install "modelrt[jetson]" && pip install "torch" --index-url {JETSON_INDEX}'
    )


def test_a_finding_cannot_name_index_requirements_without_their_index() -> None:
    with pytest.raises(ValueError, match="without an index_url"):
        Finding("a", Status.STABLE, Severity.INFO, "verdict", index_install=("torch",))


def test_build_report_merges_the_findings_install_entries(root: Path) -> None:
    env = probe_environment(make_jetson_host(root))
    report = build_report(env, [*core_findings(env), _finding("third-party", "acme-modelrt")])
    assert report.install_command == 'pip install "modelrt[jetson]" "acme-modelrt"'


# --------------------------------------------------------------------------------------------- JSON


def test_report_json_has_the_documented_top_level_keys(linux_report: EnvironmentReport) -> None:
    data = report_to_dict(linux_report)
    assert set(data) == {
        "schema",
        "environment",
        "findings",
        "plugins",
        "installation",
        "install_commands",
        "install_command",
        "installed",
        "image",
        "docker_image",
    }
    assert data["schema"] == REPORT_SCHEMA == 1
    assert data["install_commands"] == ['pip install "modelrt[onnx]"']
    assert data["install_command"] == 'pip install "modelrt[onnx]"'


def test_report_json_findings_carry_their_matrix_row(linux_report: EnvironmentReport) -> None:
    (finding,) = report_to_dict(linux_report)["findings"]
    assert set(finding) == {
        "row",
        "status",
        "severity",
        "message",
        "fix",
        "install",
        "index_url",
        "index_install",
        "matrix_row",
    }
    assert (finding["row"], finding["status"], finding["severity"]) == ("cpu-x86_64-linux", "stable", "info")
    assert finding["install"] == ["modelrt[onnx]"]
    assert finding["matrix_row"] == {
        "id": "cpu-x86_64-linux",
        "platform": "CPU x86_64",
        "os": "Linux",
        "install": "bare-metal, Docker",
        "status": "stable",
        "note": "",
    }


def test_report_json_findings_outside_the_matrix_have_no_matrix_row(root: Path) -> None:
    env = probe_environment(make_jetson_host(root))
    (finding,) = report_to_dict(build_report(env, core_findings(env)))["findings"]
    assert finding["row"] == "jetson"
    assert finding["matrix_row"] is None


def test_report_json_is_plain_json_whose_environment_loads_back(linux_report: EnvironmentReport) -> None:
    data = json.loads(json.dumps(report_to_dict(linux_report)))
    assert Environment.from_dict(data["environment"]) == linux_report.environment
    assert data["plugins"] == [ONNX_PLUGIN, BROKEN_PLUGIN]


def test_plugin_entries_that_are_not_json_are_kept_as_text() -> None:
    report = build_report(
        Environment(), [], [{"name": "odd", "registers": {"backends": ("a", "b")}, "path": Path("/x")}]
    )
    assert report_to_dict(report)["plugins"] == [{"name": "odd", "registers": {"backends": ["a", "b"]}, "path": "/x"}]


# --------------------------------------------------------------------------------------------- text


def test_text_ends_with_the_line_asking_to_paste_it_into_an_issue(linux_report: EnvironmentReport) -> None:
    assert render_report(linux_report).rstrip("\n").splitlines()[-1] == "Copy and paste this into your issue."


def test_text_summarises_the_host(linux_report: EnvironmentReport) -> None:
    text = render_report(linux_report)
    assert "Linux, x86_64, Ubuntu 22.04.4 LTS, kernel 5.15.0-119-generic" in text
    assert "AMD EPYC 9R14, 4 usable cores" in text
    assert "fake root" in text


def test_text_shows_the_matrix_row_status_and_severity_marker(linux_report: EnvironmentReport) -> None:
    text = render_report(linux_report)
    assert "[info]  cpu-x86_64-linux (CPU x86_64 | Linux | bare-metal, Docker): stable" in text


def test_text_shows_warnings_with_their_fix(root: Path) -> None:
    env = probe_environment(make_jetson_host(root))
    text = render_report(build_report(env, core_findings(env)))
    assert "[warn]  jetson (outside the matrix): unknown" in text
    assert 'fix: pip install "modelrt[jetson]"' in text


def test_text_lists_plugins_with_status_registrations_and_errors(linux_report: EnvironmentReport) -> None:
    text = render_report(linux_report)
    assert "  onnx  modelrt-onnx 0.1.0  ok" in text
    assert "registers: backends: onnxruntime; sources: onnx-file" in text
    assert "  acme  acme-modelrt 2.0    broken" in text
    assert "error: it requires modelrt-core<0.1; pip install -U acme-modelrt" in text


def test_text_ends_with_the_merged_install_command(linux_report: EnvironmentReport) -> None:
    lines = render_report(linux_report).splitlines()
    assert lines[-3] == '  pip install "modelrt[onnx]"'


def test_text_names_unknown_facts_and_their_reasons(root: Path) -> None:
    env = probe_environment(Host(root))
    text = render_report(build_report(env, core_findings(env)))
    assert "Unknown      memory_bytes: proc/meminfo is absent or unreadable" in text


def test_text_says_when_nothing_judged_the_host_and_nothing_is_installed() -> None:
    text = render_report(build_report(Environment(), [], []))
    assert "no plugin judged this host" in text
    assert "Plugins\n  none found" in text
    assert "nothing to install" in text


def test_text_shows_plugin_facts_one_per_line(root: Path) -> None:
    env = probe_environment(make_jetson_host(root), plugin_facts={"jetson": {"jetpack": "6.1", "dla": 2}})
    assert '  Facts        jetson:\n                 jetpack: "6.1"\n                 dla: 2\n' in render_report(
        build_report(env, [])
    )


def test_text_shows_nested_plugin_facts_with_dotted_keys_and_leaves_out_empty_ones(root: Path) -> None:
    facts = {"jetson": {"unknown": {"cuda": "no version.json"}, "module": None, "marks": []}}
    text = render_report(build_report(probe_environment(make_jetson_host(root), plugin_facts=facts), []))
    assert '                 unknown.cuda: "no version.json"\n' in text
    assert "module" not in text and "marks" not in text


def test_text_lists_each_install_command_on_its_own_line() -> None:
    findings = [_index_finding("jetson", JETSON_INDEX, "torch", install=("modelrt[jetson]",))]
    text = render_report(build_report(Environment(), findings))
    expected = [
        "Install what this host needs",
        '  pip install "modelrt[jetson]"',
        f'  pip install "torch" --index-url {JETSON_INDEX}',
    ]
    assert "\n".join(expected) + "\n" in text


def test_text_lines_are_wrapped_for_a_terminal_except_unbreakable_paths(root: Path) -> None:
    env = probe_environment(make_jetson_host(root), plugin_facts={"jetson": {f"fact{i}": "x" * 20 for i in range(9)}})
    text = render_report(build_report(env, core_findings(env), [ONNX_PLUGIN, BROKEN_PLUGIN]))
    assert all(len(line) <= 100 for line in text.splitlines() if str(root) not in line)
