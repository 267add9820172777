"""Pickled checkpoints run code: refused without the per-call opt-in, whatever the environment says.

The planted checkpoints here create a marker file when unpickled, so a test sees whether the file's
code ran, not only whether an error was raised.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pickle
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

import modelrt
from modelrt.devices import Device
from modelrt.errors import PackageError, SecurityError
from modelrt_torch.backend import TorchBackend

from .conftest import REPO, Planted, artifact, feed, options, pickled_linear

CPU = Device.parse("cpu")


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    """A checkpoint that plants ``marker`` when unpickled, and the marker's path."""
    marker = tmp_path / "code-ran"
    checkpoint = tmp_path / "model.pt"
    torch.save(Planted(marker), checkpoint)
    return checkpoint, marker


@pytest.fixture
def unsafe_loading_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variable torch reads to turn its safe default off (RELIABILITY.md)."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")


def _package(root: Path, checkpoint: Path) -> Path:
    root.mkdir()
    data = checkpoint.read_bytes()
    (root / checkpoint.name).write_bytes(data)
    manifest = {
        "format_version": 1,
        "name": "pickled",
        "task": "classification",
        "architecture": "image-classifier",
        "labels": ["a", "b"],
        "input": {"size": [1, 3], "resize": "stretch"},
        "artifacts": [
            {
                "role": "main",
                "format": "torch-pickle",
                "path": checkpoint.name,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        ],
    }
    (root / "modelrt.json").write_text(json.dumps(manifest))
    return root


def test_the_backend_refuses_a_pickled_module_without_consent(
    backend: TorchBackend, planted: tuple[Path, Path]
) -> None:
    checkpoint, marker = planted
    with pytest.raises(SecurityError, match=r"runs whatever code the file holds.*allow_pickle=True"):
        backend.load(artifact(checkpoint, "torch-pickle"), CPU, options())
    assert not marker.exists()


@pytest.mark.usefixtures("unsafe_loading_forced")
def test_torchs_environment_variable_does_not_lift_the_refusal(
    backend: TorchBackend, planted: tuple[Path, Path]
) -> None:
    checkpoint, marker = planted
    with pytest.raises(SecurityError):
        backend.load(artifact(checkpoint, "torch-pickle"), CPU, options())
    assert not marker.exists()


@pytest.mark.usefixtures("unsafe_loading_forced")
def test_modelrt_load_refuses_a_pickled_checkpoint_without_opt_in(planted: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, marker = planted
    with pytest.raises(SecurityError, match="allow_pickle=True"):
        modelrt.load(_package(tmp_path / "pkg", checkpoint), backend="torch", warmup=0)
    assert not marker.exists()


def test_modelrt_load_runs_a_trusted_pickled_module_with_opt_in(tmp_path: Path) -> None:
    torch.save(pickled_linear(), tmp_path / "linear.pt")
    with modelrt.load(_package(tmp_path / "pkg", tmp_path / "linear.pt"), allow_pickle=True, warmup=0) as model:
        chosen = model.plan.chosen()["main"]
        assert (chosen.backend, chosen.format) == ("torch", "torch-pickle")
        outputs = model.sessions["main"].run({"input": feed()["x"]})
    assert outputs["output0"].shape == (2, 2)


def test_forcing_safe_loading_makes_a_module_unreadable_even_with_consent(
    backend: TorchBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    torch.save(pickled_linear(), tmp_path / "linear.pt")
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(PackageError, match=r"could not read .*linear\.pt as torch-pickle"):
        backend.load(artifact(tmp_path / "linear.pt", "torch-pickle"), CPU, options(allow_pickle=True))


# ------------------------------------------------------------------------------------------ weights_only


def _build_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """demo/torch/build_packages.py as a module (it finds networks.py beside itself)."""
    monkeypatch.syspath_prepend(str(REPO / "demo" / "torch"))
    spec = importlib.util.spec_from_file_location("build_packages_under_test", REPO / "demo/torch/build_packages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("unsafe_loading_forced")
def test_published_weights_are_read_with_weights_only_even_when_torch_is_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, planted: tuple[Path, Path]
) -> None:
    checkpoint, marker = planted
    script = _build_script(monkeypatch)
    monkeypatch.setattr(
        script, "distribution", lambda _name: type("Wheel", (), {"locate_file": lambda _s, _p: checkpoint})()
    )
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        script.published_weights("facenet-pytorch", "facenet_pytorch/data/pnet.pt")
    assert not marker.exists()


def test_published_weights_are_plain_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    script = _build_script(monkeypatch)
    weights = script.published_weights("facenet-pytorch", "facenet_pytorch/data/pnet.pt")
    assert all(isinstance(value, torch.Tensor) for value in weights.values())
    assert np.asarray(weights["conv1.weight"].shape).tolist() == [10, 3, 3, 3]
