"""YOLOv8-seg masks decoded end to end: tiny ONNX graphs output known boxes, coefficients and prototypes,
and the masks must come back in original-image pixels exactly as worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.architectures.yolo_seg import YOLOv8Segmentation
from modelrt.errors import PackageError

LABELS = ["person", "car"]


def two_output_model(boxes: np.ndarray, prototypes: np.ndarray) -> onnx.ModelProto:
    """A network that outputs ``boxes`` and ``prototypes`` (``[1, ...]`` each) whatever its input."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, "height", "width"])
    outputs = [
        helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(boxes.shape)),
        helper.make_tensor_value_info("output1", TensorProto.FLOAT, list(prototypes.shape)),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[0, 1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["boxes", "nothing"], ["output0"]),
        helper.make_node("Add", ["prototypes", "nothing"], ["output1"]),
    ]
    initializers = [
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        numpy_helper.from_array(boxes.astype(np.float32), "boxes"),
        numpy_helper.from_array(prototypes.astype(np.float32), "prototypes"),
    ]
    graph = helper.make_graph(nodes, "segment", [image], outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def head(*anchors: list[float]) -> np.ndarray:
    """``[1, 4 + C + M, N]`` from anchors given as rows [cx, cy, w, h, class scores..., coefficients...]."""
    return np.asarray(anchors, dtype=np.float32).T[None]


def blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


def halves(size: int) -> np.ndarray:
    """Two ``size`` x ``size`` prototypes: +1 on the left half and -1 on the right, then the opposite."""
    left = np.where(np.arange(size) < size // 2, 1.0, -1.0)[None, :].repeat(size, axis=0)
    return np.stack([left, -left])[None]


@pytest.fixture
def segmenter(make_session: Any, make_package: Any) -> Callable[..., YOLOv8Segmentation]:
    def build(boxes: np.ndarray, prototypes: np.ndarray, resize: str = "letterbox") -> YOLOv8Segmentation:
        package = make_package("yolov8-seg", "instance-segmentation", LABELS, {"size": [64, 64], "resize": resize})
        return YOLOv8Segmentation(package, {"main": make_session(two_output_model(boxes, prototypes))})

    return build


def test_coefficients_weigh_the_prototypes_into_each_mask(segmenter: Any) -> None:
    # Box covering the whole 64x64 input; 16x16 prototypes upsampled x4: the +1/-1 step between
    # prototype columns 7 and 8 crosses zero between input columns 31 and 32.
    model = segmenter(
        head([32, 32, 64, 64, 0.9, 0, 1, -1], [32, 32, 64, 64, 0, 0.8, -1, 1]),
        halves(16),
        resize="stretch",
    )
    (detections,) = model.predict([blank(64, 64)])
    left = np.zeros((64, 64), dtype=bool)
    left[:, :32] = True
    assert detections.class_id.tolist() == [0, 1]
    assert np.array_equal(detections.masks, np.stack([left, ~left]))


def test_masks_are_cropped_to_their_box(segmenter: Any) -> None:
    # Pixel columns x1 <= x < x2 and rows y1 <= y < y2 stay: the box 10.5..30 x 20..40 keeps 11..29 x 20..39.
    model = segmenter(head([20.25, 30, 19.5, 20, 0.9, 0, 1, 0]), halves(16), resize="stretch")
    (detections,) = model.predict([blank(64, 64)])
    expected = np.zeros((64, 64), dtype=bool)
    expected[20:40, 11:30] = True
    assert np.array_equal(detections.masks[0], expected)


def test_a_mask_touching_the_border_loses_the_letterbox_and_is_scaled_to_the_image(segmenter: Any) -> None:
    # A 64x128 (h x w) image letterboxes into 64x64 at gain 0.5, with 16 rows of padding on top. The box
    # 0..20 x 16..32 in the input touches the image's left and top edges; the mask it crops (columns
    # 0..19, content rows 0..15) doubles to columns 0..39 and rows 0..31 of the image.
    model = segmenter(head([10, 24, 20, 16, 0.9, 0, 1, 0]), halves(16) * -1 + 2)
    (detections,) = model.predict([blank(64, 128)])
    expected = np.zeros((64, 128), dtype=bool)
    expected[:32, :40] = True
    np.testing.assert_allclose(detections.xyxy, [[0, 0, 40, 32]])
    assert detections.masks.shape == (1, 64, 128)
    assert np.array_equal(detections.masks[0], expected)


def test_a_detection_whose_mask_is_empty_in_its_box_is_dropped(segmenter: Any) -> None:
    # The first box lies in the left half, where its coefficients make the mask negative.
    model = segmenter(
        head([16, 32, 20, 20, 0.9, 0, -1, 0], [48, 32, 20, 20, 0, 0.8, 0, 1]),
        halves(16),
        resize="stretch",
    )
    (detections,) = model.predict([blank(64, 64)])
    assert detections.class_id.tolist() == [1]
    assert detections.masks.shape == (1, 64, 64) and detections.masks[0, 22:42, 38:58].all()


def test_no_detection_gives_an_empty_stack_of_image_sized_masks(segmenter: Any) -> None:
    model = segmenter(head([32, 32, 10, 10, 0.1, 0.1, 1, 0]), halves(16))
    (detections,) = model.predict([blank(48, 80)])
    assert len(detections) == 0 and detections.masks.shape == (0, 48, 80)


def test_more_masks_than_one_resize_call_takes_are_all_decoded(segmenter: Any) -> None:
    # 200 boxes, each one column wide: the masks are resized in several groups of channels.
    anchors = [[x + 0.5, 32, 1, 64, 0.9, 0, 0, 0] for x in range(200)]
    prototypes = np.ones((1, 2, 16, 16), dtype=np.float32)
    for anchor in anchors:
        anchor[6] = 1.0
    model = segmenter(head(*anchors), prototypes, resize="stretch")
    (detections,) = model.predict([blank(64, 64)], max_detections=300, iou=0.99)
    # Boxes beyond the 64-pixel input hold no pixel, so only the 64 inside it remain, one column each.
    assert len(detections) == 64
    assert np.array_equal(detections.masks.sum(axis=(1, 2)), np.full(64, 64))
    assert np.array_equal(np.argmax(detections.masks[:, 0, :], axis=1), detections.xyxy[:, 0].astype(int))


def test_a_model_without_prototypes_is_a_package_error(
    make_constant_model: Any, make_session: Any, make_package: Any
) -> None:
    package = make_package("yolov8-seg", "instance-segmentation", LABELS, {"size": [64, 64], "resize": "letterbox"})
    network = make_constant_model(head([32, 32, 8, 8, 0.9, 0, 1]))
    model = YOLOv8Segmentation(package, {"main": make_session(network)})
    with pytest.raises(PackageError, match=r"prototypes \[batch, 1, height, width\].*no second output"):
        model.predict([blank(64, 64)])


def test_a_centre_cropped_input_is_refused_when_loading(make_session: Any, make_package: Any) -> None:
    input_spec = {"size": [64, 64], "resize": "shorter-side-center-crop"}
    package = make_package("yolov8-seg", "instance-segmentation", LABELS, input_spec)
    with pytest.raises(PackageError, match=r"'input.resize' to 'letterbox'"):
        YOLOv8Segmentation(package, {"main": make_session(two_output_model(head([1, 1, 1, 1, 0, 0, 0]), halves(4)))})
