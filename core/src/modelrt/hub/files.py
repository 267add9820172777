"""The files of one Hub model at one commit: fetched when first needed, checked every time they are used.

The first file a load asks for is looked up at the revision the user named (a branch moves, so online
the Hub is asked where it points now); the commit it comes from then pins every other file, so a
model is never assembled from two commits. Each file is checked before use, offline too: against the
manifest's size and sha256 when the manifest lists it, otherwise against what the Hub said the file is
(``pins``). A file that fails its check is downloaded once more when online, and refused if it fails
again; offline it is refused. Downloads run under the commit's lock in the modelrt cache, so processes
that load one cold model together download it once; when that cache cannot be written, loads go on
without the lock and the record (huggingface-hub's own per-file lock still prevents double downloads).
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import Iterator
from pathlib import Path

from modelrt.cache import CacheEntry, cache_root, open_entry
from modelrt.errors import IntegrityError, NotCachedError, PackageError, SecurityError, StorageError
from modelrt.hub.client import HubClient, IncompleteDownload
from modelrt.hub.pins import PINS_KIND, Pin, check_file, load_pins, pin_from_blob, pins_key, save_pins
from modelrt.hub.reference import HubReference
from modelrt.integrity import verify_file

__all__ = ["Expected", "HubFiles", "locate_commit", "pull_command"]

logger = logging.getLogger("modelrt.hub")
_warned_unwritable: set[Path] = set()

#: A manifest's size and sha256 for a file, when it lists one.
Expected = tuple[int | None, str]


def pull_command(reference: HubReference) -> str:
    """The ``modelrt pull`` command that caches ``reference`` for offline use."""
    revision = f" --revision {reference.revision}" if "/" in reference.revision else ""
    return f"modelrt pull {reference}{revision}"


def locate_commit(client: HubClient, reference: HubReference, path: str, offline: bool) -> str:
    """The commit that ``path`` (inside the subfolder) comes from at the revision asked for.

    Online the Hub is asked (a branch may have moved); offline the revision is looked up in the
    huggingface-hub cache. A file the repository lacks is ``HubFileMissing``.
    """
    repo_path = reference.repo_path(path)
    if not offline:
        return client.commit_of(client.download(repo_path, reference.revision))
    pointer = client.cached(repo_path, reference.revision)
    if pointer is None:
        raise NotCachedError(
            f"{reference} is not cached: {repo_path!r} at revision {reference.revision!r} is not in the "
            f"huggingface-hub cache {client.cache_dir}, and offline mode is on (offline=True, HF_HUB_OFFLINE or "
            f"MODELRT_OFFLINE). Fetch it while online with `{pull_command(reference)}`"
        )
    return client.commit_of(pointer)


class HubFiles:
    """The files of ``reference`` at ``commit``, each made present and checked by ``ensure``."""

    def __init__(self, client: HubClient, reference: HubReference, commit: str, offline: bool) -> None:
        self.client = client
        self.reference = reference
        self.commit = commit
        self.offline = offline
        snapshot = client.storage_folder / "snapshots" / commit
        self.root = snapshot / reference.subfolder if reference.subfolder else snapshot
        try:
            self._pins = load_pins(reference.repo_id, commit)
        except StorageError as error:
            self._warn_unwritable(error)
            self._pins = {}

    def repo_path(self, relative: str) -> str:
        """The repository path of ``relative`` (a path inside the model's folder); ``SecurityError`` if it leaves it."""
        normalised = posixpath.normpath(relative)
        if "\\" in relative or posixpath.isabs(normalised) or normalised == ".." or normalised.startswith("../"):
            raise SecurityError(
                f"{self.reference} names the file {relative!r}, which lies outside the model's folder of the "
                "repository; a model may only use its own files"
            )
        return self.reference.repo_path(normalised)

    def pin(self, relative: str, pointer: Path) -> Pin | None:
        """What the Hub said file ``relative`` is: modelrt's record of it, else huggingface-hub's blob name."""
        return self._pins.get(self.repo_path(relative)) or pin_from_blob(pointer)

    def ensure(self, relative: str, expected: Expected | None = None, *, verify: bool = True) -> Path:
        """The cached file ``relative``, downloaded if needed and checked (``expected``: the manifest's size
        and sha256; otherwise the Hub's pin). ``verify=False`` only makes it present."""
        repo_path = self.repo_path(relative)
        pointer = self._present(repo_path)
        if not verify:
            return pointer
        try:
            self._check(repo_path, pointer, expected)
        except IntegrityError as error:
            if self.offline:
                raise IntegrityError(
                    f"{error}. Offline it cannot be downloaded again: go online and load it again (a damaged "
                    f"file is replaced), or run `{pull_command(self.reference)}`"
                ) from None
            logger.warning("%s; downloading it again", error)
            pointer = self._download(repo_path, force=True)
            try:
                self._check(repo_path, pointer, expected)
            except IntegrityError as again:
                raise IntegrityError(
                    f"{again}. It was downloaded again and still does not match, so the Hub's copy of {repo_path!r} "
                    f"differs from what {'the manifest' if expected else 'the Hub'} says: the repository is "
                    "broken or was tampered with; tell its owners"
                ) from None
        return pointer

    def _present(self, repo_path: str) -> Path:
        pointer = self.client.cached(repo_path, self.commit)
        if pointer is not None:
            return pointer
        if self.offline:
            raise NotCachedError(
                f"{self.reference} is not completely cached: {repo_path!r} (commit {self.commit[:12]}) is not in "
                f"the huggingface-hub cache {self.client.cache_dir}, and offline mode is on. Fetch it while "
                f"online with `{pull_command(self.reference)}`"
            )
        return self._download(repo_path)

    def _download(self, repo_path: str, *, force: bool = False) -> Path:
        with self._locked() as entry:
            if not force and (pointer := self.client.cached(repo_path, self.commit)) is not None:
                return pointer  # another process downloaded it while this one waited for the lock
            try:
                pointer = self.client.download(repo_path, self.commit, force=force)
            except IncompleteDownload as error:
                logger.warning("%s; downloading it again", error)
                try:
                    pointer = self.client.download(repo_path, self.commit, force=True)
                except IncompleteDownload as again:
                    raise PackageError(f"{again}. Two downloads of {repo_path!r} failed; try again later") from None
            if entry is not None and (pin := pin_from_blob(pointer)) is not None:
                self._record(entry, repo_path, pin, pointer)
        return pointer

    def _check(self, repo_path: str, pointer: Path, expected: Expected | None) -> None:
        what = f"{repo_path!r} of {self.reference} (commit {self.commit[:12]})"
        if expected is not None:
            try:
                verify_file(pointer, expected[0], expected[1])
            except IntegrityError:
                raise IntegrityError(
                    f"{what} at {pointer} is not the file its manifest lists ({expected[0]} bytes, sha256 "
                    f"{expected[1]}): it was damaged or changed after the download"
                ) from None
            return
        recorded = self._pins.get(repo_path)
        if recorded is not None:
            check_file(pointer, recorded, what)
            return
        pin = pin_from_blob(pointer)
        if pin is None:
            raise PackageError(
                f"{what} cannot be verified: modelrt has no record of it and huggingface-hub kept no ETag for it "
                "(its cache needs symlinks for that). Load it once while online so modelrt records it"
            )
        check_file(pointer, pin, what)
        with self._locked() as entry:
            if entry is not None:
                self._record(entry, repo_path, pin, pointer)

    def _record(self, entry: CacheEntry, repo_path: str, pin: Pin, pointer: Path) -> None:
        pinned = Pin(pin.etag, pointer.stat().st_size)
        try:
            save_pins(entry, self.reference.repo_id, self.commit, {repo_path: pinned})
        except StorageError as error:
            self._warn_unwritable(error)
            return
        self._pins[repo_path] = pinned

    @contextlib.contextmanager
    def _locked(self) -> Iterator[CacheEntry | None]:
        """The commit's cache entry, locked; ``None`` (and no lock) when the modelrt cache cannot be written."""
        with contextlib.ExitStack() as stack:
            try:
                entry: CacheEntry | None = stack.enter_context(
                    open_entry(PINS_KIND, pins_key(self.reference.repo_id, self.commit))
                )
            except StorageError as error:
                self._warn_unwritable(error)
                entry = None
            yield entry

    @staticmethod
    def _warn_unwritable(error: StorageError) -> None:
        root = cache_root()
        if root not in _warned_unwritable:
            _warned_unwritable.add(root)
            logger.warning(
                "%s. Hub models still load, but without modelrt's record of what the Hub served (files are "
                "checked against huggingface-hub's names for them) and without its download lock",
                error,
            )
