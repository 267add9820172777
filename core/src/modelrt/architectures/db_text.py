"""DB (Differentiable Binarization) text detection, as in PP-OCR: a text-probability map to text-line boxes.

The map is binarised (pixel > ``pixel_threshold``, as PaddleOCR does) and dilated with a 2x2
kernel; each region found is scored by the mean probability inside it, fitted with a minimum-area
rectangle and grown ("unclipped") by ``d = area * unclip_ratio / perimeter`` on every side. Growing a
rectangle's sides by ``2d`` is exactly what PaddleOCR's polygon offset followed by
``cv2.minAreaRect`` yields for a rectangle, so no polygon-clipping library is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from modelrt.architectures.base import (
    SingleStageArchitecture,
    check_override_names,
    fraction,
    positive_float,
    positive_int,
    setting,
)
from modelrt.errors import PackageError
from modelrt.opencv import cv2
from modelrt.preprocess import ImageTransform, points_to_original
from modelrt.results import Detections, Prediction

__all__ = ["DBTextDetector", "TextDetectionSettings"]

# PaddleOCR's minimum short side of a region's rectangle, before and after unclipping (map pixels).
_MIN_SIDE = 3.0
_MIN_SIDE_UNCLIPPED = 5.0
_DILATION_KERNEL = np.ones((2, 2), dtype=np.uint8)

DEFAULT_PIXEL_THRESHOLD = 0.3
DEFAULT_BOX_CONFIDENCE = 0.5
DEFAULT_UNCLIP_RATIO = 1.6
DEFAULT_MAX_TEXT_LINES = 1000


@attrs.frozen
class TextDetectionSettings:
    """Text-detector post-processing; defaults are PP-OCR's."""

    OVERRIDES: ClassVar[tuple[str, ...]] = ("pixel_threshold", "confidence", "unclip_ratio", "max_detections")

    pixel_threshold: float = DEFAULT_PIXEL_THRESHOLD
    confidence: float = DEFAULT_BOX_CONFIDENCE
    unclip_ratio: float = DEFAULT_UNCLIP_RATIO
    max_detections: int = DEFAULT_MAX_TEXT_LINES


class DBTextDetector(SingleStageArchitecture):
    """Output ``[B, 1, H, W]`` text probability; returns ``Detections`` with one 4-point polygon per line.

    ``polygons`` are rotated rectangles, float32 ``[4, 2]``, clockwise from the top-left corner;
    ``xyxy`` their axis-aligned bounds; ``confidence`` the region's mean probability; every
    ``class_id`` is 0. Lines come in reading order: top to bottom, then left to right within a line.
    """

    def settings(self, overrides: Mapping[str, Any]) -> TextDetectionSettings:
        given = check_override_names(overrides, TextDetectionSettings.OVERRIDES, self.package.manifest.architecture)
        defaults = self.package.manifest.postprocess
        return TextDetectionSettings(
            pixel_threshold=setting(
                given, "pixel_threshold", defaults.pixel_threshold, DEFAULT_PIXEL_THRESHOLD, fraction
            ),
            confidence=setting(given, "confidence", defaults.confidence, DEFAULT_BOX_CONFIDENCE, fraction),
            unclip_ratio=setting(given, "unclip_ratio", defaults.unclip_ratio, DEFAULT_UNCLIP_RATIO, positive_float),
            max_detections=setting(
                given, "max_detections", defaults.max_detections, DEFAULT_MAX_TEXT_LINES, positive_int
            ),
        )

    def postprocess(
        self,
        outputs: Sequence[np.ndarray],
        transforms: Sequence[ImageTransform],
        settings: TextDetectionSettings,
    ) -> list[Prediction]:
        maps = outputs[0]
        if maps.ndim == 4 and maps.shape[1] == 1:
            maps = maps[:, 0]
        if maps.ndim != 3:
            raise PackageError(
                f"package {self.package.manifest.name!r}: a db-text-detector outputs a probability map "
                f"[batch, 1, height, width], but this model outputs {list(outputs[0].shape)}"
            )
        labels = self.labels or ("text",)
        return [
            self._text_lines(maps[index], transform, settings, labels) for index, transform in enumerate(transforms)
        ]

    def _text_lines(
        self,
        probability: np.ndarray,
        transform: ImageTransform,
        settings: TextDetectionSettings,
        labels: tuple[str, ...],
    ) -> Detections:
        probability = np.ascontiguousarray(probability, dtype=np.float32)
        mask = cv2.dilate((probability > settings.pixel_threshold).astype(np.uint8), _DILATION_KERNEL)
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        rectangles, scores = [], []
        for contour in contours:
            center, (width, height), angle = cv2.minAreaRect(contour)
            if min(width, height) < _MIN_SIDE:
                continue
            score = _region_mean(probability, contour)
            if score < settings.confidence:
                continue
            distance = width * height * settings.unclip_ratio / (2 * (width + height))
            grow = 2 * distance
            if min(width, height) + grow < _MIN_SIDE_UNCLIPPED:
                continue
            rectangles.append((center, (width + grow, height + grow), angle))
            scores.append(score)
        if not rectangles:
            return Detections.empty(labels)
        confidence = np.asarray(scores, dtype=np.float32)
        best = np.argsort(-confidence, kind="stable")[: settings.max_detections]
        corners = np.stack([cv2.boxPoints(rectangles[i]) for i in best]).astype(np.float32)
        map_h, map_w = probability.shape
        input_h, input_w = transform.input_size
        corners *= np.asarray([input_w / map_w, input_h / map_h], dtype=np.float32)
        polygons = _clockwise_from_top_left(points_to_original(corners, transform))
        xyxy = np.concatenate([polygons.min(axis=1), polygons.max(axis=1)], axis=1)
        order = _reading_order(xyxy)
        return Detections(
            labels,
            xyxy=xyxy[order],
            confidence=confidence[best][order],
            class_id=np.zeros(len(order), dtype=np.int64),
            polygons=list(polygons[order]),
        )


def _region_mean(probability: np.ndarray, contour: np.ndarray) -> float:
    """Mean probability inside a contour, over its bounding box only (not the whole map)."""
    x, y, width, height = cv2.boundingRect(contour)
    inside = np.zeros((height, width), dtype=np.uint8)
    cv2.drawContours(inside, [contour], -1, 1, thickness=cv2.FILLED, offset=(-x, -y))
    return float(cv2.mean(probability[y : y + height, x : x + width], mask=inside)[0])


def _clockwise_from_top_left(corners: np.ndarray) -> np.ndarray:
    """Reorder ``[K, 4, 2]`` rectangle corners as top-left, top-right, bottom-right, bottom-left.

    The two leftmost corners are the left side (the upper one is top-left), the two rightmost the
    right side, as PaddleOCR orders them.
    """
    by_x = np.take_along_axis(corners, np.argsort(corners[..., 0], axis=1, kind="stable")[..., None], axis=1)
    left, right = by_x[:, :2], by_x[:, 2:]
    left_swap = (left[:, 0, 1] > left[:, 1, 1])[:, None]
    right_swap = (right[:, 0, 1] > right[:, 1, 1])[:, None]
    top_left = np.where(left_swap, left[:, 1], left[:, 0])
    bottom_left = np.where(left_swap, left[:, 0], left[:, 1])
    top_right = np.where(right_swap, right[:, 1], right[:, 0])
    bottom_right = np.where(right_swap, right[:, 0], right[:, 1])
    return np.stack([top_left, top_right, bottom_right, bottom_left], axis=1)


def _reading_order(xyxy: np.ndarray) -> np.ndarray:
    """Top to bottom; boxes whose tops are within half a median line height of the previous one share a
    line and go left to right."""
    by_top = np.argsort(xyxy[:, 1], kind="stable")
    tops = xyxy[by_top, 1]
    tolerance = 0.5 * float(np.median(xyxy[:, 3] - xyxy[:, 1]))
    line = np.concatenate([[0], np.cumsum(np.diff(tops) > tolerance)])
    return by_top[np.lexsort((xyxy[by_top, 0], line))]
