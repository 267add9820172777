"""Non-maximum suppression for oriented boxes, as Ultralytics' OBB predictor does it.

Overlap is the probabilistic IoU (``probiou``, https://arxiv.org/abs/2106.06072): each box is taken as
a 2-D Gaussian with the covariance of a uniform rectangle, and ``1 - Hellinger distance`` between the
two Gaussians (from their Bhattacharyya distance, clamped to [eps, 100]) stands for the IoU. It has a
closed form for any pair of angles, so pairs are computed many at once in numpy.

Suppression is Fast-NMS, Ultralytics' ``nms_rotated`` / ``TorchNMS.fast_nms``: a box is dropped when any
higher-scoring box of its class (suppressed or not) overlaps it by ``probiou > iou``. That is not the
greedy rule of ``modelrt.nms`` (there a suppressed box suppresses nothing); it is what Ultralytics does
for OBB, so results match its predictor. Each class is handled on its own, the pairs' upper triangle in
row blocks, best rows first (memory stays bounded, and blocks stop once ``max_detections`` boxes are
settled), and the costly logarithms only for pairs close enough to overlap: the Bhattacharyya distance
is a Mahalanobis term, cheap to compute, plus a log-determinant term of at least ``log(eps) / 2``, so a
pair whose first term alone exceeds the threshold's distance by more than that cannot overlap.
"""

from __future__ import annotations

import math

import numpy as np

from modelrt.nms import ranked_candidates

__all__ = ["nms_rotated", "probiou"]

_EPS = 1e-7
#: Upper bound of the Bhattacharyya distance, as in Ultralytics.
_MAX_DISTANCE = 100.0
#: Pairs examined per block (each float64 temporary holds this many).
_BLOCK_ELEMENTS = 1 << 18


class _Gaussians:
    """Boxes as 2-D Gaussians: centres, covariances ``[[a, c], [c, b]]`` (variances w²/12 and h²/12,
    rotated) and their determinants clipped at 0, as float64 arrays of one shape."""

    def __init__(self, x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        self.x, self.y, self.a, self.b, self.c = x, y, a, b, c
        self.det = np.clip(a * b - c**2, 0, None)

    @classmethod
    def of(cls, boxes: np.ndarray) -> _Gaussians:
        var_w, var_h = boxes[:, 2] ** 2 / 12, boxes[:, 3] ** 2 / 12
        cos, sin = np.cos(boxes[:, 4]), np.sin(boxes[:, 4])
        a, b = var_w * cos**2 + var_h * sin**2, var_w * sin**2 + var_h * cos**2
        return cls(boxes[:, 0], boxes[:, 1], a, b, (var_w - var_h) * cos * sin)

    def __getitem__(self, index: object) -> _Gaussians:
        """The Gaussians at ``index`` (numpy indexing: positions, a slice, ``[:, None]``...)."""
        taken = object.__new__(_Gaussians)
        for name in ("x", "y", "a", "b", "c", "det"):
            setattr(taken, name, getattr(self, name)[index])
        return taken

    def mahalanobis(self, other: _Gaussians) -> np.ndarray:
        """The centre-distance terms (t1 + t2) of the Bhattacharyya distance to ``other`` (broadcast)."""
        a, b, c = self.a + other.a, self.b + other.b, self.c + other.c
        dx, dy = self.x - other.x, self.y - other.y
        denominator = a * b - c**2 + _EPS
        return (a * dy**2 + b * dx**2) / denominator * 0.25 + (c * -dx * dy) / denominator * 0.5

    def probiou(self, other: _Gaussians) -> np.ndarray:
        """Probabilistic IoU with ``other`` (broadcast)."""
        a, b, c = self.a + other.a, self.b + other.b, self.c + other.c
        spread = a * b - c**2
        with np.errstate(divide="ignore", invalid="ignore"):
            shape = np.log(spread / (4 * np.sqrt(self.det * other.det) + _EPS) + _EPS) * 0.5
        distance = np.clip(self.mahalanobis(other) + shape, _EPS, _MAX_DISTANCE)
        return 1 - np.sqrt(1 - np.exp(-distance) + _EPS)


def probiou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """Probabilistic IoU ``[N, M]`` of oriented boxes ``[N, 5]`` and ``[M, 5]`` (cx, cy, w, h, radians)."""
    first = np.asarray(boxes1, dtype=np.float64).reshape(-1, 5)
    second = np.asarray(boxes2, dtype=np.float64).reshape(-1, 5)
    return _Gaussians.of(first)[:, None].probiou(_Gaussians.of(second)[None, :])


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
    ``probiou`` with it greater than ``iou_threshold``. At most ``max_detections`` indices are returned.
    """
    boxes, classes, order = ranked_candidates("nms_rotated", boxes_xywhr, 5, scores, class_ids)
    gaussians = _Gaussians.of(boxes[order])
    classes = classes[order]
    groups = [np.arange(order.size)] if class_agnostic else [np.flatnonzero(classes == k) for k in np.unique(classes)]
    kept = np.zeros(order.size, dtype=bool)
    for members in groups:
        kept[members] = _fast_nms(gaussians[members], float(iou_threshold), max_detections)
    return order[kept][:max_detections].astype(np.int64)


def _fast_nms(gaussians: _Gaussians, iou_threshold: float, max_detections: int) -> np.ndarray:
    """Which boxes (in rank order) to keep: those no better box overlaps by ``probiou > iou_threshold``,
    up to the first ``max_detections`` of them.

    Rows are processed best first, and a box's fate depends only on better boxes, so once the boxes
    settled so far hold ``max_detections`` kept ones, the rest cannot make the output and are left out.
    """
    count = gaussians.x.size
    kept = np.ones(count, dtype=bool)
    limit = _mahalanobis_limit(iou_threshold)
    rows_per_block = max(1, _BLOCK_ELEMENTS // max(count, 1))
    for start in range(0, count - 1, rows_per_block):
        stop = min(start + rows_per_block, count - 1)
        pairs = np.arange(start, stop)[:, None] < np.arange(start + 1, count)[None, :]
        if limit is not None:
            pairs &= gaussians[start:stop, None].mahalanobis(gaussians[None, start + 1 :]) <= limit
        first, second = np.nonzero(pairs)
        first += start
        second += start + 1
        kept[second[gaussians[first].probiou(gaussians[second]) > iou_threshold]] = False
        # Boxes 0..stop have now met every better box.
        if np.count_nonzero(kept[: stop + 1]) >= max_detections:
            kept[stop + 1 :] = False
            break
    return kept


def _mahalanobis_limit(iou_threshold: float) -> float | None:
    """The largest centre-distance term a pair overlapping by ``iou_threshold`` can have (``None``: no
    useful bound, the threshold is so low that nearly any pair overlaps)."""
    # probiou > t  <=>  1 - exp(-d) + eps < (1 - t)^2  <=>  d < -log(1 + eps - (1 - t)^2).
    floor = 1 + _EPS - (1 - iou_threshold) ** 2
    if floor <= math.exp(-_MAX_DISTANCE):
        return None
    # The log-determinant term is at least log(eps) / 2; 1 more covers rounding.
    return -math.log(floor) - 0.5 * math.log(_EPS) + 1.0
