"""Fixtures for the release tool: a small repository laid out like this one, and this repository released.

Builds run without build isolation (hatchling from this environment), so only the install test needs the
package registry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.release import Release, release

REPO = Path(__file__).resolve().parents[2]
LICENSE = (REPO / "LICENSE").read_text()
CHANGELOG = "# Changelog\n\n## {version} (2026-12-02)\n- What changed.\n"


def write_distribution(folder: Path, pyproject: str, files: dict[str, str], version: str) -> None:
    """A distribution folder with its project files: pyproject, README, CHANGELOG for ``version``, LICENSE."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(pyproject)
    (folder / "README.md").write_text(f"# {folder.name}\n\nA distribution of a test repository.\n")
    (folder / "CHANGELOG.md").write_text(CHANGELOG.format(version=version))
    (folder / "LICENSE").write_text(LICENSE)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def project(name: str, version: str, body: str = "") -> str:
    return (
        '[build-system]\nrequires = ["hatchling>=1.21"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\ndescription = "Part of a test repository."\n'
        f'readme = "README.md"\nrequires-python = ">=3.10"\nlicense = "Apache-2.0"\n{body}'
    )


def write_repository(root: Path, version: str = "1.0.0") -> Path:
    """A meta-distribution ``acme`` in ``root``, ``acme-core`` in ``core/`` (a console script, a JSON data
    file, ``py.typed``) and the plugin ``acme-onnx`` in ``plugins/onnx`` (an entry point, a core range)."""
    meta = project("acme", version, f'dependencies = ["acme-core>={version}"]\n\n[project.optional-dependencies]\n')
    meta += f'onnx = ["acme-onnx>={version}"]\n\n[tool.hatch.build.targets.wheel]\nbypass-selection = true\n\n'
    meta += "[tool.hatch.build.targets.sdist]\n"
    meta += 'include = ["/pyproject.toml", "/README.md", "/CHANGELOG.md", "/LICENSE"]\n'
    write_distribution(root, meta, {"tests/test_nothing.py": ""}, version)
    core = project("acme-core", version, '\n[project.scripts]\nacme = "acme.cli:main"\n')
    core += '\n[tool.hatch.build.targets.wheel]\npackages = ["src/acme"]\n'
    files = {
        "src/acme/_version.py": f'__version__ = "{version}"\n',
        "src/acme/__init__.py": '"""acme."""\n',
        "src/acme/cli.py": "def main() -> int:\n    return 0\n",
        "src/acme/py.typed": "",
        "src/acme/schemas/thing.schema.json": json.dumps({"type": "object"}),
    }
    write_distribution(root / "core", core, files, version)
    plugin = project("acme-onnx", version, f'dependencies = ["acme-core>={version},<2"]\n\n')
    plugin += '[project.entry-points."acme.plugins"]\nonnx = "acme_onnx.plugin"\n\n'
    plugin += '[tool.hatch.build.targets.wheel]\npackages = ["src/acme_onnx"]\n'
    files = {
        "src/acme_onnx/__init__.py": f'__version__ = "{version}"\n',
        "src/acme_onnx/plugin.py": "",
        "src/acme_onnx/py.typed": "",
    }
    write_distribution(root / "plugins" / "onnx", plugin, files, version)
    return root


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return write_repository(tmp_path / "repo")


@pytest.fixture(scope="session")
def released_repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Release]:
    """The test repository released into an ``out`` that held a wheel of an earlier release."""
    root = write_repository(tmp_path_factory.mktemp("released") / "repo")
    out = root.parent / "dist"
    out.mkdir()
    (out / "acme_core-0.9.0-py3-none-any.whl").write_bytes(b"an earlier release")
    (out / "notes.txt").write_text("not a release file")
    return root, release(root, out, isolated=False)


@pytest.fixture(scope="session")
def released_modelrt(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """This repository's distributions, built and checked as ``python -m tools.release dist --snapshot``
    does: between releases the changelogs rightly hold an "Unreleased" section, which only a release
    refuses (test_changelog.py and test_release.py test that rule)."""
    return release(REPO, tmp_path_factory.mktemp("modelrt-dist"), snapshot=True, isolated=False)
