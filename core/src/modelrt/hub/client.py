"""The one module that talks to huggingface-hub: downloads, cache look-ups, and its errors in modelrt's words.

Files come through ``hf_hub_download`` one at a time, so only what a load needs is ever fetched, and
they land in the huggingface-hub cache, shared with every other tool that reads it. Tokens come from the
usual settings (``HF_TOKEN``, the file ``hf auth login`` writes). Progress bars are huggingface-hub's:
shown when stderr is a terminal, silent otherwise.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from modelrt.errors import PackageError, StorageError
from modelrt.hub.settings import hf_cache_dir, hf_endpoint, repo_folder_name

__all__ = ["HubClient", "HubFileMissing", "IncompleteDownload", "import_hub"]

INSTALL_HINT = "pip install 'modelrt-core[hub]'"
# huggingface-hub's words when a download's length differs from the announced size.
_SIZE_MISMATCH = re.compile(r"should be of size (?P<expected>\d+) but has size (?P<actual>\d+)")
_DISK_ERRNOS = {28: "free some disk space", 13: "fix its permissions", 30: "the file system is read-only", 122: ""}


class HubFileMissing(PackageError):
    """The repository has no such file at that revision (the Hub said so, or its cache remembers it)."""


class IncompleteDownload(PackageError):
    """A download ended with fewer or more bytes than the Hub announced."""


def import_hub() -> ModuleType:
    """``huggingface_hub``, or a ``PackageError`` that says how to install it."""
    try:
        import huggingface_hub
    except ImportError:
        raise PackageError(
            f"hf:// models are downloaded with huggingface-hub, which is not installed; {INSTALL_HINT}"
        ) from None
    return huggingface_hub


class HubClient:
    """Downloads and cache look-ups for one repository, with every failure as a modelrt error."""

    def __init__(self, repo_id: str, display: str) -> None:
        self.hub = import_hub()
        self.repo_id = repo_id
        self.display = display
        self.endpoint = hf_endpoint()
        # huggingface-hub resolves the cache path the same way, so its answers compare with ours.
        self.cache_dir = hf_cache_dir().expanduser().resolve()
        self.storage_folder = self.cache_dir / repo_folder_name(repo_id)

    def download(self, path: str, revision: str, *, force: bool = False) -> Path:
        """The cached file ``path`` of ``revision``, downloaded first if needed (``force``: again)."""
        with self._translated(path, revision):
            pointer = self.hub.hf_hub_download(
                self.repo_id,
                path,
                revision=revision,
                cache_dir=self.cache_dir,
                endpoint=self.endpoint,
                force_download=force,
            )
        return Path(pointer)

    def cached(self, path: str, revision: str) -> Path | None:
        """The cached file ``path`` of ``revision`` without any network use; ``None`` when not cached.

        :raises HubFileMissing: the cache remembers that the repository has no such file.
        """
        with self._translated(path, revision):
            found = self.hub.try_to_load_from_cache(self.repo_id, path, cache_dir=self.cache_dir, revision=revision)
        if isinstance(found, str):
            return Path(found)
        if found is not None:  # huggingface-hub's marker for "the Hub said this file does not exist"
            raise HubFileMissing(f"{self.display} has no file {path!r} at revision {revision!r}")
        return None

    def listing(self, revision: str, offline: bool) -> tuple[str, tuple[str, ...]]:
        """The commit ``revision`` points to and the repository's file paths at it.

        Online the Hub lists them; offline, the files of that commit in the huggingface-hub cache.
        """
        if not offline:
            with self._translated("(the file list)", revision):
                info = self.hub.HfApi(endpoint=self.endpoint).model_info(self.repo_id, revision=revision)
            return str(info.sha), tuple(sibling.rfilename for sibling in info.siblings or ())
        ref = self.storage_folder / "refs" / revision
        commit = ref.read_text().strip() if ref.is_file() else revision
        snapshot = self.storage_folder / "snapshots" / commit
        if not snapshot.is_dir():
            return commit, ()
        files = (path.relative_to(snapshot).as_posix() for path in snapshot.rglob("*") if not path.is_dir())
        return commit, tuple(sorted(files))

    def commit_of(self, pointer: Path) -> str:
        """The commit a cached file belongs to (``.../snapshots/<commit>/...``)."""
        return pointer.relative_to(self.storage_folder / "snapshots").parts[0]

    @contextlib.contextmanager
    def _translated(self, path: str, revision: str) -> Iterator[None]:
        """huggingface-hub's exceptions as modelrt errors that say what happened and what to do."""
        errors = importlib.import_module("huggingface_hub.utils")
        where = f"{path!r} of {self.display} (revision {revision!r})"
        try:
            yield
        except errors.LocalEntryNotFoundError:
            raise PackageError(
                f"cannot reach the Hub at {self.endpoint} to download {where}, and it is not in the "
                f"huggingface-hub cache {self.cache_dir}. Check the network (HF_ENDPOINT, proxy settings), or "
                f"fetch it on a connected machine with `modelrt pull {self.display}`"
            ) from None
        except errors.EntryNotFoundError:
            raise HubFileMissing(f"{self.display} has no file {path!r} at revision {revision!r}") from None
        except errors.GatedRepoError:
            raise PackageError(self._access_message(f"is gated on {self.endpoint}: its owners grant access")) from None
        except errors.RepositoryNotFoundError:
            raise PackageError(self._access_message(f"was not found on {self.endpoint}, or is private")) from None
        except errors.RevisionNotFoundError:
            raise PackageError(
                f"{self.display} has no revision {revision!r}; check the branch, tag or commit name"
            ) from None
        except errors.HfHubHTTPError as error:
            status = getattr(getattr(error, "response", None), "status_code", "an error")
            raise PackageError(f"the Hub at {self.endpoint} answered {status} for {where}; try again later") from None
        except OSError as error:
            if error.errno in _DISK_ERRNOS:
                hint = _DISK_ERRNOS[error.errno]
                raise StorageError(
                    error.errno,
                    f"cannot write the huggingface-hub cache {self.cache_dir} while downloading {where} "
                    f"({error.strerror}{'; ' + hint if hint else ''}); set HF_HUB_CACHE (or HF_HOME) to a "
                    "directory with room that you can write to",
                ) from None
            sizes = _SIZE_MISMATCH.search(str(error))
            if sizes:
                raise IncompleteDownload(
                    f"the download of {where} was cut short or ran long: {sizes['actual']} of {sizes['expected']} "
                    "bytes arrived"
                ) from None
            raise PackageError(f"downloading {where} from {self.endpoint} failed: {error}") from None
        except (ValueError, RuntimeError) as error:  # huggingface-hub's checks of names and connections
            raise PackageError(f"cannot download {where} from {self.endpoint}: {error}") from None

    def _access_message(self, what: str) -> str:
        has_token = bool(os.environ.get("HF_TOKEN") or self.hub.get_token())
        fix = (
            "the Hugging Face token in use has no access to it: use a token of an account that has"
            if has_token
            else "no Hugging Face token was found: log in with `hf auth login`, or set HF_TOKEN"
        )
        return (
            f"{self.display} {what}. Check the name; if it is private or gated, request access on its page "
            f"({self.endpoint}/{self.repo_id}); {fix}"
        )
