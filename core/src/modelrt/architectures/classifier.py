"""Image classifiers: one score per class, returned as probabilities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelrt.architectures.base import SingleStageArchitecture, check_override_names
from modelrt.errors import PackageError
from modelrt.preprocess import ImageTransform
from modelrt.results import Classification, Prediction

__all__ = ["ImageClassifier"]

# A row is taken as already normalised when it sums to 1 within this and lies in [0, 1].
_PROBABILITY_SUM_TOLERANCE = 1e-3


class ImageClassifier(SingleStageArchitecture):
    """Output ``[B, C]`` (or ``[B, C, 1, 1]``) logits or probabilities.

    Softmax is applied to each row unless that row already is a probability distribution (some
    exports end with a softmax, others do not, and the manifest does not say which).
    """

    def settings(self, overrides: Mapping[str, Any]) -> None:
        check_override_names(overrides, (), self.package.manifest.architecture)

    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: None
    ) -> list[Prediction]:
        scores = outputs[0].reshape(outputs[0].shape[0], -1)[: len(transforms)].astype(np.float64)
        if self.labels and scores.shape[1] != len(self.labels):
            manifest = self.package.manifest
            raise PackageError(
                f"package {manifest.name!r}: the model outputs {scores.shape[1]} class scores but the "
                f"manifest lists {len(self.labels)} labels; fix 'labels' in modelrt.json"
            )
        probabilities = np.where(_is_distribution(scores)[:, None], scores, _softmax(scores))
        return [Classification(self.labels, probabilities=row) for row in probabilities.astype(np.float32)]


def _is_distribution(scores: np.ndarray) -> np.ndarray:
    in_range = ((scores >= 0) & (scores <= 1)).all(axis=1)
    return in_range & (np.abs(scores.sum(axis=1) - 1) <= _PROBABILITY_SUM_TOLERANCE)


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)
