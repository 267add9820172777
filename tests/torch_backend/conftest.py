"""Fixtures for the torch backend: tiny torch networks with known outputs, artifacts of each format, the
real demo packages, and torch's process-wide thread count kept as each test found it.

Every network here is built by the tests: ``y = 2x + 1`` and the row sums of ``x``, so outputs are
exact. The real packages (MTCNN, MobileNetV2) are built once per session by the same command
`make demo-torch` runs.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from modelrt.backend import Artifact
from modelrt.model import CORE_EXTRAS
from modelrt.options import RunOptions
from modelrt.package_builder import ArtifactFile, build_multi_artifact_package
from modelrt_torch.backend import TorchBackend
from modelrt_torch.capabilities import TorchCapabilities
from modelrt_torch.threads import process_threads

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "demo" / "images"
BUILD_PACKAGES = REPO / "demo" / "torch" / "build_packages.py"


class AffineAndSum(nn.Module):
    """``{"y": 2x + 1, "total": x.sum(1)}`` on ``x`` [batch, 3]."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"y": 2 * x + 1, "total": x.sum(dim=1)}


class AffineTuple(nn.Module):
    """``(2x + 1, x.sum(1))``: the same as a tuple, as TorchScript modules return."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return 2 * x + 1, x.sum(dim=1)


def feed() -> dict[str, np.ndarray]:
    return {"x": np.array([[1.0, 2.0, 3.0], [-4.0, 0.0, 0.5]], dtype=np.float32)}


def expected() -> dict[str, np.ndarray]:
    x = feed()["x"]
    return {"y": 2 * x + 1, "total": x.sum(axis=1)}


def write_exported_program(path: Path) -> Path:
    program = torch.export.export(
        AffineAndSum(), (torch.zeros(2, 3),), dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1)}}
    )
    torch.export.save(program, path)
    return path


def write_torchscript(path: Path, module: nn.Module | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates torch.jit itself
        scripted = torch.jit.script(module or AffineTuple())
        scripted.save(str(path))
    return path


def pickled_linear() -> nn.Module:
    """A whole module made of torch's own classes (unpickling needs their code importable)."""
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]))
        layer.bias.copy_(torch.tensor([0.25, -0.25]))
    return layer


class Planted:
    """Unpickling this creates ``marker``: a stand-in for any code a file could run when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def affine_package(tmp_path: Path, content: bytes | None = None) -> Path:
    """A classifier package around the affine exported program (or ``content`` in its place)."""
    source = tmp_path / "src" / "affine.pt2"
    source.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        write_exported_program(source)
    else:
        source.write_bytes(content)
    return package_of(source, tmp_path / "pkg")


def package_of(source: Path, out: Path) -> Path:
    """A classifier package (manifest with size and sha256) around one artifact file, its format from the suffix."""
    build_multi_artifact_package(
        [ArtifactFile(source)],
        out,
        task="classification",
        labels=["a", "b", "c"],
        name="affine",
        input_spec={"size": [1, 1], "resize": "stretch"},
    )
    return out


def artifact(path: Path, artifact_format: str, precision: str | None = None) -> Artifact:
    return Artifact(role="main", format=artifact_format, file=path, package_root=path.parent, precision=precision)


def options(threads: int = 1, precision: str = "auto", allow_pickle: bool = False) -> RunOptions:
    extras = {CORE_EXTRAS: {"allow_pickle": True}} if allow_pickle else {}
    return RunOptions(threads=threads, precision=precision, warmup=0, extras=extras)


@pytest.fixture(autouse=True)
def torch_threads_as_found() -> Iterator[None]:
    """Each test starts as a fresh process would: no thread count set yet by a modelrt load."""
    before = torch.get_num_threads()
    process_threads.count = None
    yield
    process_threads.count = None
    torch.set_num_threads(before)


@pytest.fixture
def backend() -> TorchBackend:
    return TorchBackend()


def backend_seeing(capabilities: TorchCapabilities) -> TorchBackend:
    """A backend whose view of torch's devices is ``capabilities``: a CUDA or MPS machine, say."""
    return TorchBackend(probe=lambda _torch: capabilities)


@pytest.fixture
def exported_program(tmp_path: Path) -> Artifact:
    return artifact(write_exported_program(tmp_path / "affine.pt2"), "exported-program")


@pytest.fixture(scope="session")
def demo_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The torch demo's packages (MTCNN faces, MobileNetV2), built by the command `make demo-torch` runs."""
    out = tmp_path_factory.mktemp("torch-packages")
    completed = subprocess.run(
        [sys.executable, str(BUILD_PACKAGES), str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(entry for entry in sys.path if entry)},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return out


@pytest.fixture
def make_artifact() -> Callable[..., Artifact]:
    return artifact
