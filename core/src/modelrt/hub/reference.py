"""``hf://org/repo[@revision][/sub/folder]``, parsed and checked before anything touches the network.

A revision containing ``/`` (``refs/pr/3``) cannot be written in the reference, where ``/`` starts the
subfolder: it is passed as ``revision=`` (``--revision`` on the command line) instead.
"""

from __future__ import annotations

import re

import attrs

from modelrt.errors import InputError

__all__ = ["SCHEME", "HubReference", "parse_reference"]

SCHEME = "hf://"
DEFAULT_REVISION = "main"
# The Hub's own rule for user, organisation and repository names.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")
_REVISION = re.compile(r"[A-Za-z0-9._/+-]{1,255}")


@attrs.frozen
class HubReference:
    """One model on the Hub: ``repo_id`` (``org/name``), the revision asked for, and the folder inside."""

    repo_id: str
    revision: str = DEFAULT_REVISION
    subfolder: str = ""

    def repo_path(self, relative: str) -> str:
        """The path in the repository of ``relative``, a path inside the subfolder."""
        return f"{self.subfolder}/{relative}" if self.subfolder else relative

    def __str__(self) -> str:
        revision = "" if self.revision == DEFAULT_REVISION or "/" in self.revision else f"@{self.revision}"
        folder = f"/{self.subfolder}" if self.subfolder else ""
        return f"{SCHEME}{self.repo_id}{revision}{folder}"


def parse_reference(text: str, revision: str | None = None, subfolder: str | None = None) -> HubReference:
    """Parse an ``hf://`` reference; ``revision``/``subfolder`` arguments may add what the text leaves out.

    :raises InputError: not an ``hf://`` reference, a malformed name, an unsafe subfolder, or an argument
        that contradicts the reference.
    """
    if not text.lower().startswith(SCHEME):
        raise InputError(f"{text!r} is not a Hub reference; write hf://org/repo[@revision][/sub/folder]")
    parts = text[len(SCHEME) :].split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise InputError(f"{text!r} names no repository; write hf://org/repo (both the owner and the name)")
    owner, name_and_revision, *folder = parts
    name, at, written_revision = name_and_revision.partition("@")
    for part in (owner, name):
        if not _NAME.fullmatch(part) or ".." in part or "--" in part:
            raise InputError(f"{text!r}: {part!r} is not a valid Hub user, organisation or repository name")
    if at and not written_revision:
        raise InputError(f"{text!r} has an '@' but no revision after it; write hf://org/repo@revision")
    chosen_revision = _one_of("revision", written_revision or None, revision, text) or DEFAULT_REVISION
    if not _REVISION.fullmatch(chosen_revision) or ".." in chosen_revision:
        raise InputError(f"revision {chosen_revision!r} is not a valid branch, tag or commit name")
    written_folder = "/".join(folder).strip("/") or None
    chosen_folder = _checked_folder(_one_of("subfolder", written_folder, subfolder, text) or "")
    return HubReference(f"{owner}/{name}", chosen_revision, chosen_folder)


def _one_of(what: str, written: str | None, argument: str | None, text: str) -> str | None:
    if written and argument and written != argument.strip("/"):
        raise InputError(
            f"{text!r} names {what} {written!r} but {what}={argument!r} was passed too; give it in one place"
        )
    return written or argument


def _checked_folder(folder: str) -> str:
    folder = folder.strip("/")
    if not folder:
        return ""
    segments = folder.split("/")
    if any(segment in ("", ".", "..") or "\\" in segment or "\x00" in segment for segment in segments):
        raise InputError(
            f"subfolder {folder!r} must be a plain path inside the repository (no '..', '.', empty parts or "
            "backslashes)"
        )
    return folder
