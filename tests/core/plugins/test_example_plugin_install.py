"""The example third-party plugin (``tests/third_party_plugin``), really installed, is found through its
entry point like any plugin a user installs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrt.plugin_manager import PluginManager

EXAMPLE_ROOT = Path(__file__).resolve().parents[2] / "third_party_plugin"
EXAMPLE_DISTRIBUTION = "modelrt-example-numpy-backend"
EXAMPLE_PACKAGE = "modelrt_example_numpy"


@pytest.fixture(scope="module")
def example_plugin_installed(install_plugin) -> Iterator[str]:
    """The example installed into this environment for this module's tests (removed afterwards)."""
    with install_plugin(EXAMPLE_ROOT, EXAMPLE_DISTRIBUTION, EXAMPLE_PACKAGE) as distribution:
        yield distribution


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
