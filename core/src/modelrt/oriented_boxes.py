"""Oriented boxes ``[N, 5]`` (cx, cy, w, h, angle in radians) and their corners.

The angle turns the box's ``w`` side from the x axis towards the y axis (clockwise on screen, y pointing
down), as Ultralytics' OBB models output it; corners follow Ultralytics' ``xywhr2xyxyxyxy`` so that their
order matches what its predictor reports.
"""

from __future__ import annotations

import numpy as np

__all__ = ["corners"]


def corners(boxes: np.ndarray) -> np.ndarray:
    """The four corners ``[N, 4, 2]`` of each box, in Ultralytics' order (centre ± the half-``w`` vector
    ± the half-``h`` vector: ++, +-, --, -+)."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
    centre = boxes[:, None, :2]
    cos, sin = np.cos(boxes[:, 4]), np.sin(boxes[:, 4])
    along_w = np.stack([boxes[:, 2] / 2 * cos, boxes[:, 2] / 2 * sin], axis=-1)[:, None]
    along_h = np.stack([-boxes[:, 3] / 2 * sin, boxes[:, 3] / 2 * cos], axis=-1)[:, None]
    signs_w = np.array([1, 1, -1, -1], dtype=np.float32)[None, :, None]
    signs_h = np.array([1, -1, -1, 1], dtype=np.float32)[None, :, None]
    return (centre + signs_w * along_w + signs_h * along_h).astype(np.float32)
