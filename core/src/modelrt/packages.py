"""Model packages: a directory with a manifest and artifacts, and the built-in local-directory source."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import attrs

from modelrt.backend import Artifact, DataFile
from modelrt.errors import PackageError, SecurityError
from modelrt.integrity import verify_file
from modelrt.manifest import MANIFEST_NAME, ArtifactEntry, Manifest, read_manifest

__all__ = ["LocalDirectorySource", "ModelPackage", "missing_checksum_reason"]


def missing_checksum_reason(entry: ArtifactEntry) -> str:
    """Why an artifact without a sha256 is refused, and the two ways out."""
    return (
        f"{entry.path} has no sha256 in the manifest, so it cannot be verified; re-create the package with "
        "`modelrt package` (it records every file's sha256), or load with verify=False if you trust the files"
    )


@attrs.frozen
class ModelPackage:
    """A manifest and the directory its artifact paths are relative to.

    ``source`` names the source that opened it and ``reference`` what the user passed, for plans and
    error messages.

    A remote source (the Hub) opens a package before its artifacts are on disk. ``fetch`` makes the
    given entries present under ``root`` (and checks them, unless told ``verify=False``); it is called
    by ``open_artifact``, so only the artifacts a plan actually loads are ever downloaded. ``store`` is
    a directory outside ``root`` that the package's files may be symlinks into: the huggingface-hub
    cache links each file of a snapshot to ``blobs/``. A path must still lie inside ``root`` as
    written, so no manifest path reaches another file of the store.

    .. versionadded:: 0.2 ``fetch`` and ``store``.
    """

    root: Path
    manifest: Manifest
    source: str = "local-directory"
    reference: str = ""
    fetch: Callable[[tuple[ArtifactEntry, ...], bool], None] | None = None
    store: Path | None = None

    def entries(self, role: str) -> tuple[ArtifactEntry, ...]:
        """Artifacts that can play ``role`` (alternative formats of the same network); side files excluded."""
        return tuple(entry for entry in self.manifest.artifacts if entry.role == role and not entry.is_data_file)

    def resolve_path(self, relative: str) -> Path:
        """Absolute path of a file of the package; ``SecurityError`` if it resolves outside the package."""
        root = self.root.resolve()
        try:
            candidate = (root / relative).resolve()
        # A symlink loop is a RuntimeError before Python 3.13 and an OSError from then on.
        except (OSError, RuntimeError) as error:
            raise PackageError(
                f"package {self.manifest.name!r}: cannot resolve path {relative!r} ({error}); fix the package's "
                "files or its manifest"
            ) from None
        if not candidate.is_relative_to(root) and not self._links_into_store(root, relative, candidate):
            raise SecurityError(
                f"package {self.manifest.name!r}: path {relative!r} resolves to {candidate}, outside "
                f"the package directory {root}; a package may only use its own files"
            )
        return candidate

    def open_artifact(self, entry: ArtifactEntry, *, verify: bool = True) -> Artifact:
        """Locate and verify an artifact and its side files (inside the package, size and sha256 as listed).

        With ``verify`` (the default) an artifact without a sha256 is a ``PackageError``: stripping the
        checksum from a manifest must not turn verification off. ``verify=False`` skips the checksums
        (never the confinement to the package).
        """
        if self.fetch is not None:
            self.fetch((entry, *self.manifest.data_files_of(entry)), verify)
        path = self._verified_path(entry, verify)
        data_files = tuple(
            DataFile(
                file=self._verified_path(data, verify),
                path=data.path,
                size=data.size if verify else None,
                sha256=data.sha256 if verify else None,
            )
            for data in self.manifest.data_files_of(entry)
        )
        if self.store is not None:
            # The link inside the package, not its blob: a runtime finds side files next to the model.
            path = self.root.resolve() / os.path.normpath(entry.path)
        return Artifact(
            role=entry.role,
            format=entry.format,
            file=path,
            package_root=(self.store or self.root).resolve(),
            precision=entry.precision,
            target=attrs.asdict(entry.target) if entry.target else None,
            size=entry.size if verify else None,
            sha256=entry.sha256 if verify else None,
            data_files=data_files,
            verified=verify,
        )

    def _links_into_store(self, root: Path, relative: str, candidate: Path) -> bool:
        """Whether ``relative``, written inside the package, is a link into the store (a Hub blob)."""
        if self.store is None:
            return False
        written = Path(os.path.normpath(root / relative))
        return written.is_relative_to(root) and candidate.is_relative_to(self.store.resolve())

    def _verified_path(self, entry: ArtifactEntry, verify: bool) -> Path:
        path = self.resolve_path(entry.path)
        what = f"{entry.path!r} ({entry.format}, role {entry.role!r})"
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise PackageError(
                f"package {self.manifest.name!r} lists {what} but {path} does not exist; restore it or fix the manifest"
            ) from None
        except OSError as error:
            raise PackageError(f"package {self.manifest.name!r}: cannot read {path}: {error.strerror}") from None
        if not stat.S_ISREG(mode):
            raise PackageError(
                f"package {self.manifest.name!r} lists {what} but {path} is {_file_kind(mode)}, not a regular "
                "file; put the artifact file there or fix the manifest"
            )
        if verify:
            if entry.sha256 is None:
                raise PackageError(f"package {self.manifest.name!r}: {missing_checksum_reason(entry)}")
            verify_file(path, entry.size, entry.sha256)
        return path


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


class LocalDirectorySource:
    """Opens a directory holding ``modelrt.json``."""

    def open(self, reference: str, offline: bool = False) -> ModelPackage:
        root = Path(reference).expanduser()
        if not (root / MANIFEST_NAME).is_file():
            raise PackageError(f"{root} has no {MANIFEST_NAME}; it is not a modelrt package")
        manifest_file = (root / MANIFEST_NAME).resolve()
        if not manifest_file.is_relative_to(root.resolve()):
            raise SecurityError(
                f"{root / MANIFEST_NAME} is a link to {manifest_file}, outside the package directory; a "
                "package may only use its own files. Copy the manifest into the package instead"
            )
        manifest = read_manifest(root)
        return ModelPackage(root=root, manifest=manifest, source="local-directory", reference=reference)
