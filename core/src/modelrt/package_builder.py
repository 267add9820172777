"""``modelrt package``: wrap a model file into a package directory with a verified manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from modelrt.errors import InputError, PackageError
from modelrt.integrity import sha256_of
from modelrt.manifest import (
    MANIFEST_NAME,
    TASKS,
    ArtifactEntry,
    Manifest,
    dump_manifest,
    manifest_from_dict,
)
from modelrt.storage import atomic_copy, atomic_write_text

__all__ = ["DEFAULT_ARCHITECTURE", "FORMAT_BY_SUFFIX", "build_package", "read_labels"]

#: The architecture a task gets when none is named.
DEFAULT_ARCHITECTURE = {
    "object-detection": "yolov8",
    "classification": "image-classifier",
    "text-detection": "db-text-detector",
}
FORMAT_BY_SUFFIX = {
    ".onnx": "onnx",
    ".pt2": "exported-program",
    ".torchscript": "torchscript",
    ".engine": "tensorrt-engine",
    ".plan": "tensorrt-engine",
    ".pt": "torch-pickle",
    ".pth": "torch-pickle",
}


def read_labels(path: Path) -> tuple[str, ...]:
    """Class names from a text file, one per line (blank lines ignored)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read labels file {path}: {error.strerror}") from None
    labels = tuple(line.strip() for line in lines if line.strip())
    if not labels:
        raise InputError(f"labels file {path} has no labels; write one class name per line")
    return labels


def build_package(
    model_file: Path,
    output_dir: Path,
    *,
    task: str,
    labels: Sequence[str],
    architecture: str | None = None,
    name: str | None = None,
    artifact_format: str | None = None,
    input_spec: dict[str, Any] | None = None,
    postprocess: dict[str, Any] | None = None,
    precision: str | None = None,
) -> Manifest:
    """Copy ``model_file`` into ``output_dir`` and write a manifest with its size and sha256.

    The manifest is built as plain data and parsed like any manifest read from disk, so a package
    written here is valid by construction. Files are written atomically.
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    if not model_file.is_file():
        raise InputError(f"model file {model_file} does not exist")
    fmt = artifact_format or FORMAT_BY_SUFFIX.get(model_file.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {model_file.name} from its suffix; pass --format "
            f"({', '.join(sorted(set(FORMAT_BY_SUFFIX.values())))})"
        )
    arch = architecture or DEFAULT_ARCHITECTURE.get(task)
    if arch is None:
        raise InputError(f"task {task!r} has no default architecture; pass --architecture")
    if not labels:
        raise InputError("a package needs its class names: pass --labels FILE (one name per line)")
    entry = ArtifactEntry(
        role="main",
        format=fmt,  # type: ignore[arg-type]
        path=model_file.name,
        size=model_file.stat().st_size,
        sha256=sha256_of(model_file),
        precision=precision,  # type: ignore[arg-type]
    )
    data = {
        "format_version": 1,
        "name": name or model_file.stem,
        "task": task,
        "architecture": arch,
        "labels": list(labels),
        "input": input_spec or {"size": [640, 640]},
        "postprocess": postprocess or {},
        "artifacts": [_entry_data(entry)],
    }
    try:
        manifest = manifest_from_dict(data, origin="modelrt package")
    except PackageError as error:
        raise InputError(str(error)) from None
    output_dir = output_dir.expanduser()
    destination = output_dir / model_file.name
    if destination.resolve() != model_file.resolve():
        atomic_copy(model_file, destination)
    atomic_write_text(output_dir / MANIFEST_NAME, dump_manifest(manifest))
    return manifest


def _entry_data(entry: ArtifactEntry) -> dict[str, Any]:
    return {key: value for key, value in attrs.asdict(entry).items() if value is not None}
