"""The compatibility matrix on a small git repository: core 1.0.0, then core 1.1.0 adding ``acme.added``.

The plugin's test uses ``acme.added``, so a plugin declaring ``acme-core>=1.0`` has a wrong range and must
fail against core 1.0.0; declaring ``>=1.1`` it passes. The runs install pytest into fresh virtualenvs
from the package index, so they are marked ``network`` (they fail, never skip, without one); finding the
core's source is plain git and runs offline.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from tools.release import ReleaseError
from tools.release.__main__ import main
from tools.release.compat import compat
from tools.release.core_source import find_core, lowest_core
from tools.release.distributions import discover

PLUGIN_TEST = (
    "from acme import added\n\n\ndef test_the_plugin_uses_the_newer_core() -> None:\n    assert added() == 11\n"
)


def git(root: Path, *arguments: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=Test", "-c", "user.email=test@example.com", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def set_core_version(root: Path, old: str, new: str) -> None:
    for path in (root / "core" / "pyproject.toml", root / "core" / "src" / "acme" / "_version.py"):
        path.write_text(path.read_text().replace(f'"{old}"', f'"{new}"'))


def declare_core(root: Path, lowest: str) -> None:
    path = root / "plugins" / "onnx" / "pyproject.toml"
    path.write_text(re.sub(r'"acme-core>=[^"]*"', f'"acme-core>={lowest},<2"', path.read_text()))


@pytest.fixture
def history(repository: Path) -> tuple[Path, str, str]:
    """The repository with two commits, core 1.0.0 then 1.1.0, and the plugin's test; returns both commits."""
    root = repository
    (root / "tests" / "onnx").mkdir(parents=True)
    (root / "tests" / "onnx" / "test_plugin.py").write_text(PLUGIN_TEST)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "core 1.0.0")
    first = git(root, "rev-parse", "HEAD")
    set_core_version(root, "1.0.0", "1.1.0")
    (root / "core" / "src" / "acme" / "__init__.py").write_text('"""acme."""\n\n\ndef added() -> int:\n    return 11\n')
    git(root, "commit", "--quiet", "-am", "core 1.1.0: acme.added")
    return root, first, git(root, "rev-parse", "HEAD")


def test_the_lowest_core_is_the_lower_bound_of_the_plugins_requirement(history: tuple[Path, str, str]) -> None:
    root = history[0]
    declare_core(root, "1.0")
    assert lowest_core(discover(root)[2], "acme-core") == Version("1.0.0")


def test_a_plugin_without_a_lower_bound_on_the_core_is_an_error(history: tuple[Path, str, str]) -> None:
    root = history[0]
    path = root / "plugins" / "onnx" / "pyproject.toml"
    path.write_text(path.read_text().replace('"acme-core>=1.0.0,<2"', '"acme-core<2"'))
    with pytest.raises(ReleaseError, match=r'declares no lowest acme-core: require it as "acme-core>=X.Y,<N"'):
        lowest_core(discover(root)[2], "acme-core")


def test_an_untagged_version_is_the_newest_commit_that_records_it(history: tuple[Path, str, str]) -> None:
    root, first, second = history
    core = discover(root)[1]
    assert find_core(root, core, Version("1.0")).commit == first
    assert find_core(root, core, Version("1.1.0")).commit == second
    (root / "README.md").write_text("A later commit that leaves the core at 1.1.0.\n")
    git(root, "commit", "--quiet", "-am", "docs")
    assert find_core(root, core, Version("1.1.0")).commit == git(root, "rev-parse", "HEAD")


def test_the_release_tag_is_preferred_over_the_recorded_version(history: tuple[Path, str, str]) -> None:
    root, first, _ = history
    git(root, "tag", "acme-core-v1.1.0", first)
    found = find_core(root, discover(root)[1], Version("1.1"))
    assert (found.commit, found.how) == (first, "tag acme-core-v1.1.0")


def test_a_version_neither_tagged_nor_recorded_is_an_error_that_says_how_to_find_it(
    history: tuple[Path, str, str],
) -> None:
    root = history[0]
    with pytest.raises(ReleaseError) as raised:
        find_core(root, discover(root)[1], Version("0.9"))
    message = str(raised.value)
    assert "acme-core 0.9 is neither tagged nor recorded" in message
    assert "no tag acme-core-v0.9" in message
    assert "git tag acme-core-v0.9 <commit>" in message


@pytest.mark.network
def test_a_plugin_whose_range_admits_a_core_without_what_it_uses_fails_against_that_core(
    history: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, first, _ = history
    declare_core(root, "1.0")
    # The tree's core 1.1.0 on PYTHONPATH must not rescue the run against 1.0.0.
    monkeypatch.setenv("PYTHONPATH", str(root / "core" / "src"))
    lowest, newest = compat(root, requirements=["pytest"], isolated=False)
    assert (lowest.plugin, lowest.core, lowest.which) == ("acme-onnx", Version("1.0.0"), "lowest")
    assert lowest.source == f"recorded version, commit {first[:12]}"
    assert not lowest.passed
    assert "cannot import name 'added' from 'acme'" in lowest.output
    assert "1 error" in lowest.summary
    assert (newest.core, newest.which, newest.passed, newest.summary.split(" in ")[0]) == (
        Version("1.1.0"),
        "newest",
        True,
        "1 passed",
    )


@pytest.mark.network
def test_a_plugin_that_declares_the_core_it_uses_passes_once(history: tuple[Path, str, str]) -> None:
    root = history[0]
    declare_core(root, "1.1")
    (outcome,) = compat(root, ["onnx"], requirements=["pytest"], isolated=False)
    assert (outcome.core, outcome.which, outcome.passed) == (Version("1.1.0"), "lowest = newest", True)
    assert outcome.summary.startswith("1 passed")
    assert "acme-core 1.1.0: " in outcome.output


def test_the_command_names_the_plugins_to_choose_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compat", "--plugin", "tensorflow"]) == 1
    error = capsys.readouterr().err
    assert "no plugin named tensorflow: choose from modelrt-jetson, modelrt-onnx, modelrt-torch, modelrt-trt" in error
