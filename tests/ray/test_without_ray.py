"""modelrt's Ray integration costs nothing until used, and without Ray it says which extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelrt.cli import main
from modelrt.errors import ModelRTError
from modelrt.ray import INSTALL_HINT, RayMissingError, import_ray, worker_reference


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sys.modules))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(completed.stdout.split())


@pytest.fixture
def without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray as if not installed: importing it raises ImportError, and nothing of ours holds it already."""
    for name in ("ray", "ray.data", "ray.serve"):
        monkeypatch.setitem(sys.modules, name, None)
    for name in [name for name in sys.modules if name.startswith("modelrt.ray.")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.mark.parametrize("statement", ["import modelrt", "import modelrt.ray", "import modelrt.cli_serve"])
def test_importing_modelrt_and_its_ray_package_does_not_import_ray(statement: str) -> None:
    assert not {name for name in _imported_after(statement) if name == "ray" or name.startswith("ray.")}


def test_a_missing_ray_is_a_modelrt_error_naming_the_extra(without_ray: None) -> None:
    with pytest.raises(RayMissingError) as raised:
        import_ray("serve")
    assert isinstance(raised.value, ModelRTError)
    assert INSTALL_HINT == 'pip install "modelrt[ray]"'
    assert INSTALL_HINT in str(raised.value)


def test_the_predictor_without_ray_says_which_extra_to_install(without_ray: None) -> None:
    from modelrt.ray import ModelPredictor

    with pytest.raises(RayMissingError, match=r"modelrt\[ray\]"):
        ModelPredictor("any-model")


def test_modelrt_serve_without_ray_fails_with_the_extra_to_install(
    without_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "any-model", "--port", "8123"]) == 1
    assert 'pip install "modelrt[ray]"' in capsys.readouterr().err


def test_workers_get_an_existing_relative_model_path_as_an_absolute_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.onnx").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert worker_reference("model.onnx") == str(tmp_path / "model.onnx")
    assert worker_reference("hf://org/repo") == "hf://org/repo"
