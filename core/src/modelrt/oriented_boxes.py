"""Oriented boxes ``[N, 5]`` (cx, cy, w, h, angle in radians): corners and the canonical form.

The angle turns the box's ``w`` side from the x axis towards the y axis (clockwise on screen, y pointing
down), as Ultralytics' OBB models output it. Both functions follow Ultralytics (``xywhr2xyxyxyxy``,
``regularize_rboxes``) so that boxes and corner order match what its predictor reports.
"""

from __future__ import annotations

import numpy as np

__all__ = ["corners", "regularize"]


def regularize(boxes: np.ndarray) -> np.ndarray:
    """The same rectangles with the angle in ``[0, pi/2)``: ``w`` and ``h`` swap where the angle (mod pi)
    is ``pi/2`` or more, since turning a box by a quarter turn swaps its sides."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
    angle = boxes[:, 4]
    swap = np.mod(angle, np.pi) >= np.pi / 2
    out = boxes.copy()
    out[:, 2] = np.where(swap, boxes[:, 3], boxes[:, 2])
    out[:, 3] = np.where(swap, boxes[:, 2], boxes[:, 3])
    out[:, 4] = np.mod(angle, np.pi / 2)
    return out


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
