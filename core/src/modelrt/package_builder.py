"""``modelrt package``: wrap model files into a package directory with a verified manifest."""

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
from modelrt.onnx_external_data import external_data_entries, read_external_data, resolve_external_data
from modelrt.storage import atomic_copy, atomic_write_text

__all__ = [
    "ARCHITECTURE_INPUT_DEFAULTS",
    "DEFAULT_ARCHITECTURE",
    "FORMAT_BY_SUFFIX",
    "ArtifactFile",
    "build_multi_artifact_package",
    "build_package",
    "read_labels",
]

#: The architecture a task gets when none is named.
DEFAULT_ARCHITECTURE = {
    "object-detection": "yolov8",
    "classification": "image-classifier",
    "text-detection": "db-text-detector",
    "semantic-segmentation": "semantic-segmenter",
    "embedding": "image-embedder",
    "oriented-detection": "yolov8-obb",
}
#: ImageNet's per-channel mean and std, for pixels scaled to [0, 1].
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
#: Input settings an architecture's exports were trained with, for those the caller leaves unset: DETR-family
#: exports say nothing about their preprocessing (see ``modelrt.architectures.detr`` for the sources).
ARCHITECTURE_INPUT_DEFAULTS: dict[str, dict[str, Any]] = {
    "rf-detr": {"resize": "stretch", "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    "rt-detr": {"resize": "stretch"},
    "detr": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD},
}
#: Tasks whose results name no class, so a package of theirs needs no labels.
TASKS_WITHOUT_CLASSES = ("embedding",)
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


@attrs.frozen
class ArtifactFile:
    """One file to put into a package: the role it plays, and its format (from the suffix when ``None``).

    Several files may share a role (alternative formats of the same network, e.g. an exported
    program and an ONNX export); multi-stage architectures use several roles.
    """

    path: Path
    role: str = "main"
    format: str | None = None
    precision: str | None = None


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
    """Copy ``model_file`` (and an ONNX model's external data) into ``output_dir``, with a manifest of sha256s.

    The manifest is built as plain data and parsed like any manifest read from disk, so a package
    written here is valid by construction. Files are written atomically.
    """
    return build_multi_artifact_package(
        [ArtifactFile(model_file, "main", artifact_format, precision)],
        output_dir,
        task=task,
        labels=labels,
        architecture=architecture,
        name=name or model_file.stem,
        input_spec=input_spec,
        postprocess=postprocess,
    )


def build_multi_artifact_package(
    artifacts: Sequence[ArtifactFile],
    output_dir: Path,
    *,
    task: str,
    labels: Sequence[str],
    name: str,
    architecture: str | None = None,
    input_spec: dict[str, Any] | None = None,
    postprocess: dict[str, Any] | None = None,
) -> Manifest:
    """Copy every file of ``artifacts`` into ``output_dir`` and write one manifest listing them all.

    Each file keeps its name, so names must be distinct; entries are listed in the given order, which
    is the order the planner prefers among alternatives of one role. Nothing is written unless every
    file and setting is valid.
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    if not artifacts:
        raise InputError("a package needs at least one model file")
    names = [artifact.path.name for artifact in artifacts]
    clashing = sorted({file_name for file_name in names if names.count(file_name) > 1})
    if clashing:
        raise InputError(f"model files must have distinct names inside a package; repeated: {', '.join(clashing)}")
    arch = architecture or DEFAULT_ARCHITECTURE.get(task)
    if arch is None:
        raise InputError(f"task {task!r} has no default architecture; pass --architecture")
    if not labels and task not in TASKS_WITHOUT_CLASSES:
        raise InputError("a package needs its class names: pass --labels FILE (one name per line)")
    entries = [_entry_for(artifact) for artifact in artifacts]
    side_files = _external_data_files(artifacts, entries)
    data = {
        "format_version": 1,
        "name": name,
        "task": task,
        "architecture": arch,
        "labels": list(labels),
        "input": {**ARCHITECTURE_INPUT_DEFAULTS.get(arch, {}), **(input_spec or {"size": [640, 640]})},
        "postprocess": postprocess or {},
        "artifacts": [_entry_data(entry) for entry in [*entries, *(entry for entry, _ in side_files)]],
    }
    try:
        manifest = manifest_from_dict(data, origin="modelrt package")
    except PackageError as error:
        raise InputError(str(error)) from None
    output_dir = output_dir.expanduser()
    for artifact in artifacts:
        destination = output_dir / artifact.path.name
        if destination.resolve() != artifact.path.resolve():
            atomic_copy(artifact.path, destination)
    for entry, source in side_files:
        destination = output_dir / entry.path
        if destination.resolve() != source:
            atomic_copy(source, destination)
    atomic_write_text(output_dir / MANIFEST_NAME, dump_manifest(manifest))
    return manifest


def _entry_for(artifact: ArtifactFile) -> ArtifactEntry:
    model_file = artifact.path
    if not model_file.is_file():
        raise InputError(f"model file {model_file} does not exist")
    fmt = artifact.format or FORMAT_BY_SUFFIX.get(model_file.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {model_file.name} from its suffix; pass --format "
            f"({', '.join(sorted(set(FORMAT_BY_SUFFIX.values())))})"
        )
    return ArtifactEntry(
        role=artifact.role,
        format=fmt,  # type: ignore[arg-type]
        path=model_file.name,
        size=model_file.stat().st_size,
        sha256=sha256_of(model_file),
        precision=artifact.precision,  # type: ignore[arg-type]
    )


def _external_data_files(
    artifacts: Sequence[ArtifactFile], entries: Sequence[ArtifactEntry]
) -> list[tuple[ArtifactEntry, Path]]:
    """The external data of each ONNX model: its manifest entry, and the file to copy beside the model.

    An ONNX model may keep its weights in other files (``model.onnx`` + ``model.data``); a package
    without them would not load. Each keeps its path relative to the model, which must stay inside the
    model's directory. Two files may not claim one name in the package.
    """
    claimed: dict[str, Path | None] = {entry.path: None for entry in entries}
    claimed[MANIFEST_NAME] = None
    side_files: list[tuple[ArtifactEntry, Path]] = []
    for artifact, entry in zip(artifacts, entries, strict=True):
        if entry.format != "onnx":
            continue
        model = artifact.path
        try:
            found = read_external_data(model)
            files = resolve_external_data(model, found.locations, model.parent, "the model's directory")
            data_entries = external_data_entries(files, entry)
        except PackageError as error:
            raise InputError(str(error)) from None
        sources = {data.package_path(): data.file for data in files}
        for data_entry in data_entries:
            source = sources[data_entry.path]
            if data_entry.path in claimed and claimed[data_entry.path] != source:
                raise InputError(
                    f"{model.name} keeps external data in {data_entry.path!r}, a name another file of the "
                    "package already has; rename one of them (re-export the model with another data file name)"
                )
            claimed[data_entry.path] = source
            side_files.append((data_entry, source))
    return side_files


def _entry_data(entry: ArtifactEntry) -> dict[str, Any]:
    return {key: value for key, value in attrs.asdict(entry).items() if value is not None}
