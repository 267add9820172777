"""Fixtures for Hub models: the emulator on 127.0.0.1, per-test caches, tiny models with known outputs.

Each test gets its own emulator, huggingface-hub cache (``HF_HUB_CACHE``) and modelrt cache
(``MODELRT_CACHE``) under its temporary directory, and no token, offline flag or real endpoint from the
environment: nothing a test does can reach the internet or another test's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.plugin_manager import reset_plugin_manager

from .emulator import HubEmulator

SIDE = 8
LABELS = ("cat", "dog", "bird")


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubEmulator]:
    emulator = HubEmulator()
    monkeypatch.setenv("HF_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "modelrt-cache"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for variable in (
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_HUB_OFFLINE",
        "MODELRT_OFFLINE",
        "HUGGINGFACE_HUB_CACHE",
    ):
        monkeypatch.delenv(variable, raising=False)
    reset_plugin_manager()
    yield emulator
    emulator.close()
    reset_plugin_manager()


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Fail the test on any outgoing connection (the emulator only accepts, so it keeps serving)."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args[1:] or args)
        raise OSError("network access during an offline load")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts
    assert attempts == [], f"modelrt tried to connect: {attempts}"


def linear_classifier(weights: np.ndarray, bias: np.ndarray, *, external_data: bool = False) -> bytes:
    """x [n, 3, SIDE, SIDE] -> logits [n, classes] = mean of each channel @ weights + bias."""
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["pixel_values"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "weights"], ["product"]),
            helper.make_node("Add", ["product", "bias"], ["logits"]),
        ],
        "linear",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["n", 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", weights.shape[1]])],
        [numpy_helper.from_array(weights.astype(np.float32), "weights"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def classifier_onnx(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return linear_classifier(rng.normal(0, 1, (3, len(LABELS))), rng.normal(0, 0.1, len(LABELS)).astype(np.float32))


def manifest_for(artifacts: dict[str, tuple[str, bytes]], **overrides: object) -> bytes:
    """``modelrt.json`` for a stretch-to-SIDE classifier; ``artifacts`` maps path -> (format, content)."""
    data: dict[str, object] = {
        "format_version": 1,
        "name": "tiny",
        "task": "classification",
        "architecture": "image-classifier",
        "labels": list(LABELS),
        "input": {"size": [SIDE, SIDE], "resize": "stretch"},
        "artifacts": [
            {
                "role": "main",
                "format": fmt,
                "path": path,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
            for path, (fmt, content) in artifacts.items()
        ],
        **overrides,
    }
    return json.dumps(data, indent=1).encode()


def package_files(model: bytes | None = None, prefix: str = "") -> dict[str, bytes]:
    """The files of a modelrt package holding one ONNX classifier, under ``prefix`` in the repository."""
    model = classifier_onnx() if model is None else model
    return {f"{prefix}modelrt.json": manifest_for({"model.onnx": ("onnx", model)}), f"{prefix}model.onnx": model}


def image(value: int = 100) -> np.ndarray:
    """A flat RGB image: every resize gives the same pixels, so expected scores are exact."""
    return np.full((SIDE * 2, SIDE * 3, 3), value, np.uint8)


def blobs_of(cache: Path) -> list[Path]:
    return sorted(path for path in cache.rglob("blobs/*") if path.is_file())


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with this test's environment (its endpoint and caches)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=dict(os.environ), check=False
    )


def start_python(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
