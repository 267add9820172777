from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest


def manifest_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format_version": 1,
        "name": "tiny-detector",
        "task": "object-detection",
        "architecture": "yolov8",
        "labels": ["person", "bicycle"],
        "input": {"size": [640, 640]},
        "artifacts": [{"role": "main", "format": "onnx", "path": "model.onnx"}],
    }
    data.update(overrides)
    return data


@pytest.fixture
def package_dir(tmp_path: Path) -> Path:
    """A package with one 64-byte artifact and a manifest recording its size and sha256."""
    root = tmp_path / "package"
    root.mkdir()
    payload = bytes(range(64))
    (root / "model.onnx").write_bytes(payload)
    artifact = {
        "role": "main",
        "format": "onnx",
        "path": "model.onnx",
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    (root / "modelrt.json").write_text(json.dumps(manifest_data(artifacts=[artifact])))
    return root
