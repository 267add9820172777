"""What every built wheel and sdist must hold, checked from the archives themselves.

A wheel holds every file of its packages' source folders (``py.typed`` and the core's JSON schemas
included, so type checkers and the manifest validator work from an install), the entry points its
``pyproject.toml`` declares, the licence file and the ``Apache-2.0`` licence expression. An sdist holds
the project files and ``src/`` only: nothing of the repository around it (tests, demo, caches).
"""

from __future__ import annotations

import configparser
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path, PurePosixPath

from tools.release.distributions import Distribution

__all__ = ["LICENSE_EXPRESSION", "SDIST_TOP_LEVEL", "sdist_problems", "wheel_problems"]

LICENSE_EXPRESSION = "Apache-2.0"
#: What an sdist may hold beside ``src/``: project files, and the metadata and ignore file hatchling writes.
SDIST_TOP_LEVEL = frozenset({"PKG-INFO", "pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", ".gitignore"})
_SKIPPED_SOURCES = ("__pycache__", ".pyc")


def wheel_problems(distribution: Distribution, wheel: Path) -> list[str]:
    """What ``wheel`` lacks or gets wrong, as built from ``distribution``."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"{distribution.file_stem}.dist-info"
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        listed = f"{dist_info}/entry_points.txt"
        entry_points = _entry_points(archive.read(listed).decode()) if listed in names else {}
    label = f"{distribution.name}: {wheel.name}"
    problems = []
    if metadata["Version"] != str(distribution.version):
        problems.append(f"{label} says version {metadata['Version']}, pyproject.toml {distribution.version}")
    if metadata["License-Expression"] != LICENSE_EXPRESSION:
        problems.append(
            f"{label} has licence {metadata['License-Expression']!r}, not {LICENSE_EXPRESSION!r}: set "
            f'license = "{LICENSE_EXPRESSION}" in {distribution.folder / "pyproject.toml"}'
        )
    if f"{dist_info}/licenses/LICENSE" not in names:
        problems.append(f"{label} holds no licence file: add {distribution.folder / 'LICENSE'}")
    for package in distribution.packages:
        problems += [
            f"{label} lacks {name}: it is in {package.parent} but not in the wheel"
            for name in sorted(_source_files(package) - names)
        ]
        if not (package / "py.typed").is_file():
            problems.append(f"{label}: {package} has no py.typed: add an empty one, so type checkers read its hints")
    if entry_points != distribution.entry_points:
        problems.append(f"{label} has entry points {entry_points}, pyproject.toml declares {distribution.entry_points}")
    return problems


def sdist_problems(distribution: Distribution, sdist: Path) -> list[str]:
    """What ``sdist`` holds that it should not, or lacks."""
    with tarfile.open(sdist) as archive:
        members = [PurePosixPath(member.name) for member in archive.getmembers() if member.isfile()]
    inside = {PurePosixPath(*member.parts[1:]) for member in members if member.parts[0] == distribution.file_stem}
    label = f"{distribution.name}: {sdist.name}"
    problems = []
    if len(inside) != len(members):
        problems.append(f"{label} holds files outside its top folder {distribution.file_stem}/")
    stray = sorted(str(path) for path in inside if path.parts[0] != "src" and str(path) not in SDIST_TOP_LEVEL)
    if stray:
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        problems.append(
            f"{label} holds files that are not part of the distribution ({shown}): limit "
            f"[tool.hatch.build.targets.sdist] include in {distribution.folder / 'pyproject.toml'}"
        )
    problems += [
        f"{label} lacks {required}"
        for required in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE")
        if PurePosixPath(required) not in inside
    ]
    return problems


def _source_files(package: Path) -> set[str]:
    """The files of a package's source folder as wheel member names (``modelrt/schemas/x.json``)."""
    return {
        path.relative_to(package.parent).as_posix()
        for path in package.rglob("*")
        if path.is_file() and not any(part.endswith(_SKIPPED_SOURCES) for part in path.parts)
    }


def _entry_points(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {group: dict(parser[group]) for group in parser.sections()}
