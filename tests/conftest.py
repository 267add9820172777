"""Fixtures shared by every test folder."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modelrt.plugin_manager import reset_plugin_manager


def _pip(*arguments: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "pip", *arguments], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"pip {' '.join(arguments)} failed:\n{completed.stderr}"
    importlib.invalidate_caches()


def _is_installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@contextmanager
def installed(source: Path, distribution: str, package: str) -> Iterator[str]:
    """Install a plugin distribution from ``source`` with pip, as a user would, then remove it again.

    Offline: no index and no build isolation, so the build backend (hatchling, a test requirement)
    comes from this environment. Whatever this installs it uninstalls afterwards, so other tests see
    the plugins they expect; a distribution that was already installed is left alone.
    """
    if _is_installed(distribution):
        yield distribution
        return
    _pip("install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", str(source))
    reset_plugin_manager()
    try:
        yield distribution
    finally:
        _pip("uninstall", "--yes", "--quiet", distribution)
        reset_plugin_manager()
        # Forget modules imported from the removed copy, so a later import finds the source tree.
        for name in [name for name in sys.modules if name.partition(".")[0] == package]:
            del sys.modules[name]


@pytest.fixture(scope="session")
def install_plugin() -> Callable[[Path, str, str], contextmanager]:  # type: ignore[type-arg]
    """``with install_plugin(source_dir, distribution, package): ...`` installs a plugin for a block."""
    return installed
