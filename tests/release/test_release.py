"""``release`` builds every distribution of a repository, checks sources and archives, and publishes the
complete set to ``out``, or nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tools.release import Release, ReleaseError, release

WHEELS_AND_SDISTS = [
    "acme-1.0.0-py3-none-any.whl",
    "acme-1.0.0.tar.gz",
    "acme_core-1.0.0-py3-none-any.whl",
    "acme_core-1.0.0.tar.gz",
    "acme_onnx-1.0.0-py3-none-any.whl",
    "acme_onnx-1.0.0.tar.gz",
]


def test_a_release_writes_a_wheel_and_an_sdist_of_every_distribution(
    released_repository: tuple[Path, Release],
) -> None:
    root, done = released_repository
    assert [distribution.name for distribution in done.distributions] == ["acme", "acme-core", "acme-onnx"]
    assert sorted(path.name for path in done.files) == WHEELS_AND_SDISTS
    assert all(path.parent == root.parent / "dist" for path in done.files)


def test_a_release_replaces_the_files_of_an_earlier_release_and_keeps_other_files(
    released_repository: tuple[Path, Release],
) -> None:
    root, _ = released_repository
    assert sorted(path.name for path in (root.parent / "dist").iterdir()) == sorted([*WHEELS_AND_SDISTS, "notes.txt"])


def test_the_wheels_hold_package_data_type_marker_entry_points_and_licence(
    released_repository: tuple[Path, Release],
) -> None:
    root, _ = released_repository
    with zipfile.ZipFile(root.parent / "dist" / "acme_core-1.0.0-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read("acme_core-1.0.0.dist-info/entry_points.txt").decode()
    assert {"acme/py.typed", "acme/schemas/thing.schema.json", "acme_core-1.0.0.dist-info/licenses/LICENSE"} <= names
    assert "acme = acme.cli:main" in entry_points


def test_a_changelog_problem_stops_the_release_before_anything_is_built(repository: Path, tmp_path: Path) -> None:
    (repository / "plugins" / "onnx" / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n- New.\n")
    with pytest.raises(ReleaseError) as raised:
        release(repository, tmp_path / "out", isolated=False)
    assert [problem.split(":")[0] for problem in raised.value.problems] == ["acme-onnx", "acme-onnx"]
    assert not (tmp_path / "out").exists()


def test_a_snapshot_builds_despite_changelog_problems_and_returns_them_as_warnings(
    repository: Path, tmp_path: Path
) -> None:
    (repository / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n- New.\n")
    done = release(repository, tmp_path / "out", snapshot=True, isolated=False)
    assert len(done.files) == 6
    assert [warning.split(":")[0] for warning in done.warnings] == ["acme", "acme"]


def test_a_plugin_whose_core_range_excludes_the_core_being_built_is_refused(repository: Path, tmp_path: Path) -> None:
    pyproject = repository / "plugins" / "onnx" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"acme-core>=1.0.0,<2"', '"acme-core>=1.1,<2"'))
    with pytest.raises(ReleaseError) as raised:
        release(repository, tmp_path / "out", isolated=False)
    assert raised.value.problems == (
        f"acme-onnx: requires acme-core<2,>=1.1, but this release builds acme-core 1.0.0: change the requirement in "
        f"{pyproject} or the version of acme-core",
    )


def test_a_version_string_that_disagrees_with_pyproject_is_refused(repository: Path, tmp_path: Path) -> None:
    (repository / "core" / "src" / "acme" / "_version.py").write_text('__version__ = "0.9.0"\n')
    with pytest.raises(ReleaseError, match=r"_version.py says __version__ = '0.9.0', .* says 1.0.0"):
        release(repository, tmp_path / "out", isolated=False)


def test_a_distribution_without_a_licence_file_is_refused(repository: Path, tmp_path: Path) -> None:
    (repository / "core" / "LICENSE").unlink()
    with pytest.raises(ReleaseError, match=r"acme-core: .*LICENSE is missing \(the Apache-2.0 text\)"):
        release(repository, tmp_path / "out", isolated=False)


def test_an_sdist_that_would_ship_repository_files_is_refused(repository: Path, tmp_path: Path) -> None:
    pyproject = repository / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[tool.hatch.build.targets.sdist]")[0])
    with pytest.raises(ReleaseError, match=r"acme: acme-1.0.0.tar.gz holds files that are not part of the "):
        release(repository, tmp_path / "out", isolated=False)
    assert not (tmp_path / "out").exists()
