"""Packages with several files: alternative formats of one network, and one network per role."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modelrt.errors import InputError
from modelrt.manifest import Manifest, read_manifest
from modelrt.package_builder import ArtifactFile, build_multi_artifact_package
from modelrt.packages import LocalDirectorySource


def _file(directory: Path, name: str, content: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(content)
    return path


@pytest.fixture
def exports(tmp_path: Path) -> dict[str, Path]:
    source = tmp_path / "exports"
    return {
        "pnet.pt2": _file(source, "pnet.pt2", b"program-p"),
        "pnet.onnx": _file(source, "pnet.onnx", b"onnx-p"),
        "rnet.pt2": _file(source, "rnet.pt2", b"program-r"),
        "rnet.onnx": _file(source, "rnet.onnx", b"onnx-r"),
    }


def _build(files: list[ArtifactFile], out: Path) -> Manifest:
    return build_multi_artifact_package(files, out, task="object-detection", labels=["face"], name="cascade")


def test_every_file_is_copied_and_listed_with_its_role_format_size_and_sha256(
    exports: dict[str, Path], tmp_path: Path
) -> None:
    files = [ArtifactFile(path, role=name.split(".")[0]) for name, path in exports.items()]
    out = tmp_path / "pkg"
    manifest = _build(files, out)
    entries = {entry.path: entry for entry in read_manifest(out).artifacts}
    assert read_manifest(out) == manifest
    assert [(e.role, e.format) for e in entries.values()] == [
        ("pnet", "exported-program"),
        ("pnet", "onnx"),
        ("rnet", "exported-program"),
        ("rnet", "onnx"),
    ]
    for name, path in exports.items():
        assert (out / name).read_bytes() == path.read_bytes()
        assert entries[name].size == path.stat().st_size
        assert entries[name].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_alternative_formats_of_one_role_open_and_verify(exports: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    _build([ArtifactFile(exports["pnet.pt2"]), ArtifactFile(exports["pnet.onnx"])], out)
    package = LocalDirectorySource().open(str(out))
    opened = [package.open_artifact(entry).format for entry in package.entries("main")]
    assert opened == ["exported-program", "onnx"]


def test_an_explicit_format_and_precision_are_recorded(tmp_path: Path) -> None:
    path = _file(tmp_path / "src", "net.bin", b"weights")
    manifest = _build([ArtifactFile(path, format="torchscript", precision="fp16")], tmp_path / "pkg")
    (entry,) = manifest.artifacts
    assert (entry.format, entry.precision) == ("torchscript", "fp16")


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    first = _file(tmp_path / "a", "net.onnx", b"1")
    second = _file(tmp_path / "b", "net.onnx", b"2")
    with pytest.raises(InputError, match="distinct names"):
        _build([ArtifactFile(first, role="pnet"), ArtifactFile(second, role="rnet")], tmp_path / "pkg")


def test_a_missing_file_writes_nothing(exports: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    with pytest.raises(InputError, match="does not exist"):
        _build([ArtifactFile(exports["pnet.pt2"]), ArtifactFile(tmp_path / "gone.onnx")], out)
    assert not out.exists()


def test_no_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least one model file"):
        _build([], tmp_path / "pkg")
