"""``pip install --find-links dist "modelrt[onnx]"`` in a fresh virtualenv installs exactly what the extra
promises: the meta-distribution, the core and the ONNX plugin with onnxruntime, no torch, within 400 MB.

Plain pip with its own configuration, the way a user installs; the dependencies come from the package
index, so this test needs the registry (marked ``network``: it fails, never skips, without one).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.release import Release
from tools.release.compat import fresh_environ

ONNX_SIZE_GOAL = 400 * 1024 * 1024


def run(command: list[str], venv: Path) -> str:
    completed = subprocess.run(
        command, cwd=venv.parent, env=fresh_environ(venv), capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def size(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


@pytest.fixture(scope="module")
def onnx_venv(released_modelrt: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("onnx-from-dist") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    dist = released_modelrt.files[0].parent
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, "--find-links", str(dist), "modelrt[onnx]"], venv)
    return venv


def installed(venv: Path) -> dict[str, str]:
    listed = json.loads(run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"], venv))
    return {entry["name"].lower(): entry["version"] for entry in listed}


@pytest.mark.network
def test_the_onnx_extra_installs_exactly_the_meta_distribution_the_core_and_the_onnx_plugin(
    onnx_venv: Path, released_modelrt: Release
) -> None:
    released = {distribution.name: str(distribution.version) for distribution in released_modelrt.distributions}
    modelrt = {name: version for name, version in installed(onnx_venv).items() if name.startswith("modelrt")}
    assert modelrt == {name: released[name] for name in ("modelrt", "modelrt-core", "modelrt-onnx")}


@pytest.mark.network
def test_the_onnx_extra_brings_onnxruntime_and_no_torch(onnx_venv: Path) -> None:
    packages = installed(onnx_venv)
    assert "onnxruntime" in packages
    assert not {"torch", "onnxruntime-gpu", "tensorrt", "huggingface-hub"} & packages.keys()


@pytest.mark.network
def test_the_onnx_install_finds_its_plugin(onnx_venv: Path) -> None:
    plugins = json.loads(run([str(onnx_venv / "bin" / "modelrt"), "plugins", "--json"], onnx_venv))
    assert {(plugin["name"], plugin["status"]) for plugin in plugins} >= {("onnx", "ok")}


@pytest.mark.network
def test_the_onnx_install_stays_within_400_mb(onnx_venv: Path) -> None:
    assert size(onnx_venv) <= ONNX_SIZE_GOAL, f"{size(onnx_venv) / 2**20:.0f} MB"
