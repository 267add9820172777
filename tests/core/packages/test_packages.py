"""Packages on disk: artifacts are verified and may not escape their directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelrt.errors import IntegrityError, PackageError, SecurityError
from modelrt.manifest import read_manifest
from modelrt.packages import LocalDirectorySource, ModelPackage


def _package(root: Path) -> ModelPackage:
    return LocalDirectorySource().open(str(root))


def test_local_directory_source_opens_a_package(package_dir: Path) -> None:
    package = _package(package_dir)
    assert package.manifest.name == "tiny-detector"
    assert package.source == "local-directory"


def test_verified_artifact_is_absolute_and_inside_the_package(package_dir: Path) -> None:
    package = _package(package_dir)
    artifact = package.open_artifact(package.entries("main")[0])
    assert artifact.file == (package_dir / "model.onnx").resolve()
    assert artifact.package_root == package_dir.resolve()
    assert artifact.format == "onnx"


def test_changed_artifact_fails_the_checksum(package_dir: Path) -> None:
    package = _package(package_dir)
    data = bytearray((package_dir / "model.onnx").read_bytes())
    data[0] ^= 0xFF
    (package_dir / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        package.open_artifact(package.entries("main")[0])


def test_changed_artifact_is_caught_after_an_earlier_successful_check(package_dir: Path) -> None:
    package = _package(package_dir)
    entry = package.entries("main")[0]
    package.open_artifact(entry)
    data = bytearray((package_dir / "model.onnx").read_bytes())
    data[-1] ^= 0xFF
    (package_dir / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        package.open_artifact(entry)


def test_truncated_artifact_fails_the_size_check(package_dir: Path) -> None:
    package = _package(package_dir)
    (package_dir / "model.onnx").write_bytes(b"short")
    with pytest.raises(IntegrityError, match="5 bytes but its manifest says 64"):
        package.open_artifact(package.entries("main")[0])


def test_missing_artifact_is_a_package_error_naming_it(package_dir: Path) -> None:
    package = _package(package_dir)
    (package_dir / "model.onnx").unlink()
    with pytest.raises(PackageError, match=r"lists 'model.onnx'.*does not exist"):
        package.open_artifact(package.entries("main")[0])


def test_path_with_dotdot_may_not_leave_the_package(package_dir: Path) -> None:
    package = ModelPackage(package_dir, read_manifest(package_dir))
    with pytest.raises(SecurityError, match="outside"):
        package.resolve_path("../secret.onnx")


def test_absolute_path_may_not_leave_the_package(package_dir: Path) -> None:
    package = ModelPackage(package_dir, read_manifest(package_dir))
    with pytest.raises(SecurityError):
        package.resolve_path("/etc/passwd")


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlink_pointing_outside_is_refused(package_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(bytes(range(64)))
    (package_dir / "model.onnx").unlink()
    (package_dir / "model.onnx").symlink_to(outside)
    package = _package(package_dir)
    with pytest.raises(SecurityError, match="outside"):
        package.open_artifact(package.entries("main")[0])


def test_directory_without_manifest_is_not_a_package(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match=r"no modelrt\.json"):
        LocalDirectorySource().open(str(tmp_path))
