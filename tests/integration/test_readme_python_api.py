"""The README's Python API block runs as written: against the demo's packages and images, and a small
Ultralytics-style detector saved as ``yolov8n.onnx`` (a real graph, built here, whose 64 boxes do not
depend on the pixels)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import modelrt
from modelrt.results import Detections

from .cli_models import grid_detector
from .conftest import IMAGES, REPO


def _python_api_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the README's Python API section has no python block"
    return match.group(1)


@pytest.fixture
def readme_namespace(demo_packages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Run the block in a directory laid out as the README assumes; return the names it defined."""
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "packages").symlink_to(demo_packages)
    (tmp_path / "demo" / "images").symlink_to(IMAGES)
    grid_detector(tmp_path / "yolov8n.onnx", labels=("person", "car"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(_python_api_block(), "README.md", "exec"), namespace)
    yield namespace
    namespace["model"].close()
    namespace["detector"].close()


def test_the_readme_python_api_block_runs_as_written(readme_namespace: dict[str, Any]) -> None:
    assert readme_namespace["model"].backend == "onnxruntime"
    assert str(readme_namespace["model"].device) == "cpu"
    assert len(readme_namespace["lines"]) > 0


def test_its_filters_keep_the_detections_they_name(readme_namespace: dict[str, Any]) -> None:
    people, sure = readme_namespace["people"], readme_namespace["sure"]
    assert isinstance(people, Detections) and isinstance(sure, Detections)
    assert len(people) > 0 and set(people.class_names.tolist()) == {"person"}
    assert len(sure) == int((people.confidence > 0.8).sum())


def test_it_leaves_environment_callable_after_a_load(readme_namespace: dict[str, Any]) -> None:
    assert callable(modelrt.environment)
    assert readme_namespace["report"] is not None
