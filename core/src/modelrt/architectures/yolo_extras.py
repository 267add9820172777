"""YOLOv8/YOLO11 heads whose output rows carry per-anchor data after the class scores.

Segmentation heads append mask coefficients, pose heads keypoints: output ``[B, 4 + C + E, N]``. The
anchors are selected exactly as for the detection head (best class score ≥ the confidence, the class
filter, NMS); the subclass turns the extra rows of the kept anchors into masks or keypoints.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import attrs
import numpy as np

from modelrt.architectures.base import DetectionSettings
from modelrt.architectures.yolo import YOLOv8, select_anchors
from modelrt.errors import PackageError
from modelrt.nms import nms
from modelrt.preprocess import ImageTransform
from modelrt.results import Prediction

__all__ = ["KeptAnchors", "YOLOv8WithExtras"]


@attrs.frozen
class KeptAnchors:
    """The anchors of one image that survived selection and NMS, best first.

    ``xyxy`` is in network-input pixels; ``extras`` holds each anchor's rows after the class scores.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    extras: np.ndarray


class YOLOv8WithExtras(YOLOv8):
    """A YOLOv8 head with ``E`` extra rows per anchor; ``E`` is what the output holds beyond the labels."""

    #: What the extra rows hold, for error messages ("mask coefficients", "keypoints").
    extras_name: str = "extra values"

    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: DetectionSettings
    ) -> list[Prediction]:
        predictions = outputs[0]
        extra_rows = self._extra_rows(predictions)
        self._check_outputs(outputs, extra_rows)
        classes = predictions.shape[1] - extra_rows - 4
        return [
            self._result(self._kept(predictions[index], classes, settings), outputs, index, transform)
            for index, transform in enumerate(transforms)
        ]

    @abc.abstractmethod
    def _check_outputs(self, outputs: Sequence[np.ndarray], extra_rows: int) -> None:
        """``PackageError`` unless the outputs fit this head (beyond the row count checked already)."""

    @abc.abstractmethod
    def _result(
        self, kept: KeptAnchors, outputs: Sequence[np.ndarray], index: int, transform: ImageTransform
    ) -> Prediction:
        """The result of image ``index`` of the batch from its kept anchors."""

    def _extra_rows(self, predictions: np.ndarray) -> int:
        manifest = self.package.manifest
        if predictions.ndim != 3 or not self.labels or predictions.shape[1] <= 4 + len(self.labels):
            raise PackageError(
                f"package {manifest.name!r}: a {manifest.architecture} head outputs [batch, 4 + classes + "
                f"{self.extras_name}, boxes] and needs the manifest's labels to tell them apart, but this model "
                f"outputs {list(predictions.shape)} for {len(self.labels)} labels; check 'architecture' and "
                "'labels' in modelrt.json"
            )
        return int(predictions.shape[1]) - 4 - len(self.labels)

    def _kept(self, prediction: np.ndarray, classes: int, settings: DetectionSettings) -> KeptAnchors:
        anchors, scores, class_ids = select_anchors(prediction[4 : 4 + classes], settings)
        cxcywh = prediction[:4, anchors].T.astype(np.float32)
        half = cxcywh[:, 2:] / 2
        xyxy = np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)
        keep = nms(xyxy, scores, class_ids, settings.iou, settings.class_agnostic, settings.max_detections)
        return KeptAnchors(
            xyxy=xyxy[keep],
            confidence=scores[keep],
            class_id=class_ids[keep],
            extras=prediction[4 + classes :, anchors[keep]].T.astype(np.float32),
        )
