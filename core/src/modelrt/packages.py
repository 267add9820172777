"""Model packages: a directory with a manifest and artifacts, and the built-in local-directory source."""

from __future__ import annotations

import logging
from pathlib import Path

import attrs

from modelrt.backend import Artifact
from modelrt.errors import PackageError, SecurityError
from modelrt.integrity import verify_file
from modelrt.manifest import MANIFEST_NAME, ArtifactEntry, Manifest, read_manifest

__all__ = ["LocalDirectorySource", "ModelPackage"]

logger = logging.getLogger("modelrt.packages")


@attrs.frozen
class ModelPackage:
    """A manifest and the directory its artifact paths are relative to.

    ``source`` names the source that opened it and ``reference`` what the user passed, for plans and
    error messages.
    """

    root: Path
    manifest: Manifest
    source: str = "local-directory"
    reference: str = ""

    def entries(self, role: str) -> tuple[ArtifactEntry, ...]:
        """Artifacts that can play ``role`` (alternative formats of the same network)."""
        return tuple(entry for entry in self.manifest.artifacts if entry.role == role)

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
        if not candidate.is_relative_to(root):
            raise SecurityError(
                f"package {self.manifest.name!r}: path {relative!r} resolves to {candidate}, outside "
                f"the package directory {root}; a package may only use its own files"
            )
        return candidate

    def open_artifact(self, entry: ArtifactEntry) -> Artifact:
        """Locate and verify an artifact (inside the package, size and sha256 as the manifest says)."""
        path = self.resolve_path(entry.path)
        if not path.is_file():
            raise PackageError(
                f"package {self.manifest.name!r} lists {entry.path!r} ({entry.format}, role "
                f"{entry.role!r}) but {path} does not exist; restore it or fix the manifest"
            )
        verify_file(path, entry.size, entry.sha256)
        return Artifact(
            role=entry.role,
            format=entry.format,
            file=path,
            package_root=self.root.resolve(),
            precision=entry.precision,
            target=attrs.asdict(entry.target) if entry.target else None,
        )


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
        for entry in manifest.artifacts:
            if entry.sha256 is None:
                logger.warning(
                    "%s: artifact %s has no sha256 in the manifest, so it cannot be verified",
                    root,
                    entry.path,
                )
        return ModelPackage(root=root, manifest=manifest, source="local-directory", reference=reference)
