"""Ultralytics segmentation and pose exports run as Ultralytics' own predictor runs them.

The references in ``tests/data/ultralytics`` were recorded with Ultralytics 8.4.190 on the same ONNX
files and images (``make_references.py`` there): a YOLOv8-seg and a YOLO11-seg export (square and
rectangular inputs) and a YOLOv8-pose export. Masks are the predictor's default masks
(``retina_masks=False``) scaled to the original image by Ultralytics' ``scale_masks`` and kept where
> 0.5, stored as COCO RLE. modelrt must return the same detections (counts and classes exactly, boxes
within 0.01 px), the same masks pixel for pixel, and keypoints within 0.01 px.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelrt
from modelrt.images import load_image
from modelrt.model import Model
from modelrt.preprocess import Preprocessor

DATA = Path(__file__).resolve().parents[1] / "data" / "ultralytics"
IMAGES = ("square.png", "wide.png", "tall.png", "grey.png")
SEGMENTERS = ("yolov8-seg-320", "yolo11-seg-384x640")
POSE = "yolov8-pose-320"


def reference(model_name: str, image: str) -> dict[str, Any]:
    return json.loads((DATA / f"{model_name}.json").read_text())["predictions"][image]


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """A COCO uncompressed RLE (counts as a list or a space-separated string) as a bool [H, W] mask."""
    height, width = rle["size"]
    counts = rle["counts"].split() if isinstance(rle["counts"], str) else rle["counts"]
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, [int(count) for count in counts]).reshape(width, height).T


@pytest.fixture(scope="module")
def models() -> Iterator[dict[str, Model]]:
    loaded = {name: modelrt.load(DATA / f"{name}.onnx", device="cpu") for name in (*SEGMENTERS, POSE)}
    yield loaded
    for model in loaded.values():
        model.close()


@pytest.mark.parametrize(
    ("model_name", "task", "architecture"),
    [
        ("yolov8-seg-320", "instance-segmentation", "yolov8-seg"),
        ("yolo11-seg-384x640", "instance-segmentation", "yolov8-seg"),
        (POSE, "keypoint-detection", "yolov8-pose"),
    ],
)
def test_segment_and_pose_exports_load_as_their_task(
    models: dict[str, Model], model_name: str, task: str, architecture: str
) -> None:
    manifest = models[model_name].package.manifest
    assert (manifest.task, manifest.architecture, manifest.input.resize) == (task, architecture, "letterbox")
    assert (manifest.postprocess.confidence, manifest.postprocess.iou) == (0.25, 0.7)


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("model_name", [*SEGMENTERS, POSE])
def test_the_network_gets_the_input_tensor_ultralytics_gives_it(
    models: dict[str, Model], model_name: str, image: str
) -> None:
    expected = reference(model_name, image)
    tensor, _ = Preprocessor(models[model_name].package.manifest.input)([load_image(DATA / "images" / image)])
    assert list(tensor.shape) == expected["input_shape"]
    assert hashlib.sha256(tensor.tobytes()).hexdigest() == expected["input_sha256"]


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("model_name", SEGMENTERS)
def test_boxes_and_masks_match_ultralytics(models: dict[str, Model], model_name: str, image: str) -> None:
    expected = reference(model_name, image)
    detections = models[model_name].predict(DATA / "images" / image, confidence=expected["confidence_threshold"])
    assert detections.class_id.tolist() == expected["class_id"]
    np.testing.assert_allclose(detections.xyxy, np.reshape(expected["xyxy"], (-1, 4)), rtol=0, atol=0.01)
    np.testing.assert_allclose(detections.confidence, expected["confidence"], rtol=0, atol=1e-4)
    height, width = load_image(DATA / "images" / image).shape[:2]
    assert detections.masks is not None and detections.masks.shape == (len(expected["masks"]), height, width)
    for position, (mask, rle) in enumerate(zip(detections.masks, expected["masks"], strict=True)):
        differing = int(np.count_nonzero(mask != decode_rle(rle)))
        assert differing == 0, f"mask {position}: {differing} pixels differ from Ultralytics'"


@pytest.mark.parametrize("image", IMAGES)
def test_keypoints_match_ultralytics(models: dict[str, Model], image: str) -> None:
    expected = reference(POSE, image)
    detections = models[POSE].predict(DATA / "images" / image, confidence=expected["confidence_threshold"])
    assert detections.class_id.tolist() == expected["class_id"]
    np.testing.assert_allclose(detections.xyxy, np.reshape(expected["xyxy"], (-1, 4)), rtol=0, atol=0.01)
    assert detections.keypoints is not None and detections.keypoints.shape == (len(expected["class_id"]), 17, 3)
    keypoints = np.asarray(expected["keypoints"])
    np.testing.assert_allclose(detections.keypoints[..., :2], keypoints[..., :2], rtol=0, atol=0.01)
    np.testing.assert_allclose(detections.keypoints[..., 2], keypoints[..., 2], rtol=0, atol=1e-4)


def test_masks_in_json_are_coco_rle_that_decode_to_the_masks(models: dict[str, Model]) -> None:
    expected = reference("yolov8-seg-320", "wide.png")
    detections = models["yolov8-seg-320"].predict(
        DATA / "images" / "wide.png", confidence=expected["confidence_threshold"]
    )
    items = json.loads(json.dumps(detections.to_dict(masks=True)))["detections"]
    assert detections.masks is not None and len(items) == len(detections) > 0
    for item, mask in zip(items, detections.masks, strict=True):
        assert item["mask"]["size"] == [200, 1920]
        assert np.array_equal(decode_rle(item["mask"]), mask)


def test_masks_are_left_out_of_json_unless_asked_for(models: dict[str, Model]) -> None:
    detections = models["yolov8-seg-320"].predict(DATA / "images" / "square.png")
    assert len(detections) > 0
    assert all("mask" not in item for item in detections.to_dict()["detections"])


def test_filtering_detections_keeps_each_mask_with_its_box(models: dict[str, Model]) -> None:
    detections = models["yolo11-seg-384x640"].predict(DATA / "images" / "tall.png")
    assert detections.masks is not None
    wanted = detections.confidence > np.median(detections.confidence)
    confident = detections[wanted]
    assert confident.masks is not None and 0 < len(confident) < len(detections)
    assert np.array_equal(confident.masks, detections.masks[wanted])
    assert np.array_equal(confident[1].masks, detections.masks[np.flatnonzero(wanted)[1:2]])


def test_supervision_gets_the_masks(models: dict[str, Model]) -> None:
    detections = models["yolov8-seg-320"].predict(DATA / "images" / "square.png")
    converted = detections.to_supervision()
    assert converted.mask is not None and np.array_equal(converted.mask, detections.masks)
