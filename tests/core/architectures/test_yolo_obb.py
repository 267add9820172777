"""YOLOv8-OBB decoded end to end: tiny ONNX graphs output known oriented boxes, which must come back in
original-image pixels as Ultralytics' predictor (8.4) returns them, after its probiou Fast-NMS."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelrt.architectures.yolo_obb import YOLOv8OBB
from modelrt.errors import PackageError
from modelrt.nms_rotated import nms_rotated, probiou
from modelrt.oriented_boxes import corners

LABELS = ["plane", "ship"]


def head(*anchors: list[float]) -> np.ndarray:
    """``[1, 4 + C + 1, N]`` from anchors given as rows [cx, cy, w, h, class scores..., angle]."""
    return np.asarray(anchors, dtype=np.float32).T[None]


def blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


@pytest.fixture
def obb(make_constant_model: Any, make_session: Any, make_package: Any) -> Callable[..., YOLOv8OBB]:
    def build(output: np.ndarray, resize: str = "letterbox", size: tuple[int, int] = (64, 64)) -> YOLOv8OBB:
        package = make_package("yolov8-obb", "oriented-detection", LABELS, {"size": list(size), "resize": resize})
        return YOLOv8OBB(package, {"main": make_session(make_constant_model(output))})

    return build


# ------------------------------------------------------------------ a reference written from Ultralytics' formulas


def reference_probiou(box1: list[float], box2: list[float], eps: float = 1e-7) -> float:
    """Ultralytics' ``batch_probiou`` for one pair, written out in scalar math."""

    def covariance(box: list[float]) -> tuple[float, float, float]:
        a, b, angle = box[2] ** 2 / 12, box[3] ** 2 / 12, box[4]
        cos, sin = math.cos(angle), math.sin(angle)
        return a * cos**2 + b * sin**2, a * sin**2 + b * cos**2, (a - b) * cos * sin

    (x1, y1), (x2, y2) = box1[:2], box2[:2]
    a1, b1, c1 = covariance(box1)
    a2, b2, c2 = covariance(box2)
    denominator = (a1 + a2) * (b1 + b2) - (c1 + c2) ** 2 + eps
    t1 = ((a1 + a2) * (y1 - y2) ** 2 + (b1 + b2) * (x1 - x2) ** 2) / denominator * 0.25
    t2 = ((c1 + c2) * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    own = math.sqrt(max(a1 * b1 - c1**2, 0) * max(a2 * b2 - c2**2, 0))
    t3 = math.log(((a1 + a2) * (b1 + b2) - (c1 + c2) ** 2) / (4 * own + eps) + eps) * 0.5
    distance = min(max(t1 + t2 + t3, eps), 100.0)
    return 1 - math.sqrt(1 - math.exp(-distance) + eps)


def reference_fast_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Ultralytics' ``TorchNMS.fast_nms``: sort by score, drop every box overlapped (> threshold) by any better one."""
    order = sorted(range(len(scores)), key=lambda index: -scores[index])
    kept = []
    for rank, index in enumerate(order):
        better = order[:rank]
        if all(reference_probiou(boxes[other].tolist(), boxes[index].tolist()) <= threshold for other in better):
            kept.append(index)
    return kept


# ------------------------------------------------------------------ decoding


def test_an_oriented_box_maps_back_through_the_letterbox_of_a_wide_image(obb: Any) -> None:
    # A 32x128 (h x w) image letterboxes into 64x64 at gain 0.5 with 24 rows of padding on top.
    model = obb(head([32, 32, 40, 20, 0.9, 0.1, 0.3]))
    (detections,) = model.predict([blank(32, 128)])
    np.testing.assert_allclose(detections.oriented_boxes, [[64, 16, 80, 40, 0.3]], rtol=0, atol=1e-4)
    assert detections.oriented_boxes.dtype == np.float32
    assert detections.class_id.tolist() == [0]


def test_xyxy_is_the_axis_aligned_bounds_of_the_rotated_box_clipped_to_the_image(obb: Any) -> None:
    # Unrotated: an 80x40 box centred at (64, 16) spans x 24..104 and y -4..36, clipped to 0..32.
    model = obb(head([32, 32, 40, 20, 0.9, 0.1, 0.0]))
    (detections,) = model.predict([blank(32, 128)])
    np.testing.assert_allclose(detections.xyxy, [[24, 0, 104, 32]], rtol=0, atol=1e-4)
    # Turned by 0.5 rad: the bounds are those of the corners, here wholly inside a 128x128 image (gain 0.5, so
    # the box is 32x16 there and reaches w/2 cos + h/2 sin across and w/2 sin + h/2 cos down from its centre).
    model = obb(head([32, 32, 16, 8, 0.9, 0.1, 0.5]))
    (detections,) = model.predict([blank(128, 128)])
    cos, sin = math.cos(0.5), math.sin(0.5)
    half_x, half_y = 16 * cos + 8 * sin, 16 * sin + 8 * cos
    np.testing.assert_allclose(
        detections.xyxy, [[64 - half_x, 64 - half_y, 64 + half_x, 64 + half_y]], rtol=0, atol=1e-3
    )


@pytest.mark.parametrize("angle", [-0.7, 0.3, 2.0])
def test_sides_and_angle_stay_as_the_head_gives_them_as_in_ultralytics_predictor(obb: Any, angle: float) -> None:
    # Ultralytics 8.4's OBBPredictor no longer canonicalises (w may be the short side, the angle outside
    # [0, pi/2)); modelrt returns the same numbers.
    model = obb(head([32, 32, 20, 40, 0.9, 0.1, angle]))
    (detections,) = model.predict([blank(64, 64)])
    np.testing.assert_allclose(detections.oriented_boxes[0, 2:], [20, 40, angle], rtol=0, atol=1e-6)


def test_the_horizontal_gain_scales_x_and_w_and_the_vertical_one_y_and_h(obb: Any) -> None:
    # A 100x333 (h x w) image letterboxes into 64x64 as 19x64: gains 64/333 across and 19/100 down
    # (rounding makes them differ), 22 rows of padding on top; as Ultralytics' scale_boxes(xywh=True).
    model = obb(head([32, 32, 16, 8, 0.9, 0.1, 0.4]))
    (detections,) = model.predict([blank(100, 333)])
    gain_x, gain_y = np.float32(64 / 333), np.float32(19 / 100)
    expected = [32 / gain_x, (32 - 22) / gain_y, 16 / gain_x, 8 / gain_y, 0.4]
    np.testing.assert_allclose(detections.oriented_boxes[0], expected, rtol=1e-6)


def test_a_box_and_its_quarter_turned_twin_with_swapped_sides_share_their_corners() -> None:
    box = np.array([[30, 30, 40, 20, 2.0]], dtype=np.float32)
    twin = np.array([[30, 30, 20, 40, 2.0 - math.pi / 2]], dtype=np.float32)
    same_corners = {tuple(p) for p in np.round(corners(box)[0], 3).tolist()}
    assert same_corners == {tuple(p) for p in np.round(corners(twin)[0], 3).tolist()}


def test_corners_follow_ultralytics_order() -> None:
    # w along x, h along y: centre ± (w/2, 0) ± (0, h/2), in the order ++, +-, --, -+.
    np.testing.assert_allclose(
        corners(np.array([[10, 20, 8, 4, 0]], dtype=np.float32)), [[[14, 22], [14, 18], [6, 18], [6, 22]]]
    )


# ------------------------------------------------------------------ rotated NMS


def test_probiou_matches_the_reference_at_several_angles() -> None:
    rng = np.random.default_rng(3)
    boxes = np.column_stack(
        [
            rng.uniform(20, 40, 12),
            rng.uniform(20, 40, 12),
            rng.uniform(5, 30, 12),
            rng.uniform(5, 30, 12),
            rng.uniform(-math.pi, math.pi, 12),
        ]
    )
    expected = [[reference_probiou(a.tolist(), b.tolist()) for b in boxes] for a in boxes]
    np.testing.assert_allclose(probiou(boxes, boxes), expected, rtol=0, atol=1e-9)


def test_probiou_of_a_box_turned_by_half_a_turn_is_that_of_the_box_itself() -> None:
    box = np.array([[10, 10, 20, 6, 0.4]])
    turned = box + np.array([0, 0, 0, 0, math.pi])
    np.testing.assert_allclose(probiou(box, turned), probiou(box, box), atol=1e-9)
    assert probiou(box, box)[0, 0] > 0.999


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.3, 0.7])
def test_rotated_nms_keeps_what_the_reference_keeps(seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    count = 40
    boxes = np.column_stack(
        [
            rng.uniform(0, 30, count),
            rng.uniform(0, 30, count),
            rng.uniform(5, 25, count),
            rng.uniform(5, 25, count),
            rng.uniform(-math.pi, math.pi, count),
        ]
    )
    scores = rng.permutation(count) / count + 0.01
    kept = nms_rotated(boxes, scores, np.zeros(count, dtype=np.int64), threshold, max_detections=count)
    assert kept.tolist() == reference_fast_nms(boxes, scores, threshold)
    assert 1 < len(kept) < count  # the case suppresses some boxes and keeps others


def test_a_suppressed_box_still_suppresses_as_in_ultralytics_fast_nms() -> None:
    # B overlaps A and is dropped; C overlaps B but not A. Greedy NMS would keep C; Ultralytics drops it.
    boxes = np.array([[0, 0, 20, 10, 0], [6, 0, 20, 10, 0], [12, 0, 20, 10, 0]], dtype=np.float64)
    overlaps = probiou(boxes, boxes)
    assert overlaps[0, 1] > 0.5 and overlaps[1, 2] > 0.5 and overlaps[0, 2] < 0.5
    assert nms_rotated(boxes, np.array([0.9, 0.8, 0.7]), np.zeros(3), 0.5).tolist() == [0]


def test_rotated_nms_is_bounded_in_memory_and_exact_over_several_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import modelrt.nms_rotated as module

    rng = np.random.default_rng(7)
    boxes = np.column_stack([rng.uniform(0, 30, (30, 2)), rng.uniform(5, 25, (30, 2)), rng.uniform(0, 3, 30)])
    scores = rng.uniform(0.1, 1, 30)
    whole = nms_rotated(boxes, scores, np.zeros(30), 0.4, max_detections=30)
    assert 1 < len(whole) < 30
    monkeypatch.setattr(module, "_BLOCK_ELEMENTS", 64)  # two rows per block
    assert nms_rotated(boxes, scores, np.zeros(30), 0.4, max_detections=30).tolist() == whole.tolist()


def test_overlapping_boxes_of_different_classes_both_stay_unless_class_agnostic(obb: Any) -> None:
    output = head([30, 30, 20, 10, 0.9, 0.0, 0.2], [30, 31, 20, 10, 0.0, 0.8, 0.25])
    (detections,) = obb(output).predict([blank(64, 64)])
    assert detections.class_id.tolist() == [0, 1]
    (detections,) = obb(output).predict([blank(64, 64)], class_agnostic=True)
    assert detections.class_id.tolist() == [0]


def test_a_rotated_duplicate_of_the_same_class_is_suppressed(obb: Any) -> None:
    # The same rectangle written two ways (sides swapped, a quarter turn apart) is one object.
    output = head([30, 30, 20, 10, 0.9, 0.0, 0.2], [30, 30, 10, 20, 0.8, 0.0, 0.2 + math.pi / 2])
    (detections,) = obb(output).predict([blank(64, 64)])
    assert detections.confidence.tolist() == pytest.approx([0.9])


def test_confidence_class_filter_and_max_detections(obb: Any) -> None:
    output = head(
        [10, 10, 8, 4, 0.9, 0.0, 0.1],
        [50, 10, 8, 4, 0.0, 0.8, 0.1],
        [10, 50, 8, 4, 0.7, 0.0, 0.1],
        [50, 50, 8, 4, 0.2, 0.1, 0.1],  # below the default confidence
    )
    model = obb(output)
    (detections,) = model.predict([blank(64, 64)])
    assert detections.confidence.tolist() == pytest.approx([0.9, 0.8, 0.7])
    (detections,) = model.predict([blank(64, 64)], classes=["ship"])
    assert detections.class_id.tolist() == [1]
    np.testing.assert_allclose(detections.oriented_boxes[:, :2], [[50, 10]])
    (detections,) = model.predict([blank(64, 64)], max_detections=2)
    assert detections.confidence.tolist() == pytest.approx([0.9, 0.8])
    (detections,) = model.predict([blank(64, 64)], confidence=0.95)
    assert len(detections) == 0 and detections.oriented_boxes.shape == (0, 5)


def test_indexing_keeps_each_oriented_box_with_its_detection(obb: Any) -> None:
    output = head([10, 10, 8, 4, 0.9, 0.0, 0.1], [50, 10, 8, 4, 0.0, 0.8, 0.2], [10, 50, 8, 4, 0.7, 0.0, 0.3])
    (detections,) = obb(output).predict([blank(64, 64)])
    ships = detections[detections.class_names == "ship"]
    np.testing.assert_allclose(ships.oriented_boxes, [[50, 10, 8, 4, 0.2]], atol=1e-6)
    np.testing.assert_allclose(detections[[2, 0]].oriented_boxes[:, 4], [0.3, 0.1], atol=1e-6)
    np.testing.assert_allclose(detections[1].oriented_corners, corners(detections.oriented_boxes[1:2]))


# ------------------------------------------------------------------ results


def test_to_dict_writes_the_oriented_box_and_its_corners(obb: Any) -> None:
    (detections,) = obb(head([32, 32, 8, 4, 0.9, 0.0, 0.0])).predict([blank(64, 64)])
    (item,) = detections.to_dict()["detections"]
    assert item["xywhr"] == [32, 32, 8, 4, 0.0]
    assert item["corners"] == [[36, 34], [36, 30], [28, 30], [28, 34]]
    assert item["xyxy"] == [28, 30, 36, 34]


def test_to_supervision_carries_the_corners_where_supervision_reads_oriented_boxes(obb: Any) -> None:
    from supervision.config import ORIENTED_BOX_COORDINATES

    (detections,) = obb(head([32, 32, 8, 4, 0.9, 0.0, 0.4], [10, 10, 8, 4, 0.0, 0.9, 0.0])).predict([blank(64, 64)])
    converted = detections.to_supervision()
    assert converted.data[ORIENTED_BOX_COORDINATES].shape == (2, 4, 2)
    np.testing.assert_allclose(converted.data[ORIENTED_BOX_COORDINATES], detections.oriented_corners)
    np.testing.assert_allclose(converted[1:].data[ORIENTED_BOX_COORDINATES], detections.oriented_corners[1:])


# ------------------------------------------------------------------ resize modes and bad outputs


def test_stretching_to_another_aspect_ratio_is_refused_naming_the_fix(obb: Any) -> None:
    model = obb(head([32, 32, 8, 4, 0.9, 0.0, 0.4]), resize="stretch")
    with pytest.raises(PackageError, match=r"does not stay a rectangle.*'input.resize' to 'letterbox'"):
        model.predict([blank(32, 128)])


def test_stretching_an_image_of_the_input_aspect_ratio_is_a_uniform_scale(obb: Any) -> None:
    (detections,) = obb(head([32, 32, 8, 4, 0.9, 0.0, 0.4]), resize="stretch").predict([blank(128, 128)])
    np.testing.assert_allclose(detections.oriented_boxes, [[64, 64, 16, 8, 0.4]], atol=1e-5)


def test_a_centre_crop_is_refused(obb: Any) -> None:
    with pytest.raises(PackageError, match=r"not a centre crop"):
        obb(head([32, 32, 8, 4, 0.9, 0.0, 0.4]), resize="shorter-side-center-crop")


def test_an_output_without_its_angle_row_is_a_package_error(obb: Any) -> None:
    with pytest.raises(PackageError, match=r"3 class scores .* 2 labels"):
        obb(head([32, 32, 8, 4, 0.9, 0.0, 0.4, 0.1])).predict([blank(64, 64)])
    with pytest.raises(PackageError, match=r"4 \+ classes \+ 1"):
        obb(head([32, 32, 8, 4, 0.9])).predict([blank(64, 64)])


@pytest.mark.parametrize("class_agnostic", [False, True])
def test_stopping_at_max_detections_keeps_the_first_boxes_the_full_suppression_keeps(
    monkeypatch: pytest.MonkeyPatch, class_agnostic: bool
) -> None:
    import modelrt.nms_rotated as module

    rng = np.random.default_rng(11)
    boxes = np.column_stack([rng.uniform(0, 40, (60, 2)), rng.uniform(5, 25, (60, 2)), rng.uniform(0, 3, 60)])
    scores, classes = rng.uniform(0.1, 1, 60), rng.integers(0, 3, 60)
    monkeypatch.setattr(module, "_BLOCK_ELEMENTS", 120)  # two rows per block, so stopping early is possible
    everything = nms_rotated(boxes, scores, classes, 0.4, class_agnostic, max_detections=60).tolist()
    assert len(everything) > 6
    for limit in (1, 3, 6):
        assert (
            nms_rotated(boxes, scores, classes, 0.4, class_agnostic, max_detections=limit).tolist()
            == (everything[:limit])
        )
