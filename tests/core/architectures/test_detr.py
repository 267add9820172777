"""DETR-family detectors decoded end to end: tiny ONNX graphs output known queries in each exported layout
(RF-DETR, Facebook's DETR, Ultralytics' RT-DETR), and the detections must come back ranked as each project's
own post-processing ranks them, with boxes in original-image pixels of a non-square image."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelrt.api import default_manager
from modelrt.architectures.detr import DETR, RFDETR, RTDETR
from modelrt.backend import TensorInfo
from modelrt.errors import InputError, PackageError

from .detr_graphs import logit, query_model

LABELS = ["cat", "dog"]
STRETCH = {"size": [32, 32], "resize": "stretch"}
# Normalised cx, cy, w, h of three queries.
BOXES = np.array([[0.5, 0.5, 0.5, 0.5], [0.25, 0.75, 0.1, 0.2], [0.9, 0.1, 0.1, 0.1]], dtype=np.float32)
# On a 60 x 120 (h x w) image: the same boxes in pixels, x1 y1 x2 y2.
Q0, Q1, Q2 = [30, 15, 90, 45], [24, 39, 36, 51], [102, 3, 114, 9]
# RF-DETR class logits: cat, dog, then the background slot (which scores highest on queries 0 and 2).
RF_LOGITS = np.array(
    [
        [logit(0.9), logit(0.8), logit(0.99)],
        [0.0, logit(0.95), logit(0.1)],  # cat exactly 0.5
        [logit(0.1), logit(0.2), logit(0.99)],
    ],
    dtype=np.float32,
)


def image(height: int = 60, width: int = 120, value: int = 0) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.uint8)


def sigmoid(value: float) -> float:
    return float(1 / (1 + np.exp(-value)))


@pytest.fixture
def build(make_session: Any, make_package: Any) -> Callable[..., Any]:
    """An architecture of ``kind`` over a query graph with ``outputs``, in a package with ``input_spec``."""

    def build_it(
        kind: type[Any],
        outputs: dict[str, np.ndarray],
        labels: list[str] = LABELS,
        input_spec: dict[str, Any] = STRETCH,
        deltas: dict[str, np.ndarray] | None = None,
        postprocess: dict[str, Any] | None = None,
        symbolic_queries: bool = False,
    ) -> Any:
        name = {RFDETR: "rf-detr", DETR: "detr", RTDETR: "rt-detr"}[kind]
        package = make_package(name, "object-detection", labels, input_spec, postprocess)
        session = make_session(query_model(outputs, deltas))
        if symbolic_queries:  # as a runtime reports a graph whose query count is symbolic
            session.outputs = [
                TensorInfo(o.name, (o.shape[0], "queries", *o.shape[2:]), o.dtype) for o in session.outputs
            ]
        return kind(package, {"main": session})

    return build_it


# ---------------------------------------------------------------------------------------------- RF-DETR


def test_rf_detr_ranks_every_query_class_pair_and_stretches_boxes_back(build: Any) -> None:
    model = build(RFDETR, {"dets": BOXES, "labels": RF_LOGITS})
    (detections,) = model.predict([image()])
    # Sigmoid scores of every (query, class) pair, best first, at RF-DETR's default confidence 0.5 (kept when
    # equal); query 0 is reported twice (cat and dog), and the background slot never.
    np.testing.assert_allclose(detections.confidence, [0.95, 0.9, 0.8, 0.5], rtol=0, atol=1e-6)
    assert detections.class_id.tolist() == [1, 0, 1, 0]
    np.testing.assert_allclose(detections.xyxy, [Q1, Q0, Q0, Q1], rtol=0, atol=1e-4)


def test_rf_detr_reports_every_slot_when_the_labels_name_them_all(build: Any) -> None:
    model = build(RFDETR, {"dets": BOXES, "labels": RF_LOGITS}, labels=["cat", "dog", "bird"])
    (detections,) = model.predict([image()], confidence=0.85)
    assert detections.class_names.tolist() == ["bird", "bird", "dog", "cat"]
    np.testing.assert_allclose(detections.confidence, [0.99, 0.99, 0.95, 0.9], rtol=0, atol=1e-6)
    np.testing.assert_allclose(detections.xyxy, [Q0, Q2, Q1, Q0], rtol=0, atol=1e-4)


def test_rf_detr_confidence_max_detections_and_classes(build: Any) -> None:
    model = build(RFDETR, {"dets": BOXES, "labels": RF_LOGITS})
    (confident,) = model.predict([image()], confidence=0.85)
    (top3,) = model.predict([image()], max_detections=3)
    (dogs,) = model.predict([image()], classes=["dog"])
    (cats,) = model.predict([image()], classes=0)
    assert confident.class_id.tolist() == [1, 0]
    np.testing.assert_allclose(top3.confidence, [0.95, 0.9, 0.8], rtol=0, atol=1e-6)
    np.testing.assert_allclose(dogs.confidence, [0.95, 0.8], rtol=0, atol=1e-6)
    np.testing.assert_allclose(dogs.xyxy, [Q1, Q0], rtol=0, atol=1e-4)
    np.testing.assert_allclose(cats.confidence, [0.9, 0.5], rtol=0, atol=1e-6)


def test_the_manifest_confidence_replaces_the_default(build: Any) -> None:
    model = build(RFDETR, {"dets": BOXES, "labels": RF_LOGITS}, postprocess={"confidence": 0.9})
    (detections,) = model.predict([image()])
    np.testing.assert_allclose(detections.confidence, [0.95, 0.9], rtol=0, atol=1e-6)


def test_rf_detr_outputs_are_found_by_name_in_any_order(build: Any) -> None:
    model = build(RFDETR, {"labels": RF_LOGITS, "dets": BOXES})
    (detections,) = model.predict([image()])
    np.testing.assert_allclose(detections.xyxy, [Q1, Q0, Q0, Q1], rtol=0, atol=1e-4)


def test_boxes_map_back_through_a_letterbox(build: Any) -> None:
    # A 60 x 120 image letterboxes into 32 x 32 at gain 4/15, 16 rows high with 8 rows of padding on top;
    # the box (8, 16, 8, 8) of the input (cx, cy, w, h) covers x 4..12, y 12..20 of it.
    boxes = np.array([[0.25, 0.5, 0.25, 0.25]], dtype=np.float32)
    logits = np.array([[logit(0.9), logit(0.1), logit(0.1)]], dtype=np.float32)
    model = build(RFDETR, {"dets": boxes, "labels": logits}, input_spec={"size": [32, 32], "resize": "letterbox"})
    (detections,) = model.predict([image()])
    np.testing.assert_allclose(detections.xyxy, [[15, 15, 45, 45]], rtol=0, atol=1e-4)


def test_a_batch_of_two_different_images_runs_once_and_each_gets_its_own_detections(
    build: Any, make_session: Any
) -> None:
    # On a white image (brightness 1) query 2's dog logit gains 10 and its box moves right by 0.05.
    logit_delta = np.zeros_like(RF_LOGITS)
    logit_delta[2, 1] = 10
    box_delta = np.zeros_like(BOXES)
    box_delta[2, 0] = 0.05
    model = build(RFDETR, {"dets": BOXES, "labels": RF_LOGITS}, deltas={"dets": box_delta, "labels": logit_delta})
    black, white = model.predict([image(60, 120, 0), image(90, 30, 255)])
    assert model.session.run_shapes == [(2, 3, 32, 32)]
    assert black.class_id.tolist() == [1, 0, 1, 0]
    np.testing.assert_allclose(black.xyxy, [Q1, Q0, Q0, Q1], rtol=0, atol=1e-4)
    np.testing.assert_allclose(white.confidence, [sigmoid(logit(0.2) + 10), 0.95, 0.9, 0.8, 0.5], rtol=0, atol=1e-6)
    assert white.class_id.tolist() == [1, 1, 0, 1, 0]
    # The same normalised boxes on a 90 x 30 image.
    white_q0, white_q1, white_q2 = [7.5, 22.5, 22.5, 67.5], [6, 58.5, 9, 76.5], [27, 4.5, 30, 13.5]
    np.testing.assert_allclose(white.xyxy, [white_q2, white_q1, white_q0, white_q0, white_q1], rtol=0, atol=1e-4)


def test_a_query_with_no_score_above_the_confidence_gives_no_detections(build: Any) -> None:
    model = build(RFDETR, {"dets": BOXES, "labels": RF_LOGITS})
    (detections,) = model.predict([image()], confidence=0.999)
    assert len(detections) == 0
    assert detections.xyxy.shape == (0, 4)


# ------------------------------------------------------------------------------------------------- DETR

# Softmax inputs: the log of each query's probabilities over cat, dog, "no object".
DETR_LOGITS = np.log(np.array([[0.8, 0.1, 0.1], [0.05, 0.15, 0.8], [0.1, 0.75, 0.15]], dtype=np.float32))


def test_detr_takes_each_querys_best_real_class_after_a_softmax(build: Any) -> None:
    model = build(DETR, {"pred_logits": DETR_LOGITS, "pred_boxes": BOXES})
    (detections,) = model.predict([image()])
    # DETR's default confidence 0.7: query 1 is "no object" (0.8), whose best real class scores 0.15.
    np.testing.assert_allclose(detections.confidence, [0.8, 0.75], rtol=0, atol=1e-6)
    assert detections.class_id.tolist() == [0, 1]
    np.testing.assert_allclose(detections.xyxy, [Q0, Q2], rtol=0, atol=1e-4)


def test_detr_reports_one_class_per_query_and_never_no_object(build: Any) -> None:
    model = build(DETR, {"pred_logits": DETR_LOGITS, "pred_boxes": BOXES})
    (detections,) = model.predict([image()], confidence=0.1)
    # Query 0's dog (0.1) is not its best class, so it is not reported.
    np.testing.assert_allclose(detections.confidence, [0.8, 0.75, 0.15], rtol=0, atol=1e-6)
    assert detections.class_id.tolist() == [0, 1, 1]


def test_unnamed_outputs_are_told_apart_by_shape(build: Any) -> None:
    model = build(DETR, {"output0": DETR_LOGITS, "output1": BOXES})
    (detections,) = model.predict([image()])
    np.testing.assert_allclose(detections.xyxy, [Q0, Q2], rtol=0, atol=1e-4)


# ---------------------------------------------------------------------------------------------- RT-DETR

# Ultralytics' layout: cx, cy, w, h, then sigmoid scores for cat and dog.
RT_OUTPUT = np.array(
    [[*BOXES[0], 0.9, 0.8], [*BOXES[1], 0.3, 0.6], [*BOXES[2], 0.1, 0.2]],
    dtype=np.float32,
)


def test_rt_detr_reads_boxes_then_scores_and_keeps_each_querys_best_class(build: Any) -> None:
    model = build(RTDETR, {"output0": RT_OUTPUT})
    (detections,) = model.predict([image()])
    np.testing.assert_allclose(detections.confidence, [0.9, 0.6], rtol=0, atol=1e-6)
    assert detections.class_id.tolist() == [0, 1]
    np.testing.assert_allclose(detections.xyxy, [Q0, Q1], rtol=0, atol=1e-4)


def test_the_class_filter_drops_a_query_whose_best_class_is_unwanted(build: Any) -> None:
    # As Ultralytics filters: query 0's best class is cat, so asking for dogs drops it (its dog 0.8 too).
    model = build(RTDETR, {"output0": RT_OUTPUT})
    (detections,) = model.predict([image()], classes=["dog"])
    np.testing.assert_allclose(detections.confidence, [0.6], rtol=0, atol=1e-6)
    np.testing.assert_allclose(detections.xyxy, [Q1], rtol=0, atol=1e-4)


# ----------------------------------------------------------------------------------------- bad packages


def test_a_single_output_is_not_an_rf_detr_model(build: Any) -> None:
    with pytest.raises(PackageError, match=r"'dets' \[batch, queries, 4\].*but this model has 1 output \(output0\)"):
        build(RFDETR, {"output0": RT_OUTPUT})


def test_two_outputs_are_not_an_rt_detr_model(build: Any) -> None:
    with pytest.raises(PackageError, match=r"one output \[batch, queries, 4 \+ classes\]"):
        build(RTDETR, {"dets": BOXES, "labels": RF_LOGITS})


def test_boxes_without_four_values_are_a_package_error_at_load_time(build: Any) -> None:
    with pytest.raises(PackageError, match=r"outputs \[1, 3, 5\] \(boxes\) and \[1, 3, 3\] \(class scores\)"):
        build(RFDETR, {"dets": np.zeros((3, 5), np.float32), "labels": RF_LOGITS})


def test_rf_detr_classes_that_match_neither_the_labels_nor_labels_and_background_are_a_package_error(
    build: Any,
) -> None:
    with pytest.raises(PackageError, match=r"holds 5 class scores per query, but the manifest lists 2 labels.*5 or 4"):
        build(RFDETR, {"dets": BOXES, "labels": np.zeros((3, 5), np.float32)})


def test_detr_without_a_no_object_class_is_a_package_error(build: Any) -> None:
    with pytest.raises(PackageError, match=r"holds 2 class scores per query.*'no object'"):
        build(DETR, {"pred_logits": DETR_LOGITS[:, :2], "pred_boxes": BOXES})


def test_rt_detr_scores_that_do_not_match_the_labels_are_a_package_error(build: Any) -> None:
    with pytest.raises(PackageError, match=r"\[1, 3, 7\] holds 3 class scores per query, but the manifest lists 2"):
        build(RTDETR, {"output0": np.zeros((3, 7), np.float32)})


def test_rt_detr_output_with_only_boxes_is_a_package_error(build: Any) -> None:
    with pytest.raises(PackageError, match=r"outputs \[1, 3, 4\]"):
        build(RTDETR, {"output0": BOXES})


def test_outputs_of_undeclared_shape_are_checked_when_they_come(build: Any) -> None:
    model = build(RFDETR, {"dets": BOXES, "labels": np.zeros((3, 5), np.float32)}, symbolic_queries=True)
    with pytest.raises(PackageError, match=r"holds 5 class scores per query, but the manifest lists 2 labels"):
        model.predict([image()])


def test_nms_options_are_refused_since_there_is_no_nms(build: Any) -> None:
    model = build(RFDETR, {"dets": BOXES, "labels": RF_LOGITS})
    with pytest.raises(
        InputError, match=r"unknown post-processing option\(s\) iou.*confidence, max_detections, classes"
    ):
        model.predict([image()], iou=0.5)


@pytest.mark.parametrize("name", ["rf-detr", "rt-detr", "detr"])
def test_the_detr_family_is_registered_as_mps_capable_object_detectors(name: str) -> None:
    # Static shapes and no NMS in the graph: see the module docstring of modelrt.architectures.detr.
    spec = default_manager().architectures()[name]
    assert spec.tasks == ("object-detection",)
    assert spec.mps_capable
