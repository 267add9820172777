"""Results behave like supervision's: len, iteration and indexing keep every per-detection field aligned."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
import supervision as sv

from modelrt.errors import InputError
from modelrt.results import PER_DETECTION, Classification, Detections

LABELS = ("person", "car", "dog")


def four_detections(kind: type[Detections] = Detections, **extra: object) -> Detections:
    """Four detections whose every field encodes the detection's position (0..3), so alignment shows."""
    return kind(
        LABELS,
        xyxy=[[i, i, i + 10, i + 10] for i in range(4)],
        confidence=[0.9, 0.3, 0.8, 0.6],
        class_id=[0, 1, 0, 2],
        keypoints=[[[i, i, 1.0]] * 2 for i in range(4)],
        polygons=[[[i, i], [i + 1, i], [i, i + 1]] for i in range(4)],
        masks=np.stack([np.full((3, 5), i % 2 == 1) for i in range(4)]),
        **extra,  # type: ignore[arg-type]
    )


def positions_in(detections: Detections) -> list[int]:
    """The original positions of the detections held, read from each field; all fields must agree."""
    from_boxes = detections.xyxy[:, 0].astype(int).tolist()
    assert detections.keypoints is not None and detections.polygons is not None and detections.masks is not None
    assert detections.keypoints[:, 0, 0].astype(int).tolist() == from_boxes
    assert [int(polygon[0, 0]) for polygon in detections.polygons] == from_boxes
    assert [bool(mask.all()) for mask in detections.masks] == [i % 2 == 1 for i in from_boxes]
    assert detections.confidence.tolist() == pytest.approx([[0.9, 0.3, 0.8, 0.6][i] for i in from_boxes])
    assert detections.class_id.tolist() == [[0, 1, 0, 2][i] for i in from_boxes]
    return from_boxes


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (slice(1, 3), [1, 2]),
        (slice(None, None, -1), [3, 2, 1, 0]),
        ([3, 0], [3, 0]),
        (np.array([2, -1]), [2, 3]),
        ([], []),
        (np.array([True, False, True, False]), [0, 2]),
    ],
)
def test_slices_positions_and_masks_select_every_field_alike(index: object, expected: list[int]) -> None:
    selected = four_detections()[index]
    assert type(selected) is Detections
    assert positions_in(selected) == expected
    assert selected.labels == LABELS


def test_masks_on_confidence_and_class_names_filter_like_supervision() -> None:
    detections = four_detections()
    assert positions_in(detections[detections.confidence > 0.5]) == [0, 2, 3]
    assert positions_in(detections[detections.class_names == "person"]) == [0, 2]


def test_class_names_is_an_array_of_each_detections_label() -> None:
    names = four_detections().class_names
    assert isinstance(names, np.ndarray)
    assert names.tolist() == ["person", "car", "person", "dog"]


def test_an_integer_gives_a_one_detection_result_as_supervision_does() -> None:
    detections = four_detections()
    ours = detections[-1]
    theirs = detections.to_supervision()[-1]
    assert type(ours) is Detections and type(theirs) is sv.Detections
    assert len(ours) == len(theirs) == 1
    assert positions_in(ours) == [3]
    np.testing.assert_array_equal(ours.xyxy, theirs.xyxy)


def test_iteration_yields_each_detection_in_order() -> None:
    detections = four_detections()
    assert len(detections) == 4
    assert [positions_in(one) for one in detections] == [[0], [1], [2], [3]]


def test_selection_copies_so_the_original_is_untouched() -> None:
    detections = four_detections()
    selected = detections[[0]]
    selected.xyxy[0, 0] = 99
    assert selected.polygons is not None and selected.polygons[0] is not detections.polygons[0]  # type: ignore[index]
    assert detections.xyxy[0, 0] == 0


def test_a_subclass_keeps_its_type_and_its_own_per_detection_fields() -> None:
    @attrs.define(eq=False)
    class TrackedDetections(Detections):
        track_id: np.ndarray = attrs.field(converter=np.asarray, kw_only=True, metadata={PER_DETECTION: True})
        camera: str = attrs.field(default="front", kw_only=True)

    tracked = four_detections(TrackedDetections, track_id=[10, 11, 12, 13], camera="rear")
    selected = tracked[tracked.confidence > 0.7]
    assert isinstance(selected, TrackedDetections)
    assert selected.track_id.tolist() == [10, 12]
    assert selected.camera == "rear"
    assert positions_in(selected) == [0, 2]


def test_a_field_out_of_step_with_the_boxes_is_refused() -> None:
    with pytest.raises(InputError, match=r"keypoints has 1 entries for 2 boxes"):
        Detections(LABELS, xyxy=[[0, 0, 1, 1]] * 2, confidence=[0.5, 0.5], class_id=[0, 0], keypoints=[[[0, 0, 1]]])


@pytest.mark.parametrize(
    ("index", "error"),
    [(4, IndexError), (-5, IndexError), ([0, 4], IndexError), (np.array([True, False]), IndexError), ("x", TypeError)],
)
def test_bad_indices_fail_as_python_sequences_do(index: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="detection"):
        four_detections()[index]


def test_selected_detections_convert_to_supervision() -> None:
    detections = four_detections()
    converted = detections[detections.class_names == "person"].to_supervision()
    assert isinstance(converted, sv.Detections)
    assert converted.xyxy[:, 0].tolist() == [0, 2]
    assert converted.data["class_name"].tolist() == ["person", "person"]
    assert converted.mask is not None and converted.mask.shape == (2, 3, 5)


def test_a_thousand_classes_print_on_one_short_line_with_the_top_five() -> None:
    probabilities = np.linspace(0.0, 1.0, 1000, dtype=np.float32)
    text = repr(Classification([f"class {i}" for i in range(1000)], probabilities=probabilities))
    assert "\n" not in text and len(text) < 200
    assert text.startswith("Classification(1000 classes, top 5: 'class 999' 1.000, 'class 998'")


def test_a_classification_has_one_entry_per_class_like_supervision() -> None:
    classification = Classification(LABELS, probabilities=[0.2, 0.5, 0.3])
    assert len(classification) == len(classification.to_supervision()) == 3


def test_many_detections_print_their_count_and_a_few_rows() -> None:
    many = Detections(LABELS, xyxy=np.ones((500, 4)), confidence=np.full(500, 0.5), class_id=np.zeros(500))
    lines = repr(many).splitlines()
    assert lines[0] == "Detections(500 detections)"
    assert len(lines) == 7 and lines[-1] == "  ... and 495 more"
    assert lines[1].split()[:2] == ["person", "0.500"]


def test_keypoints_in_to_dict_are_rounded_like_boxes() -> None:
    detections = Detections(
        LABELS, xyxy=[[1.23456, 2, 3, 4]], confidence=[0.5], class_id=[0], keypoints=[[[10.123456, 20.987654, 0.7]]]
    )
    item = json.loads(json.dumps(detections.to_dict()))["detections"][0]
    assert item["xyxy"][0] == 1.23
    assert item["keypoints"] == [[10.12, 20.99, 0.7]]
