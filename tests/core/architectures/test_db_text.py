"""DB text detection: synthetic probability maps with rectangles of known size, and the real PP-OCRv4 detector
on a scanned page against lines decoded independently by rapidocr's own post-processing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import pytest

from modelrt.architectures.db_text import DBTextDetector
from modelrt.errors import InputError
from modelrt.images import load_image

DYNAMIC_320 = {"size": [320, 320], "dynamic_size": True, "size_multiple": 32}


def probability_map(height: int, width: int, *regions: tuple[int, int, int, int, float]) -> np.ndarray:
    """A map with each (x, y, width, height, probability) rectangle filled in."""
    canvas = np.zeros((height, width), dtype=np.float32)
    for x, y, w, h, probability in regions:
        canvas[y : y + h, x : x + w] = probability
    return canvas


def unclipped(width: float, height: float, ratio: float = 1.6) -> tuple[float, float]:
    """DB's unclip: each side grows by 2 * area * ratio / perimeter."""
    grow = 2 * width * height * ratio / (2 * (width + height))
    return width + grow, height + grow


def signed_area(polygon: np.ndarray) -> float:
    """Shoelace area; positive for clockwise corners in image coordinates (y down)."""
    x, y = polygon[:, 0], polygon[:, 1]
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) / 2)


@pytest.fixture
def detector(make_package: Any, make_session: Any) -> Callable[[onnx.ModelProto], DBTextDetector]:
    def build(model: onnx.ModelProto, input_spec: dict[str, Any] = DYNAMIC_320) -> DBTextDetector:
        package = make_package("db-text-detector", "text-detection", ["text"], input_spec)
        return DBTextDetector(package, {"main": make_session(model)})

    return build


@pytest.fixture
def map_detector(detector: Any, make_constant_model: Any) -> Callable[[np.ndarray], DBTextDetector]:
    """A detector whose network always outputs ``probability`` (``[H, W]``), whatever the image."""
    return lambda probability: detector(make_constant_model(probability[None, None], input_name="x"))


def blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


# ------------------------------------------------------------------------------ geometry


def test_a_rectangle_becomes_its_unclipped_rotated_box(map_detector: Any) -> None:
    # Pixels x 100..299, y 50..79. The 2x2 dilation adds a row and a column; the contour through the
    # dilated region's pixel centres spans exactly 200 x 30 around the centre (200, 65).
    model = map_detector(probability_map(320, 640, (100, 50, 200, 30, 1.0)))
    (lines,) = model.predict([blank(320, 640)])
    width, height = unclipped(200, 30)
    left, right, top, bottom = 200 - width / 2, 200 + width / 2, 65 - height / 2, 65 + height / 2
    assert len(lines) == 1 and lines.polygons is not None
    np.testing.assert_allclose(
        lines.polygons[0], [[left, top], [right, top], [right, bottom], [left, bottom]], atol=1e-3
    )
    np.testing.assert_allclose(lines.xyxy, [[left, top, right, bottom]], atol=1e-3)
    assert lines.class_id.tolist() == [0] and lines.labels == ("text",)


def test_the_score_is_the_mean_probability_inside_the_region(map_detector: Any) -> None:
    # The dilated border (one column, one row) belongs to the region but has probability 0.
    model = map_detector(probability_map(320, 640, (100, 50, 200, 30, 0.8)))
    (lines,) = model.predict([blank(320, 640)])
    np.testing.assert_allclose(lines.confidence, [0.8 * (200 * 30) / (201 * 31)], rtol=1e-5)


def test_polygons_map_back_to_the_original_image(map_detector: Any) -> None:
    # A 160x320 image is scaled by 2 to the 320x640 input: every coordinate halves.
    model = map_detector(probability_map(320, 640, (100, 50, 200, 30, 1.0)))
    (full,) = model.predict([blank(320, 640)])
    (half,) = model.predict([blank(160, 320)])
    np.testing.assert_allclose(half.polygons[0], full.polygons[0] / 2, atol=1e-3)


def test_polygons_are_clipped_to_the_image(map_detector: Any) -> None:
    model = map_detector(probability_map(320, 640, (0, 0, 100, 20, 1.0)))
    (lines,) = model.predict([blank(320, 640)])
    assert lines.polygons[0].min() == 0
    np.testing.assert_allclose(lines.xyxy[0, :2], [0, 0])


def test_a_tilted_line_keeps_its_angle_and_goes_clockwise_from_the_top_left(map_detector: Any) -> None:
    probability = np.zeros((320, 640), dtype=np.float32)
    corners = cv2.boxPoints(((320, 160), (300, 40), 20)).astype(np.int32)
    cv2.fillPoly(probability, [corners], 1.0)
    (lines,) = map_detector(probability).predict([blank(320, 640)])
    polygon = lines.polygons[0]
    assert signed_area(polygon) > 0
    top_left, top_right = polygon[0], polygon[1]
    assert top_left[0] < top_right[0]
    angle = np.degrees(np.arctan2(top_right[1] - top_left[1], top_right[0] - top_left[0]))
    assert angle == pytest.approx(20, abs=1)


# ------------------------------------------------------------------------------ what is kept


def test_regions_scoring_below_the_confidence_are_dropped(map_detector: Any) -> None:
    model = map_detector(probability_map(320, 640, (100, 50, 200, 30, 0.4)))
    assert len(model.predict([blank(320, 640)])[0]) == 0
    assert len(model.predict([blank(320, 640)], confidence=0.3)[0]) == 1


def test_pixels_at_or_below_the_pixel_threshold_are_background(map_detector: Any) -> None:
    model = map_detector(probability_map(320, 640, (100, 50, 200, 30, 0.3)))
    assert len(model.predict([blank(320, 640)], confidence=0.1)[0]) == 0
    assert len(model.predict([blank(320, 640)], confidence=0.1, pixel_threshold=0.2)[0]) == 1


def test_regions_thinner_than_three_pixels_are_dropped(map_detector: Any) -> None:
    # One row of pixels dilates to two: a 1-pixel-high rectangle between pixel centres.
    model = map_detector(probability_map(320, 640, (100, 50, 200, 1, 1.0)))
    assert len(model.predict([blank(320, 640)])[0]) == 0


def test_unclip_ratio_sets_how_much_each_box_grows(map_detector: Any) -> None:
    model = map_detector(probability_map(320, 640, (100, 50, 200, 30, 1.0)))
    (lines,) = model.predict([blank(320, 640)], unclip_ratio=1.0)
    width, height = unclipped(200, 30, ratio=1.0)
    np.testing.assert_allclose(lines.xyxy[0, 2:] - lines.xyxy[0, :2], [width, height], atol=1e-3)


def test_max_detections_keeps_the_best_scoring_lines(map_detector: Any) -> None:
    regions = [(50, 20, 100, 20, 0.9), (50, 100, 100, 20, 0.6), (50, 180, 100, 20, 0.8)]
    model = map_detector(probability_map(320, 640, *regions))
    (lines,) = model.predict([blank(320, 640)], max_detections=2)
    assert len(lines) == 2 and lines.xyxy[:, 1].tolist() == sorted(lines.xyxy[:, 1].tolist())
    assert lines.confidence.min() > 0.7


def test_lines_come_in_reading_order(map_detector: Any) -> None:
    # A line of two words (the left one sits 2 px lower) under a title.
    regions = [(300, 100, 100, 20, 1.0), (40, 102, 100, 20, 1.0), (40, 10, 200, 20, 1.0)]
    (lines,) = map_detector(probability_map(320, 640, *regions)).predict([blank(320, 640)])
    centres_x = (lines.xyxy[:, 0] + lines.xyxy[:, 2]) / 2
    np.testing.assert_allclose(centres_x, [140, 90, 350], atol=1e-3)


def test_an_empty_map_finds_no_lines(map_detector: Any) -> None:
    (lines,) = map_detector(np.zeros((320, 640), np.float32)).predict([blank(320, 640)])
    assert len(lines) == 0 and lines.labels == ("text",)


def test_box_detector_options_are_rejected_with_the_valid_ones(map_detector: Any) -> None:
    model = map_detector(np.zeros((320, 640), np.float32))
    with pytest.raises(InputError, match=r"iou.*pixel_threshold, confidence, unclip_ratio, max_detections"):
        model.predict([blank(320, 640)], iou=0.5)


# ------------------------------------------------------------------------------ the map comes from the image


def test_each_image_of_a_batch_gets_its_own_lines(detector: Any, make_first_channel_model: Any) -> None:
    # The stand-in network outputs the image's red channel / 255 as the probability map.
    model = detector(make_first_channel_model())
    first, second = blank(320, 640), blank(320, 640)
    first[50:80, 100:300, 0] = 255
    second[200:230, 300:500, 0] = 255
    lines = model.predict([first, second])
    assert model.session.run_shapes == [(2, 3, 320, 640)]
    assert [len(found) for found in lines] == [1, 1]
    assert lines[0].xyxy[0, 1] < 50 < lines[1].xyxy[0, 1]


def test_images_of_different_shapes_run_separately(detector: Any, make_first_channel_model: Any) -> None:
    model = detector(make_first_channel_model())
    model.predict([blank(320, 640), blank(320, 320), blank(320, 640)])
    assert sorted(model.session.run_shapes) == [(1, 3, 320, 320), (2, 3, 320, 640)]


# ------------------------------------------------------------------------------ the real PP-OCRv4 detector


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    union = (a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter
    return float(inter / union)


def test_ppocr_finds_every_reference_line_of_the_scanned_page(
    detector: Any,
    make_session: Any,
    ppocr_detector_path: Path,
    page_image_path: Path,
    page_text_lines: list[dict[str, Any]],
) -> None:
    # The same input as rapidocr's: shorter side 736, multiples of 32, BGR, mean and std 0.5.
    input_spec = {**DYNAMIC_320, "size": [736, 736], "color": "bgr", "mean": [0.5] * 3, "std": [0.5] * 3}
    model = detector(onnx.load(str(ppocr_detector_path)), input_spec)
    (lines,) = model.predict([load_image(page_image_path)])
    for reference in page_text_lines:
        expected = np.asarray(reference["xyxy"], dtype=np.float32)
        best = max(box_iou(expected, found) for found in lines.xyxy)
        assert best >= 0.5, f"reference line {reference['xyxy']} not found (best IoU {best:.2f})"
