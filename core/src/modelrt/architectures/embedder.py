"""Image embedders: the network's pooled feature vector per image, L2-normalised, for similarity search.

The output is ``[B, D]`` (a pooled vector, as CLIP image towers and classifiers without their head
export it) or ``[B, D, h, w]`` feature maps, averaged over ``h`` x ``w`` here (global average pooling,
what torchvision's classifiers do before their head; ``[B, D, 1, 1]`` is already pooled). Each
vector is divided by its L2 norm in float64 and returned as float32; an all-zero vector stays zero
rather than becoming NaN; NaN or infinite features are a ``PackageError`` (a broken or overflowing
export, often float16), not a silent vector. Only the first output is read (exports often add the unpooled tokens).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelrt.architectures.base import SingleStageArchitecture, check_override_names
from modelrt.errors import PackageError
from modelrt.preprocess import ImageTransform
from modelrt.results import Embedding, Prediction, unit_rows

__all__ = ["ImageEmbedder"]


class ImageEmbedder(SingleStageArchitecture):
    """``Embedding`` results: one unit-length float32 vector per image."""

    def settings(self, overrides: Mapping[str, Any]) -> None:
        check_override_names(overrides, (), self.package.manifest.architecture)

    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: None
    ) -> list[Prediction]:
        features = outputs[0][: len(transforms)]
        if features.ndim == 4:
            features = features.mean(axis=(2, 3), dtype=np.float64)
        elif features.ndim != 2:
            raise PackageError(
                f"package {self.package.manifest.name!r}: an image-embedder model outputs pooled features "
                f"[batch, dimensions] or feature maps [batch, dimensions, height, width], but its first output is "
                f"{list(outputs[0].shape)}; export the pooled (or projected) image features as the first output"
            )
        finite = np.isfinite(features).all(axis=1)
        if not finite.all():
            raise PackageError(
                f"package {self.package.manifest.name!r}: the model output NaN or infinite features for image "
                f"{int(np.argmin(finite))} of the batch; if it runs in float16, run it in float32"
            )
        # Normalised in float64, so a long float32 feature vector's norm loses nothing, then stored as float32.
        vectors = unit_rows(np.asarray(features, dtype=np.float64)).astype(np.float32)
        return [Embedding(self.labels, vector=row) for row in vectors]
