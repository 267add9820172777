"""``BackendConformance`` fails a backend that breaks the contract: a deliberately faulty plugin is run
through it in a separate pytest, and exactly the contract tests it breaks must fail."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree

import pytest

FAULTY_PLUGIN = """
import numpy  # a framework imported at discovery time: the contract forbids it

from modelrt.backend import TensorInfo
from modelrt.hookspecs import hookimpl
from modelrt.specs import Availability, BackendSpec


@hookimpl
def register_backends():
    return [BackendSpec("faulty", ("factor",), ("cpu",), 1, "faulty_plugin:FaultyBackend")]


class FaultySession:
    provider = "python"

    def __init__(self, factor, device):
        self.inputs = [TensorInfo("x", (2,), "float32")]
        self.outputs = [TensorInfo("y", (2,), "float32")]
        self.device = device
        self.factor = factor

    def run(self, inputs):
        return {"y": inputs["x"] * self.factor}

    def close(self):
        pass  # forgets to refuse later runs


class FaultyBackend:
    def availability(self, env, device):
        return Availability(True, "always there")

    def load(self, artifact, device, options):
        return FaultySession(float(artifact.file.read_text()), device)  # a bare ValueError on a bad file
"""

FAULTY_TESTS = """
import numpy as np

from modelrt.backend import Artifact
from modelrt.testing.conformance import BackendConformance


class TestFaultyBackend(BackendConformance):
    plugin_module = "faulty_plugin"
    backend_name = "faulty"

    def make_artifact(self, directory):
        path = directory / "factor.txt"
        path.write_text("2.0")
        return Artifact(role="main", format="factor", file=path, package_root=directory)

    def input_feed(self):
        return {"x": np.array([1.0, 2.0], dtype=np.float32)}

    def expected_outputs(self):
        return {"y": np.array([2.0, 4.0], dtype=np.float32)}
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, str]:
    """Each conformance test's outcome (passed/failed/error/skipped) for the faulty backend."""
    directory = tmp_path_factory.mktemp("faulty")
    (directory / "faulty_plugin.py").write_text(textwrap.dedent(FAULTY_PLUGIN))
    (directory / "test_faulty.py").write_text(textwrap.dedent(FAULTY_TESTS))
    (directory / "pytest.ini").write_text("[pytest]\n")
    report = directory / "report.xml"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(directory), *filter(None, sys.path)])}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "-q",
            str(directory),
        ],
        cwd=directory,
        env=environment,
        capture_output=True,
        check=False,
    )
    return {case.get("name"): _outcome(case) for case in ElementTree.parse(report).iter("testcase")}


def _outcome(case: ElementTree.Element) -> str:
    for outcome in ("failure", "error", "skipped"):
        if case.find(outcome) is not None:
            return outcome
    return "passed"


BROKEN_CONTRACT = {
    "test_run_after_close_raises_model_closed_error",
    "test_load_of_a_corrupt_file_raises_package_error[garbage]",
    "test_load_of_a_corrupt_file_raises_package_error[empty]",
    "test_load_of_a_corrupt_file_raises_package_error[truncated]",
    "test_plugin_module_imports_no_framework",
}


def test_conformance_fails_each_broken_rule(outcomes):
    assert {name: outcomes.get(name) for name in BROKEN_CONTRACT} == dict.fromkeys(BROKEN_CONTRACT, "failure")


def test_conformance_passes_the_rules_the_backend_keeps(outcomes):
    kept = {name: outcome for name, outcome in outcomes.items() if name not in BROKEN_CONTRACT}
    assert len(kept) >= 15
    assert set(kept.values()) == {"passed"}
