"""YOLOv8-pose keypoints decoded end to end: tiny ONNX graphs output known boxes and keypoints, which must
come back in original-image pixels, with their visibility, attached to the right box."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelrt.architectures.yolo_pose import YOLOv8Pose
from modelrt.errors import PackageError

LABELS = ["person", "cat"]


def head(*anchors: list[float]) -> np.ndarray:
    """``[1, 4 + C + 3K, N]`` from anchors given as rows [cx, cy, w, h, class scores..., x, y, v, ...]."""
    return np.asarray(anchors, dtype=np.float32).T[None]


def blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


@pytest.fixture
def pose(make_constant_model: Any, make_session: Any, make_package: Any) -> Callable[..., YOLOv8Pose]:
    def build(output: np.ndarray) -> YOLOv8Pose:
        package = make_package("yolov8-pose", "keypoint-detection", LABELS, {"size": [64, 64], "resize": "letterbox"})
        return YOLOv8Pose(package, {"main": make_session(make_constant_model(output))})

    return build


def test_keypoints_map_back_through_the_letterbox_with_their_visibility(pose: Any) -> None:
    # A 32x128 (h x w) image letterboxes into 64x64 at gain 0.5 with 24 rows of padding on top.
    model = pose(head([32, 32, 40, 20, 0.9, 0, 10, 28, 0.9, 60, 40, 0.2]))
    (detections,) = model.predict([blank(32, 128)])
    np.testing.assert_allclose(detections.keypoints, [[[20, 8, 0.9], [120, 32, 0.2]]], rtol=0, atol=1e-5)
    assert detections.keypoints.dtype == np.float32


def test_keypoints_in_the_padding_are_clipped_to_the_image(pose: Any) -> None:
    model = pose(head([32, 32, 40, 20, 0.9, 0, 70, 4, 0.8, -3, 60, 0.7]))
    (detections,) = model.predict([blank(32, 128)])
    np.testing.assert_allclose(detections.keypoints[0, :, :2], [[128, 0], [0, 32]], rtol=0, atol=1e-5)


def test_each_box_keeps_its_own_keypoints_through_selection_and_nms(pose: Any) -> None:
    model = pose(
        head(
            [20, 20, 10, 10, 0.6, 0, 1, 1, 0.5],  # suppressed by the next, better box of the same class
            [21, 20, 10, 10, 0.9, 0, 2, 2, 0.5],
            [50, 50, 10, 10, 0.1, 0.7, 3, 3, 0.5],
            [40, 10, 10, 10, 0.1, 0.1, 4, 4, 0.5],  # below the confidence threshold
        )
    )
    (detections,) = model.predict([blank(64, 64)])
    assert detections.class_id.tolist() == [0, 1]
    assert detections.keypoints[:, 0, 0].tolist() == [2, 3]
    cats = detections[detections.class_names == "cat"]
    assert cats.keypoints is not None and cats.keypoints[:, 0, 0].tolist() == [3]


def test_the_class_filter_keeps_the_keypoints_of_the_wanted_class(pose: Any) -> None:
    model = pose(head([20, 20, 10, 10, 0.9, 0, 1, 1, 0.5], [50, 50, 10, 10, 0, 0.8, 3, 3, 0.5]))
    (detections,) = model.predict([blank(64, 64)], classes=["cat"])
    assert detections.keypoints[:, 0, 0].tolist() == [3]


def test_values_after_the_classes_that_are_not_whole_keypoints_are_a_package_error(pose: Any) -> None:
    model = pose(head([20, 20, 10, 10, 0.9, 0, 1, 1]))
    with pytest.raises(PackageError, match=r"2 values remain, not a multiple of 3"):
        model.predict([blank(64, 64)])


def test_an_output_with_nothing_after_the_classes_is_a_package_error(pose: Any) -> None:
    model = pose(head([20, 20, 10, 10, 0.9, 0]))
    with pytest.raises(PackageError, match=r"4 \+ classes \+ keypoints"):
        model.predict([blank(64, 64)])
