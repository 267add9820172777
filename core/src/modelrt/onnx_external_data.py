"""The files an ONNX model reads besides itself (external data), found and checked before a runtime sees them.

An ONNX tensor may keep its bytes in another file, named by a ``location`` relative to the model. A
hostile model uses that name to make a runtime read what it should not: ``../`` or an absolute path, a
symlink leaving the package, bytes that are not UTF-8 (checked as one path, opened as another), a NUL
(the C runtime stops the name there), or onnxruntime's in-memory marker ``*/_ORT_MEM_ADDR_/*`` (which
makes the offset a memory address). Each is refused here, before anything is read: for a load, against
the package directory; for ``modelrt package``, against the model's own directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath

import attrs

from modelrt.errors import PackageError, SecurityError
from modelrt.integrity import sha256_of
from modelrt.manifest import ArtifactEntry
from modelrt.onnx_proto import ExternalData, LocationNotUtf8Error, OnnxFormatError, external_data

__all__ = [
    "MEMORY_ADDRESS_MARKER",
    "ExternalDataFile",
    "external_data_entries",
    "pinned_external_data",
    "read_external_data",
    "resolve_external_data",
]

#: onnxruntime's location for "the offset is an address in this process" (ORT format models use it).
MEMORY_ADDRESS_MARKER = "*/_ORT_MEM_ADDR_/*"


@attrs.frozen
class ExternalDataFile:
    """One external-data file: the ``location`` as the model writes it, and the ``file`` it resolves to."""

    location: str
    file: Path

    def package_path(self) -> str:
        """Where the file goes in a package whose root holds the model: the location, normalised."""
        return Path(os.path.normpath(self.location)).as_posix()


def read_external_data(model_file: Path, content: bytes | None = None) -> ExternalData:
    """The external data ``content`` (default: the file itself) refers to, problems as modelrt errors.

    :raises SecurityError: a location that is not UTF-8.
    :raises PackageError: bytes that are not an ONNX model, or an unreadable file.
    """
    try:
        return external_data(model_file if content is None else content)
    except LocationNotUtf8Error as error:
        raise SecurityError(
            f"{model_file} names external data at {error.raw!r}, which is not UTF-8 text: a runtime would open "
            "these bytes as a file name that cannot be checked. Re-export the model with UTF-8 relative paths."
        ) from None
    except OnnxFormatError as error:
        raise PackageError(
            f"{model_file} is not a valid ONNX model ({error}); the file is corrupt or truncated. Download or "
            "export it again."
        ) from None
    except OSError as error:
        raise PackageError(f"cannot read ONNX model {model_file}: {error.strerror or error}") from None


def resolve_external_data(
    model_file: Path, locations: Iterable[str], boundary: Path, boundary_name: str = "the package directory"
) -> tuple[ExternalDataFile, ...]:
    """Each location as the regular file it names, which must lie inside ``boundary`` (symlinks followed).

    :raises SecurityError: an empty, absolute, NUL-holding or in-memory location, or one leaving ``boundary``.
    :raises PackageError: a location naming no regular file.
    """
    root = boundary.resolve()
    return tuple(_resolve(model_file, location, root, boundary_name) for location in locations)


def external_data_entries(files: Iterable[ExternalDataFile], user: ArtifactEntry) -> tuple[ArtifactEntry, ...]:
    """Manifest entries for the external data of artifact ``user``, pinned to the content seen now.

    Locations that name one path twice (``w.bin`` and ``./w.bin``) give one entry.
    """
    entries: dict[str, ArtifactEntry] = {}
    for data in files:
        path = data.package_path()
        if path in entries:
            continue
        if path == ".." or path.startswith("../"):
            raise SecurityError(
                f"{user.path} names external data {data.location!r}, which climbs out of the model's directory; "
                "a package keeps a model's external data beside it. Re-export the model with a plain relative path."
            )
        entries[path] = ArtifactEntry(
            role=user.role,
            format="external-data",
            path=path,
            size=data.file.stat().st_size,
            sha256=sha256_of(data.file),
            used_by=user.path,
        )
    return tuple(entries.values())


def _resolve(model_file: Path, location: str, root: Path, boundary_name: str) -> ExternalDataFile:
    if not location or PurePosixPath(location).anchor or PureWindowsPath(location).anchor:
        raise SecurityError(
            f"{model_file} names external data at {location!r}, an absolute or empty path; ONNX external data "
            "must be a path relative to the model. Re-export the model with relative external data."
        )
    if "\x00" in location or location == MEMORY_ADDRESS_MARKER:
        raise SecurityError(
            f"{model_file} names external data at {location!r}, which is not a file name (a NUL character, or "
            "onnxruntime's in-memory address marker); a model file cannot ask for that. Re-export the model."
        )
    try:  # a runtime resolves a location against the directory of the model
        target = (model_file.absolute().parent / location).resolve()
    # A symlink loop is a RuntimeError before Python 3.13 and an OSError from then on.
    except (OSError, RuntimeError) as error:
        raise PackageError(f"{model_file}: cannot resolve external data {location!r} ({error})") from None
    if not target.is_relative_to(root):
        raise SecurityError(
            f"{model_file} names external data {location!r}, which resolves to {target}, outside {boundary_name} "
            f"{root}; a model may only read files inside it"
        )
    try:
        mode = target.stat().st_mode
    except OSError:
        mode = 0
    if not stat.S_ISREG(mode):
        raise PackageError(
            f"{model_file} keeps weights in {location!r}, but {target} does not exist or is not a regular file; "
            "copy that file next to the model"
        )
    return ExternalDataFile(location=location, file=target)


def pinned_external_data(model_file: Path, user: ArtifactEntry) -> tuple[ArtifactEntry, ...]:
    """Entries for the external data of ONNX ``model_file`` (the file of ``user``), which must lie beside it.

    For sources that build a manifest for a model where it lies: each file is pinned to the content
    seen now, so a load verifies these bytes and refuses any other file the model names.
    """
    found = read_external_data(model_file)
    files = resolve_external_data(model_file, found.locations, model_file.parent, "the model's directory")
    return external_data_entries(files, user)
