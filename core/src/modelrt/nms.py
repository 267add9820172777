"""Greedy non-maximum suppression in numpy, class-aware or class-agnostic.

Suppression runs in rounds: in each round the best remaining box of every class is kept (nothing
of higher rank in its class is left to suppress it), and every remaining box is compared at once
with its own class's new keeper. That gives the same result as the one-box-at-a-time greedy
algorithm, with one vectorised pass per round; the number of rounds is the largest number of boxes
kept in any one class, not the total. Memory stays linear (no N x N IoU matrix), and candidates
beyond the best ``MAX_CANDIDATES`` by score are dropped first, as Ultralytics' ``max_nms`` does, so a
model that fires everywhere cannot stall post-processing.

Where few pairs of candidates share a class (the usual case: a few hundred candidates spread over
many classes), a faster path computes the IoU of every same-class pair at once and then settles which
boxes survive by a fixed-point iteration over those pairs (as Cluster-NMS does): a box is kept when no
kept box of higher rank suppresses it. That condition only looks at higher ranks, so it has exactly
one solution, the greedy one, and the iteration reaches it in about as many steps as the longest chain
of boxes suppressing each other (a handful in practice; beyond ``_MAX_PAIR_ITERATIONS`` the rounds
finish the job). Both paths compute each IoU with the same float64 operations, so they agree exactly.

Classes are compared directly rather than by offsetting boxes per class (the torchvision trick):
offsets add rounding error to the IoU, and a box exactly at the threshold could then be kept or
dropped depending on its class number.
"""

from __future__ import annotations

import numpy as np

from modelrt.errors import InputError

__all__ = ["MAX_CANDIDATES", "nms", "ranked_candidates"]

MAX_CANDIDATES = 30_000
# Below this many same-class pairs, comparing all pairs at once beats the rounds (measured: about
# 40 ns a pair against about 10 us a round, on 300 candidates of YOLOv8n-like output).
_MAX_PAIRS = 16_384
_MAX_PAIR_ITERATIONS = 32


def ranked_candidates(
    caller: str, boxes: np.ndarray, values_per_box: int, scores: np.ndarray, class_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``boxes`` as float64 ``[N, values_per_box]``, class ids ``[N]``, and the ranking to suppress in:
    the best ``MAX_CANDIDATES`` by score (ties: lower index first). Lengths that disagree are an InputError."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, values_per_box)
    scores = np.asarray(scores).reshape(-1)
    classes = np.asarray(class_ids).reshape(-1)
    if not boxes.shape[0] == scores.shape[0] == classes.shape[0]:
        raise InputError(
            f"{caller} needs one score and class per box, got {boxes.shape[0]} boxes, "
            f"{scores.shape[0]} scores, {classes.shape[0]} class ids"
        )
    return boxes, classes, np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]


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
    boxes, classes, order = ranked_candidates("nms", boxes_xyxy, 4, scores, class_ids)
    ranked = boxes[order]
    ranked_classes = np.zeros(order.size, dtype=np.intp) if class_agnostic else classes[order]
    kept = _suppress_by_pairs(ranked, ranked_classes, iou_threshold)
    if kept is not None:
        return order[kept[:max_detections]].astype(np.int64)
    candidates = _Candidates(ranked)
    groups = np.unique(ranked_classes, return_inverse=True)[1].reshape(-1)
    if not groups.any():
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
        return self.iou(at, slice(None))

    def iou(self, first: np.ndarray | int, second: np.ndarray | slice) -> np.ndarray:
        """IoU of the boxes at positions ``first`` with those at ``second``, pair by pair (float64)."""
        inter = np.clip(
            np.minimum(self.x2[first], self.x2[second]) - np.maximum(self.x1[first], self.x1[second]), 0, None
        )
        inter *= np.clip(
            np.minimum(self.y2[first], self.y2[second]) - np.maximum(self.y1[first], self.y1[second]), 0, None
        )
        union = self.area[first] + self.area[second] - inter
        return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _suppress_by_pairs(boxes: np.ndarray, groups: np.ndarray, iou_threshold: float) -> np.ndarray | None:
    """Ranks of all boxes greedy NMS keeps, from the IoU of every pair of boxes ranked by score whose
    ``groups`` are equal; ``None`` where there are too many pairs, or the boxes suppress each other in
    too long a chain, for this to pay."""
    count = groups.size
    by_group = np.argsort(groups, kind="stable")  # ranks, grouped, by rank within each group
    sorted_groups = groups[by_group]
    starts = np.flatnonzero(np.concatenate(([True], sorted_groups[1:] != sorted_groups[:-1])))
    sizes = np.diff(np.append(starts, count))
    # Each box is paired with the boxes after it in its group: first < second in rank.
    later = np.repeat(starts + sizes, sizes) - np.arange(count) - 1
    total = int(later.sum())
    if total > _MAX_PAIRS:
        return None
    first_position = np.repeat(np.arange(count), later)
    second_position = np.arange(total) - np.repeat(np.cumsum(later) - later, later) + first_position + 1
    first, second = by_group[first_position], by_group[second_position]
    # The IoU the rounds compute, pair by pair: the same float64 results.
    suppresses = _Candidates(boxes).iou(first, second) > iou_threshold
    stronger, weaker = first[suppresses], second[suppresses]
    kept = np.ones(count, dtype=bool)
    for _ in range(_MAX_PAIR_ITERATIONS):
        settled = np.ones(count, dtype=bool)
        settled[weaker[kept[stronger]]] = False
        if np.array_equal(settled, kept):
            return np.flatnonzero(kept)
        kept = settled
    return None


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
