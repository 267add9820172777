"""A distribution's version is read where it is written once: ``project.version``, or the ``__version__``
that a dynamic version names through ``[tool.hatch.version]``, as the core and the plugins do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.release import ReleaseError
from tools.release.distributions import discover, read

REPO = Path(__file__).resolve().parents[2]

DYNAMIC = """\
[project]
name = "acme-core"
dynamic = ["version"]

[tool.hatch.version]
path = "src/acme/_version.py"

[tool.hatch.build.targets.wheel]
packages = ["src/acme"]
"""


def test_a_dynamic_version_is_the_packages_own_version_string(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(DYNAMIC)
    (tmp_path / "src" / "acme").mkdir(parents=True)
    (tmp_path / "src" / "acme" / "_version.py").write_text('"""acme."""\n\n__version__ = "1.4.2"\n')
    assert str(read(tmp_path).version) == "1.4.2"


def test_a_dynamic_version_without_its_file_says_where_to_write_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(DYNAMIC)
    with pytest.raises(ReleaseError, match=r"\[tool.hatch.version\] path"):
        read(tmp_path)


def test_this_repository_writes_each_code_distributions_version_once() -> None:
    for distribution in discover(REPO):
        if distribution.packages:
            assert 'dynamic = ["version"]' in (distribution.folder / "pyproject.toml").read_text(), distribution.name
            assert set(distribution.declared_versions().values()) == {str(distribution.version)}
