"""Greedy non-maximum suppression in numpy, class-aware or class-agnostic.

Suppression runs in rounds: in each round the best remaining box of every class is kept (nothing
of higher rank in its class is left to suppress it), and every remaining box is compared at once
with its own class's new keeper. That gives the same result as the one-box-at-a-time greedy
algorithm, with one vectorised pass per round; the number of rounds is the largest number of boxes
kept in any one class, not the total. Memory stays linear (no N x N IoU matrix), and candidates
beyond the best ``MAX_CANDIDATES`` by score are dropped first, as Ultralytics' ``max_nms`` does, so a
model that fires everywhere cannot stall post-processing.

Classes are compared directly rather than by offsetting boxes per class (the torchvision trick):
offsets add rounding error to the IoU, and a box exactly at the threshold could then be kept or
dropped depending on its class number.
"""

from __future__ import annotations

import numpy as np

from modelrt.errors import InputError

__all__ = ["MAX_CANDIDATES", "nms"]

MAX_CANDIDATES = 30_000


def nms(
    boxes_xyxy: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    class_agnostic: bool = False,
    max_detections: int = 300,
) -> np.ndarray:
    """Indices of the boxes to keep, best score first (ties: lower index first).

    A box is suppressed by a kept box of higher rank whose IoU with it is greater than
    ``iou_threshold`` and, unless ``class_agnostic``, that has the same class. At most
    ``max_detections`` indices are returned: the first ones greedy NMS keeps.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores).reshape(-1)
    classes = np.asarray(class_ids).reshape(-1)
    if not boxes.shape[0] == scores.shape[0] == classes.shape[0]:
        raise InputError(
            f"nms needs one score and class per box, got {boxes.shape[0]} boxes, "
            f"{scores.shape[0]} scores, {classes.shape[0]} class ids"
        )
    order = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
    candidates = _Candidates(boxes[order])
    groups = np.unique(classes[order], return_inverse=True)[1].reshape(-1)
    if class_agnostic or not groups.any():
        ranks = _suppress_within_one_group(candidates, iou_threshold, max_detections)
    else:
        ranks = _suppress_by_group(candidates, groups, iou_threshold, max_detections)
    return order[ranks].astype(np.int64)


class _Candidates:
    """Remaining boxes as contiguous columns (cheap to filter), with each box's rank by score."""

    def __init__(self, boxes: np.ndarray) -> None:
        self.x1, self.y1, self.x2, self.y2 = (np.ascontiguousarray(boxes[:, column]) for column in range(4))
        self.area = np.clip(self.x2 - self.x1, 0, None) * np.clip(self.y2 - self.y1, 0, None)
        self.rank = np.arange(boxes.shape[0])

    def keep_only(self, mask: np.ndarray) -> None:
        self.x1, self.y1, self.x2, self.y2 = self.x1[mask], self.y1[mask], self.x2[mask], self.y2[mask]
        self.area, self.rank = self.area[mask], self.rank[mask]

    def iou_with(self, at: np.ndarray | int) -> np.ndarray:
        """IoU of each remaining box with the box at position ``at`` (one, or one per box)."""
        inter = np.clip(np.minimum(self.x2[at], self.x2) - np.maximum(self.x1[at], self.x1), 0, None)
        inter *= np.clip(np.minimum(self.y2[at], self.y2) - np.maximum(self.y1[at], self.y1), 0, None)
        union = self.area[at] + self.area - inter
        return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _suppress_within_one_group(candidates: _Candidates, iou_threshold: float, max_detections: int) -> np.ndarray:
    kept: list[int] = []
    while candidates.rank.size and len(kept) < max_detections:
        kept.append(int(candidates.rank[0]))
        suppressed = candidates.iou_with(0) > iou_threshold
        suppressed[0] = True
        candidates.keep_only(~suppressed)
    return np.asarray(kept, dtype=np.intp)


def _suppress_by_group(
    candidates: _Candidates, groups: np.ndarray, iou_threshold: float, max_detections: int
) -> np.ndarray:
    first_of_group = np.empty(int(groups.max()) + 1, dtype=np.intp)
    kept: list[np.ndarray] = []
    while candidates.rank.size:
        # Written in reverse so that the first (best) position of each group is the one that stays.
        first_of_group[groups[::-1]] = np.arange(groups.size - 1, -1, -1)
        keeper = first_of_group[groups]
        is_keeper = keeper == np.arange(groups.size)
        kept.append(candidates.rank[is_keeper])
        suppressed = (candidates.iou_with(keeper) > iou_threshold) | is_keeper
        candidates.keep_only(~suppressed)
        groups = groups[~suppressed]
        if candidates.rank.size and _enough_kept(kept, max_detections, int(candidates.rank[0])):
            break
    return np.sort(np.concatenate(kept))[:max_detections]


def _enough_kept(kept: list[np.ndarray], max_detections: int, best_remaining_rank: int) -> bool:
    """Whether ``max_detections`` kept boxes all outrank every box still remaining."""
    if sum(part.size for part in kept) < max_detections:
        return False
    return bool(np.partition(np.concatenate(kept), max_detections - 1)[max_detections - 1] < best_remaining_rank)
