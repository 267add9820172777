"""A release needs each changelog to describe the version it builds, and nothing left "Unreleased"."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from tools.release.changelog import changelog_problems


def changelog(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(text)
    return path


def test_a_dated_section_for_the_version_being_built_is_enough(tmp_path: Path) -> None:
    path = changelog(tmp_path, "# Changelog\n\n## 0.2.0 (2026-12-02)\n- New.\n\n## 0.1.0\n- First.\n")
    assert changelog_problems(path, "modelrt-core", Version("0.2.0")) == []


def test_a_changelog_without_a_section_for_the_version_is_a_problem(tmp_path: Path) -> None:
    path = changelog(tmp_path, "# Changelog\n\n## 0.1.0\n- First.\n")
    (problem,) = changelog_problems(path, "modelrt-core", Version("0.2.0"))
    assert problem == f"modelrt-core: {path} has no '## 0.2.0' section: describe what 0.2.0 changes"


def test_an_unreleased_section_is_a_problem_that_says_to_bump_the_version(tmp_path: Path) -> None:
    path = changelog(tmp_path, "# Changelog\n\n## Unreleased\n- New.\n\n## 0.2.0\n- Older.\n")
    (problem,) = changelog_problems(path, "modelrt-onnx", Version("0.2.0"))
    assert "has an 'Unreleased' section" in problem
    assert "bump the version in pyproject.toml" in problem


def test_a_section_newer_than_the_version_being_built_is_a_problem(tmp_path: Path) -> None:
    path = changelog(tmp_path, "## 0.3.0\n- Newer.\n\n## 0.2.0\n- This one.\n")
    assert changelog_problems(path, "modelrt", Version("0.2.0")) == [
        f"modelrt: {path} lists 0.3.0, newer than the 0.2.0 being built"
    ]


def test_a_missing_changelog_is_a_problem(tmp_path: Path) -> None:
    (problem,) = changelog_problems(tmp_path / "CHANGELOG.md", "modelrt-trt", Version("0.2.0"))
    assert problem.endswith("is missing: write one with a '## 0.2.0 (YYYY-MM-DD)' section")
