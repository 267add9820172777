"""Vectorised NMS against a plain, obviously correct reference, on hypothesis-generated boxes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelrt import nms as nms_module
from modelrt.errors import InputError
from modelrt.nms import nms

# Each path alone: all pairs at once (settled in as many steps as needed), the rounds (no pair path),
# and the pair path giving up after one step (a chain of suppressions longer than that: the rounds finish).
PATHS = {
    "pairs": {"_MAX_PAIR_ITERATIONS": 10_000},
    "rounds": {"_MAX_PAIRS": -1},
    "pairs, then rounds": {"_MAX_PAIR_ITERATIONS": 1},
}


def reference_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    iou_threshold: float,
    class_agnostic: bool,
    max_detections: int,
) -> list[int]:
    """Greedy NMS one pair at a time, in plain Python floats."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    box = [[float(v) for v in row] for row in boxes]

    def area(b: list[float]) -> float:
        return max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)

    def iou(a: list[float], b: list[float]) -> float:
        inter = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0) * max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
        union = area(a) + area(b) - inter
        return inter / union if union > 0 else 0.0

    kept: list[int] = []
    for candidate in order:
        if len(kept) == max_detections:
            break
        if all(
            iou(box[k], box[candidate]) <= iou_threshold or (not class_agnostic and classes[k] != classes[candidate])
            for k in kept
        ):
            kept.append(candidate)
    return kept


coordinates = st.integers(0, 64).map(float) | st.floats(0, 64, width=32)


@st.composite
def detections(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = draw(st.integers(0, 40))
    corners = draw(hnp.arrays(np.float32, (count, 2, 2), elements=coordinates))
    # Half of each box is its top-left corner and size, so boxes are well formed.
    boxes = np.concatenate([corners[:, 0], corners[:, 0] + corners[:, 1]], axis=1)
    # Few distinct scores and classes, so ties and same-class overlaps are common.
    scores = draw(hnp.arrays(np.float32, count, elements=st.sampled_from([0.125, 0.25, 0.5, 0.875])))
    classes = draw(hnp.arrays(np.int64, count, elements=st.sampled_from([-1, 0, 7])))
    return boxes, scores, classes


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=300, deadline=None)
@given(
    data=detections(),
    iou_threshold=st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
    class_agnostic=st.booleans(),
    max_detections=st.integers(1, 50),
)
def test_nms_matches_the_reference(
    path: str,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    iou_threshold: float,
    class_agnostic: bool,
    max_detections: int,
) -> None:
    boxes, scores, classes = data
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PATHS[path].items():
            patch.setattr(nms_module, name, value)
        kept = nms(boxes, scores, classes, iou_threshold, class_agnostic, max_detections)
    assert kept.tolist() == reference_nms(boxes, scores, classes, iou_threshold, class_agnostic, max_detections)


@pytest.mark.parametrize("path", PATHS)
def test_a_chain_of_boxes_suppressing_each_other_is_settled_greedily(path: str) -> None:
    # Each box overlaps the next one by more than the threshold, and nothing else: greedy keeps every other.
    left = np.arange(12, dtype=np.float32) * 2
    boxes = np.stack([left, np.zeros(12), left + 3, np.ones(12)], axis=1)
    scores = np.linspace(1, 0.5, 12, dtype=np.float32)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PATHS[path].items():
            patch.setattr(nms_module, name, value)
        kept = nms(boxes, scores, np.zeros(12, np.int64), 0.1)
    assert kept.tolist() == list(range(0, 12, 2))


def test_a_box_at_exactly_the_iou_threshold_is_kept() -> None:
    # IoU of these two is exactly 1/2: only an IoU above the threshold suppresses.
    boxes = np.array([[0, 0, 200, 100], [0, 0, 100, 100]], dtype=np.float32)
    scores = np.array([0.9, 0.8], dtype=np.float32)
    classes = np.zeros(2, dtype=np.int64)
    assert nms(boxes, scores, classes, 0.5).tolist() == [0, 1]
    assert nms(boxes, scores, classes, 0.49).tolist() == [0]


def test_equal_scores_keep_the_lower_index_first() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=np.float32)
    assert nms(boxes, np.array([0.5, 0.5]), np.zeros(2, np.int64), 0.5).tolist() == [0]


def test_boxes_without_area_never_suppress_anything() -> None:
    boxes = np.array([[5, 5, 5, 5], [5, 5, 5, 5]], dtype=np.float32)
    assert nms(boxes, np.array([0.9, 0.8]), np.zeros(2, np.int64), 0.0).tolist() == [0, 1]


def test_no_boxes_keep_nothing() -> None:
    kept = nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), 0.5)
    assert kept.shape == (0,) and kept.dtype == np.int64


def test_many_disjoint_candidates_stop_at_max_detections() -> None:
    grid = np.arange(5000, dtype=np.float32) * 2
    boxes = np.stack([grid, grid, grid + 1, grid + 1], axis=1)
    scores = np.linspace(0, 1, 5000, dtype=np.float32)
    kept = nms(boxes, scores, np.zeros(5000, np.int64), 0.5, max_detections=300)
    assert kept.tolist() == list(range(4999, 4699, -1))


def test_mismatched_lengths_are_an_input_error() -> None:
    with pytest.raises(InputError, match="one score and class per box"):
        nms(np.zeros((3, 4)), np.zeros(2), np.zeros(3), 0.5)
