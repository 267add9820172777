"""The changelog rule of a release: each distribution's ``CHANGELOG.md`` has a section for the version it
builds, and nothing waits under "Unreleased".

Sections are second-level headings, newest first: ``## 0.2.0 (2026-12-02)`` or ``## Unreleased``. A
release refuses an unreleased section, since those changes would ship under a version whose changelog
does not list them; a snapshot build (``--snapshot``) reports the same findings as warnings instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import InvalidVersion, Version

__all__ = ["UNRELEASED", "changelog_problems", "section_versions"]

UNRELEASED = "Unreleased"
_HEADING = re.compile(r"^## +(\S+)", re.MULTILINE)


def section_versions(text: str) -> list[str]:
    """The first word of every second-level heading, in order (``0.2.0``, ``Unreleased``)."""
    return _HEADING.findall(text)


def changelog_problems(path: Path, name: str, version: Version) -> list[str]:
    """What keeps ``path`` from being the changelog of ``name`` ``version``; empty when nothing does."""
    if not path.is_file():
        return [f"{name}: {path} is missing: write one with a '## {version} (YYYY-MM-DD)' section"]
    headings = section_versions(path.read_text())
    problems = []
    if UNRELEASED in headings:
        problems.append(
            f"{name}: {path} has an '{UNRELEASED}' section, changes that {version} does not hold: bump the "
            f"version in pyproject.toml and rename the section '## <new version> (YYYY-MM-DD)'"
        )
    if str(version) not in headings:
        problems.append(f"{name}: {path} has no '## {version}' section: describe what {version} changes")
    newer = [heading for heading in headings if (listed := _version(heading)) is not None and listed > version]
    if newer:
        problems.append(f"{name}: {path} lists {', '.join(newer)}, newer than the {version} being built")
    return problems


def _version(heading: str) -> Version | None:
    try:
        return Version(heading)
    except InvalidVersion:
        return None
