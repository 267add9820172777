"""YOLOv8 / YOLO11 instance segmentation: boxes as the detection head, plus one mask per box.

The head outputs ``[B, 4 + C + M, N]`` (M mask coefficients per anchor after the class scores) and
prototypes ``[B, M, h, w]`` at a quarter of the input size. Masks are made as Ultralytics' predictor
does by default: coefficients x prototypes, upsampled bilinearly to the network input, kept where
> 0, cropped to the box (pixel columns ``x1 <= x < x2``, rows alike), and detections whose mask is then
empty are dropped; the letterboxed part of the input is resized bilinearly to the original image and
kept where > 0.5. Only the pixels each box can reach are computed (``yolo_seg_masks``), with the same
bits as resizing whole frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from modelrt.architectures.yolo_extras import KeptAnchors, YOLOv8WithExtras
from modelrt.architectures.yolo_seg_masks import box_masks
from modelrt.backend import Session
from modelrt.errors import PackageError
from modelrt.packages import ModelPackage
from modelrt.preprocess import ImageTransform, boxes_to_original
from modelrt.results import Detections

__all__ = ["YOLOv8Segmentation"]


class YOLOv8Segmentation(YOLOv8WithExtras):
    """YOLOv8-seg / YOLO11-seg: ``Detections`` with ``masks`` bool ``[N, H, W]`` in original-image pixels."""

    extras_name = "mask coefficients"

    def __init__(self, package: ModelPackage, sessions: Mapping[str, Session]) -> None:
        super().__init__(package, sessions)
        if package.manifest.input.resize == "shorter-side-center-crop":
            raise PackageError(
                f"package {package.manifest.name!r}: a yolov8-seg model maps its masks back through a letterbox "
                "or stretch, not a centre crop; set 'input.resize' to 'letterbox' in modelrt.json"
            )

    def _check_outputs(self, outputs: Sequence[np.ndarray], extra_rows: int) -> None:
        prototypes = outputs[1] if len(outputs) > 1 else None
        if prototypes is None or prototypes.ndim != 4 or prototypes.shape[1] != extra_rows:
            found = "no second output" if prototypes is None else f"a second output {list(prototypes.shape)}"
            raise PackageError(
                f"package {self.package.manifest.name!r}: a yolov8-seg model outputs boxes with {extra_rows} mask "
                f"coefficients each and prototypes [batch, {extra_rows}, height, width], but it has {found}; "
                "check 'architecture' and 'labels' in modelrt.json"
            )

    def _result(
        self, kept: KeptAnchors, outputs: Sequence[np.ndarray], index: int, transform: ImageTransform
    ) -> Detections:
        has_pixels, masks = box_masks(outputs[1][index], kept.extras, kept.xyxy, transform)
        return Detections(
            self.labels,
            xyxy=boxes_to_original(kept.xyxy[has_pixels], transform),
            confidence=kept.confidence[has_pixels],
            class_id=kept.class_id[has_pixels],
            masks=masks,
        )
