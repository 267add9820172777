"""What a plugin author needs is public: importable from ``modelrt`` itself, and typed (PEP 561)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

import modelrt
from modelrt.host_environment import Environment

REPOSITORY = Path(__file__).resolve().parents[3]
EXAMPLE_PLUGIN = REPOSITORY / "tests" / "third_party_plugin"
#: Every distribution that ships a Python package (the ``modelrt`` meta distribution ships none).
DISTRIBUTIONS = [
    REPOSITORY / "core",
    REPOSITORY / "plugins" / "jetson",
    REPOSITORY / "plugins" / "onnx_backend",
    REPOSITORY / "plugins" / "torch_backend",
    EXAMPLE_PLUGIN,
]


def test_the_environment_a_backend_is_asked_about_is_public() -> None:
    assert "Environment" in modelrt.__all__
    assert modelrt.Environment is Environment


def test_the_example_plugin_imports_only_the_public_package() -> None:
    private = [
        f"{path.name}:{node.lineno}: from {node.module} import ..."
        for path in sorted((EXAMPLE_PLUGIN / "src").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("modelrt.")
    ]
    assert private == []


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda path: path.name)
def test_every_distribution_ships_py_typed_in_its_wheel(distribution: Path) -> None:
    shipped = [file.distribution_path for file in WheelBuilder(str(distribution)).recurse_included_files()]
    packages = {path.split("/")[0] for path in shipped if path.endswith(".py")}
    assert packages, f"{distribution} ships no package"
    assert {f"{package}/py.typed" for package in packages} <= set(shipped)
