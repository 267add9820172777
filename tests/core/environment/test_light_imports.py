"""Probing and reporting import no numpy, OpenCV or framework, and probing imports no runtime."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = {"numpy", "cv2", "onnxruntime", "onnx", "torch", "tensorrt", "PIL"}


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(json.loads(output))


def test_importing_host_and_environment_imports_nothing_heavy() -> None:
    assert not _modules_after("import modelrt.host, modelrt.host_environment") & HEAVY


def test_probing_the_live_machine_imports_no_runtime_and_no_cattrs() -> None:
    loaded = _modules_after("from modelrt.host_environment import probe_environment\nprobe_environment()")
    assert not loaded & (HEAVY | {"cattrs"})


def test_building_and_rendering_the_report_imports_nothing_heavy() -> None:
    code = """
from modelrt.compatibility import core_findings
from modelrt.env_report import build_report, render_report, report_to_dict
from modelrt.host_environment import probe_environment
env = probe_environment()
report = build_report(env, core_findings(env))
render_report(report), report_to_dict(report)
"""
    assert not _modules_after(code) & HEAVY


def test_the_fake_host_helpers_import_nothing_heavy() -> None:
    assert not _modules_after("import modelrt.testing.hosts") & HEAVY
