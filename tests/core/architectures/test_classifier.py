"""Image classifiers: logits become probabilities, probabilities pass through, labels come from the
manifest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelrt.architectures.classifier import ImageClassifier
from modelrt.errors import InputError, PackageError
from modelrt.results import Classification

LABELS = ["0", "90", "180", "270"]
CROP_224 = {"size": [224, 224], "resize": "shorter-side-center-crop"}


@pytest.fixture
def classifier(make_constant_model: Any, make_session: Any, make_package: Any) -> Callable[..., ImageClassifier]:
    """A classifier over a network that always outputs ``scores`` for each image."""

    def build(scores: np.ndarray, labels: list[str] = LABELS) -> ImageClassifier:
        package = make_package("image-classifier", "classification", labels, CROP_224)
        return ImageClassifier(package, {"main": make_session(make_constant_model(scores))})

    return build


def image() -> np.ndarray:
    return np.zeros((300, 400, 3), dtype=np.uint8)


def test_logits_are_turned_into_probabilities_with_softmax(classifier: Any) -> None:
    logits = np.array([1.0, 3.0, -2.0, 0.5])
    (result,) = classifier(logits[None]).predict([image()])
    expected = np.exp(logits) / np.exp(logits).sum()
    assert isinstance(result, Classification)
    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-6)
    assert result.label == "90"


def test_scores_that_already_are_probabilities_pass_through(classifier: Any) -> None:
    probabilities = np.array([0.1, 0.2, 0.6, 0.1], dtype=np.float32)
    (result,) = classifier(probabilities[None]).predict([image()])
    np.testing.assert_array_equal(result.probabilities, probabilities)
    assert result.top(2) == [("180", pytest.approx(0.6)), ("90", pytest.approx(0.2))]


def test_scores_in_range_that_do_not_sum_to_one_are_logits(classifier: Any) -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.1], dtype=np.float32)
    (result,) = classifier(scores[None]).predict([image()])
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert result.probabilities[2] < 0.3


def test_a_four_dimensional_output_is_flattened_per_image(classifier: Any) -> None:
    logits = np.array([0.0, 0.0, 5.0, 0.0], dtype=np.float32).reshape(1, 4, 1, 1)
    results = classifier(logits).predict([image(), image()])
    assert [result.label for result in results] == ["180", "180"]


def test_a_score_count_different_from_the_labels_is_a_package_error(classifier: Any) -> None:
    with pytest.raises(PackageError, match="3 class scores but the manifest lists 4 labels"):
        classifier(np.zeros((1, 3), np.float32)).predict([image()])


def test_post_processing_overrides_are_rejected(classifier: Any) -> None:
    with pytest.raises(InputError, match=r"confidence.*accepts: none"):
        classifier(np.zeros((1, 4), np.float32)).predict([image()], confidence=0.5)
