"""YOLOv8 / YOLO11 instance segmentation: boxes as the detection head, plus one mask per box.

The head outputs ``[B, 4 + C + M, N]`` (M mask coefficients per anchor after the class scores) and
prototypes ``[B, M, h, w]`` at a quarter of the input size. Masks are made as Ultralytics' predictor
does by default: coefficients x prototypes, upsampled bilinearly to the network input, kept where
> 0, cropped to the box (pixel columns ``x1 <= x < x2``, rows alike), and detections whose mask is then
empty are dropped; the letterboxed part of the input is resized bilinearly to the original image and
kept where > 0.5. Every step runs on all masks of an image at once (no loop per detection).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from modelrt.architectures.yolo_extras import KeptAnchors, YOLOv8WithExtras
from modelrt.backend import Session
from modelrt.errors import PackageError
from modelrt.opencv import cv2
from modelrt.packages import ModelPackage
from modelrt.preprocess import ImageTransform, boxes_to_original
from modelrt.results import Detections

__all__ = ["YOLOv8Segmentation"]

#: The most channels one ``cv2.resize`` call takes.
_RESIZE_CHANNELS = 128


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
        input_masks = _input_masks(outputs[1][index], kept.extras, kept.xyxy, transform.input_size)
        has_pixels = input_masks.any(axis=(0, 1))
        return Detections(
            self.labels,
            xyxy=boxes_to_original(kept.xyxy[has_pixels], transform),
            confidence=kept.confidence[has_pixels],
            class_id=kept.class_id[has_pixels],
            masks=_original_masks(input_masks[:, :, has_pixels], transform),
        )


def _input_masks(
    prototypes: np.ndarray, coefficients: np.ndarray, xyxy: np.ndarray, input_size: tuple[int, int]
) -> np.ndarray:
    """Masks in network-input pixels, channels last: bool ``[height, width, N]``."""
    height, width = input_size
    if len(coefficients) == 0:
        return np.zeros((height, width, 0), dtype=bool)
    channels, proto_height, proto_width = prototypes.shape
    flat = prototypes.reshape(channels, -1).astype(np.float32, copy=False)
    logits = (flat.T @ coefficients.T).reshape(proto_height, proto_width, -1)
    masks = _resize(logits, height, width) > 0
    columns = np.arange(width, dtype=np.float32)[None, :, None]
    rows = np.arange(height, dtype=np.float32)[:, None, None]
    masks &= (columns >= xyxy[:, 0]) & (columns < xyxy[:, 2])
    masks &= (rows >= xyxy[:, 1]) & (rows < xyxy[:, 3])
    return masks


def _original_masks(input_masks: np.ndarray, transform: ImageTransform) -> np.ndarray:
    """The letterboxed content of ``input_masks`` resized to the original image: bool ``[N, H, W]``."""
    height, width = transform.original_size
    count = input_masks.shape[2]
    if count == 0:
        return np.zeros((0, height, width), dtype=bool)
    left, top = transform.offset
    content_height, content_width = transform.resized_size
    content = input_masks[top : top + content_height, left : left + content_width].astype(np.float32)
    masks = _resize(content, height, width) > 0.5
    return np.ascontiguousarray(np.moveaxis(masks, 2, 0))


def _resize(stack: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize (pixel centres aligned) of a channels-last float32 stack to ``height`` x ``width``."""
    if stack.shape[:2] == (height, width):
        return stack
    chunks = [
        cv2.resize(stack[:, :, start : start + _RESIZE_CHANNELS], (width, height), interpolation=cv2.INTER_LINEAR)
        for start in range(0, stack.shape[2], _RESIZE_CHANNELS)
    ]
    return np.concatenate([chunk.reshape(height, width, -1) for chunk in chunks], axis=2)
