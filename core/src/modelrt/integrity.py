"""Artifact verification: size and sha256 against the manifest, remembered per file identity.

A file is hashed again whenever its path, size, mtime, inode or ctime change, so an artifact edited in
place (or served stale from a cache) is caught, while a file used twice in one process is hashed once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from modelrt.errors import IntegrityError, PackageError

__all__ = ["sha256_of", "verify_file"]

_CHUNK = 1 << 20
_verified: set[tuple[str, int, int, int, int, str]] = set()
_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, size: int | None, sha256: str | None) -> None:
    """Raise ``IntegrityError`` unless ``path`` has the expected size and sha256 (when given)."""
    try:
        stat = path.stat()
    except OSError as error:
        raise PackageError(f"cannot read artifact {path}: {error.strerror}") from None
    if size is not None and stat.st_size != size:
        raise IntegrityError(
            f"{path} is {stat.st_size} bytes but its manifest says {size}: the file is truncated or "
            "was replaced. Restore the original file or re-create the package with `modelrt package`."
        )
    if sha256 is None:
        return
    identity = (os.fspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns, sha256.lower())
    with _lock:
        if identity in _verified:
            return
    try:
        actual = sha256_of(path)
    except OSError as error:
        raise PackageError(f"cannot read artifact {path}: {error.strerror or error}") from None
    if actual != sha256.lower():
        raise IntegrityError(
            f"{path} has sha256 {actual} but its manifest says {sha256}: the file is corrupt or was "
            "replaced. Restore the original file or re-create the package with `modelrt package`."
        )
    with _lock:
        _verified.add(identity)
