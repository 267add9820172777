"""`modelrt env` says when everything the host needs is already installed, instead of asking for it again."""

from __future__ import annotations

import pytest

from modelrt.env_report import build_report, render_report, report_to_dict
from modelrt.host_environment import probe_environment
from modelrt.installation import FROM_INDEX, requirements_installed
from modelrt.specs import Finding, Severity, Status


@pytest.mark.parametrize(
    ("requirements", "installed"),
    [
        (["modelrt[onnx]"], True),  # modelrt-onnx with its cpu extra (onnxruntime) is in the test environment
        (["modelrt-onnx[cpu]", "numpy>=1"], True),
        (["modelrt[onnx-gpu]"], False),  # the gpu extra needs onnxruntime-gpu, which is not installed
        (["modelrt[no-such-extra]"], False),
        (["numpy>=999"], False),
        (["no-such-distribution"], False),
        (["not a requirement"], False),
    ],
)
def test_requirements_count_as_installed_with_the_extras_they_name(requirements: list[str], installed: bool) -> None:
    assert requirements_installed(requirements) is installed


def _finding(*install: str) -> Finding:
    return Finding(row="cpu-x86_64-linux", status=Status.STABLE, severity=Severity.INFO, message="m", install=install)


def test_a_host_with_everything_installed_is_told_so_with_the_command_for_elsewhere() -> None:
    report = build_report(probe_environment(), [_finding("modelrt[onnx]")], installation=FROM_INDEX)
    text = render_report(report)
    assert 'nothing: it is all installed here; to install it elsewhere:\n    pip install "modelrt[onnx]"' in text
    assert report_to_dict(report)["installed"] is True


def test_a_host_missing_a_requirement_gets_the_command() -> None:
    report = build_report(probe_environment(), [_finding("modelrt[onnx-gpu]")], installation=FROM_INDEX)
    assert 'Install what this host needs\n  pip install "modelrt[onnx-gpu]"' in render_report(report)
    assert report_to_dict(report)["installed"] is False
