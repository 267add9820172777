"""`Model.predict_iter`: results of a stream of images, in input order, with at most a batch decoded ahead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import modelrt

from .cli_models import CLASSIFIER_LABELS, classifier_package, picture, write_picture

COLOURS = [(230, 10, 10), (10, 230, 10), (10, 10, 230), (200, 200, 10), (10, 200, 200), (120, 10, 230), (9, 9, 9)]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[modelrt.Model]:
    with modelrt.load(classifier_package(tmp_path_factory.mktemp("classifier")), device="cpu") as loaded:
        yield loaded


@pytest.mark.parametrize("batch", [1, 3, 16])
def test_results_come_in_input_order_and_equal_predict(model: modelrt.Model, batch: int) -> None:
    images = [picture(colour) for colour in COLOURS]

    streamed = list(model.predict_iter(iter(images), batch=batch, color="rgb"))
    one_by_one = [model.predict(image, color="rgb") for image in images]

    assert len(streamed) == len(images)
    for got, expected in zip(streamed, one_by_one, strict=True):
        np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=1e-5)
    assert [result.label for result in streamed[:3]] == list(CLASSIFIER_LABELS)


def test_paths_and_bytes_stream_too(model: modelrt.Model, tmp_path: Path) -> None:
    red = write_picture(tmp_path / "red.png", (230, 10, 10))
    blue = write_picture(tmp_path / "blue.png", (10, 10, 230))

    results = list(model.predict_iter([red, blue.read_bytes()], batch=2))

    assert [result.label for result in results] == ["red", "blue"]


@pytest.mark.parametrize("batch", [1, 2, 4])
def test_at_most_one_batch_is_taken_ahead_of_the_results(model: modelrt.Model, batch: int) -> None:
    taken = 0

    def stream() -> Iterator[np.ndarray]:
        nonlocal taken
        for colour in COLOURS:
            taken += 1
            yield picture(colour)

    for index, _result in enumerate(model.predict_iter(stream(), batch=batch, color="rgb")):
        assert taken == min(len(COLOURS), (index // batch + 1) * batch)


def test_nothing_is_taken_before_the_first_result_is_asked_for(model: modelrt.Model) -> None:
    def stream() -> Iterator[np.ndarray]:
        raise AssertionError("taken too early")
        yield picture(COLOURS[0])

    results = model.predict_iter(stream())

    with pytest.raises(AssertionError, match="taken too early"):
        next(results)


def test_a_bad_image_ends_the_stream_naming_its_position_after_the_results_before_it(model: modelrt.Model) -> None:
    images = [picture(COLOURS[0]), picture(COLOURS[1]), b"not an image", picture(COLOURS[2])]
    results = []

    with pytest.raises(modelrt.InputError, match="image 2 of the stream"):
        for result in model.predict_iter(images, batch=1, color="rgb"):
            results.append(result)

    assert [result.label for result in results] == ["red", "green"]


@pytest.mark.parametrize("images", ["photo.jpg", b"\x89PNG", Path("photo.jpg"), picture(COLOURS[0])], ids=type)
def test_one_image_instead_of_a_stream_is_refused(model: modelrt.Model, images: object) -> None:
    with pytest.raises(modelrt.InputError, match="iterable of images"):
        model.predict_iter(images)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch", [0, -1, 1.5, True])
def test_a_batch_that_is_not_a_positive_whole_number_is_refused(model: modelrt.Model, batch: object) -> None:
    with pytest.raises(modelrt.InputError, match="batch="):
        model.predict_iter([picture(COLOURS[0])], batch=batch)  # type: ignore[arg-type]
