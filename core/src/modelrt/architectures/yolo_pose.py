"""YOLOv8 / YOLO11 pose: boxes as the detection head, plus K keypoints per box.

The head outputs ``[B, 4 + C + 3K, N]``: after the class scores, each anchor's keypoints as x, y (in
network-input pixels) and a visibility score (already sigmoid), as Ultralytics exports them for a
``kpt_shape`` of ``[K, 3]``. Keypoints map back to the original image like the boxes, clipped to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from modelrt.architectures.yolo_extras import KeptAnchors, YOLOv8WithExtras
from modelrt.errors import PackageError
from modelrt.preprocess import ImageTransform, boxes_to_original, points_to_original
from modelrt.results import Detections

__all__ = ["YOLOv8Pose"]

#: Values per keypoint: x, y, visibility.
_KEYPOINT_VALUES = 3


class YOLOv8Pose(YOLOv8WithExtras):
    """YOLOv8-pose / YOLO11-pose: ``Detections`` with ``keypoints`` float32 ``[N, K, 3]`` (x, y, visibility)."""

    extras_name = "keypoints"

    def _check_outputs(self, outputs: Sequence[np.ndarray], extra_rows: int) -> None:
        if extra_rows % _KEYPOINT_VALUES:
            raise PackageError(
                f"package {self.package.manifest.name!r}: a yolov8-pose head holds x, y and visibility for each "
                f"keypoint after the {len(self.labels)} class scores, but {extra_rows} values remain, not a multiple "
                "of 3; check 'labels' in modelrt.json, or export the model with keypoint visibility (kpt_shape [K, 3])"
            )

    def _result(
        self, kept: KeptAnchors, outputs: Sequence[np.ndarray], index: int, transform: ImageTransform
    ) -> Detections:
        keypoints = kept.extras.reshape(len(kept.extras), -1, _KEYPOINT_VALUES).copy()
        keypoints[..., :2] = points_to_original(keypoints[..., :2], transform)
        return Detections(
            self.labels,
            xyxy=boxes_to_original(kept.xyxy, transform),
            confidence=kept.confidence,
            class_id=kept.class_id,
            keypoints=keypoints,
        )
