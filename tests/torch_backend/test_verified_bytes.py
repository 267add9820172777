"""The bytes torch loads are the bytes whose sha256 was checked: a file swapped on disk never runs.

The manifest is checked when the package is opened and the backend reads the artifact later; a file
replaced in between is caught, and one replaced once the backend has read it changes nothing. Where
the format can hold code (pickles), the replacement creates a marker file if torch ever loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import modelrt
from modelrt.backend import Artifact
from modelrt.errors import IntegrityError
from modelrt_torch.backend import TorchBackend

from .conftest import Planted, feed, package_of, pickled_linear, write_exported_program, write_torchscript
from .crafted_archives import saved, with_pickled_weight


class Tripled(torch.nn.Module):
    """Another TorchScript module with the same signature: TorchScript cannot run Python, only other maths."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return 3 * x, x.sum(dim=1)


def _exported_program(directory: Path, marker: Path) -> tuple[Path, bytes]:
    return write_exported_program(directory / "model.pt2"), with_pickled_weight(Planted(marker))


def _torchscript(directory: Path, marker: Path) -> tuple[Path, bytes]:
    replacement = write_torchscript(directory / "other.torchscript", Tripled()).read_bytes()
    return write_torchscript(directory / "model.torchscript"), replacement


def _pickled_module(directory: Path, marker: Path) -> tuple[Path, bytes]:
    (directory / "model.pt").write_bytes(saved(pickled_linear()))
    return directory / "model.pt", saved(Planted(marker))


FORMATS: dict[str, Callable[[Path, Path], tuple[Path, bytes]]] = {
    "exported-program": _exported_program,
    "torchscript": _torchscript,
    "torch-pickle": _pickled_module,
}


@pytest.fixture(params=list(FORMATS))
def swap(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, bytes, Path]:
    """A package of each format, the bytes an attacker swaps in, and the marker those bytes would create."""
    source = tmp_path / "src"
    source.mkdir()
    marker = tmp_path / "code-ran"
    original, replacement = FORMATS[request.param](source, marker)
    return package_of(original, tmp_path / "pkg"), replacement, marker


def _run(package: Path) -> dict[str, np.ndarray]:
    with modelrt.load(package, backend="torch", allow_pickle=True, warmup=0) as model:
        session = model.sessions["main"]
        return session.run({session.inputs[0].name: feed()["x"]})


def test_a_file_replaced_after_verification_is_never_loaded(
    monkeypatch: pytest.MonkeyPatch, swap: tuple[Path, bytes, Path]
) -> None:
    package, replacement, marker = swap
    load = TorchBackend.load

    def replaced_then_loaded(self: TorchBackend, artifact: Artifact, *args: Any) -> Any:
        artifact.file.write_bytes(replacement)  # after open_artifact checked it, before torch reads it
        return load(self, artifact, *args)

    monkeypatch.setattr(TorchBackend, "load", replaced_then_loaded)
    with pytest.raises(IntegrityError, match="manifest says"):
        _run(package)
    assert not marker.exists()


def test_a_file_replaced_once_read_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, swap: tuple[Path, bytes, Path]
) -> None:
    package, replacement, marker = swap
    reference = _run(package)
    read_bytes = Artifact.read_bytes
    reads: list[Path] = []

    def read_then_replaced(self: Artifact) -> bytes:
        data = read_bytes(self)
        self.file.write_bytes(replacement)
        reads.append(self.file)
        return data

    monkeypatch.setattr(Artifact, "read_bytes", read_then_replaced)
    outputs = _run(package)
    assert len(reads) == 1  # the backend read the artifact once, and loaded what it read
    assert outputs.keys() == reference.keys()
    for name, value in reference.items():
        np.testing.assert_array_equal(outputs[name], value)
    assert not marker.exists()
