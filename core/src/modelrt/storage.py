"""Atomic file publication: temp file in the same directory, fsync, rename, fsync the directory.

A process killed at any point leaves either the old file or the complete new one, never a partial file
that a later run would take as valid. Disk errors become ``StorageError`` with the path and the fix.
``publish`` is the last step for writers that fill their temporary file themselves (an encoder, a video
writer), including the variant that never replaces a file already there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from modelrt.errors import StorageError

__all__ = ["atomic_copy", "atomic_write_bytes", "atomic_write_text", "publish", "storage_errors"]


@contextlib.contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    """Turn OS errors while writing ``path`` into a ``StorageError`` that says what to do."""
    try:
        yield
    except StorageError:
        raise
    except OSError as error:
        hint = {
            28: "free some disk space",  # ENOSPC
            13: "choose a directory you can write to",  # EACCES
            30: "the file system is read-only; choose another directory",  # EROFS
        }.get(error.errno or 0, "check the directory")
        raise StorageError(error.errno or 0, f"cannot write {path}: {error.strerror or error}; {hint}") from error


def _fsync_directory(directory: Path) -> None:
    if os.name == "nt":  # Windows cannot open a directory for fsync
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, path: Path, *, replace: bool = True) -> None:
    """Give the finished file ``temp`` (in ``path``'s directory) the name ``path``, synced to disk first.

    With ``replace=False`` a name already taken raises ``FileExistsError`` and ``temp`` is left for the
    caller to remove: a hard link takes the name in one step without replacing anything, and where the
    file system has no hard links, the name is checked just before the rename.
    """
    with temp.open("rb+") as handle:
        os.fsync(handle.fileno())
    if replace:
        os.replace(temp, path)
    else:
        _take_free_name(temp, path)
    _fsync_directory(path.parent)


def _take_free_name(temp: Path, path: Path) -> None:
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        os.replace(temp, path)
    else:
        temp.unlink()


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    directory = path.parent
    with storage_errors(path):
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        os.close(fd)
        temp = Path(temp_name)
        try:
            yield temp
            publish(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with _atomic_target(path) as temp:
        temp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with _atomic_target(path) as temp:
        temp.write_bytes(data)


def atomic_copy(source: Path, destination: Path) -> None:
    """Copy ``source`` to ``destination`` atomically."""
    with _atomic_target(destination) as temp, source.open("rb") as reader, temp.open("wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
