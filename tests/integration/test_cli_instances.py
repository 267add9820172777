"""`modelrt predict` on Ultralytics segmentation and pose exports: JSON results and saved pictures."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

import modelrt

from .conftest import REPO, run_cli

DATA = REPO / "tests" / "data" / "ultralytics"
SQUARE = DATA / "images" / "square.png"


def test_predict_on_a_segmentation_export_tints_every_mask_in_the_saved_picture(tmp_path: Path) -> None:
    saved = tmp_path / "square.annotated.png"
    result = run_cli("predict", str(DATA / "yolov8-seg-320.onnx"), str(SQUARE), "--save", str(saved), "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["results"][0]["detections"]) > 0
    with modelrt.load(DATA / "yolov8-seg-320.onnx", device="cpu") as model:
        masks = model.predict(SQUARE).masks
    assert masks is not None
    covered = masks.any(axis=0)
    changed = (cv2.imread(str(saved)) != cv2.imread(str(SQUARE))).any(axis=2)
    assert covered.sum() > 1000
    assert changed[covered].mean() > 0.99


def test_a_segmentation_picture_without_detections_is_saved_unchanged(tmp_path: Path) -> None:
    saved = tmp_path / "square.annotated.png"
    result = run_cli(
        "predict", str(DATA / "yolov8-seg-320.onnx"), str(SQUARE), "--save", str(saved), "--confidence", "0.99"
    )
    assert result.returncode == 0, result.stderr
    assert np.array_equal(cv2.imread(str(saved)), cv2.imread(str(SQUARE)))


def test_predict_on_a_pose_export_prints_17_keypoints_per_person(tmp_path: Path) -> None:
    saved = tmp_path / "square.annotated.png"
    result = run_cli(
        "predict",
        str(DATA / "yolov8-pose-320.onnx"),
        str(SQUARE),
        "--json",
        "--save",
        str(saved),
        "--confidence",
        "0.5",
    )
    assert result.returncode == 0, result.stderr
    detections = json.loads(result.stdout)["results"][0]["detections"]
    assert len(detections) > 0
    assert all(item["class"] == "person" and np.shape(item["keypoints"]) == (17, 3) for item in detections)
    assert saved.is_file()


def test_predict_json_carries_each_mask_as_rle_that_decodes_to_the_api_mask() -> None:
    result = run_cli("predict", str(DATA / "yolov8-seg-320.onnx"), str(SQUARE), "--json")
    assert result.returncode == 0, result.stderr
    detections = json.loads(result.stdout)["results"][0]["detections"]
    with modelrt.load(DATA / "yolov8-seg-320.onnx", device="cpu") as model:
        masks = model.predict(SQUARE).masks
    assert masks is not None and len(detections) == len(masks) > 0
    for item, mask in zip(detections, masks, strict=True):
        height, width = item["mask"]["size"]
        flat = np.repeat(np.arange(len(item["mask"]["counts"])) % 2 == 1, item["mask"]["counts"])
        assert np.array_equal(flat.reshape(width, height).T, mask)
