"""Annotated pictures: a new image of the same size, changed where results are drawn and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from modelrt.annotate import annotate
from modelrt.errors import InputError
from modelrt.results import Classification, Detections, Prediction


def grey(height: int = 200, width: int = 300) -> np.ndarray:
    return np.full((height, width, 3), 128, dtype=np.uint8)


def one_box(**extra: object) -> Detections:
    return Detections(
        ("cat", "dog"),
        xyxy=[[100, 120, 200, 180]],
        confidence=[0.9],
        class_id=[1],
        **extra,  # type: ignore[arg-type]
    )


def test_boxes_are_drawn_on_a_copy_of_the_same_size() -> None:
    image = grey()
    drawn = annotate(image, one_box())
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    assert (image == 128).all()
    assert (drawn[150, 99:102] != 128).any()  # the left edge of the box
    assert (drawn[150, 150] == 128).all()  # inside the box
    assert (drawn[10, 280] == 128).all()  # far from it


def test_the_label_is_written_above_the_box() -> None:
    drawn = annotate(grey(), one_box())
    assert (drawn[100:119, 100:140] != 128).any()


def test_a_label_at_the_right_edge_is_shifted_to_stay_whole() -> None:
    detections = Detections(("cat",), xyxy=[[285, 100, 300, 150]], confidence=[0.9], class_id=[0])
    drawn = annotate(grey(), detections)
    assert (drawn[80:99, 240:280] != 128).any()


def test_polygons_are_drawn_instead_of_boxes() -> None:
    polygon = [[[150, 100], [250, 150], [150, 199], [50, 150]]]
    drawn = annotate(grey(), one_box(polygons=polygon))
    assert (drawn[150, 48:53] != 128).any()  # the diamond's left corner
    assert (drawn[150, 99:102] == 128).all()  # no box edge


def test_visible_keypoints_are_drawn() -> None:
    keypoints = [[[150, 150, 0.9], [130, 140, 0.1]]]
    drawn = annotate(grey(), one_box(keypoints=keypoints))
    assert (drawn[150, 150] != 128).any()
    assert (drawn[140, 130] == 128).all()


def test_a_classification_writes_its_top_label_in_the_corner() -> None:
    result = Classification(("cat", "dog"), probabilities=[0.2, 0.8])
    drawn = annotate(grey(), result)
    assert (drawn[:20, :60] != 128).any()
    assert (drawn[100:, :] == 128).all()


def test_an_empty_result_leaves_the_picture_unchanged() -> None:
    np.testing.assert_array_equal(annotate(grey(), Detections.empty(("cat",))), grey())


def test_an_unknown_result_type_is_refused() -> None:
    with pytest.raises(InputError, match="Detections, Classification, SemanticSegmentation and Embedding"):
        annotate(grey(), Prediction(("cat",)))


def test_a_non_rgb_image_is_refused() -> None:
    with pytest.raises(InputError, match="HxWx3"):
        annotate(np.zeros((10, 10), np.uint8), Detections.empty(("cat",)))
