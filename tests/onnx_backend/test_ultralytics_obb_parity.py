"""Ultralytics OBB exports run as Ultralytics' own predictor runs them.

The references in ``tests/data/ultralytics`` were recorded with Ultralytics 8.4.190 on the same ONNX
files and images (``make_references.py`` there): a YOLOv8-obb export with a square input and a YOLO11-obb
one with a rectangular input, random weights calibrated so that tens of boxes pass, at angles across the
head's whole range. modelrt must keep the same boxes (counts and classes exactly, after the same
probiou Fast-NMS), with the same centres and sides within 0.01 px and angles within 1e-5 rad.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest

import modelrt
from modelrt.images import load_image
from modelrt.model import Model
from modelrt.preprocess import Preprocessor

DATA = Path(__file__).resolve().parents[1] / "data" / "ultralytics"
IMAGES = ("square.png", "wide.png", "tall.png", "grey.png")
OBB_MODELS = ("yolov8-obb-320", "yolo11-obb-384x640")


def reference(model_name: str, image: str) -> dict[str, Any]:
    return json.loads((DATA / f"{model_name}.json").read_text())["predictions"][image]


@pytest.fixture(scope="module")
def models() -> Iterator[dict[str, Model]]:
    loaded = {name: modelrt.load(DATA / f"{name}.onnx", device="cpu") for name in OBB_MODELS}
    yield loaded
    for model in loaded.values():
        model.close()


@pytest.mark.parametrize("model_name", OBB_MODELS)
def test_obb_exports_load_as_oriented_detectors(models: dict[str, Model], model_name: str) -> None:
    manifest = models[model_name].package.manifest
    assert (manifest.task, manifest.architecture, manifest.input.resize) == (
        "oriented-detection",
        "yolov8-obb",
        "letterbox",
    )


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("model_name", OBB_MODELS)
def test_oriented_boxes_match_ultralytics(models: dict[str, Model], model_name: str, image: str) -> None:
    expected = reference(model_name, image)
    detections = models[model_name].predict(DATA / "images" / image, confidence=expected["confidence_threshold"])
    assert detections.class_id.tolist() == expected["class_id"]
    np.testing.assert_allclose(detections.confidence, expected["confidence"], rtol=0, atol=1e-4)
    xywhr = np.reshape(expected["xywhr"], (-1, 5))
    assert detections.oriented_boxes is not None
    np.testing.assert_allclose(detections.oriented_boxes[:, :4], xywhr[:, :4], rtol=0, atol=0.01)
    np.testing.assert_allclose(detections.oriented_boxes[:, 4], xywhr[:, 4], rtol=0, atol=1e-5)
    # Ultralytics' obb.xyxy are the corners' bounds, unclipped; modelrt clips them to the image.
    height, width = load_image(DATA / "images" / image).shape[:2]
    bounds = np.clip(np.reshape(expected["xyxy"], (-1, 4)), 0, [width, height, width, height])
    np.testing.assert_allclose(detections.xyxy, bounds, rtol=0, atol=0.01)


def test_the_references_include_boxes_that_rotated_nms_suppresses(models: dict[str, Model]) -> None:
    # YOLO11-obb on the wide image: more anchors pass the threshold than Ultralytics kept.
    model, expected = models["yolo11-obb-384x640"], reference("yolo11-obb-384x640", "wide.png")
    tensor, _ = Preprocessor(model.package.manifest.input)([load_image(DATA / "images" / "wide.png")])
    session = onnxruntime.InferenceSession(str(DATA / "yolo11-obb-384x640.onnx"), providers=["CPUExecutionProvider"])
    scores = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 4:-1].max(axis=0)
    assert int((scores >= expected["confidence_threshold"]).sum()) > len(expected["class_id"]) > 0


def test_the_references_hold_angles_and_sides_outside_a_canonical_form() -> None:
    angles = np.concatenate([np.reshape(reference(m, i)["xywhr"], (-1, 5))[:, 4] for m in OBB_MODELS for i in IMAGES])
    assert angles.min() < 0 and angles.max() > np.pi / 2  # outside [0, pi/2): nothing canonicalised
    sides = np.concatenate([np.reshape(reference(m, i)["xywhr"], (-1, 5))[:, 2:4] for m in OBB_MODELS for i in IMAGES])
    assert (sides[:, 0] < sides[:, 1]).any() and (sides[:, 0] > sides[:, 1]).any()
