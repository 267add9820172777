"""The cpu image's install steps, run without Docker: docker/cpu/install.sh in a fresh virtual environment.

The image's builder stage runs the same script from the same tree, so a step that breaks (a dependency
gone from the index, a plugin that no longer installs from its directory) fails here, in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DOCKER, REPO


@pytest.mark.network
def test_cpu_image_install_steps_give_a_working_modelrt_onnx(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # pip's own cache and configuration are kept: they make the second run fast, as the image's cache mount does.
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("VIRTUAL_ENV", None)
    env.pop("MODELRT_HOST_ROOT", None)
    subprocess.run(
        ["sh", str(DOCKER / "cpu" / "install.sh"), str(venv), "onnx"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=300,
    )
    completed = subprocess.run(
        [str(venv / "bin" / "modelrt"), "env", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(completed.stdout)
    plugins = {plugin["name"]: plugin["status"] for plugin in report["plugins"]}
    assert plugins.get("onnx") == "ok"
    assert "torch" not in plugins
    assert "onnxruntime" in report["environment"]["runtimes"]
    assert report["installation"]["editable"] is False  # a copy, as in the image


def test_install_script_refuses_an_unknown_target(tmp_path: Path) -> None:
    result = subprocess.run(
        ["sh", str(DOCKER / "cpu" / "install.sh"), str(tmp_path / "venv"), "gpu"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown target 'gpu': expected onnx or cpu" in result.stderr
    assert not (tmp_path / "venv").exists()
