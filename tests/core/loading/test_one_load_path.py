"""``load``, ``explain`` and ``pull`` share one path from arguments to a probed plan, so they cannot drift."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.errors import PackageError
from modelrt.hookspecs import hookimpl
from modelrt.load_request import plan_for, run_options
from modelrt.plan import build_backends
from modelrt.specs import BackendSpec
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with

CORE = Path(modelrt.__file__).parent
#: The modules that sit above ``modelrt.api`` and may therefore import it.
API_USERS = {"__init__.py", "cli.py", "cli_package.py", "hub/source.py"}


class UnbuildableBackendPlugin:
    """Registers a backend whose factory cannot be imported, as after a broken install."""

    @hookimpl
    def register_backends(self) -> list[BackendSpec]:
        return [BackendSpec("broken-runtime", ("onnx",), ("cpu",), 90, "no_such_module_anywhere:Backend")]


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.zeros((batch.shape[0], 3), np.float32)


def test_a_backend_that_cannot_be_built_is_kept_apart_from_the_built_ones(make_package: Callable[..., Path]) -> None:
    manager = manager_with(UnbuildableBackendPlugin(), fake_backend_plugin("steady", compute=_compute))
    _package, plan, _arch = plan_for(
        make_package(), options=run_options(None, "auto", 0, None), offline=None, allow_pickle=False, manager=manager
    )
    backends = build_backends(plan, manager)
    assert set(backends.instances) == {"steady"}
    assert "could not be built" in backends.unbuildable["broken-runtime"].reason


def test_explain_and_load_reject_an_unbuildable_backend_alike(make_package: Callable[..., Path]) -> None:
    manager = manager_with(UnbuildableBackendPlugin(), fake_backend_plugin("steady", compute=_compute))
    explained = modelrt.explain(make_package(), manager=manager)
    with modelrt.load(make_package(), manager=manager) as model:
        loaded = model.plan
    for plan in (explained, loaded):
        broken = next(c for c in plan.candidates if c.backend == "broken-runtime")
        assert broken.status == "unavailable" and "could not be built" in broken.reason
        assert broken.fix is not None and "reinstall the plugin" in broken.fix
        assert plan.chosen()["main"].backend == "steady"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_only_the_public_surface_imports_the_api_module() -> None:
    importers = {
        path.relative_to(CORE).as_posix()
        for path in CORE.rglob("*.py")
        if "modelrt.api" in _imported_modules(path) and path.name != "api.py"
    }
    assert importers <= API_USERS


def test_no_module_imports_a_private_name_of_the_model_module() -> None:
    private = [
        f"{path.relative_to(CORE).as_posix()}: {alias.name}"
        for path in CORE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "modelrt.model"
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


def test_explain_and_load_refuse_alike_a_manifest_without_the_roles_its_architecture_needs(
    make_package: Callable[..., Path],
) -> None:
    """MTCNN runs three networks (pnet, rnet, onet): a package holding one "main" network cannot make it."""
    package = make_package(architecture="mtcnn", task="object-detection", name="one-net-mtcnn")
    manager = manager_with(fake_backend_plugin("steady", compute=_compute))
    for attempt in (modelrt.explain, modelrt.load):
        with pytest.raises(PackageError, match=r"needs artifacts for roles \['pnet', 'rnet', 'onet'\]"):
            attempt(package, manager=manager)
