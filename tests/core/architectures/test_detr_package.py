"""An RF-DETR-like ONNX export (input ``input`` of fixed size, outputs ``dets`` and ``labels``) packaged with
``modelrt package --architecture rf-detr`` and nothing else: the package takes the export's input size,
RF-DETR's stretch resize and ImageNet normalisation, and predicts the same boxes through ``modelrt.load``
and through ``modelrt predict --json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.opencv import cv2
from modelrt.package_builder import build_package

from .detr_graphs import logit, query_model, save

SIDE = 56
BOXES = np.array([[0.5, 0.5, 0.5, 0.5], [0.25, 0.75, 0.1, 0.2]], dtype=np.float32)
# cat, dog, then the background slot.
LOGITS = np.array([[logit(0.9), logit(0.1), logit(0.99)], [logit(0.2), logit(0.7), logit(0.5)]], dtype=np.float32)
# On a 60 x 120 (h x w) image, best first: query 0's cat, query 1's dog.
EXPECTED = [
    {"class": "cat", "class_id": 0, "confidence": 0.9, "xyxy": [30.0, 15.0, 90.0, 45.0]},
    {"class": "dog", "class_id": 1, "confidence": 0.7, "xyxy": [24.0, 39.0, 36.0, 51.0]},
]


def modelrt_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelrt", *args], capture_output=True, text=True, env=dict(os.environ), check=False
    )


@pytest.fixture
def package_dir(tmp_path: Path) -> Path:
    model = save(query_model({"dets": BOXES, "labels": LOGITS}, size=(SIDE, SIDE)), tmp_path / "rf-detr.onnx")
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    package = tmp_path / "package"
    command = ["package", str(model), "--architecture", "rf-detr", "--task", "object-detection"]
    packaged = modelrt_cli(*command, "--labels", str(labels), "-o", str(package))
    assert packaged.returncode == 0, packaged.stderr
    return package


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), np.full((60, 120, 3), 90, dtype=np.uint8))
    return path


def test_the_package_has_rf_detrs_input_settings(package_dir: Path) -> None:
    manifest = json.loads((package_dir / "modelrt.json").read_text())
    assert manifest["architecture"] == "rf-detr"
    assert manifest["input"]["size"] == [SIDE, SIDE]  # the export's fixed input
    assert manifest["input"]["resize"] == "stretch"
    assert manifest["input"]["mean"] == [0.485, 0.456, 0.406]
    assert manifest["input"]["std"] == [0.229, 0.224, 0.225]


def test_the_package_predicts_through_load(package_dir: Path) -> None:
    with modelrt.load(package_dir, device="cpu") as model:
        detections = model.predict(np.zeros((60, 120, 3), dtype=np.uint8))
    assert detections.to_dict()["detections"] == EXPECTED


def test_the_package_predicts_through_the_cli(package_dir: Path, picture: Path) -> None:
    predicted = modelrt_cli("predict", str(package_dir), str(picture), "--json", "--device", "cpu")
    assert predicted.returncode == 0, predicted.stderr
    document = json.loads(predicted.stdout)
    (result,) = document["results"]
    assert result["detections"] == EXPECTED


def test_settings_given_replace_the_architecture_defaults(tmp_path: Path) -> None:
    model = save(query_model({"dets": BOXES, "labels": LOGITS}), tmp_path / "dynamic.onnx")
    manifest = build_package(
        model,
        tmp_path / "package",
        task="object-detection",
        labels=["cat", "dog"],
        architecture="rf-detr",
        input_spec={"size": [32, 32], "resize": "letterbox"},
    )
    assert manifest.input.resize == "letterbox"
    assert manifest.input.mean == (0.485, 0.456, 0.406)  # still RF-DETR's: not given
