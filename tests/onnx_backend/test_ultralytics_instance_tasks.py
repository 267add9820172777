"""The ``ultralytics-onnx`` source reads segment and pose exports: their task, architecture and keypoint
layout from the metadata, checked against the network's outputs."""

from __future__ import annotations

from typing import Any

import pytest

from modelrt.errors import PackageError
from modelrt_onnx.sources import UltralyticsOnnxSource

from .conftest import COCO_LIKE, ultralytics_metadata

CLASSES = len(COCO_LIKE)


@pytest.fixture
def source() -> UltralyticsOnnxSource:
    return UltralyticsOnnxSource()


def test_a_pose_export_is_a_keypoint_detection_package_letterboxed_like_a_detector(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    path = models.detector(
        metadata=ultralytics_metadata(task="pose", kpt_shape="[17, 3]"), output_shape=(1, 4 + CLASSES + 51, 84)
    )
    manifest = source.open(str(path)).manifest
    assert (manifest.task, manifest.architecture, manifest.input.resize) == (
        "keypoint-detection",
        "yolov8-pose",
        "letterbox",
    )
    assert (manifest.postprocess.confidence, manifest.postprocess.iou) == (0.25, 0.7)


def test_a_pose_export_without_visibility_is_refused_with_its_kpt_shape(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    path = models.detector(
        metadata=ultralytics_metadata(task="pose", kpt_shape="[17, 2]"), output_shape=(1, 4 + CLASSES + 34, 84)
    )
    with pytest.raises(PackageError, match=r"carry 2 values each \(kpt_shape \[17, 2\]\).*kpt_shape \[K, 3\]"):
        source.open(str(path))


def test_a_pose_export_whose_output_does_not_hold_its_keypoints_is_refused(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    path = models.detector(
        metadata=ultralytics_metadata(task="pose", kpt_shape="[5, 3]"), output_shape=(1, 4 + CLASSES + 51, 84)
    )
    with pytest.raises(PackageError, match=rf"5 keypoints should output \[batch, {4 + CLASSES + 15}, anchors\]"):
        source.open(str(path))


@pytest.mark.parametrize("kpt_shape", ["[17]", "[0, 3]", "'17x3'", "[True, 3]"])
def test_a_malformed_kpt_shape_is_refused(source: UltralyticsOnnxSource, models: Any, kpt_shape: str) -> None:
    path = models.detector(metadata=ultralytics_metadata(task="pose", kpt_shape=kpt_shape))
    with pytest.raises(PackageError, match=r"'kpt_shape' must be \[keypoints, values\]"):
        source.open(str(path))


def test_a_segment_export_without_prototypes_is_refused(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector(metadata=ultralytics_metadata(task="segment"), output_shape=(1, 4 + CLASSES + 32, 84))
    with pytest.raises(PackageError, match=r"prototypes \[batch, M, height, width\]"):
        source.open(str(path))
