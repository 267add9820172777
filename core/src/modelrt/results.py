"""Prediction results: attrs classes with numpy fields, convertible to ``supervision``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from modelrt.errors import InputError

if TYPE_CHECKING:
    import supervision

__all__ = ["Classification", "Detections", "Prediction"]


def _import_supervision() -> Any:
    try:
        import supervision
    except ImportError as error:
        raise InputError("to_supervision() needs the supervision package: pip install supervision") from error
    return supervision


def _float32(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float32)


def _int64(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.int64)


def _optional_float32(value: Any) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=np.float32)


def _labels(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(label) for label in value)


def _polygons(value: Any) -> list[np.ndarray] | None:
    return None if value is None else [np.asarray(p, dtype=np.float32).reshape(-1, 2) for p in value]


@attrs.define(eq=False)
class Prediction:
    """Base of every result; an Architecture may add its own subclass."""

    labels: tuple[str, ...] = attrs.field(converter=_labels)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for ``--json`` output); every result type provides it."""
        raise NotImplementedError(f"{type(self).__name__} does not provide to_dict()")


@attrs.define(eq=False)
class Detections(Prediction):
    """Objects found in one image.

    ``xyxy`` float32 [N, 4] in original-image pixels, clipped to the image; ``confidence`` float32
    [N]; ``class_id`` int64 [N] indexing ``labels``; optional ``keypoints`` float32 [N, K, 3]
    (x, y, score) and ``polygons`` (one float32 [M, 2] outline per detection, e.g. text lines).
    """

    xyxy: np.ndarray = attrs.field(converter=_float32, kw_only=True)
    confidence: np.ndarray = attrs.field(converter=_float32, kw_only=True)
    class_id: np.ndarray = attrs.field(converter=_int64, kw_only=True)
    keypoints: np.ndarray | None = attrs.field(default=None, converter=_optional_float32, kw_only=True)
    polygons: list[np.ndarray] | None = attrs.field(default=None, converter=_polygons, kw_only=True)

    def __attrs_post_init__(self) -> None:
        self.xyxy = self.xyxy.reshape(-1, 4)

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    @property
    def class_names(self) -> list[str]:
        """The label of each detection."""
        return [self.labels[i] if 0 <= i < len(self.labels) else str(i) for i in self.class_id.tolist()]

    @classmethod
    def empty(cls, labels: tuple[str, ...] | list[str]) -> Detections:
        return cls(
            labels,
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int64),
        )

    def to_supervision(self) -> supervision.Detections:
        """Convert to ``supervision.Detections`` (class names in ``data["class_name"]``)."""
        sv = _import_supervision()
        data: dict[str, Any] = {"class_name": np.array(self.class_names, dtype=object)}
        return sv.Detections(
            xyxy=self.xyxy.copy(), confidence=self.confidence.copy(), class_id=self.class_id.copy(), data=data
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for ``--json`` output)."""
        items = []
        for index, name in enumerate(self.class_names):
            item: dict[str, Any] = {
                "class": name,
                "class_id": int(self.class_id[index]),
                "confidence": round(float(self.confidence[index]), 5),
                "xyxy": [round(float(v), 2) for v in self.xyxy[index]],
            }
            if self.keypoints is not None:
                item["keypoints"] = np.round(self.keypoints[index], 2).tolist()
            if self.polygons is not None:
                item["polygon"] = np.round(self.polygons[index], 2).tolist()
            items.append(item)
        return {"type": "detections", "detections": items}


@attrs.define(eq=False)
class Classification(Prediction):
    """Class probabilities for one image: ``probabilities`` float32 [C] indexing ``labels``."""

    probabilities: np.ndarray = attrs.field(converter=_float32, kw_only=True)

    @property
    def class_id(self) -> int:
        """The most probable class."""
        return int(np.argmax(self.probabilities))

    @property
    def label(self) -> str:
        return self.labels[self.class_id]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.class_id])

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable classes as (label, probability), best first."""
        k = max(0, min(int(k), self.probabilities.shape[0]))
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(self.labels[i], float(self.probabilities[i])) for i in order.tolist()]

    def to_supervision(self) -> supervision.Classifications:
        """Convert to ``supervision.Classifications`` (all classes with their probabilities)."""
        sv = _import_supervision()
        return sv.Classifications(class_id=np.arange(self.probabilities.shape[0]), confidence=self.probabilities.copy())

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "classification",
            "top": [{"class": label, "probability": round(p, 5)} for label, p in self.top(5)],
        }
