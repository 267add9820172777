"""``ModelPredictor`` called as Ray Data calls it, on numpy batches, and the Arrow columns it returns.

These run the predictor in this process (no Ray cluster): what ``map_batches`` adds is covered by
``test_ray_data.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.errors import InputError
from modelrt.results import Classification, Detections, Embedding, SemanticSegmentation

from .conftest import CLASSES, IMAGES

pa = pytest.importorskip("pyarrow", reason='needs Ray Data: pip install "modelrt[ray]"')
pytest.importorskip("ray.data", reason='needs Ray Data: pip install "modelrt[ray]"')

from modelrt.ray import ModelPredictor  # noqa: E402  (after the skip: needs Ray)
from modelrt.ray.columns import prediction_columns  # noqa: E402


@pytest.fixture(scope="module")
def classifier(models: dict[str, Path]) -> ModelPredictor:
    return ModelPredictor(models["classifier"], image_column="image", threads=1)


def _expected(models: dict[str, Path], name: str) -> list[Classification]:
    with modelrt.load(models[name], threads=1) as model:
        results = model.predict([str(path) for path in IMAGES])
    assert isinstance(results, list)
    return results  # type: ignore[return-value]


@pytest.mark.parametrize("kind", ["bytes", "paths", "arrays"])
def test_a_batch_of_bytes_paths_or_arrays_gives_what_predict_gives(
    kind: str, classifier: ModelPredictor, models: dict[str, Path]
) -> None:
    column: np.ndarray
    if kind == "bytes":
        column = np.array([path.read_bytes() for path in IMAGES], dtype=object)
    elif kind == "paths":
        column = np.array([str(path) for path in IMAGES])
    else:  # RGB arrays of different sizes, as Ray Data's read_images gives them
        column = np.empty(len(IMAGES), dtype=object)
        column[:] = [modelrt_rgb(path) for path in IMAGES]
    table = classifier({"image": column})
    expected = _expected(models, "classifier")
    assert table.column("class_name").to_pylist() == [result.label for result in expected]
    np.testing.assert_allclose(
        np.array(table.column("probabilities").to_pylist()),
        np.stack([result.probabilities for result in expected]),
        rtol=1e-6,
    )


def modelrt_rgb(path: Path) -> np.ndarray:
    from modelrt.images import load_image

    return load_image(str(path))


def test_other_columns_pass_through_and_the_image_column_is_dropped(classifier: ModelPredictor) -> None:
    batch = {"image": np.array([str(IMAGES[0])]), "id": np.array([7]), "note": np.array(["first"])}
    table = classifier(batch)
    assert table.column_names[:2] == ["id", "note"]
    assert "image" not in table.column_names
    assert table.column("id").to_pylist() == [7]


def test_keep_images_carries_decoded_pixels_into_the_output(models: dict[str, Path]) -> None:
    predictor = ModelPredictor(models["classifier"], keep_images=True, threads=1)
    pixels = np.zeros((2, 8, 8, 3), np.uint8)
    table = predictor({"image": pixels})
    assert "image" in table.column_names and table.num_rows == 2


def test_a_batch_without_the_image_column_names_the_columns_it_has(classifier: ModelPredictor) -> None:
    with pytest.raises(InputError, match=r"no column 'image' \(its columns: 'bytes', 'path'\)"):
        classifier({"bytes": np.array([b"x"], dtype=object), "path": np.array(["a.png"])})


def test_detections_become_aligned_lists_per_row(models: dict[str, Path]) -> None:
    predictor = ModelPredictor(models["detector"], threads=1)
    table = predictor({"image": np.array([str(IMAGES[0])])})
    assert table.column("class_names").to_pylist() == [["red", "blue"]]
    assert len(table.column("boxes")[0]) == len(table.column("scores")[0]) == 2
    assert table.column("class_ids").to_pylist() == [[0, 2]]


def test_overrides_apply_to_every_prediction(models: dict[str, Path]) -> None:
    predictor = ModelPredictor(models["detector"], threads=1, confidence=0.7)
    table = predictor({"image": np.array([str(IMAGES[0])])})
    assert table.column("class_names").to_pylist() == [["red"]]


def _detections(count: int, **extra: object) -> Detections:
    return Detections(
        CLASSES,
        xyxy=np.arange(count * 4, dtype=np.float32).reshape(count, 4),
        confidence=np.full(count, 0.5, np.float32),
        class_id=np.zeros(count, np.int64),
        **extra,  # type: ignore[arg-type]
    )


def test_a_batch_without_detections_has_the_schema_of_one_with_detections() -> None:
    empty = pa.table(prediction_columns([_detections(0)]))
    found = pa.table(prediction_columns([_detections(2)]))
    assert empty.schema == found.schema
    assert found.schema.field("boxes").type == pa.list_(pa.list_(pa.float32(), 4))


def test_keypoints_polygons_and_masks_get_columns_when_present() -> None:
    masks = np.zeros((1, 2, 3), bool)
    masks[0, 1, 2] = True
    result = _detections(
        1,
        keypoints=np.ones((1, 5, 3), np.float32),
        polygons=[np.zeros((4, 2), np.float32)],
        masks=masks,
    )
    columns = prediction_columns([result])
    assert np.array(columns["keypoints"].to_pylist()).shape == (1, 1, 5, 3)
    assert np.array(columns["polygons"].to_pylist()).shape == (1, 1, 4, 2)
    assert columns["masks"].to_pylist() == [[{"size": [2, 3], "counts": [5, 1]}]]


def test_classifications_give_the_top_class_its_score_and_every_probability() -> None:
    result = Classification(CLASSES, probabilities=np.array([0.2, 0.7, 0.1], np.float32))
    columns = pa.table(prediction_columns([result])).to_pylist()
    assert columns[0]["class_id"] == 1 and columns[0]["class_name"] == "green"
    assert columns[0]["score"] == pytest.approx(0.7)
    assert columns[0]["probabilities"] == pytest.approx([0.2, 0.7, 0.1])


def test_embeddings_give_one_vector_per_image() -> None:
    results = [
        Embedding((), vector=np.array([0.6, 0.8], np.float32)),
        Embedding((), vector=np.array([0, 1], np.float32)),
    ]
    columns = pa.table(prediction_columns(results)).to_pylist()
    assert [row["embedding"] for row in columns] == [pytest.approx([0.6, 0.8]), pytest.approx([0.0, 1.0])]


def test_segmentations_give_the_classes_present_their_pixels_and_masks() -> None:
    class_map = np.array([[0, 0, 2], [0, 2, 2]], np.int32)  # no pixel of class 1, "green"
    columns = pa.table(prediction_columns([SemanticSegmentation(CLASSES, class_map=class_map)])).to_pylist()
    assert columns[0]["class_ids"] == [0, 2]
    assert columns[0]["class_names"] == ["red", "blue"]
    assert columns[0]["pixels"] == [3, 3]
    # COCO RLE runs down the columns: red is 2 then 1 pixel, blue the rest.
    assert columns[0]["masks"] == [{"size": [2, 3], "counts": [0, 3, 3]}, {"size": [2, 3], "counts": [3, 3]}]
