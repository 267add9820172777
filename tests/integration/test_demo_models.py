"""The demo's real models on real images, through the public API, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import modelrt
from modelrt.results import Classification, Detections

from .conftest import IMAGES


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def text_detector(demo_packages: Path) -> modelrt.Model:
    with modelrt.load(demo_packages / "text-detector") as model:
        yield model


@pytest.fixture(scope="module")
def orientation(demo_packages: Path) -> modelrt.Model:
    with modelrt.load(demo_packages / "orientation") as model:
        yield model


def test_text_detector_finds_every_text_line_of_the_scanned_page(
    text_detector: modelrt.Model, reference_text_lines: list[dict[str, object]]
) -> None:
    lines = text_detector.predict(IMAGES / "page.png")
    assert isinstance(lines, Detections)
    for reference in reference_text_lines:
        box = np.asarray(reference["xyxy"], dtype=np.float32)
        best = max((_iou(box, found) for found in lines.xyxy), default=0.0)
        assert best >= 0.5, f"reference line {reference['xyxy']} not found (best IoU {best:.2f})"
    assert len(lines) <= len(reference_text_lines) + 2


def test_text_lines_carry_polygons_inside_the_image(text_detector: modelrt.Model) -> None:
    image = cv2.imread(str(IMAGES / "page.png"))[:, :, ::-1]
    lines = text_detector.predict(image, color="rgb")
    height, width = image.shape[:2]
    assert lines.polygons is not None and len(lines.polygons) == len(lines)
    for polygon in lines.polygons:
        assert polygon.shape == (4, 2)
        assert (polygon[:, 0] >= 0).all() and (polygon[:, 0] <= width).all()
        assert (polygon[:, 1] >= 0).all() and (polygon[:, 1] <= height).all()


def test_text_detector_runs_on_onnxruntime_cpu(text_detector: modelrt.Model) -> None:
    chosen = text_detector.plan.chosen()["main"]
    assert (chosen.backend, chosen.device) == ("onnxruntime", "cpu")
    assert text_detector.sessions["main"].provider == "CPUExecutionProvider"


@pytest.mark.parametrize(
    ("degrees", "rotation"),
    [(0, None), (90, cv2.ROTATE_90_CLOCKWISE), (180, cv2.ROTATE_180), (270, cv2.ROTATE_90_COUNTERCLOCKWISE)],
)
def test_orientation_classifier_gets_every_rotation_of_the_page_right(
    orientation: modelrt.Model, degrees: int, rotation: int | None
) -> None:
    page = cv2.imread(str(IMAGES / "page.png"))
    rotated = page if rotation is None else cv2.rotate(page, rotation)
    result = orientation.predict(rotated, color="bgr")
    assert isinstance(result, Classification)
    assert result.label == str(degrees)
    assert result.confidence > 0.5


def test_a_batch_gives_the_same_answers_as_single_images(orientation: modelrt.Model) -> None:
    page = cv2.imread(str(IMAGES / "page.png"))
    rotations = [page, cv2.rotate(page, cv2.ROTATE_180)]
    batch = orientation.predict(rotations, color="bgr")
    singles = [orientation.predict(image, color="bgr") for image in rotations]
    assert [r.label for r in batch] == [r.label for r in singles] == ["0", "180"]
    for together, alone in zip(batch, singles, strict=True):
        np.testing.assert_allclose(together.probabilities, alone.probabilities, atol=1e-5)


def test_results_convert_to_supervision(text_detector: modelrt.Model) -> None:
    lines = text_detector.predict(IMAGES / "page.png")
    detections = lines.to_supervision()
    assert len(detections) == len(lines)
    np.testing.assert_array_equal(detections.xyxy, lines.xyxy)
    assert list(detections.data["class_name"]) == ["text"] * len(lines)


def test_closed_model_refuses_to_predict(demo_packages: Path) -> None:
    model = modelrt.load(demo_packages / "orientation")
    model.close()
    with pytest.raises(modelrt.ModelClosedError, match="load it again"):
        model.predict(IMAGES / "page.png")
