"""`modelrt package` as a function: the written package is valid and verified by construction."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modelrt.errors import InputError
from modelrt.manifest import read_manifest
from modelrt.package_builder import build_package, read_labels
from modelrt.packages import LocalDirectorySource


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "detector.onnx"
    path.parent.mkdir()
    path.write_bytes(b"\x08\x07" * 500)
    return path


def test_package_copies_the_file_and_records_size_and_sha256(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    manifest = build_package(model_file, out, task="object-detection", labels=["cat", "dog"])
    entry = manifest.artifacts[0]
    assert (out / "detector.onnx").read_bytes() == model_file.read_bytes()
    assert entry.size == 1000
    assert entry.sha256 == hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert manifest.architecture == "yolov8"
    assert read_manifest(out) == manifest


def test_written_package_opens_and_verifies(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    build_package(model_file, out, task="classification", labels=["a"], input_spec={"size": [224, 224]})
    package = LocalDirectorySource().open(str(out))
    assert package.open_artifact(package.entries("main")[0]).file.name == "detector.onnx"


def test_unknown_task_is_refused(model_file: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown task"):
        build_package(model_file, tmp_path / "pkg", task="detect", labels=["a"])


def test_unknown_suffix_asks_for_the_format(tmp_path: Path) -> None:
    weird = tmp_path / "model.bin"
    weird.write_bytes(b"x")
    with pytest.raises(InputError, match="--format"):
        build_package(weird, tmp_path / "pkg", task="classification", labels=["a"])


def test_invalid_input_settings_are_reported_as_input_errors(model_file: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="resize"):
        build_package(
            model_file,
            tmp_path / "pkg",
            task="classification",
            labels=["a"],
            input_spec={"size": [224, 224], "resize": "squash"},
        )
    assert not (tmp_path / "pkg").exists()


def test_labels_file_ignores_blank_lines(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("0\n\n90\n180\n270\n")
    assert read_labels(labels) == ("0", "90", "180", "270")


def test_empty_labels_file_is_refused(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("\n")
    with pytest.raises(InputError, match="no labels"):
        read_labels(labels)
