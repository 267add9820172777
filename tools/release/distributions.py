"""What a release builds: every distribution of the repository, read from its own ``pyproject.toml``.

The root is the meta-distribution ``modelrt``, ``core/`` is ``modelrt-core`` and each folder under
``plugins/`` holding a ``pyproject.toml`` is a plugin, so a new plugin is released without touching this
tool.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tools.release.errors import ReleaseError

__all__ = ["VERSION_LINE", "Distribution", "discover", "read"]

VERSION_LINE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


@attrs.frozen
class Distribution:
    """One distribution as its ``pyproject.toml`` declares it.

    ``packages`` are the import packages its wheel holds, as source folders (``src/modelrt``);
    ``entry_points`` maps each entry-point group (``console_scripts`` for ``[project.scripts]``) to its
    names and targets, as the wheel's ``entry_points.txt`` must hold them.
    """

    folder: Path
    name: str
    version: Version
    requires: tuple[Requirement, ...]
    packages: tuple[Path, ...]
    entry_points: dict[str, dict[str, str]] = attrs.field(hash=False)

    @property
    def file_stem(self) -> str:
        """How wheel and sdist file names spell the name and version (``modelrt_core-0.2.0``)."""
        return f"{canonicalize_name(self.name).replace('-', '_')}-{self.version}"

    def declared_versions(self) -> dict[Path, str]:
        """The ``__version__`` each package states, where it states one (``_version.py`` or ``__init__.py``)."""
        found = {}
        for package in self.packages:
            for module in (package / "_version.py", package / "__init__.py"):
                match = VERSION_LINE.search(module.read_text()) if module.is_file() else None
                if match:
                    found[module] = match.group(1)
                    break
        return found


def discover(root: Path) -> list[Distribution]:
    """The meta-distribution, the core and every plugin under ``root``, in that order."""
    folders = [root, root / "core", *sorted(path.parent for path in root.glob("plugins/*/pyproject.toml"))]
    return [read(folder) for folder in folders]


def read(folder: Path) -> Distribution:
    """The distribution whose ``pyproject.toml`` is in ``folder``."""
    document = tomllib.loads((folder / "pyproject.toml").read_text())
    project = document["project"]
    requires = [*project.get("dependencies", ())]
    requires += [line for lines in project.get("optional-dependencies", {}).values() for line in lines]
    wheel = document.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    entry_points = {group: dict(names) for group, names in project.get("entry-points", {}).items()}
    if project.get("scripts"):
        entry_points["console_scripts"] = dict(project["scripts"])
    return Distribution(
        folder=folder,
        name=project["name"],
        version=Version(_version(folder, project, document)),
        requires=tuple(Requirement(line) for line in requires),
        packages=tuple(folder / package for package in wheel.get("packages", ())),
        entry_points=entry_points,
    )


def _version(folder: Path, project: dict[str, Any], document: dict[str, Any]) -> str:
    """``project.version``, or, for a version that is ``dynamic``, the ``__version__`` of the file hatch
    reads it from (``[tool.hatch.version] path``), so the code and its metadata cannot disagree."""
    if "version" in project:
        return str(project["version"])
    path = document.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
    source = folder / path if path else None
    match = VERSION_LINE.search(source.read_text()) if source is not None and source.is_file() else None
    if match is None:
        raise ReleaseError(
            [
                f"{folder / 'pyproject.toml'}: no version: set project.version, or a dynamic version with "
                '[tool.hatch.version] path naming a file with __version__ = "X.Y.Z"'
            ]
        )
    return match.group(1)
