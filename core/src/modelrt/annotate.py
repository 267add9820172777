"""Draw a prediction on a copy of its image (``modelrt predict --save``).

Boxes (oriented ones as their rotated outline), labels with confidence, polygons, translucent masks and
keypoints (joined by the COCO skeleton when there are 17, as for COCO pose models) for ``Detections``;
the top label for a ``Classification``; a translucent colour per class and a legend for a
``SemanticSegmentation``; the vector length for an ``Embedding`` (there is nothing in the picture to show).
Line widths and text sizes follow the image size so results stay readable on
both thumbnails and large photos. The image is RGB, so colours are RGB too.
"""

from __future__ import annotations

import numpy as np

from modelrt.errors import InputError
from modelrt.opencv import cv2
from modelrt.results import Classification, Detections, Embedding, Prediction, SemanticSegmentation

__all__ = ["annotate"]

# Distinct, saturated colours (RGB), cycled by class id.
_PALETTE = (
    (255, 56, 56),
    (50, 205, 50),
    (30, 144, 255),
    (255, 178, 29),
    (207, 36, 240),
    (0, 212, 187),
    (255, 112, 31),
    (132, 56, 255),
    (146, 204, 23),
    (255, 55, 199),
)
_TEXT_COLOUR = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
# Keypoints scored below this are not drawn (they are guesses for occluded points).
_VISIBLE_KEYPOINT = 0.5
# Classes named in a segmentation picture's legend.
_LEGEND_ROWS = 10
# How much of a mask's colour shows over the image.
_MASK_OPACITY = 0.5
# Limbs joining COCO's 17 person keypoints (0-based: nose, eyes, ears, shoulders, elbows, wrists, hips,
# knees, ankles), the skeleton of every model trained with COCO's kpt_shape [17, 3].
_COCO_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip


def annotate(image: np.ndarray, prediction: Prediction) -> np.ndarray:
    """A new RGB uint8 image: ``image`` with ``prediction`` drawn on it."""
    canvas = np.array(image, dtype=np.uint8, copy=True, order="C")
    if canvas.ndim != 3 or canvas.shape[2] != 3:
        raise InputError(f"annotate needs an RGB image of shape HxWx3, got shape {canvas.shape}")
    line = max(1, round(min(canvas.shape[:2]) / 300))
    if isinstance(prediction, Detections):
        _draw_detections(canvas, prediction, line)
    elif isinstance(prediction, Classification):
        label, probability = prediction.top(1)[0]
        _draw_label(
            canvas,
            f"{label} {probability:.2f}",
            (line, line),
            _PALETTE[prediction.class_id % len(_PALETTE)],
            line,
        )
    elif isinstance(prediction, SemanticSegmentation):
        _draw_segmentation(canvas, prediction, line)
    elif isinstance(prediction, Embedding):
        _draw_label(canvas, f"embedding, {len(prediction)} values", (line, line), _PALETTE[0], line)
    else:
        raise InputError(
            "annotate can draw Detections, Classification, SemanticSegmentation and Embedding results, not "
            f"{type(prediction).__name__}"
        )
    return canvas


def _draw_detections(canvas: np.ndarray, detections: Detections, line: int) -> None:
    names = detections.class_names
    if detections.masks is not None:
        _draw_masks(canvas, detections)
    outlines = detections.polygons if detections.polygons is not None else detections.oriented_corners
    for index in range(len(detections)):
        colour = _PALETTE[int(detections.class_id[index]) % len(_PALETTE)]
        x1, y1, x2, y2 = (round(v) for v in detections.xyxy[index].tolist())
        if outlines is not None:
            outline = np.round(outlines[index]).astype(np.int32)
            cv2.polylines(canvas, [outline], isClosed=True, color=colour, thickness=line, lineType=cv2.LINE_AA)
        else:
            cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness=line, lineType=cv2.LINE_AA)
        if detections.keypoints is not None:
            _draw_keypoints(canvas, detections.keypoints[index], colour, line)
        _draw_label(canvas, f"{names[index]} {detections.confidence[index]:.2f}", (x1, y1), colour, line)


def _draw_masks(canvas: np.ndarray, detections: Detections) -> None:
    """Each mask blended over the image in its class colour, later detections on top."""
    masks = detections.masks
    if masks is None or masks.shape[1:] != canvas.shape[:2]:
        return
    colours = np.array([_PALETTE[int(class_id) % len(_PALETTE)] for class_id in detections.class_id.tolist()])
    covered = masks.any(axis=0)
    if not covered.any():
        return
    # The last detection covering a pixel gives its colour (np.argmax finds the first, so search reversed).
    topmost = len(masks) - 1 - np.argmax(masks[::-1, covered], axis=0)
    blended = canvas[covered] * (1 - _MASK_OPACITY) + colours[topmost] * _MASK_OPACITY
    canvas[covered] = np.round(blended).astype(np.uint8)


def _draw_segmentation(canvas: np.ndarray, segmentation: SemanticSegmentation, line: int) -> None:
    """Every class but a "background" one blended over the image in its colour, and a legend of the
    classes shown, largest first, down the left edge."""
    class_map = segmentation.class_map
    if class_map.shape != canvas.shape[:2]:
        return
    counts = segmentation.pixel_counts
    present = np.flatnonzero(counts).tolist()
    shown = [i for i in present if segmentation.name(i).casefold() != "background"]
    if not shown:
        return
    palette = np.array(_PALETTE, dtype=np.float32)
    covered = np.isin(class_map, shown)
    colours = palette[class_map[covered] % len(_PALETTE)]
    canvas[covered] = np.round(canvas[covered] * (1 - _MASK_OPACITY) + colours * _MASK_OPACITY).astype(np.uint8)
    (_, height), baseline = cv2.getTextSize("Ag", _FONT, 0.4 * line, max(1, line // 2))
    step = height + baseline + line
    for row, class_id in enumerate(sorted(shown, key=lambda i: -counts[i])[:_LEGEND_ROWS]):
        colour = _PALETTE[class_id % len(_PALETTE)]
        _draw_label(canvas, segmentation.name(class_id), (line, (row + 1) * step), colour, line)


def _draw_keypoints(canvas: np.ndarray, keypoints: np.ndarray, colour: tuple[int, ...], line: int) -> None:
    """Visible keypoints as dots; with 17 of them, the COCO skeleton's limbs between visible ends."""
    visible = keypoints[:, 2] >= _VISIBLE_KEYPOINT
    points = [(round(x), round(y)) for x, y in keypoints[:, :2].tolist()]
    if len(keypoints) == 17:
        for start, end in _COCO_SKELETON:
            if visible[start] and visible[end]:
                cv2.line(canvas, points[start], points[end], colour, thickness=line, lineType=cv2.LINE_AA)
    for point, shown in zip(points, visible.tolist(), strict=True):
        if shown:
            cv2.circle(canvas, point, line + 2, colour, -1, cv2.LINE_AA)


def _draw_label(canvas: np.ndarray, text: str, corner: tuple[int, int], colour: tuple[int, ...], line: int) -> None:
    """``text`` on a filled background just above ``corner`` (below it at the image's top edge)."""
    scale = 0.4 * line
    thickness = max(1, line // 2)
    (width, height), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    x = max(0, min(corner[0], canvas.shape[1] - width))  # kept whole at the right edge
    y = corner[1]
    top = y - height - baseline if y - height - baseline >= 0 else y
    cv2.rectangle(canvas, (x, top), (x + width, top + height + baseline), colour, thickness=-1)
    cv2.putText(canvas, text, (x, top + height), _FONT, scale, _TEXT_COLOUR, thickness, cv2.LINE_AA)
