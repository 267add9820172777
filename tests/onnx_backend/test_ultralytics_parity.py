"""Ultralytics exports run as Ultralytics' own predictor runs them.

The references in ``tests/data/ultralytics`` were recorded with Ultralytics 8.4.190 on the same ONNX
files and images (``make_references.py`` there): static square and rectangular detectors, a dynamic
detector (with and without graph simplification) and a classifier, on square, wide, tall and grey
images. modelrt must feed each network the very tensor Ultralytics fed it, and return the same
detections (counts and classes exactly, boxes within 0.01 px, confidences within 1e-4) and the same
class probabilities.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

import modelrt
from modelrt.errors import PackageError
from modelrt.images import load_image
from modelrt.model import Model
from modelrt.preprocess import Preprocessor

DATA = Path(__file__).resolve().parents[1] / "data" / "ultralytics"
IMAGES = ("square.png", "wide.png", "tall.png", "grey.png")
DETECTORS = ("yolov8-320", "yolo11-384x640", "yolov8-dynamic", "yolov8-dynamic-unsimplified")
CLASSIFIER = "yolov8-cls-224"


def reference(model_name: str, image: str) -> dict[str, Any]:
    return json.loads((DATA / f"{model_name}.json").read_text())["predictions"][image]


class LoadedModels(dict[str, Model]):
    """Each export loaded once, on first use, for the tests of this module."""

    def __missing__(self, name: str) -> Model:
        model = self[name] = modelrt.load(DATA / f"{name}.onnx", device="cpu")
        return model


@pytest.fixture(scope="module")
def models() -> Iterator[LoadedModels]:
    loaded = LoadedModels()
    yield loaded
    for model in loaded.values():
        model.close()


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("model_name", [*DETECTORS, CLASSIFIER])
def test_the_network_gets_the_input_tensor_ultralytics_gives_it(
    models: LoadedModels, model_name: str, image: str
) -> None:
    expected = reference(model_name, image)
    tensor, _ = Preprocessor(models[model_name].package.manifest.input)([load_image(DATA / "images" / image)])
    assert list(tensor.shape) == expected["input_shape"]
    assert hashlib.sha256(tensor.tobytes()).hexdigest() == expected["input_sha256"]


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("model_name", DETECTORS)
def test_detections_match_ultralytics(models: LoadedModels, model_name: str, image: str) -> None:
    expected = reference(model_name, image)
    detections = models[model_name].predict(DATA / "images" / image, confidence=expected["confidence_threshold"])
    assert detections.class_id.tolist() == expected["class_id"]
    np.testing.assert_allclose(detections.xyxy, np.reshape(expected["xyxy"], (-1, 4)), rtol=0, atol=0.01)
    np.testing.assert_allclose(detections.confidence, expected["confidence"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("image", IMAGES)
def test_classifier_probabilities_match_ultralytics(models: LoadedModels, image: str) -> None:
    expected = np.asarray(reference(CLASSIFIER, image)["probabilities"])
    classification = models[CLASSIFIER].predict(DATA / "images" / image)
    assert np.argsort(-classification.probabilities)[:5].tolist() == np.argsort(-expected)[:5].tolist()
    np.testing.assert_allclose(classification.probabilities, expected, rtol=0, atol=1e-5)


def test_an_unsimplified_export_checks_its_symbolic_class_count_at_the_first_run(tmp_path: Path) -> None:
    # Its output is ['batch', 'Concatoutput0_dim_1', 'anchors']: the class count is only known once it runs.
    export = onnx.load(str(DATA / "yolov8-dynamic-unsimplified.onnx"))
    for prop in export.metadata_props:
        if prop.key == "names":
            prop.value = str({0: "person", 1: "car"})
    path = tmp_path / "two-names.onnx"
    onnx.save(export, str(path))
    with modelrt.load(path, device="cpu") as model, pytest.raises(PackageError, match=r"3 class scores.*2 labels"):
        model.predict(DATA / "images" / "square.png")
