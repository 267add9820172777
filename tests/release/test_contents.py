"""The checks on built archives: a wheel holds all its package files, ``py.typed`` and its entry points."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs

from tools.release.contents import wheel_problems
from tools.release.distributions import Distribution, read

WHEEL = "acme_core-1.0.0-py3-none-any.whl"


def core_source(released_repository: tuple[Path, object], tmp_path: Path) -> Distribution:
    """A copy of the released core's source folder, to change after its wheel was built."""
    root, _ = released_repository
    shutil.copytree(root / "core", tmp_path / "core")
    return read(tmp_path / "core")


def test_the_released_wheel_matches_its_source(released_repository: tuple[Path, object], tmp_path: Path) -> None:
    root, _ = released_repository
    assert wheel_problems(core_source(released_repository, tmp_path), root.parent / "dist" / WHEEL) == []


def test_a_package_file_the_wheel_lacks_is_reported(released_repository: tuple[Path, object], tmp_path: Path) -> None:
    root, _ = released_repository
    distribution = core_source(released_repository, tmp_path)
    (tmp_path / "core" / "src" / "acme" / "schemas" / "new.schema.json").write_text("{}")
    (problem,) = wheel_problems(distribution, root.parent / "dist" / WHEEL)
    assert problem == (
        f"acme-core: {WHEEL} lacks acme/schemas/new.schema.json: it is in {tmp_path / 'core' / 'src'} but not in "
        "the wheel"
    )


def test_a_package_without_py_typed_is_reported(released_repository: tuple[Path, object], tmp_path: Path) -> None:
    root, _ = released_repository
    distribution = core_source(released_repository, tmp_path)
    (tmp_path / "core" / "src" / "acme" / "py.typed").unlink()
    (problem,) = wheel_problems(distribution, root.parent / "dist" / WHEEL)
    assert problem.endswith("has no py.typed: add an empty one, so type checkers read its hints")


def test_other_entry_points_than_declared_are_reported(
    released_repository: tuple[Path, object], tmp_path: Path
) -> None:
    root, _ = released_repository
    declared = {"console_scripts": {"acme": "acme.cli:main"}, "acme.plugins": {"builtin": "acme.plugin"}}
    distribution = attrs.evolve(core_source(released_repository, tmp_path), entry_points=declared)
    (problem,) = wheel_problems(distribution, root.parent / "dist" / WHEEL)
    assert problem.startswith(f"acme-core: {WHEEL} has entry points {{'console_scripts': {{'acme': 'acme.cli:main'}}}}")
