"""What the Hub said each file is, recorded when it is downloaded and checked every time it is used.

The Hub names every file by its ETag: the sha256 of its content for files kept with Git LFS (the LFS
oid: model weights), the git blob sha1 for small files kept in git (JSON configs, ``modelrt.json``).
huggingface-hub names each cached blob after that ETag but never reads a cached file again to check it:
a file edited or replaced in its cache is served as it is, offline too. So the Hub source records the
ETag and size of each file it takes from the Hub in the modelrt cache (kind ``hub``, one entry per
repository commit) and checks the file's content against that record before every use. A file not
recorded yet (fetched by another tool, or while the modelrt cache could not be written) is checked
against the ETag its blob is named after, and recorded then.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import attrs

from modelrt.cache import CacheEntry, CacheProblem, list_entries, read_text
from modelrt.errors import IntegrityError, PackageError
from modelrt.hub.settings import hf_cache_dir, repo_folder_name
from modelrt.integrity import verify_file

__all__ = [
    "PINS_KIND",
    "Pin",
    "check_bytes",
    "check_file",
    "check_recorded_files",
    "load_pins",
    "pin_from_blob",
    "pins_key",
    "save_pins",
]

PINS_KIND = "hub"
PINS_FILE = "files.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_SHA1 = re.compile(r"[0-9a-f]{40}")
_CHUNK = 1 << 20


@attrs.frozen
class Pin:
    """A file's identity on the Hub: its ETag (LFS sha256 or git blob sha1) and, once seen, its size."""

    etag: str
    size: int | None = None

    @property
    def is_sha256(self) -> bool:
        return bool(_SHA256.fullmatch(self.etag))


def pins_key(repo_id: str, commit: str) -> str:
    """The cache key of one repository commit's record."""
    return f"{repo_folder_name(repo_id)}@{commit}"


def pin_from_blob(pointer: Path) -> Pin | None:
    """The ETag huggingface-hub named ``pointer``'s blob after; ``None`` where it keeps no such name."""
    if not pointer.is_symlink():
        return None
    name = Path(pointer.readlink()).name
    return Pin(name) if _SHA256.fullmatch(name) or _GIT_SHA1.fullmatch(name) else None


def check_file(path: Path, pin: Pin, what: str) -> None:
    """Raise ``IntegrityError`` unless the file at ``path`` is the one the Hub served as ``pin``."""
    if pin.is_sha256:
        try:
            verify_file(path, pin.size, pin.etag)
        except IntegrityError as error:
            raise IntegrityError(_mismatch_message(what, path, str(error))) from None
        return
    _check_git_sha1(path, pin, what, _git_blob_sha1_of_file(path))


def check_bytes(data: bytes, pin: Pin, what: str, path: Path) -> None:
    """Raise ``IntegrityError`` unless ``data`` (read from ``path``) is the content the Hub served as ``pin``."""
    if pin.size is not None and len(data) != pin.size:
        raise IntegrityError(_mismatch_message(what, path, f"{len(data)} bytes, {pin.size} recorded"))
    if pin.is_sha256:
        digest = hashlib.sha256(data).hexdigest()
        if digest != pin.etag:
            raise IntegrityError(_mismatch_message(what, path, f"sha256 {digest}, the Hub's is {pin.etag}"))
        return
    _check_git_sha1(path, pin, what, _git_blob_sha1(data))


def load_pins(repo_id: str, commit: str) -> dict[str, Pin]:
    """The recorded pins of one commit, by path in the repository (empty when none are recorded)."""
    text = read_text(PINS_KIND, pins_key(repo_id, commit), PINS_FILE)
    if text is None:
        return {}
    files = json.loads(text).get("files", {})
    return {path: Pin(str(record["etag"]), record.get("size")) for path, record in files.items()}


def save_pins(entry: CacheEntry, repo_id: str, commit: str, pins: dict[str, Pin]) -> None:
    """Add ``pins`` to the commit's record (call with its entry open, so no concurrent update is lost)."""
    text = entry.read_text(PINS_FILE)
    files = json.loads(text).get("files", {}) if text else {}
    files.update({path: attrs.asdict(pin) for path, pin in pins.items()})
    record = {"repo": repo_id, "commit": commit, "files": dict(sorted(files.items()))}
    entry.write_text(PINS_FILE, json.dumps(record, indent=1) + "\n")


def check_recorded_files() -> list[CacheProblem]:
    """Check every recorded file that is still in the huggingface-hub cache against its record.

    Files the huggingface-hub cache no longer holds (``hf cache delete``) are not problems: a load
    downloads them again.
    """
    problems = []
    for info in list_entries():
        if info.kind != PINS_KIND:
            continue
        repo_folder, _, commit = info.key.rpartition("@")
        snapshot = hf_cache_dir() / repo_folder / "snapshots" / commit
        try:
            text = read_text(PINS_KIND, info.key, PINS_FILE)
        except IntegrityError as error:
            problems.append(CacheProblem(info.kind, info.key, PINS_FILE, str(error)))
            continue
        for path, record in (json.loads(text).get("files", {}) if text else {}).items():
            file = snapshot / path
            if not file.exists():
                continue
            try:
                check_file(file, Pin(str(record["etag"]), record.get("size")), repr(path))
            except PackageError as error:
                problems.append(CacheProblem(info.kind, info.key, path, str(error)))
    return problems


def _check_git_sha1(path: Path, pin: Pin, what: str, actual: str) -> None:
    if not _GIT_SHA1.fullmatch(pin.etag):
        raise PackageError(
            f"{what}: the Hub named it {pin.etag!r}, which is neither a sha256 nor a git blob id, so it cannot "
            "be verified. Is HF_ENDPOINT a Hugging Face Hub or a faithful mirror of one?"
        )
    if actual != pin.etag:
        raise IntegrityError(_mismatch_message(what, path, f"git blob id {actual}, the Hub's is {pin.etag}"))


def _mismatch_message(what: str, path: Path, detail: str) -> str:
    return f"{what} at {path} is not the file the Hub served ({detail}): it was damaged or changed after the download"


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _git_blob_sha1_of_file(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size, usedforsecurity=False)
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as error:
        raise PackageError(f"cannot read {path}: {error.strerror or error}") from None
    return digest.hexdigest()
