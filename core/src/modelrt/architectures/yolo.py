"""YOLO box detectors: the anchor-free head of YOLOv8/YOLO11 and the objectness head of YOLOv5.

Both decode to boxes in network-input pixels, keep anchors whose best class score is ≥ the
confidence (one class per anchor, as Ultralytics does by default), run NMS, and map the kept boxes
back to the original image.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelrt.architectures.base import DetectionSettings, SingleStageArchitecture
from modelrt.errors import PackageError
from modelrt.nms import nms
from modelrt.preprocess import ImageTransform, boxes_to_original
from modelrt.results import Detections, Prediction

__all__ = ["YOLOv5", "YOLOv8", "select_anchors"]


class _YOLO(SingleStageArchitecture):
    def settings(self, overrides: Mapping[str, Any]) -> DetectionSettings:
        return DetectionSettings.resolve(self.package, overrides)

    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: DetectionSettings
    ) -> list[Prediction]:
        predictions = outputs[0]
        self._check_output(predictions)
        return [
            self._detections(*self._candidates(predictions[index], settings.confidence), transform, settings)
            for index, transform in enumerate(transforms)
        ]

    @abc.abstractmethod
    def _candidates(self, prediction: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (cx, cy, w, h) ``[N, 4]``, scores and class ids of the anchors at or above ``confidence``."""

    @abc.abstractmethod
    def _check_output(self, predictions: np.ndarray) -> None:
        """``PackageError`` unless the batch output has this head's layout and the manifest's class count."""

    def _label_mismatch(self, predictions: np.ndarray, classes: int) -> PackageError:
        manifest = self.package.manifest
        return PackageError(
            f"package {manifest.name!r}: the model's output {list(predictions.shape)} holds {classes} class "
            f"scores per box for a {manifest.architecture} head, but the manifest lists {len(self.labels)} "
            "labels; fix 'labels' (or 'architecture') in modelrt.json"
        )

    def _detections(
        self,
        cxcywh: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        transform: ImageTransform,
        settings: DetectionSettings,
    ) -> Detections:
        if settings.classes is not None:
            wanted = np.isin(class_ids, settings.classes)
            cxcywh, scores, class_ids = cxcywh[wanted], scores[wanted], class_ids[wanted]
        xyxy = np.empty_like(cxcywh)
        half = cxcywh[:, 2:] / 2
        np.subtract(cxcywh[:, :2], half, out=xyxy[:, :2])
        np.add(cxcywh[:, :2], half, out=xyxy[:, 2:])
        keep = nms(xyxy, scores, class_ids, settings.iou, settings.class_agnostic, settings.max_detections)
        return Detections(
            self.labels,
            xyxy=boxes_to_original(xyxy[keep], transform),
            confidence=scores[keep],
            class_id=class_ids[keep],
        )


class YOLOv8(_YOLO):
    """YOLOv8 / YOLO11 detection head: output ``[B, 4 + C, N]``, rows cx, cy, w, h then C class scores
    (already sigmoid), in network-input pixels."""

    def _check_output(self, predictions: np.ndarray) -> None:
        if predictions.ndim != 3 or predictions.shape[1] < 5:
            raise PackageError(
                f"package {self.package.manifest.name!r}: a yolov8 head outputs [batch, 4 + classes, boxes], "
                f"but this model outputs {list(predictions.shape)}; check 'architecture' in modelrt.json"
            )
        classes = predictions.shape[1] - 4
        if self.labels and classes != len(self.labels):
            raise self._label_mismatch(predictions, classes)

    def _candidates(self, prediction: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        class_scores = prediction[4:]
        best = class_scores.max(axis=0)
        anchors = np.flatnonzero(best >= confidence)
        class_ids = class_scores[:, anchors].argmax(axis=0)
        return prediction[:4, anchors].T.astype(np.float32), best[anchors], class_ids.astype(np.int64)


class YOLOv5(_YOLO):
    """YOLOv5 detection head: output ``[B, N, 5 + C]``, columns cx, cy, w, h, objectness, C class
    scores (all sigmoid), in network-input pixels; a box's score is objectness x its best class score."""

    def _check_output(self, predictions: np.ndarray) -> None:
        if predictions.ndim != 3 or predictions.shape[2] < 6:
            raise PackageError(
                f"package {self.package.manifest.name!r}: a yolov5 head outputs [batch, boxes, 5 + classes], "
                f"but this model outputs {list(predictions.shape)}; check 'architecture' in modelrt.json"
            )
        classes = predictions.shape[2] - 5
        if self.labels and classes != len(self.labels):
            raise self._label_mismatch(predictions, classes)

    def _candidates(self, prediction: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Class scores are probabilities (≤ 1), so objectness x class score ≤ objectness: anchors whose
        # objectness is below the threshold cannot pass, and are dropped before the costly part.
        rows = prediction[prediction[:, 4] >= confidence]
        class_scores = rows[:, 5:]
        class_ids = class_scores.argmax(axis=1)
        scores = rows[:, 4] * np.take_along_axis(class_scores, class_ids[:, None], axis=1)[:, 0]
        kept = scores >= confidence
        return rows[kept, :4].astype(np.float32), scores[kept], class_ids[kept].astype(np.int64)


def select_anchors(class_scores: np.ndarray, settings: DetectionSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The anchors whose best class score reaches ``settings.confidence``, of a wanted class: their indexes,
    best scores and class ids. ``class_scores`` is ``[C, N]``, one row per class (heads with extra rows after
    the classes, as seg, pose and obb have, pass only the class rows)."""
    best = class_scores.max(axis=0)
    anchors = np.flatnonzero(best >= settings.confidence)
    class_ids = class_scores[:, anchors].argmax(axis=0).astype(np.int64)
    if settings.classes is not None:
        wanted = np.isin(class_ids, settings.classes)
        anchors, class_ids = anchors[wanted], class_ids[wanted]
    return anchors, best[anchors], class_ids
