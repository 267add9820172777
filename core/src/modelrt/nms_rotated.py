"""Non-maximum suppression for oriented boxes, as Ultralytics' OBB predictor does it.

Overlap is the probabilistic IoU (``probiou``, https://arxiv.org/abs/2106.06072): each box is taken as
a 2-D Gaussian with the covariance of a uniform rectangle, and ``1 - Hellinger distance`` between the
two Gaussians (from their Bhattacharyya distance, clamped to [eps, 100]) stands for the IoU. It has a
closed form for any pair of angles, so all pairs are computed at once in numpy.

Suppression is Fast-NMS, Ultralytics' ``nms_rotated``/``TorchNMS.fast_nms``: a box is dropped when any
higher-scoring box of its class (suppressed or not) overlaps it by ``probiou >= iou``. That is not the
greedy rule of ``modelrt.nms`` (there a suppressed box suppresses nothing); it is what Ultralytics
does for OBB, so results match its predictor. The upper triangle of the pairwise matrix is computed in
row blocks, so memory stays bounded for many candidates.
"""

from __future__ import annotations

import numpy as np

from modelrt.errors import InputError
from modelrt.nms import MAX_CANDIDATES

__all__ = ["nms_rotated", "probiou"]

_EPS = 1e-7
#: Pairwise overlaps computed per block (float64 temporaries of this many elements).
_BLOCK_ELEMENTS = 1 << 21


def _covariance(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries a, b, c of each box's covariance ``[[a, c], [c, b]]``: variances w²/12, h²/12, rotated."""
    var_w, var_h = boxes[:, 2] ** 2 / 12, boxes[:, 3] ** 2 / 12
    cos, sin = np.cos(boxes[:, 4]), np.sin(boxes[:, 4])
    return var_w * cos**2 + var_h * sin**2, var_w * sin**2 + var_h * cos**2, (var_w - var_h) * cos * sin


def probiou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """Probabilistic IoU ``[N, M]`` of oriented boxes ``[N, 5]`` and ``[M, 5]`` (cx, cy, w, h, radians)."""
    first = np.asarray(boxes1, dtype=np.float64).reshape(-1, 5)
    second = np.asarray(boxes2, dtype=np.float64).reshape(-1, 5)
    a1, b1, c1 = (value[:, None] for value in _covariance(first))
    a2, b2, c2 = (value[None, :] for value in _covariance(second))
    dx = first[:, 0:1] - second[None, :, 0]
    dy = first[:, 1:2] - second[None, :, 1]
    a, b, c = a1 + a2, b1 + b2, c1 + c2
    determinant = a * b - c**2
    t1 = (a * dy**2 + b * dx**2) / (determinant + _EPS) * 0.25
    t2 = (c * -dx * dy) / (determinant + _EPS) * 0.5
    own = np.sqrt(np.clip(a1 * b1 - c1**2, 0, None) * np.clip(a2 * b2 - c2**2, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t3 = np.log(determinant / (4 * own + _EPS) + _EPS) * 0.5
    bhattacharyya = np.clip(np.nan_to_num(t1 + t2 + t3, nan=100.0), _EPS, 100.0)
    return 1 - np.sqrt(1 - np.exp(-bhattacharyya) + _EPS)


def nms_rotated(
    boxes_xywhr: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    class_agnostic: bool = False,
    max_detections: int = 300,
) -> np.ndarray:
    """Indices of the oriented boxes to keep, best score first (ties: lower index first).

    A box is dropped when a box of higher rank and, unless ``class_agnostic``, the same class has a
    ``probiou`` with it of at least ``iou_threshold``. At most ``max_detections`` indices are returned.
    """
    boxes = np.asarray(boxes_xywhr, dtype=np.float64).reshape(-1, 5)
    scores = np.asarray(scores).reshape(-1)
    classes = np.asarray(class_ids).reshape(-1)
    if not boxes.shape[0] == scores.shape[0] == classes.shape[0]:
        raise InputError(
            f"nms_rotated needs one score and class per box, got {boxes.shape[0]} boxes, "
            f"{scores.shape[0]} scores, {classes.shape[0]} class ids"
        )
    order = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
    boxes, classes = boxes[order], classes[order]
    count = order.size
    suppressed = np.zeros(count, dtype=bool)
    rows_per_block = max(1, _BLOCK_ELEMENTS // max(count, 1))
    for start in range(0, count, rows_per_block):
        stop = min(start + rows_per_block, count)
        # Rows start..stop-1 against the boxes ranked after each of them (the upper triangle).
        overlaps = probiou(boxes[start:stop], boxes[start + 1 :]) >= iou_threshold
        overlaps &= np.arange(start, stop)[:, None] < np.arange(start + 1, count)[None, :]
        if not class_agnostic:
            overlaps &= classes[start:stop, None] == classes[None, start + 1 :]
        suppressed[start + 1 :] |= overlaps.any(axis=0)
    return order[~suppressed][:max_detections].astype(np.int64)
