"""YOLOv8 and YOLOv5 heads decoded end to end: tiny ONNX graphs output known boxes, and the detections must
come back in original-image pixels exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelrt.architectures.yolo import YOLOv5, YOLOv8
from modelrt.errors import InputError, PackageError
from modelrt.timing import StageTimer

LABELS = ["person", "car", "dog"]
LETTERBOX_640 = {"size": [640, 640], "resize": "letterbox"}


def v8_output(*anchors: list[float]) -> np.ndarray:
    """``[1, 4 + C, N]`` from anchors given as rows [cx, cy, w, h, score per class]."""
    return np.asarray(anchors, dtype=np.float32).T[None]


def blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


@pytest.fixture
def yolov8(make_constant_model: Any, make_session: Any, make_package: Any) -> Callable[..., YOLOv8]:
    """A YOLOv8 architecture over a network that always outputs ``output``."""

    def build(
        output: np.ndarray,
        input_spec: dict[str, Any] = LETTERBOX_640,
        postprocess: dict[str, Any] | None = None,
        labels: list[str] = LABELS,
    ) -> YOLOv8:
        package = make_package("yolov8", "object-detection", labels, input_spec, postprocess)
        return YOLOv8(package, {"main": make_session(make_constant_model(output))})

    return build


@pytest.fixture
def yolov5(make_constant_model: Any, make_session: Any, make_package: Any) -> Callable[..., YOLOv5]:
    def build(output: np.ndarray) -> YOLOv5:
        package = make_package("yolov5", "object-detection", LABELS, LETTERBOX_640)
        return YOLOv5(package, {"main": make_session(make_constant_model(output))})

    return build


# ------------------------------------------------------------------------------ mapping back to the image


def test_a_box_in_a_landscape_image_loses_the_top_padding(yolov8: Any) -> None:
    # 480x640 (h x w) letterboxed into 640x640: gain 1, 80 rows of padding on top.
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]))
    (detections,) = model.predict([blank(480, 640)])
    np.testing.assert_allclose(detections.xyxy, [[270, 215, 370, 265]], atol=1e-4)


def test_a_box_in_a_portrait_image_loses_the_left_padding(yolov8: Any) -> None:
    # 640x480 letterboxed into 640x640: gain 1, 80 columns of padding on the left.
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]))
    (detections,) = model.predict([blank(640, 480)])
    np.testing.assert_allclose(detections.xyxy, [[190, 295, 290, 345]], atol=1e-4)


def test_a_box_in_a_wide_image_is_scaled_back_up(yolov8: Any) -> None:
    # 100x1000 into 640x640: gain 0.64, resized to 64x640, top padding round(288 - 0.1) = 288.
    model = yolov8(v8_output([150, 320, 100, 40, 0.9, 0, 0]))
    (detections,) = model.predict([blank(100, 1000)])
    expected = [[100 / 0.64, (300 - 288) / 0.64, 200 / 0.64, (340 - 288) / 0.64]]
    np.testing.assert_allclose(detections.xyxy, expected, rtol=1e-5)


def test_each_axis_maps_back_through_the_rounded_resize_exactly(yolov8: Any) -> None:
    # 200x1920 into 640x640: gain 1/3 gives 66.7 rows, resized to 67 (top padding 286). The rows map
    # back with 67/200, the exact inverse of the resize, not with 1/3 (which would give 50.25..150.75).
    model = yolov8(v8_output([320, 319.5, 320, 33.5, 0.9, 0, 0]))
    (detections,) = model.predict([blank(200, 1920)])
    np.testing.assert_allclose(detections.xyxy, [[480, 50, 1440, 150]], atol=1e-3)


def test_a_dynamic_letterbox_runs_a_strip_and_maps_its_boxes_back(yolov8: Any) -> None:
    # Ultralytics' dynamic-export letterbox: 200x1920 fits 640x640 as 67x640, padded to 96 rows (14 on top).
    spec = {"size": [640, 640], "dynamic_size": True, "dynamic_resize": "letterbox", "size_multiple": 32}
    model = yolov8(v8_output([320, 47.5, 320, 33.5, 0.9, 0, 0]), spec)
    (detections,) = model.predict([blank(200, 1920)])
    assert model.session.run_shapes == [(1, 3, 96, 640)]
    np.testing.assert_allclose(detections.xyxy, [[480, 50, 1440, 150]], atol=1e-3)


def test_boxes_reaching_into_the_padding_are_clipped_to_the_image(yolov8: Any) -> None:
    # Spans y 40..200 in the input, i.e. -40..120 in the 480x640 image; x runs past the right edge.
    model = yolov8(v8_output([600, 120, 200, 160, 0.9, 0, 0]))
    (detections,) = model.predict([blank(480, 640)])
    np.testing.assert_allclose(detections.xyxy, [[500, 0, 640, 120]], atol=1e-4)


def test_a_stretched_input_maps_each_axis_with_its_own_scale(yolov8: Any) -> None:
    model = yolov8(v8_output([320, 320, 64, 64, 0.9, 0, 0]), {"size": [640, 640], "resize": "stretch"})
    (detections,) = model.predict([blank(320, 1280)])
    np.testing.assert_allclose(detections.xyxy, [[576, 144, 704, 176]], atol=1e-4)


# ------------------------------------------------------------------------------ scores, classes, NMS


def test_each_anchor_takes_its_best_class_and_score(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 20, 20, 0.3, 0.8, 0.5]))
    (detections,) = model.predict([blank(640, 640)])
    assert detections.class_names == ["car"]
    np.testing.assert_allclose(detections.confidence, [0.8])
    assert detections.class_id.dtype == np.int64 and detections.xyxy.dtype == np.float32


def test_a_score_equal_to_the_confidence_threshold_is_kept(yolov8: Any) -> None:
    just_below = float(np.nextafter(np.float32(0.5), np.float32(0)))
    model = yolov8(v8_output([100, 100, 20, 20, 0.5, 0, 0], [300, 300, 20, 20, just_below, 0, 0]))
    (detections,) = model.predict([blank(640, 640)], confidence=0.5)
    np.testing.assert_allclose(detections.xyxy, [[90, 90, 110, 110]])


def test_overlapping_boxes_of_different_classes_both_survive_class_aware_nms(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 40, 40, 0.9, 0, 0], [102, 100, 40, 40, 0, 0.8, 0]))
    (detections,) = model.predict([blank(640, 640)])
    assert detections.class_names.tolist() == ["person", "car"]


def test_class_agnostic_nms_suppresses_across_classes(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 40, 40, 0.9, 0, 0], [102, 100, 40, 40, 0, 0.8, 0]))
    (detections,) = model.predict([blank(640, 640)], class_agnostic=True)
    assert detections.class_names == ["person"]


def test_overlapping_boxes_of_one_class_keep_only_the_best(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 40, 40, 0.7, 0, 0], [102, 100, 40, 40, 0.9, 0, 0]))
    (detections,) = model.predict([blank(640, 640)])
    np.testing.assert_allclose(detections.confidence, [0.9])
    np.testing.assert_allclose(detections.xyxy, [[82, 80, 122, 120]])


def test_the_iou_override_changes_what_counts_as_overlapping(yolov8: Any) -> None:
    # IoU of these two is 1/3: suppressed at iou=0.3, both kept at the default 0.7.
    model = yolov8(v8_output([100, 100, 40, 40, 0.9, 0, 0], [120, 100, 40, 40, 0.8, 0, 0]))
    assert len(model.predict([blank(640, 640)])[0]) == 2
    assert len(model.predict([blank(640, 640)], iou=0.3)[0]) == 1


def test_classes_keeps_only_the_named_classes(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 20, 20, 0.9, 0, 0], [300, 300, 20, 20, 0, 0, 0.8]))
    (detections,) = model.predict([blank(640, 640)], classes=["dog"])
    assert detections.class_names == ["dog"]


def test_classes_accepts_class_ids(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 20, 20, 0.9, 0, 0], [300, 300, 20, 20, 0, 0, 0.8]))
    (detections,) = model.predict([blank(640, 640)], classes=[0])
    assert detections.class_names == ["person"]


def test_max_detections_keeps_the_highest_scores_in_order(yolov8: Any) -> None:
    anchors = [[50 + 100 * i, 50, 20, 20, score, 0, 0] for i, score in enumerate([0.3, 0.9, 0.5, 0.7, 0.6])]
    model = yolov8(v8_output(*anchors))
    (detections,) = model.predict([blank(640, 640)], max_detections=2)
    np.testing.assert_allclose(detections.confidence, [0.9, 0.7])


def test_no_anchor_above_the_threshold_gives_empty_detections(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 20, 20, 0.1, 0.1, 0.1]))
    (detections,) = model.predict([blank(640, 640)])
    assert len(detections) == 0 and detections.xyxy.shape == (0, 4)


def test_defaults_come_from_the_manifest(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 20, 20, 0.5, 0, 0]), postprocess={"confidence": 0.6})
    assert len(model.predict([blank(640, 640)])[0]) == 0


def test_an_override_of_none_means_the_default(yolov8: Any) -> None:
    model = yolov8(v8_output([100, 100, 20, 20, 0.5, 0, 0]))
    assert len(model.predict([blank(640, 640)], confidence=None, classes=None)[0]) == 1


# ------------------------------------------------------------------------------ batches


def test_a_dynamic_batch_runs_once_and_maps_each_image_with_its_own_geometry(yolov8: Any) -> None:
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]))
    results = model.predict([blank(480, 640), blank(640, 480), blank(640, 640)])
    assert model.session.run_shapes == [(3, 3, 640, 640)]
    np.testing.assert_allclose(results[0].xyxy, [[270, 215, 370, 265]], atol=1e-4)
    np.testing.assert_allclose(results[1].xyxy, [[190, 295, 290, 345]], atol=1e-4)
    np.testing.assert_allclose(results[2].xyxy, [[270, 295, 370, 345]], atol=1e-4)


def test_a_fixed_batch_size_is_respected_by_chunking_and_padding(yolov8: Any) -> None:
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]), {**LETTERBOX_640, "batch": 2})
    results = model.predict([blank(480, 640)] * 3)
    assert model.session.run_shapes == [(2, 3, 640, 640), (2, 3, 640, 640)]
    assert len(results) == 3


def test_a_batch_size_of_one_runs_images_one_by_one(yolov8: Any) -> None:
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]), {**LETTERBOX_640, "batch": 1})
    model.predict([blank(480, 640)] * 2)
    assert model.session.run_shapes == [(1, 3, 640, 640), (1, 3, 640, 640)]


def test_a_batch_size_fixed_in_the_network_wins_over_a_dynamic_manifest(
    make_constant_model: Any, make_session: Any, make_package: Any
) -> None:
    package = make_package("yolov8", "object-detection", LABELS, LETTERBOX_640)
    session = make_session(make_constant_model(v8_output([320, 320, 100, 50, 0.9, 0, 0]), batch=1))
    results = YOLOv8(package, {"main": session}).predict([blank(480, 640)] * 2)
    assert session.run_shapes == [(1, 3, 640, 640), (1, 3, 640, 640)]
    np.testing.assert_allclose(results[1].xyxy, [[270, 215, 370, 265]], atol=1e-4)


def test_an_empty_list_of_images_gives_no_results(yolov8: Any) -> None:
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]))
    assert model.predict([]) == []
    assert model.session.run_shapes == []


def test_predict_records_the_three_stages(yolov8: Any) -> None:
    timer = StageTimer()
    yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0])).predict([blank(480, 640)], timer)
    assert set(timer.seconds) == {"pre", "run", "post"}


# ------------------------------------------------------------------------------ bad overrides and packages


def test_an_unknown_override_names_the_valid_ones(yolov8: Any) -> None:
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]))
    with pytest.raises(InputError, match=r"conf_threshold.*confidence, iou, max_detections, classes"):
        model.predict([blank(64, 64)], conf_threshold=0.5)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"confidence": 1.5}, r"confidence=1.5 is outside \[0, 1\]"),
        ({"iou": -0.1}, r"iou=-0.1 is outside \[0, 1\]"),
        ({"confidence": "high"}, "must be a number"),
        ({"max_detections": 0}, "at least 1"),
        ({"class_agnostic": "yes"}, "True or False"),
        ({"classes": ["unicorn"]}, "unknown class name 'unicorn'.*'person', 'car', 'dog'"),
        ({"classes": [3]}, "out of range"),
    ],
)
def test_a_bad_override_value_is_an_input_error(yolov8: Any, override: dict[str, Any], message: str) -> None:
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0, 0]))
    with pytest.raises(InputError, match=message):
        model.predict([blank(64, 64)], **override)


def test_a_class_count_different_from_the_labels_is_a_package_error(yolov8: Any) -> None:
    model = yolov8(v8_output([320, 320, 100, 50, 0.9, 0]), labels=LABELS)
    with pytest.raises(PackageError, match=r"2 class scores.*3 labels"):
        model.predict([blank(64, 64)])


# ------------------------------------------------------------------------------ YOLOv5


def test_yolov5_scores_are_objectness_times_the_best_class_score(yolov5: Any) -> None:
    output = np.asarray([[[100, 100, 20, 20, 0.8, 0.5, 0.9, 0.1]]], dtype=np.float32)
    (detections,) = yolov5(output).predict([blank(640, 640)])
    assert detections.class_names == ["car"]
    np.testing.assert_allclose(detections.confidence, [np.float32(0.8) * np.float32(0.9)])
    np.testing.assert_allclose(detections.xyxy, [[90, 90, 110, 110]])


def test_yolov5_drops_boxes_whose_product_is_below_the_threshold(yolov5: Any) -> None:
    # Objectness 0.5 and class 0.4 give 0.2 < 0.25, though each alone passes.
    output = np.asarray([[[100, 100, 20, 20, 0.5, 0.4, 0.0, 0.0]]], dtype=np.float32)
    (detections,) = yolov5(output).predict([blank(640, 640)])
    assert len(detections) == 0


def test_yolov5_maps_boxes_back_like_yolov8(yolov5: Any) -> None:
    output = np.asarray([[[320, 320, 100, 50, 0.9, 1.0, 0.0, 0.0]]], dtype=np.float32)
    (detections,) = yolov5(output).predict([blank(480, 640)])
    np.testing.assert_allclose(detections.xyxy, [[270, 215, 370, 265]], atol=1e-4)
