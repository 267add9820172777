"""Annotated masks and skeletons: masks tint their pixels in the class colour, and 17 COCO keypoints are
joined by the limbs whose two ends are visible."""

from __future__ import annotations

import numpy as np

from modelrt.annotate import annotate
from modelrt.results import Detections

RED, GREEN = (255, 56, 56), (50, 205, 50)  # the colours of classes 0 and 1


def grey(height: int = 200, width: int = 300) -> np.ndarray:
    return np.full((height, width, 3), 128, dtype=np.uint8)


def boxes(count: int, **extra: object) -> Detections:
    return Detections(
        ("cat", "dog"),
        xyxy=[[10, 100, 290, 190]] * count,
        confidence=[0.9] * count,
        class_id=list(range(count)),
        **extra,  # type: ignore[arg-type]
    )


def test_a_mask_is_blended_half_and_half_with_its_class_colour() -> None:
    masks = np.zeros((1, 200, 300), dtype=bool)
    masks[0, 120:170, 50:150] = True
    drawn = annotate(grey(), boxes(1, masks=masks))
    assert drawn[150, 100].tolist() == [round((128 + c) / 2) for c in RED]
    assert (drawn[150, 200] == 128).all()  # inside the box, outside the mask


def test_where_masks_overlap_the_later_detection_is_on_top() -> None:
    masks = np.zeros((2, 200, 300), dtype=bool)
    masks[0, 120:170, 50:150] = True
    masks[1, 120:170, 100:200] = True
    drawn = annotate(grey(), boxes(2, masks=masks))
    assert drawn[150, 75].tolist() == [round((128 + c) / 2) for c in RED]
    assert drawn[150, 125].tolist() == [round((128 + c) / 2) for c in GREEN]


def test_seventeen_keypoints_are_joined_by_the_coco_skeleton_where_both_ends_are_visible() -> None:
    keypoints = np.zeros((1, 17, 3), dtype=np.float32)
    keypoints[0, :, :2] = [20, 20]
    keypoints[0, 5] = [100, 150, 0.9]  # left shoulder
    keypoints[0, 6] = [200, 150, 0.9]  # right shoulder: the limb 5-6 joins them
    keypoints[0, 11] = [100, 110, 0.1]  # left hip, not visible: no limb 5-11
    drawn = annotate(grey(), boxes(1, keypoints=keypoints))
    assert (drawn[150, 150] != 128).any()  # mid-shoulders
    assert (drawn[130, 100] == 128).all()  # between the shoulder and the hidden hip
