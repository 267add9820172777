"""Batch edge cases, on real ONNX Runtime models, with every session call recorded.

- An empty list returns an empty list and runs nothing (post-processing options are still checked).
- A list of one returns a list of one, equal to predicting the image alone.
- Mixed image sizes in one list: each result equals predicting that image alone; with a fixed input
  size they share calls, with a dynamic input size each input size gets its own calls.
- A large list is split to the limit: at most 16 images per call for a dynamic batch, exactly the
  network's batch size (the last call padded) for a network that fixes it, and fewer than 16 where
  the inputs are so large that 16 would exceed ``MAX_INPUT_PIXELS``; results equal one-by-one ones.
- An image whose input would exceed ``MAX_INPUT_PIXELS`` (a long thin image on a dynamic-size model)
  is an ``InputError`` before anything is allocated; a network whose fixed batch does is a
  ``PackageError`` at load time. A bad image anywhere in a list runs nothing and names its position.

Results of a batch are compared with one-by-one results to within float32 rounding (1e-6 relative):
ONNX Runtime's matrix kernels may sum in another order for another batch size.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelrt
from modelrt.architectures import base
from modelrt.errors import InputError, PackageError

from .conftest import dense_classifier, distinct_images, package_model, pooled_classifier


class RecordedSession:
    """The shapes of the batches a model's session ran, in order."""

    def __init__(self, model: modelrt.Model, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batches: list[tuple[int, ...]] = []
        session = model.sessions["main"]
        real_run = session.run

        def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            self.batches.append(next(iter(inputs.values())).shape)
            return real_run(inputs)

        monkeypatch.setattr(session, "run", run)

    @property
    def sizes(self) -> list[int]:
        return [shape[0] for shape in self.batches]


@pytest.fixture(scope="module")
def dynamic_size_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Any input size: the shorter side is scaled to 32, each side rounded to a multiple of 32."""
    return package_model(
        pooled_classifier(seed=5),
        tmp_path_factory.mktemp("dynamic"),
        labels=["a", "b", "c", "d"],
        size=[32, 32],
        dynamic_size=True,
        size_multiple=32,
    )


@pytest.fixture(scope="module")
def batch_of_four_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A network exported with its batch fixed at 4, under a manifest that says "dynamic"."""
    return package_model(dense_classifier(seed=6, batch=4), tmp_path_factory.mktemp("batch-of-four"))


@pytest.fixture
def open_model(request: pytest.FixtureRequest) -> Iterator[Any]:
    opened: list[modelrt.Model] = []

    def load(package: Path) -> modelrt.Model:
        opened.append(modelrt.load(package, device="cpu"))
        return opened[-1]

    yield load
    for model in opened:
        model.close()


def _one_by_one(model: modelrt.Model, images: list[np.ndarray]) -> list[np.ndarray]:
    return [model.predict(image).probabilities for image in images]


def _assert_same_results(results: list[Any], expected: list[np.ndarray]) -> None:
    assert len(results) == len(expected)
    for result, probabilities in zip(results, expected, strict=True):
        np.testing.assert_allclose(result.probabilities, probabilities, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------------ empty and one


@pytest.mark.parametrize("empty", [[], ()], ids=["list", "tuple"])
def test_an_empty_batch_returns_an_empty_list_and_runs_nothing(
    classifier: modelrt.Model, monkeypatch: pytest.MonkeyPatch, empty: Any
) -> None:
    session = RecordedSession(classifier, monkeypatch)
    assert classifier.predict(empty) == []
    assert session.batches == []


def test_an_empty_batch_still_checks_the_options(classifier: modelrt.Model) -> None:
    with pytest.raises(InputError, match="unknown post-processing option"):
        classifier.predict([], confidence_threshold=0.5)


def test_a_batch_of_one_is_a_list_of_one_equal_to_the_single_result(classifier: modelrt.Model) -> None:
    image = distinct_images(1)[0]
    results = classifier.predict([image])
    assert isinstance(results, list) and len(results) == 1
    np.testing.assert_array_equal(results[0].probabilities, classifier.predict(image).probabilities)


# ------------------------------------------------------------------------------------ mixed sizes


def test_mixed_sizes_with_a_fixed_input_size_share_one_call(
    classifier: modelrt.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = distinct_images(7)
    expected = _one_by_one(classifier, images)
    session = RecordedSession(classifier, monkeypatch)
    _assert_same_results(classifier.predict(images), expected)
    assert session.sizes == [7]


def test_mixed_sizes_with_a_dynamic_input_size_run_per_input_size_in_order(
    open_model: Any, dynamic_size_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = open_model(dynamic_size_package)
    rng = np.random.default_rng(1)
    shapes = [(40, 40), (40, 80), (40, 40), (80, 40), (40, 80), (10, 10)]  # inputs 32x32, 32x64, 64x32
    images = [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for shape in shapes]
    expected = _one_by_one(model, images)
    session = RecordedSession(model, monkeypatch)
    _assert_same_results(model.predict(images), expected)
    assert sorted(session.batches) == [(1, 3, 64, 32), (2, 3, 32, 64), (3, 3, 32, 32)]


# ------------------------------------------------------------------------------------ large batches


def test_a_large_dynamic_batch_is_split_into_calls_of_at_most_16(
    classifier: modelrt.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = distinct_images(100, seed=3)
    expected = _one_by_one(classifier, images)
    session = RecordedSession(classifier, monkeypatch)
    _assert_same_results(classifier.predict(images), expected)
    assert session.sizes == [16] * 6 + [4]


def test_a_network_with_a_fixed_batch_gets_exactly_that_many_the_last_call_padded(
    open_model: Any, batch_of_four_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = open_model(batch_of_four_package)
    images = distinct_images(10, seed=4)
    expected = _one_by_one(model, images)
    session = RecordedSession(model, monkeypatch)
    _assert_same_results(model.predict(images), expected)
    assert session.sizes == [4, 4, 4]


def test_large_inputs_are_split_so_no_call_exceeds_the_input_limit(
    open_model: Any, dynamic_size_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = open_model(dynamic_size_package)
    monkeypatch.setattr(base, "MAX_INPUT_PIXELS", 5 * 32 * 32)  # room for 5 inputs of 32x32 per call
    images = distinct_images(12, seed=5)
    expected = _one_by_one(model, images)
    session = RecordedSession(model, monkeypatch)
    _assert_same_results(model.predict(images), expected)
    assert all(batch * height * width <= 5 * 32 * 32 for batch, _, height, width in session.batches)
    assert sum(session.sizes) == 12 and max(session.sizes) == 5


# ------------------------------------------------------------------------------------ refusals


def test_a_long_thin_image_on_a_dynamic_size_model_is_refused_before_allocating(
    open_model: Any, dynamic_size_package: Path
) -> None:
    model = open_model(dynamic_size_package)
    thin = np.zeros((1, 3_200_000, 3), np.uint8)  # shorter side 1 -> 32: an input of 32 x 102,400,000
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"3200000x1 pixels\) would become a network input .* over the limit"):
            model.predict(thin)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024


def test_a_network_whose_fixed_batch_exceeds_the_input_limit_is_a_package_error(tmp_path: Path) -> None:
    package = package_model(dense_classifier(seed=7, batch=500_000), tmp_path)  # 500,000 x 16 x 16 pixels per call
    with pytest.raises(PackageError, match=r"batches of 500000 inputs .* over the limit"):
        modelrt.load(package, device="cpu")


def test_a_bad_image_in_a_batch_runs_nothing_and_names_its_position(
    classifier: modelrt.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = RecordedSession(classifier, monkeypatch)
    images: list[Any] = [*distinct_images(3), np.zeros((4, 4, 2), np.uint8), *distinct_images(2)]
    with pytest.raises(InputError, match=r"image 3 of the 6 given: .*2 channels"):
        classifier.predict(images)
    assert session.batches == []
