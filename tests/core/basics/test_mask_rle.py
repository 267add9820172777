"""Masks in JSON: COCO's uncompressed RLE, the same counts supervision (and pycocotools) produce and read."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from modelrt.results import Detections, mask_rle


def test_counts_run_down_each_column_starting_with_background() -> None:
    mask = np.array([[False, True, False], [False, True, True]])
    assert mask_rle(mask) == {"size": [2, 3], "counts": [2, 2, 1, 1]}


def test_a_mask_whose_first_pixel_is_set_starts_with_an_empty_background_run() -> None:
    mask = np.array([[True, False], [True, False]])
    assert mask_rle(mask)["counts"] == [0, 2, 2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_are_the_ones_supervision_writes_and_decode_back(seed: int) -> None:
    mask = np.random.default_rng(seed).random((37, 53)) > 0.6
    rle = mask_rle(mask)
    assert rle["counts"] == sv.mask_to_rle(mask)
    assert np.array_equal(sv.rle_to_mask(rle["counts"], (53, 37)), mask)


def test_to_dict_gives_each_detection_its_mask_only_when_asked() -> None:
    masks = np.zeros((2, 4, 5), dtype=bool)
    masks[1, 1:3, 2:4] = True
    detections = Detections(
        ("a",), xyxy=[[0, 0, 1, 1], [2, 1, 4, 3]], confidence=[0.9, 0.8], class_id=[0, 0], masks=masks
    )
    assert "mask" not in detections.to_dict()["detections"][0]
    items = detections.to_dict(masks=True)["detections"]
    assert [item["mask"] for item in items] == [
        {"size": [4, 5], "counts": [20]},
        {"size": [4, 5], "counts": [9, 2, 2, 2, 5]},
    ]
