"""Fixtures for modelrt on Ray: two tiny real ONNX models, the demo images, and one local Ray for the session.

The models are Ultralytics-style ONNX files built with ``onnx.helper``, with a dynamic batch dimension
so batches really go through one network call. The classifier's probabilities are the softmax of the
image's mean red, green and blue, so different pictures give different answers; the detector finds
the same two boxes (and one box NMS removes) in the network's 64x64 input, which lands at different
pixels in each image. Ray starts once (it takes seconds), with 2 CPUs, no dashboard and no usage stats.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
IMAGES = sorted((REPO / "demo" / "images").glob("*.png"))
CLASSES = ("red", "green", "blue")

#: Detector anchors, in the 64x64 input: centre x, centre y, width, height, then one score per class.
ANCHORS = np.array(
    [
        [20, 20, 10, 10, 0.9, 0.0, 0.0],  # a "red" box
        [40, 30, 16, 20, 0.0, 0.0, 0.6],  # a "blue" box
        [21, 20, 10, 10, 0.8, 0.0, 0.0],  # overlaps the first: NMS drops it
        [50, 50, 8, 8, 0.1, 0.1, 0.1],  # below the 0.25 confidence threshold
    ],
    np.float32,
)


def _metadata(task: str, size: int) -> dict[str, str]:
    return {
        "author": "Ultralytics",
        "task": task,
        "imgsz": f"[{size}, {size}]",
        "names": str(dict(enumerate(CLASSES))),
        "stride": "32",
    }


def _save(graph: onnx.GraphProto, metadata: dict[str, str], path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.save(model, str(path))
    return path


def colour_classifier(path: Path) -> Path:
    """``softmax(mean colour * 10)`` of a [batch, 3, 32, 32] input: its verdict depends on the picture."""
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["images"], ["means"], axes=[2, 3], keepdims=0),
            helper.make_node("Mul", ["means", "ten"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["output0"], axis=1),
        ],
        "colour-classifier",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(np.array(10.0, np.float32), "ten")],
    )
    return _save(graph, _metadata("classify", 32), path)


def anchor_detector(path: Path) -> Path:
    """A YOLOv8-style detector of [batch, 3, 64, 64] whose output [batch, 7, 4] is ``ANCHORS``, transposed."""
    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["images", "axes"], ["sums"], keepdims=1),  # [batch, 1, 1, 1]
            helper.make_node("Reshape", ["sums", "per_image"], ["total"]),  # [batch, 1, 1]
            helper.make_node("Mul", ["total", "zero"], ["nothing"]),
            helper.make_node("Add", ["anchors", "nothing"], ["output0"]),  # broadcast to [batch, 7, 4]
        ],
        "anchor-detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 7, len(ANCHORS)])],
        [
            numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
            numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "per_image"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
            numpy_helper.from_array(ANCHORS.T[None].copy(), "anchors"),
        ],
    )
    return _save(graph, _metadata("detect", 64), path)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"classifier": path, "detector": path}``: the two tiny models, written once."""
    directory = tmp_path_factory.mktemp("ray-models")
    return {
        "classifier": colour_classifier(directory / "colour-classifier.onnx"),
        "detector": anchor_detector(directory / "anchor-detector.onnx"),
    }


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """One local Ray for every test that needs it: 2 CPUs, no dashboard, no usage statistics."""
    pytest.importorskip("ray.data", reason='needs Ray: pip install "modelrt[ray]"')
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
