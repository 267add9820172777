"""Tiny engine files for the tests: fake plans (``ftrt`` and a few bytes), full facts, Ultralytics files."""

from __future__ import annotations

import json
from typing import Any

from modelrt.engines.facts import EngineFacts, EngineTensor, ProfileShape

PLAN = b"ftrt" + bytes(range(60))


def full_facts() -> EngineFacts:
    """Facts as modelrt's builder records them: every fact known."""
    return EngineFacts(
        flavour="tensorrt",
        tensorrt_version="10.3.0",
        cuda_version="12.6",
        driver_version="560.35.03",
        gpu_name="NVIDIA GeForce RTX 3090",
        compute_capability="8.6",
        hardware_compatibility="none",
        version_compatible=False,
        l4t=None,
        dla_core=None,
        precision="fp16",
        profiles=[ProfileShape("images", (1, 3, 8, 8), (4, 3, 8, 8), (8, 3, 8, 8))],
        tensors=[
            EngineTensor("images", "input", "float32", (-1, 3, 8, 8)),
            EngineTensor("scores", "output", "float32", (-1, 3, 8, 8)),
        ],
        onnx_sha256="ab" * 32,
        builder="modelrt-trt 0.1.0",
    )


def ultralytics_metadata(**overrides: Any) -> dict[str, Any]:
    """Metadata as Ultralytics' TensorRT export writes it (``names`` keys become strings in JSON)."""
    metadata: dict[str, Any] = {
        "description": "Ultralytics YOLO11n model",
        "author": "Ultralytics",
        "version": "8.3.40",
        "task": "detect",
        "stride": 32,
        "batch": 1,
        "imgsz": [640, 640],
        "names": {"0": "person", "1": "bicycle"},
        "args": {"batch": 1, "half": True, "int8": False, "dynamic": False},
    }
    metadata.update(overrides)
    return metadata


def ultralytics_file(metadata: dict[str, Any], plan: bytes = PLAN, *, ascii_only: bool = True) -> bytes:
    """An Ultralytics ``.engine`` file, its length prefix counting characters as Ultralytics does."""
    text = json.dumps(metadata, ensure_ascii=ascii_only)
    return len(text).to_bytes(4, "little", signed=True) + text.encode("utf-8") + plan
