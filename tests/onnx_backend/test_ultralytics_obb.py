"""The ``ultralytics-onnx`` source reads OBB exports (``task: obb``) as ``yolov8-obb`` packages, checked
against the network's output, and they run end to end into oriented boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import modelrt
from modelrt.errors import PackageError
from modelrt_onnx.sources import UltralyticsOnnxSource

from .conftest import COCO_LIKE, ultralytics_metadata

CLASSES = len(COCO_LIKE)


def with_output(path: Path, output: np.ndarray) -> Path:
    """The constant model at ``path`` rewritten to output ``output`` instead of zeros."""
    model = onnx.load(str(path))
    (zeros,) = [tensor for tensor in model.graph.initializer if tensor.name == "zeros"]
    zeros.CopyFrom(numpy_helper.from_array(output.astype(np.float32), "zeros"))
    onnx.save(model, str(path))
    return path


def test_an_obb_export_is_an_oriented_detection_package_letterboxed_like_a_detector(models: Any) -> None:
    path = models.detector(metadata=ultralytics_metadata(task="obb"), output_shape=(1, 4 + CLASSES + 1, 84))
    manifest = UltralyticsOnnxSource().open(str(path)).manifest
    assert (manifest.task, manifest.architecture, manifest.input.resize) == (
        "oriented-detection",
        "yolov8-obb",
        "letterbox",
    )
    assert (manifest.postprocess.confidence, manifest.postprocess.iou, manifest.postprocess.max_detections) == (
        0.25,
        0.7,
        300,
    )


def test_an_obb_export_without_the_angle_row_is_refused(models: Any) -> None:
    path = models.detector(metadata=ultralytics_metadata(task="obb"), output_shape=(1, 4 + CLASSES, 84))
    with pytest.raises(PackageError, match=rf"OBB model with {CLASSES} classes should output \[batch, {CLASSES + 5}"):
        UltralyticsOnnxSource().open(str(path))


def test_an_obb_export_runs_into_oriented_boxes_in_original_pixels(models: Any) -> None:
    # Two anchors: a car turned by 0.3 rad, and a weak one below Ultralytics' default confidence of 0.25.
    anchors = np.zeros((4 + CLASSES + 1, 2), dtype=np.float32)
    anchors[:, 0] = [32, 32, 40, 20, 0.0, 0.0, 0.9, 0.3]
    anchors[:, 1] = [10, 10, 8, 8, 0.2, 0.0, 0.0, 0.0]
    path = models.detector(metadata=ultralytics_metadata(task="obb"), output_shape=(1, 4 + CLASSES + 1, 2))
    with modelrt.load(with_output(path, anchors[None]), device="cpu") as model:
        (detections,) = model.predict([np.zeros((32, 128, 3), dtype=np.uint8)])
    # 32x128 letterboxes into 64x64 at gain 0.5 with 24 rows of padding on top.
    assert detections.class_names.tolist() == ["car"]
    np.testing.assert_allclose(detections.oriented_boxes, [[64, 16, 80, 40, 0.3]], rtol=0, atol=1e-4)
