"""Semantic segmenters end to end: tiny ONNX graphs output known scores or class ids, and the class map
must come back at the original image's size with the letterbox, stretch or crop undone, pixel by pixel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.architectures.semantic_segmenter import SemanticSegmenter, class_map_from_scores
from modelrt.errors import PackageError
from modelrt.preprocess import Preprocessor
from modelrt.results import SemanticSegmentation

from .conftest import IR_VERSION, OPSET, package

LABELS = [f"class{i}" for i in range(10)]
LETTERBOX_4 = {"size": [4, 4], "resize": "letterbox"}
# Rows 0 and 3 are letterbox padding for a 2:1 image; 9 marks them and must never reach the map.
IDS_4X4 = np.array([[9, 9, 9, 9], [0, 1, 2, 3], [4, 5, 6, 7], [9, 9, 9, 9]])

Build = Callable[..., SemanticSegmenter]


def constant_ids_model(ids: np.ndarray) -> onnx.ModelProto:
    """A network whose int64 output is ``ids`` (``[1, ...]``) for every image of the batch."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    result = helper.make_tensor_value_info("labels", TensorProto.INT64, ["batch", *ids.shape[1:]])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "per_image_shape"], ["per_image"]),
        helper.make_node("Mul", ["per_image", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "constant"], ["sum"]),
        helper.make_node("Cast", ["sum"], ["labels"], to=TensorProto.INT64),
    ]
    initializers = [
        numpy_helper.from_array(np.array([-1] + [1] * (ids.ndim - 1), dtype=np.int64), "per_image_shape"),
        numpy_helper.from_array(np.zeros((), dtype=np.float32), "zero"),
        numpy_helper.from_array(ids.astype(np.float32), "constant"),
    ]
    graph = helper.make_graph(nodes, "ids", [image], [result], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


@pytest.fixture
def segmenter(make_constant_model: Any, make_session: Any) -> Build:
    """A segmenter over a network that always outputs ``output`` (float scores, or int ids with ``ids=True``)."""

    def build(
        output: np.ndarray, input_spec: dict[str, Any] = LETTERBOX_4, labels: list[str] = LABELS, ids: bool = False
    ) -> SemanticSegmenter:
        network = constant_ids_model(output) if ids else make_constant_model(output)
        spec = package("semantic-segmenter", "semantic-segmentation", labels, input_spec)
        return SemanticSegmenter(spec, {"main": make_session(network)})

    return build


def blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


def one_hot(ids: np.ndarray, classes: int = len(LABELS), value: float = 10.0) -> np.ndarray:
    """Scores ``[1, C, h, w]`` that rank the class of ``ids`` first, every other class at 0."""
    return (np.eye(classes, dtype=np.float32)[ids] * value).transpose(2, 0, 1)[None]


def letterboxed_expectation() -> np.ndarray:
    """An 8x16 image in a 4x4 letterbox lands on rows 1-2 at a quarter of its size: pixel (y, x) is
    cell (1 + y // 4, x // 4)."""
    rows, columns = np.mgrid[0:8, 0:16]
    return IDS_4X4[1 + rows // 4, columns // 4]


def test_class_ids_come_back_through_the_letterbox_pixel_by_pixel(segmenter: Build) -> None:
    (result,) = segmenter(IDS_4X4[None], ids=True).predict([blank(8, 16)])
    assert isinstance(result, SemanticSegmentation)
    assert result.class_map.shape == (8, 16) and result.class_map.dtype == np.int32
    np.testing.assert_array_equal(result.class_map, letterboxed_expectation())
    assert 9 not in result.class_map


def test_one_hot_scores_give_the_same_map_as_their_class_ids(segmenter: Build) -> None:
    (result,) = segmenter(one_hot(IDS_4X4)).predict([blank(8, 16)])
    np.testing.assert_array_equal(result.class_map, letterboxed_expectation())


def test_a_single_channel_of_whole_numbers_is_read_as_class_ids(segmenter: Build) -> None:
    (result,) = segmenter(IDS_4X4[None, None].astype(np.float32)).predict([blank(8, 16)])
    np.testing.assert_array_equal(result.class_map, letterboxed_expectation())


def test_a_stretched_image_maps_each_pixel_centre_to_the_cell_under_it(segmenter: Build) -> None:
    # A 6x3 image stretched to 4x4, class ids at stride 2: pixel centres fall at input x = 0.67, 2, 3.33
    # (cells 0, 1, 1: a centre on a cell edge belongs to the next cell) and y = 0.33 ... 3.67.
    ids = np.array([[0, 1], [2, 3]])
    (result,) = segmenter(ids[None], {"size": [4, 4], "resize": "stretch"}, ids=True).predict([blank(6, 3)])
    expected = np.array([[0, 1, 1]] * 3 + [[2, 3, 3]] * 3)
    np.testing.assert_array_equal(result.class_map, expected)


def test_scores_are_resized_bilinearly_before_the_best_class_is_taken(segmenter: Build) -> None:
    # Two cells 4 pixels wide: class 0 scores 10 on the left, class 1 only 2 on the right. Pixel x samples
    # the right cell with weight (x + 0.5) / 4 - 0.5, and class 1 wins only above 10/12: from x = 5 on,
    # where taking the best class per cell and then the nearest cell would switch at x = 4.
    scores = np.zeros((1, 2, 2, 2), np.float32)
    scores[0, 0, :, 0] = 10.0
    scores[0, 1, :, 1] = 2.0
    (result,) = segmenter(scores, {"size": [2, 8], "resize": "stretch"}, labels=["a", "b"]).predict([blank(2, 8)])
    np.testing.assert_array_equal(result.class_map, [[0, 0, 0, 0, 0, 1, 1, 1]] * 2)


def test_tied_scores_go_to_the_lowest_class_id(segmenter: Build) -> None:
    scores = np.zeros((1, 3, 2, 2), np.float32)
    scores[0, 1:] = 5.0  # classes 1 and 2 tie everywhere, above class 0
    scores[0, :, 1, 1] = 7.0  # all three tie in one cell
    (result,) = segmenter(scores, {"size": [2, 2], "resize": "stretch"}, labels=["a", "b", "c"]).predict([blank(2, 2)])
    np.testing.assert_array_equal(result.class_map, [[1, 1], [1, 0]])


def test_the_boundary_only_interpolation_equals_resizing_every_score_map() -> None:
    # A 20x40 image letterboxed into 16x16 (content rows 4-11), scores at stride 2: content cells are
    # rows 2-5, so OpenCV's bilinear resize of those cells to the image size is the reference.
    rng = np.random.default_rng(7)
    scores = rng.normal(size=(5, 8, 8)).astype(np.float32)
    transform = Preprocessor(package("s", "semantic-segmentation", [], {"size": [16, 16]}).manifest.input)
    mapped = class_map_from_scores(scores, transform.transform_for(20, 40))
    content = np.ascontiguousarray(scores[:, 2:6].transpose(1, 2, 0))
    reference = cv2.resize(content, (40, 20), interpolation=cv2.INTER_LINEAR).argmax(axis=2)
    assert mapped.shape == (20, 40)
    assert (mapped == reference).mean() > 0.995  # OpenCV rounds its weights differently on near-ties
    assert len(np.unique(mapped)) == 5


def test_each_image_of_a_batch_gets_a_map_of_its_own_size(segmenter: Build) -> None:
    results = segmenter(IDS_4X4[None], ids=True).predict([blank(8, 16), blank(16, 8)])
    assert [result.class_map.shape for result in results] == [(8, 16), (16, 8)]
    np.testing.assert_array_equal(results[0].class_map, letterboxed_expectation())


@pytest.mark.parametrize(
    ("output", "ids", "message"),
    [
        (np.zeros((1, 10), np.float32), False, r"class scores \[batch, classes, height, width\].*is \[1, 10\]"),
        (np.zeros((1, 3, 4, 4), np.float32), False, "3 class scores per pixel but the manifest lists 10 labels"),
        (np.full((1, 1, 4, 4), 0.5, np.float32), False, "not class ids"),
        (np.full((1, 4, 4), 12), True, "class ids from 12 to 12, outside the 10 labels"),
    ],
)
def test_outputs_that_are_not_a_segmentation_are_package_errors(
    segmenter: Build, output: np.ndarray, ids: bool, message: str
) -> None:
    with pytest.raises(PackageError, match=message):
        segmenter(output, ids=ids).predict([blank(8, 16)])


# ------------------------------------------------------------------------------------------ results


def segmentation() -> SemanticSegmentation:
    """A 3x4 map: background on the left, a "cat" square on the right, no "dog"."""
    class_map = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 0, 0]])
    return SemanticSegmentation(("background", "dog", "cat"), class_map=class_map)


def decoded(rle: dict[str, Any]) -> np.ndarray:
    height, width = rle["size"]
    flat = np.repeat(np.arange(len(rle["counts"])) % 2 == 1, rle["counts"])
    return flat.reshape(width, height).T


def test_to_dict_lists_each_present_class_with_its_pixels_and_rle_mask() -> None:
    result = segmentation()
    data = result.to_dict()
    assert data["type"] == "semantic-segmentation" and data["size"] == [3, 4]
    assert [(item["class"], item["class_id"], item["pixels"]) for item in data["classes"]] == [
        ("background", 0, 8),
        ("cat", 2, 4),
    ]
    for item in data["classes"]:
        np.testing.assert_array_equal(decoded(item["mask"]), result.class_map == item["class_id"])
    assert "mask" not in result.to_dict(masks=False)["classes"][0]


def test_to_supervision_gives_one_masked_detection_per_present_class() -> None:
    detections = segmentation().to_supervision()
    assert detections.class_id.tolist() == [0, 2]
    assert detections.data["class_name"].tolist() == ["background", "cat"]
    assert detections.mask is not None and detections.mask.shape == (2, 3, 4)
    np.testing.assert_array_equal(detections.mask[1], segmentation().mask(2))
    np.testing.assert_array_equal(detections.xyxy[1], [2, 0, 3, 1])  # supervision's inclusive pixel box


def test_repr_gives_the_size_and_the_largest_classes() -> None:
    assert repr(segmentation()) == "SemanticSegmentation(4x3, 2 classes: 'background' 66.7%, 'cat' 33.3%)"


def test_a_class_map_must_hold_whole_non_negative_class_ids() -> None:
    from modelrt.errors import InputError

    with pytest.raises(InputError, match="found -1"):
        SemanticSegmentation(("a",), class_map=np.array([[0, -1]]))
    with pytest.raises(InputError, match=r"integer array \[height, width\]"):
        SemanticSegmentation(("a",), class_map=np.zeros((2, 2), np.float32))
