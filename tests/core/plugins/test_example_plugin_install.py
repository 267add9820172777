"""The example third-party plugin (``tests/third_party_plugin``), really installed, is found through its
entry point like any plugin a user installs."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrt.plugin_manager import PluginManager

EXAMPLE_ROOT = Path(__file__).resolve().parents[2] / "third_party_plugin"
EXAMPLE_DISTRIBUTION = "modelrt-example-numpy-backend"
EXAMPLE_PACKAGE = "modelrt_example_numpy"


def _is_installed() -> bool:
    try:
        importlib.metadata.distribution(EXAMPLE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _pip(*arguments: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "pip", *arguments], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"pip {' '.join(arguments)} failed:\n{completed.stderr}"
    importlib.invalidate_caches()


@pytest.fixture(scope="module")
def example_plugin_installed() -> Iterator[str]:
    """The example installed into this environment for this module's tests, unless it already is.

    Offline: no index and no build isolation, so the build backend (hatchling, a test requirement)
    comes from this environment. What this fixture installs it uninstalls afterwards, so the rest of
    the suite sees the plugins it expects (a second CPU backend for ``onnx`` changes what ``auto`` does).
    """
    if _is_installed():
        yield EXAMPLE_DISTRIBUTION
        return
    _pip("install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", str(EXAMPLE_ROOT))
    try:
        yield EXAMPLE_DISTRIBUTION
    finally:
        _pip("uninstall", "--yes", "--quiet", EXAMPLE_DISTRIBUTION)
        # Forget the modules imported from the removed copy, so a later import finds the source tree.
        for name in [name for name in sys.modules if name.partition(".")[0] == EXAMPLE_PACKAGE]:
            del sys.modules[name]


def test_installed_example_plugin_is_discovered_through_its_entry_point(example_plugin_installed):
    info = next(info for info in PluginManager().plugins() if info.name == "example-numpy")
    assert (info.distribution, info.status, info.error) == (example_plugin_installed, "ok", None)


def test_installed_example_plugin_registers_its_backend(example_plugin_installed):
    manager = PluginManager()
    assert manager.owner("backend", "numpy-reference") == "example-numpy"
    assert manager.backends()["numpy-reference"].formats == ("onnx",)


def test_installed_example_backend_never_outranks_onnxruntime(example_plugin_installed):
    backends = PluginManager().backends()
    assert backends["numpy-reference"].priority < backends["onnxruntime"].priority
