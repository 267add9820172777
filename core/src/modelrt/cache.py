"""The modelrt cache: files modelrt derives from models, kept between runs.

``MODELRT_CACHE`` names it; by default it is the user cache directory: ``$XDG_CACHE_HOME/modelrt`` (or
``~/.cache/modelrt``) on Linux, ``~/Library/Caches/modelrt`` on macOS, ``%LOCALAPPDATA%\\modelrt\\Cache``
on Windows. It holds derived files only (what the Hub source recorded about the files it downloaded;
later converted packages, TensorRT engines, ONNX Runtime optimised models), never the models themselves:
those stay in the huggingface-hub cache or wherever the user keeps them.

One entry is the directory ``<cache>/<kind>/<key>/``: its files, and ``checksums.json`` holding the size
and sha256 of each, so ``modelrt cache verify`` tells a damaged file from a good one and a reader never
takes a damaged file for valid. Entries are written inside ``open_entry``, which holds the entry's file
lock (``<cache>/.locks/<kind>/<key>.lock``, released by the OS if its holder dies), so processes that
fill one key at the same time build or download it once. Each file is published atomically (temporary
file in the same directory, fsync, rename, fsync of the directory): a writer killed at any point leaves
the old file or the new one, never a part. A cache that cannot be written (read-only, full) is a
``StorageError`` naming the directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

from modelrt.errors import IntegrityError, StorageError
from modelrt.storage import atomic_write_bytes, atomic_write_text

__all__ = [
    "CACHE_ENV",
    "CacheEntry",
    "CacheProblem",
    "EntryInfo",
    "cache_root",
    "clear_entries",
    "list_entries",
    "open_entry",
    "read_bytes",
    "read_text",
    "verify_entries",
]

CACHE_ENV = "MODELRT_CACHE"
CHECKSUMS_NAME = "checksums.json"
LOCKS_DIR = ".locks"
#: How long a process waits for another that builds the same entry (a large download, an engine build).
LOCK_TIMEOUT_S = 1800.0
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}")
_ERRNO_HINTS = {28: "free some disk space", 13: "fix its permissions", 30: "the file system is read-only"}


def cache_root() -> Path:
    """The cache directory: ``MODELRT_CACHE``, else the user cache directory's ``modelrt``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "modelrt"
    if os.name == "nt":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / "modelrt" / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # XDG: a relative value is ignored
    return base / "modelrt"


@attrs.frozen
class EntryInfo:
    """One cache entry: where it is, how many bytes and files it holds, when it was last written or read."""

    kind: str
    key: str
    path: Path
    size: int
    files: int
    last_used: float


@attrs.frozen
class CacheProblem:
    """A file of the cache that cannot be trusted, and why."""

    kind: str
    key: str
    file: str
    reason: str


class CacheEntry:
    """An entry opened with ``open_entry``: its lock is held until the ``with`` block ends."""

    def __init__(self, kind: str, key: str, directory: Path) -> None:
        self.kind = kind
        self.key = key
        self.directory = directory

    def read_text(self, name: str) -> str | None:
        """The file's text, checked against its recorded checksum; ``None`` when the entry has no such file."""
        return read_text(self.kind, self.key, name)

    def read_bytes(self, name: str) -> bytes | None:
        """The file's bytes, checked against its recorded checksum; ``None`` when the entry has no such file."""
        return read_bytes(self.kind, self.key, name)

    def write_text(self, name: str, text: str) -> Path:
        """Publish ``name`` atomically and record its checksum; ``StorageError`` if the cache cannot be written."""
        return self.write_bytes(name, text.encode("utf-8"))

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Publish ``name`` atomically and record its checksum; ``StorageError`` if the cache cannot be written.

        The file is published before its checksum, so a writer killed in between leaves a file without a
        matching record, which readers refuse and ``modelrt cache verify`` reports.
        """
        _check_segment(name, "file name")
        path = self.directory / name
        records = _read_checksums(self.directory, self.kind, self.key)
        records[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        with _cache_errors():
            atomic_write_bytes(path, data)
            atomic_write_text(self.directory / CHECKSUMS_NAME, json.dumps({"files": records}, indent=1) + "\n")
        return path


@contextlib.contextmanager
def open_entry(kind: str, key: str, *, timeout: float = LOCK_TIMEOUT_S) -> Iterator[CacheEntry]:
    """Hold the lock of entry ``kind``/``key`` for the block: check for the entry, and build it if absent.

    :raises StorageError: the cache directory cannot be created or written, or another process held the
        lock for longer than ``timeout`` seconds.
    """
    from filelock import FileLock, Timeout

    _check_segment(kind, "cache kind")
    _check_segment(key, "cache key")
    root = cache_root()
    lock_file = root / LOCKS_DIR / kind / f"{key}.lock"
    with _cache_errors():
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_file), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise StorageError(
                0,
                f"another process has held the modelrt cache lock {lock_file} for over {timeout:.0f} s; if no "
                "modelrt process is running, delete that file",
            ) from None
    try:
        yield CacheEntry(kind, key, root / kind / key)
    finally:
        lock.release()


def read_text(kind: str, key: str, name: str) -> str | None:
    """The text of an entry's file, verified, without taking the lock; see ``read_bytes``."""
    data = read_bytes(kind, key, name)
    return None if data is None else data.decode("utf-8")


def read_bytes(kind: str, key: str, name: str) -> bytes | None:
    """The bytes of an entry's file, verified, without taking the lock (files are replaced atomically).

    Reading marks the entry as used (``clear --older-than`` keeps it); that mark is best-effort, so a
    read-only cache still serves its files.

    :return: ``None`` when the entry or the file does not exist.
    :raises IntegrityError: the file does not match its recorded size and sha256.
    """
    directory = cache_root() / kind / key
    path = directory / name
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise StorageError(error.errno or 0, f"cannot read the modelrt cache file {path}: {error.strerror}") from None
    record = _read_checksums(directory, kind, key).get(name)
    problem = _mismatch(record, len(data), hashlib.sha256(data).hexdigest())
    if problem:
        raise IntegrityError(
            f"the modelrt cache file {path} {problem}: it was damaged or edited. Run `modelrt cache verify` to "
            f"see every such file and `modelrt cache clear` to remove them (they are rebuilt when needed)."
        )
    with contextlib.suppress(OSError):
        os.utime(directory / CHECKSUMS_NAME)
    return data


def list_entries() -> list[EntryInfo]:
    """Every entry of the cache, by kind and key."""
    entries = []
    for kind, key, directory in _entry_dirs():
        files = [path for path in directory.iterdir() if path.is_file()]
        statuses = [path.stat() for path in files]
        entries.append(
            EntryInfo(
                kind=kind,
                key=key,
                path=directory,
                size=sum(status.st_size for status in statuses),
                files=sum(1 for path in files if path.name != CHECKSUMS_NAME),
                last_used=max((status.st_mtime for status in statuses), default=directory.stat().st_mtime),
            )
        )
    return entries


def verify_entries() -> list[CacheProblem]:
    """Check every file of every entry against its recorded size and sha256; what fails, and why."""
    problems = []
    for kind, key, directory in _entry_dirs():
        try:
            records = _read_checksums(directory, kind, key)
        except IntegrityError as error:
            problems.append(CacheProblem(kind, key, CHECKSUMS_NAME, str(error)))
            continue
        for path in sorted(directory.iterdir()):
            name = path.name
            if name == CHECKSUMS_NAME:
                continue
            if name.startswith(".") and name.endswith(".tmp"):
                problems.append(CacheProblem(kind, key, name, "an unfinished write (its writer was interrupted)"))
            elif name not in records:
                problems.append(CacheProblem(kind, key, name, "no checksum recorded for it"))
            else:
                data = path.read_bytes()
                problem = _mismatch(records[name], len(data), hashlib.sha256(data).hexdigest())
                if problem:
                    problems.append(CacheProblem(kind, key, name, problem))
        present = {path.name for path in directory.iterdir()}
        problems.extend(
            CacheProblem(kind, key, name, "recorded but missing") for name in records if name not in present
        )
    return problems


def clear_entries(older_than_s: float | None = None) -> tuple[list[EntryInfo], list[EntryInfo]]:
    """Remove entries (all, or those unused for more than ``older_than_s`` seconds).

    An entry whose lock another process holds (it is being written) is left alone.

    :return: the entries removed, and those skipped because they were in use.
    """
    from filelock import FileLock, Timeout

    now = time.time()
    removed, busy = [], []
    for info in list_entries():
        if older_than_s is not None and now - info.last_used <= older_than_s:
            continue
        lock = FileLock(str(cache_root() / LOCKS_DIR / info.kind / f"{info.key}.lock"), timeout=0)
        try:
            with _cache_errors(), lock:
                shutil.rmtree(info.path)
        except Timeout:
            busy.append(info)
            continue
        removed.append(info)
    return removed, busy


def _entry_dirs() -> Iterator[tuple[str, str, Path]]:
    root = cache_root()
    if not root.is_dir():
        return
    for kind_dir in sorted(root.iterdir()):
        if kind_dir.name == LOCKS_DIR or not kind_dir.is_dir():
            continue
        for entry_dir in sorted(kind_dir.iterdir()):
            if entry_dir.is_dir():
                yield kind_dir.name, entry_dir.name, entry_dir


def _read_checksums(directory: Path, kind: str, key: str) -> dict[str, dict[str, object]]:
    path = directory / CHECKSUMS_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise IntegrityError(
            f"the modelrt cache entry {kind}/{key} has an unreadable {CHECKSUMS_NAME} ({error}); remove the entry "
            "with `modelrt cache clear`"
        ) from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise IntegrityError(
            f"the modelrt cache entry {kind}/{key} has a malformed {CHECKSUMS_NAME}; remove the entry with "
            "`modelrt cache clear`"
        )
    return files


def _mismatch(record: dict[str, object] | None, size: int, sha256: str) -> str | None:
    if record is None:
        return "has no recorded checksum"
    if record.get("size") != size:
        return f"is {size} bytes but {record.get('size')} were recorded"
    if record.get("sha256") != sha256:
        return f"has sha256 {sha256} but {record.get('sha256')} was recorded"
    return None


def _check_segment(value: str, what: str) -> None:
    if not _SEGMENT.fullmatch(value) or ".." in value:
        raise ValueError(f"{what} {value!r} must be one plain file name (letters, digits, . _ @ + -)")


@contextlib.contextmanager
def _cache_errors() -> Iterator[None]:
    """Any failure to write the cache as a ``StorageError`` that names the cache and how to get past it."""
    try:
        yield
    except StorageError as error:
        raise StorageError(error.errno or 0, _unwritable_message(str(error))) from error
    except OSError as error:
        if type(error).__module__.startswith("filelock"):  # filelock's Timeout is an OSError too
            raise
        reason = f"{error.strerror or error}; {_ERRNO_HINTS.get(error.errno or 0, 'check the directory')}"
        raise StorageError(error.errno or 0, _unwritable_message(reason)) from error


def _unwritable_message(reason: str) -> str:
    return f"the modelrt cache {cache_root()} cannot be written ({reason}), or set {CACHE_ENV} to a writable directory"
