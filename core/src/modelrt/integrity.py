"""Artifact verification: size and sha256 against the manifest.

Two ways to verify, for two kinds of consumer:

- ``read_verified`` reads a file once, checks what it read and returns exactly those bytes. A backend
  whose runtime accepts bytes or a file object uses it, so the bytes verified are the bytes loaded: a
  file swapped after the check is never what runs. Bytes of a file that ``verify_file`` hashed already
  are not hashed again when the open file kept that identity from before the read to after it.
- ``verify_file`` checks a file by path, for runtimes that insist on opening the path themselves. A
  success is remembered per file identity (path, size, mtime, inode, ctime), so a file used twice in one
  process is hashed once, while a file edited in place or swapped for another is hashed again.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

from modelrt.errors import IntegrityError, PackageError

__all__ = ["read_verified", "sha256_of", "verify_file"]

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
        status = path.stat()
    except OSError as error:
        raise PackageError(f"cannot read artifact {path}: {error.strerror}") from None
    _check_size(path, status.st_size, size)
    if sha256 is None:
        return
    identity = _identity(path, status, sha256)
    with _lock:
        if identity in _verified:
            return
    try:
        actual = sha256_of(path)
    except OSError as error:
        raise PackageError(f"cannot read artifact {path}: {error.strerror or error}") from None
    _check_digest(path, actual, sha256)
    with _lock:
        _verified.add(identity)


def read_verified(path: Path, size: int | None, sha256: str | None) -> bytes:
    """The whole content of ``path``, read once and checked against ``size`` and ``sha256``.

    ``sha256=None`` means the caller chose not to verify (``load(..., verify=False)``): the bytes are
    returned as read. Reading goes through one open descriptor, so a rename or a replacement of the
    file during the read cannot mix two files.
    """
    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise PackageError(f"artifact {path} is not a regular file")
            _check_size(path, status.st_size, size)
            data = handle.read()
            after = os.fstat(handle.fileno())
    except OSError as error:
        raise PackageError(f"cannot read artifact {path}: {error.strerror or error}") from None
    _check_size(path, len(data), size)  # the file changed size while it was read
    if sha256 is None:
        return data
    identity = _identity(path, status, sha256)
    with _lock:
        verified = identity in _verified
    # Hashed already (``verify_file`` at planning) and unchanged: the file read has the identity that was
    # hashed (inode, size, mtime, ctime) before the read and after it, so these are the bytes hashed.
    if verified and _identity(path, after, sha256) == identity:
        return data
    _check_digest(path, hashlib.sha256(data).hexdigest(), sha256)
    with _lock:
        _verified.add(identity)
    return data


def _identity(path: Path, status: os.stat_result, sha256: str) -> tuple[str, int, int, int, int, str]:
    return (os.fspath(path), status.st_size, status.st_mtime_ns, status.st_ino, status.st_ctime_ns, sha256.lower())


def _check_size(path: Path, actual: int, expected: int | None) -> None:
    if expected is not None and actual != expected:
        raise IntegrityError(
            f"{path} is {actual} bytes but its manifest says {expected}: the file is truncated or "
            "was replaced. Restore the original file or re-create the package with `modelrt package`."
        )


def _check_digest(path: Path, actual: str, expected: str) -> None:
    if actual != expected.lower():
        raise IntegrityError(
            f"{path} has sha256 {actual} but its manifest says {expected}: the file is corrupt or was "
            "replaced. Restore the original file or re-create the package with `modelrt package`."
        )
