from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def make_package(tmp_path: Path) -> Callable[..., Path]:
    """Write a small classification package whose artifacts are opaque bytes (fake backends load them)."""

    def make(
        artifacts: list[tuple[str, str]] = (("model.onnx", "onnx"),),  # type: ignore[assignment]
        architecture: str = "image-classifier",
        task: str = "classification",
        name: str = "tiny-classifier",
    ) -> Path:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        entries: list[dict[str, Any]] = []
        for path, fmt in artifacts:
            payload = f"{fmt}:{path}".encode()
            (root / path).write_bytes(payload)
            entries.append(
                {
                    "role": "main",
                    "format": fmt,
                    "path": path,
                    "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                }
            )
        manifest = {
            "format_version": 1,
            "name": name,
            "task": task,
            "architecture": architecture,
            "labels": ["cat", "dog", "bird"],
            "input": {"size": [8, 8], "resize": "stretch"},
            "artifacts": entries,
        }
        (root / "modelrt.json").write_text(json.dumps(manifest))
        return root

    return make
