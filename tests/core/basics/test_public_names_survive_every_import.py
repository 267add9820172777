"""Every public name of ``modelrt`` stays what its lazy export gives, whatever submodules get imported.

Importing ``modelrt.x`` binds the attribute ``x`` of the package to that submodule, so a public name
equal to a submodule's would silently turn from a function into a module the moment anything imports
the module (``modelrt.environment`` did, before the module became ``modelrt.host_environment``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

import modelrt
from modelrt.ray import RayMissingError


def _all_submodules() -> list[str]:
    """Every module under ``modelrt``, subpackages included (``python -m modelrt``'s ``__main__`` aside)."""
    found = pkgutil.walk_packages(modelrt.__path__, prefix="modelrt.")
    return sorted(info.name for info in found if info.name != "modelrt.__main__")


def test_the_walk_reaches_the_subpackages() -> None:
    names = _all_submodules()
    assert {"modelrt.testing.conformance", "modelrt.architectures.yolo", "modelrt.host_environment"} <= set(names)


def test_no_public_name_is_also_a_submodule_name() -> None:
    top_level = {name.split(".")[1] for name in _all_submodules()}
    assert not top_level & set(modelrt.__all__)


def _import(name: str) -> None:
    """Import ``name``; only a module of the Ray integration may need Ray, and only where it is absent
    (``modelrt.ray.serve`` declares its deployment with Ray Serve's decorators, so it cannot import without)."""
    try:
        importlib.import_module(name)
    except RayMissingError:
        assert name.startswith("modelrt.ray.") and importlib.util.find_spec("ray") is None, name


def test_every_public_name_is_its_lazy_export_after_every_submodule_is_imported() -> None:
    for name in _all_submodules():
        _import(name)
    exports = modelrt._EXPORTS
    assert set(modelrt.__all__) == set(exports) | {"__version__"}
    for name in exports:
        value = getattr(modelrt, name)
        assert not isinstance(value, ModuleType), f"modelrt.{name} became a module"
        assert value is getattr(importlib.import_module(exports[name]), name), name
    assert callable(modelrt.environment) and callable(modelrt.explain) and callable(modelrt.load)
    assert isinstance(modelrt.__version__, str)
