"""The honest end-to-end floor: the least code that turns an image into YOLOv8 detections.

Plain numpy/OpenCV letterbox, one ``session.run``, and a greedy class-aware NMS; no options, no
validation. modelrt must be close to this while doing everything a real runtime does.
"""

from __future__ import annotations

import numpy as np


def letterbox(image_rgb: np.ndarray, size: int = 640, pad: int = 114) -> tuple[np.ndarray, float, int, int]:
    import cv2

    height, width = image_rgb.shape[:2]
    scale = min(size / height, size / width)
    new_w, new_h = round(width * scale), round(height * scale)
    left, top = round((size - new_w) / 2 - 0.1), round((size - new_h) / 2 - 0.1)
    canvas = np.full((size, size, 3), pad, np.uint8)
    canvas[top : top + new_h, left : left + new_w] = cv2.resize(
        image_rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR
    )
    tensor = canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return tensor, scale, left, top


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def decode(
    output: np.ndarray,
    scale: float,
    left: int,
    top: int,
    shape: tuple[int, int],
    confidence: float,
    iou: float,
    max_detections: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    predictions = output[0].T  # [N, 4 + C]
    class_scores = predictions[:, 4:]
    class_id = class_scores.argmax(axis=1)
    score = class_scores[np.arange(len(class_id)), class_id]
    keep = score >= confidence
    cx, cy, w, h = predictions[keep, :4].T
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    score, class_id = score[keep], class_id[keep]
    offset = boxes + (class_id[:, None] * 7680.0)  # class-aware NMS in one pass
    kept = nms(offset, score, iou)[:max_detections]
    boxes = (boxes[kept] - [left, top, left, top]) / scale
    height, width = shape
    boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
    return boxes, score[kept].astype(np.float32), class_id[kept].astype(np.int64)
