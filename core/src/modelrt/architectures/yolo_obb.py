"""YOLOv8 / YOLO11 oriented boxes (OBB): a rotated rectangle per detection.

The head outputs ``[B, 4 + C + 1, N]``: cx, cy, w, h (network-input pixels), C class scores (already
sigmoid), then the angle in radians. Post-processing is Ultralytics' ``OBBPredictor`` (8.4): anchors
whose best class score passes the confidence (one class each), the class filter, Fast-NMS on
probabilistic IoU (``modelrt.nms_rotated``), and the letterbox undone as ``scale_boxes(..., xywh=True)``
does it: the padding off the centre, then x and w divided by the horizontal gain, y and h by the
vertical one (equal but for the rounding of the resized size). Like Ultralytics' predictor, boxes keep
the head's angle (about ``[-pi/4, 3pi/4)``) and sides, not a canonical form, and are not clipped;
``xyxy`` holds their axis-aligned bounds, clipped to the image like every detector's. A resize whose
gains differ (a stretch to another aspect ratio) is refused: a rotated rectangle does not stay one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from modelrt.architectures.base import DetectionSettings
from modelrt.architectures.yolo import YOLOv8, select_anchors
from modelrt.backend import Session
from modelrt.errors import PackageError
from modelrt.manifest import InputSpec
from modelrt.nms_rotated import nms_rotated
from modelrt.oriented_boxes import corners
from modelrt.packages import ModelPackage
from modelrt.preprocess import ImageTransform
from modelrt.results import Detections, Prediction

__all__ = ["YOLOv8OBB"]

#: Relative difference between the two axes' gains still taken as one uniform scale.
_SAME_GAIN = 1e-6


class YOLOv8OBB(YOLOv8):
    """YOLOv8-obb / YOLO11-obb: ``Detections`` with ``oriented_boxes`` float32 ``[N, 5]`` (cx, cy, w, h,
    radians) in original-image pixels."""

    def __init__(self, package: ModelPackage, sessions: Mapping[str, Session]) -> None:
        super().__init__(package, sessions)
        if package.manifest.input.resize == "shorter-side-center-crop" and not package.manifest.input.dynamic_size:
            raise PackageError(
                f"package {package.manifest.name!r}: a yolov8-obb model maps its boxes back through a letterbox, "
                "not a centre crop; set 'input.resize' to 'letterbox' in modelrt.json"
            )

    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: DetectionSettings
    ) -> list[Prediction]:
        predictions = outputs[0]
        self._check_output(predictions)
        classes = predictions.shape[1] - 5
        return [
            self._oriented(predictions[index], classes, transform, settings)
            for index, transform in enumerate(transforms)
        ]

    def _check_output(self, predictions: np.ndarray) -> None:
        if predictions.ndim != 3 or predictions.shape[1] < 6:
            raise PackageError(
                f"package {self.package.manifest.name!r}: a yolov8-obb head outputs [batch, 4 + classes + 1, "
                f"boxes] (the angle last), but this model outputs {list(predictions.shape)}; check 'architecture' "
                "in modelrt.json"
            )
        classes = predictions.shape[1] - 5
        if self.labels and classes != len(self.labels):
            raise self._label_mismatch(predictions, classes)

    def _oriented(
        self, prediction: np.ndarray, classes: int, transform: ImageTransform, settings: DetectionSettings
    ) -> Detections:
        anchors, scores, class_ids = select_anchors(prediction[4 : 4 + classes], settings)
        xywhr = prediction[[0, 1, 2, 3, 4 + classes]][:, anchors].T.astype(np.float32)
        keep = nms_rotated(xywhr, scores, class_ids, settings.iou, settings.class_agnostic, settings.max_detections)
        oriented = self._to_original(xywhr[keep], transform)
        return Detections(
            self.labels,
            xyxy=_bounds(oriented, transform.original_size),
            confidence=scores[keep],
            class_id=class_ids[keep],
            oriented_boxes=oriented,
        )

    def _to_original(self, boxes: np.ndarray, transform: ImageTransform) -> np.ndarray:
        """Centres moved back by the padding offset, then x and w divided by the horizontal gain, y and h
        by the vertical one."""
        _check_gains(self.package.manifest.input, transform, self.package.manifest.name)
        scale = np.asarray(transform.scale, dtype=np.float32)
        out = boxes.copy()
        out[:, :2] -= np.asarray(transform.offset, dtype=np.float32)
        out[:, :2] /= scale
        out[:, 2:4] /= scale
        return out


def _check_gains(spec: InputSpec, transform: ImageTransform, name: str) -> None:
    """``PackageError`` unless the resize scales both axes alike: a letterbox (its gains differ only by the
    rounding of the resized size, as in Ultralytics), or another resize of an image with the input's
    aspect ratio."""
    letterbox = (spec.dynamic_size and spec.dynamic_resize == "letterbox") or (
        not spec.dynamic_size and spec.resize == "letterbox"
    )
    scale_x, scale_y = transform.scale
    if letterbox or math.isclose(scale_x, scale_y, rel_tol=_SAME_GAIN):
        return
    original_h, original_w = transform.original_size
    raise PackageError(
        f"package {name!r}: this {original_w}x{original_h} image is resized by {scale_x:.4g} across and "
        f"{scale_y:.4g} down, and a rotated box does not stay a rectangle under unequal scales; set "
        "'input.resize' to 'letterbox' in modelrt.json (as Ultralytics feeds OBB models)"
    )


def _bounds(oriented: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
    """Axis-aligned bounds ``[N, 4]`` of the oriented boxes, clipped to the image."""
    points = corners(oriented)
    height, width = original_size
    xyxy = np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1)
    np.clip(xyxy[:, 0::2], 0, width, out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], 0, height, out=xyxy[:, 1::2])
    return xyxy
