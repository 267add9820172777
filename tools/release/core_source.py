"""Which core a plugin's declared range starts at, and where that core's source is in git history.

A plugin requires ``modelrt-core>=X.Y,<N``; ``X.Y`` is a promise that the plugin works with that core,
so the compatibility run installs exactly that one. Its source is the release tag
``<distribution>-v<version>`` (docs/RELEASING.md's checklist tags each release so), or, where the version
was never tagged, the newest commit whose sources still record that version: the last state of the core
before its version moved on.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import attrs
import tomllib
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tools.release.distributions import VERSION_LINE, Distribution
from tools.release.errors import ReleaseError

__all__ = ["CoreSource", "export", "find_core", "lowest_core"]

_LOWER_BOUNDS = {">=", "==", "~=", "==="}


@attrs.frozen
class CoreSource:
    """The commit holding a core version, and how it was found: its tag, or the recorded version."""

    commit: str
    how: str


def lowest_core(plugin: Distribution, core: str) -> Version:
    """The lower bound of ``plugin``'s requirement on the distribution ``core``: the oldest core it claims."""
    bounds = [
        Version(specifier.version)
        for requirement in plugin.requires
        if canonicalize_name(requirement.name) == canonicalize_name(core)
        for specifier in requirement.specifier
        if specifier.operator in _LOWER_BOUNDS
    ]
    if not bounds:
        raise ReleaseError(
            [
                f"{plugin.folder / 'pyproject.toml'}: {plugin.name} declares no lowest {core}: "
                f'require it as "{core}>=X.Y,<N" with X.Y the oldest core it works with'
            ]
        )
    return max(bounds)


def find_core(root: Path, core: Distribution, version: Version) -> CoreSource:
    """The commit holding ``core`` at ``version``: its release tag if one exists, else the recorded version."""
    prefix = f"{core.name}-v"
    for tag in _git(root, "tag", "--list", f"{prefix}*").split():
        try:
            tagged = Version(tag.removeprefix(prefix))
        except InvalidVersion:
            continue
        if tagged == version:
            return CoreSource(_git(root, "rev-parse", f"{tag}^{{commit}}").strip(), f"tag {tag}")
    folder = core.folder.relative_to(root).as_posix()
    newer: str | None = None
    for commit in _git(
        root, "log", "--format=%H", "--", f"{folder}/pyproject.toml", *_version_files(core, root)
    ).split():
        if _version_at(root, commit, folder) == version:
            found = _git(root, "rev-parse", f"{newer}^" if newer else "HEAD").strip()
            return CoreSource(found, f"recorded version, commit {found[:12]}")
        newer = commit
    raise ReleaseError(
        [
            f"{core.name} {version} is neither tagged nor recorded in {root}'s history: no tag {prefix}{version}, "
            f"and no commit whose {folder} version is {version}; tag the commit that released it "
            f"(git tag {prefix}{version} <commit>), or fetch the history that holds it (git fetch --tags --unshallow)"
        ]
    )


def export(root: Path, commit: str, folder: Path, into: Path) -> Path:
    """``folder`` (relative to ``root``) as it is at ``commit``, written under ``into``; returns its copy."""
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", commit, "--", folder.as_posix()],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise ReleaseError([f"git archive {commit} {folder} failed:\n{archive.stderr.decode().strip()}"])
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / folder


def _version_files(core: Distribution, root: Path) -> list[str]:
    """Today's file holding ``__version__`` (hatch's dynamic version), as a path relative to ``root``."""
    return [path.relative_to(root).as_posix() for path in core.declared_versions()]


def _version_at(root: Path, commit: str, folder: str) -> Version | None:
    """The version the core in ``folder`` records at ``commit``: ``project.version`` or its ``__version__``."""
    try:
        project = tomllib.loads(_git(root, "show", f"{commit}:{folder}/pyproject.toml"))
        document_version = project["project"].get("version")
        if document_version is None:
            path = project["tool"]["hatch"]["version"]["path"]
            match = VERSION_LINE.search(_git(root, "show", f"{commit}:{folder}/{path}"))
            document_version = match.group(1) if match else None
        return Version(document_version) if document_version else None
    except (ReleaseError, KeyError, tomllib.TOMLDecodeError, InvalidVersion):
        return None


def _git(root: Path, *arguments: str) -> str:
    completed = subprocess.run(["git", "-C", str(root), *arguments], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise ReleaseError([f"git {' '.join(arguments)} failed in {root}: {completed.stderr.strip()}"])
    return completed.stdout
