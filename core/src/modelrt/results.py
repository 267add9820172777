"""Prediction results: attrs classes with numpy fields that behave like supervision's, and convert to them.

``Detections`` index like ``supervision.Detections``: ``len``, iteration, and indexing by an integer, a
slice, a boolean mask or an array of positions all return a result of the same type (a subclass stays
that subclass) with every per-detection field selected alike. An integer gives a result holding that one
detection, as supervision does; iterating gives those one-detection results in order. A field is
per-detection when its attrs metadata holds ``PER_DETECTION`` (``attrs.field(metadata={PER_DETECTION:
True})``): an array with one row per detection or a list of one item each. A subclass's own such fields
(embeddings, track ids...) are carried through indexing without further code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import numpy as np

from modelrt.errors import InputError
from modelrt.oriented_boxes import corners

if TYPE_CHECKING:
    import supervision

__all__ = [
    "PER_DETECTION",
    "Classification",
    "Detections",
    "Embedding",
    "Prediction",
    "SemanticSegmentation",
    "mask_rle",
    "similarity",
    "unit_rows",
]

#: Metadata key marking an attrs field of ``Detections`` (or a subclass) that holds one entry per detection.
PER_DETECTION = "modelrt.per_detection"
_EACH = {PER_DETECTION: True}

#: Detections listed by ``repr``; the rest are counted.
_REPR_ROWS = 5
#: Classes listed by a Classification's ``repr`` and ``to_dict``.
_TOP_CLASSES = 5

_DetectionsT = TypeVar("_DetectionsT", bound="Detections")


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


def _optional_bool(value: Any) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=bool)


def _label(labels: Sequence[str], class_id: int) -> str:
    """The name of ``class_id``, or the id itself where ``labels`` has no name for it."""
    return labels[class_id] if 0 <= class_id < len(labels) else str(class_id)


def _labels(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(label) for label in value)


def _polygons(value: Any) -> list[np.ndarray] | None:
    return None if value is None else [np.asarray(p, dtype=np.float32).reshape(-1, 2) for p in value]


def _compact(value: Any) -> str:
    """A field's value in a few characters: shape and dtype of an array, count of a list or tuple."""
    if isinstance(value, np.ndarray):
        return f"<{value.dtype} {list(value.shape)}>"
    if isinstance(value, list | tuple):
        return f"<{_counted(len(value), 'item')}>"
    return repr(value)


def _counted(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def _per_detection_fields(cls: type) -> list[attrs.Attribute[Any]]:
    return [field for field in attrs.fields(cls) if field.metadata.get(PER_DETECTION)]


def _positions(index: Any, count: int) -> np.ndarray:
    """The positions ``index`` selects among ``count`` detections, by Python's and numpy's rules."""
    if isinstance(index, bool | np.bool_):
        raise TypeError("a single True/False cannot index detections; use a boolean mask with one value each")
    if isinstance(index, int | np.integer):
        position = int(index)
        if not -count <= position < count:
            raise IndexError(f"detection index {position} is out of range for {count} detections")
        return np.array([position % count], dtype=np.int64)
    if isinstance(index, slice):
        return np.arange(count, dtype=np.int64)[index]
    if not isinstance(index, list | tuple | range | np.ndarray):
        raise TypeError(
            f"detections are indexed by an integer, a slice, a boolean mask or an array of positions, "
            f"not {type(index).__name__}"
        )
    array = np.asarray(index)
    if array.dtype == bool:
        if array.shape != (count,):
            raise IndexError(f"a boolean mask over {count} detections needs {count} values, got shape {array.shape}")
        return np.flatnonzero(array)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"positions of detections must be a flat sequence of integers, got {array.dtype} {array.shape}")
    if array.min() < -count or array.max() >= count:
        raise IndexError(f"detection positions {array.tolist()} are out of range for {count} detections")
    return array.astype(np.int64) % count


def _select(value: Any, positions: np.ndarray) -> Any:
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value[positions]
    return [value[position] for position in positions.tolist()]


def mask_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE of a bool ``[H, W]`` mask: ``{"size": [H, W], "counts": [...]}``.

    ``counts`` are run lengths over the pixels in column-major order, starting with a run of zeros (0
    when the first pixel is set), the form ``pycocotools`` and COCO's JSON read.
    """
    pixels = np.asarray(mask, dtype=bool).ravel(order="F")
    changes = np.flatnonzero(pixels[1:] != pixels[:-1]) + 1
    bounds = np.concatenate([[0], changes, [pixels.size]])
    counts = np.diff(bounds).tolist()
    if pixels.size and pixels[0]:
        counts.insert(0, 0)
    return {"size": [int(side) for side in mask.shape], "counts": counts}


def _rounded(values: Iterable[float], digits: int = 2) -> list[float]:
    return [round(float(value), digits) for value in values]


@attrs.define(eq=False)
class Prediction:
    """Base of every result; an Architecture may add its own subclass."""

    labels: tuple[str, ...] = attrs.field(converter=_labels, repr=_compact)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for ``--json`` output); every result type provides it."""
        raise NotImplementedError(f"{type(self).__name__} does not provide to_dict()")


@attrs.define(eq=False)
class Detections(Prediction):
    """Objects found in one image.

    ``xyxy`` float32 [N, 4] in original-image pixels, clipped to the image; ``confidence`` float32
    [N]; ``class_id`` int64 [N] indexing ``labels``; optional ``keypoints`` float32 [N, K, 3]
    (x, y, score), ``polygons`` (one float32 [M, 2] outline per detection, e.g. text lines),
    ``masks`` bool [N, H, W] (one image-sized mask per detection) and ``oriented_boxes`` float32 [N, 5]
    (cx, cy, w, h, angle in radians, original-image pixels; ``xyxy`` then holds each one's axis-aligned
    bounds).

    ``detections[detections.confidence > 0.5]``, ``detections[detections.class_names == "person"]``,
    ``detections[:3]`` and ``detections[[0, 2]]`` select detections; ``detections[0]`` is a result
    holding the first one. A subclass adding per-detection data marks it with ``PER_DETECTION`` metadata
    and, if it defines ``__attrs_post_init__``, calls this one.
    """

    xyxy: np.ndarray = attrs.field(converter=_float32, kw_only=True, repr=_compact, metadata=_EACH)
    confidence: np.ndarray = attrs.field(converter=_float32, kw_only=True, repr=_compact, metadata=_EACH)
    class_id: np.ndarray = attrs.field(converter=_int64, kw_only=True, repr=_compact, metadata=_EACH)
    keypoints: np.ndarray | None = attrs.field(
        default=None, converter=_optional_float32, kw_only=True, repr=_compact, metadata=_EACH
    )
    polygons: list[np.ndarray] | None = attrs.field(
        default=None, converter=_polygons, kw_only=True, repr=_compact, metadata=_EACH
    )
    masks: np.ndarray | None = attrs.field(
        default=None, converter=_optional_bool, kw_only=True, repr=_compact, metadata=_EACH
    )
    oriented_boxes: np.ndarray | None = attrs.field(
        default=None, converter=_optional_float32, kw_only=True, repr=_compact, metadata=_EACH
    )

    def __attrs_post_init__(self) -> None:
        self.xyxy = self.xyxy.reshape(-1, 4)
        count = len(self)
        for field in _per_detection_fields(type(self)):
            value = getattr(self, field.name)
            if value is not None and len(value) != count:
                raise InputError(
                    f"{type(self).__name__}.{field.name} has {len(value)} entries for {count} boxes; "
                    "every per-detection field needs exactly one entry per box"
                )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self: _DetectionsT, index: Any) -> _DetectionsT:
        """The detections ``index`` selects (integer, slice, boolean mask, positions), every field alike."""
        positions = _positions(index, len(self))
        selected = {
            field.name: _select(getattr(self, field.name), positions) for field in _per_detection_fields(type(self))
        }
        return attrs.evolve(self, **selected)

    def __iter__(self: _DetectionsT) -> Iterator[_DetectionsT]:
        """Each detection in order, as a result holding that one detection."""
        for position in range(len(self)):
            yield self[position]

    @property
    def oriented_corners(self) -> np.ndarray | None:
        """The four corners ``[N, 4, 2]`` of each oriented box (``None`` without ``oriented_boxes``)."""
        return None if self.oriented_boxes is None else corners(self.oriented_boxes)

    @property
    def class_names(self) -> np.ndarray:
        """The label of each detection, a str array, so ``detections.class_names == "person"`` is a mask."""
        names = [_label(self.labels, i) for i in self.class_id.tolist()]
        return np.array(names, dtype=str)

    @classmethod
    def empty(cls, labels: tuple[str, ...] | list[str]) -> Detections:
        return cls(
            labels,
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int64),
        )

    def to_supervision(self) -> supervision.Detections:
        """Convert to ``supervision.Detections`` (class names in ``data["class_name"]``, masks as ``mask``,
        oriented boxes' corners in ``data["xyxyxyxy"]``, where supervision's OBB support reads them)."""
        sv = _import_supervision()
        data: dict[str, Any] = {"class_name": self.class_names}
        oriented_corners = self.oriented_corners
        if oriented_corners is not None:
            data["xyxyxyxy"] = oriented_corners
        return sv.Detections(
            xyxy=self.xyxy.copy(),
            mask=None if self.masks is None else self.masks.copy(),
            confidence=self.confidence.copy(),
            class_id=self.class_id.copy(),
            data=data,
        )

    def to_dict(self, masks: bool = False) -> dict[str, Any]:
        """Plain JSON-ready data (for ``--json`` output): coordinates to 0.01 pixel, scores to 1e-5.

        Masks are left out unless ``masks`` is true (each is image-sized): then each detection gets
        ``"mask"`` in COCO's uncompressed RLE (see ``mask_rle``). An oriented box gives ``"xywhr"`` (angle
        in radians, to 1e-5) and its four ``"corners"``.
        """
        oriented_corners = self.oriented_corners
        items = []
        for index, name in enumerate(self.class_names.tolist()):
            item: dict[str, Any] = {
                "class": name,
                "class_id": int(self.class_id[index]),
                "confidence": round(float(self.confidence[index]), 5),
                "xyxy": _rounded(self.xyxy[index].tolist()),
            }
            if self.keypoints is not None:
                item["keypoints"] = [
                    [*_rounded(point[:2]), *_rounded(point[2:], 5)] for point in self.keypoints[index].tolist()
                ]
            if self.polygons is not None:
                item["polygon"] = [_rounded(point) for point in self.polygons[index].tolist()]
            if masks and self.masks is not None:
                item["mask"] = mask_rle(self.masks[index])
            if self.oriented_boxes is not None and oriented_corners is not None:
                *box, angle = self.oriented_boxes[index].tolist()
                item["xywhr"] = [*_rounded(box), round(angle, 5)]
                item["corners"] = [_rounded(point) for point in oriented_corners[index].tolist()]
            items.append(item)
        return {"type": "detections", "detections": items}

    def __repr__(self) -> str:
        """The count, the optional fields present, and the first few detections: never the whole arrays.

        A subclass decorated with ``attrs.define`` gets attrs' repr instead, in which the fields declared
        here show only their shape.
        """
        extras = [
            f"{field.name} {_compact(getattr(self, field.name))}"
            for field in _per_detection_fields(type(self))
            if field.name not in ("xyxy", "confidence", "class_id") and getattr(self, field.name) is not None
        ]
        head = f"{type(self).__name__}({_counted(len(self), 'detection')}{''.join(f', {extra}' for extra in extras)})"
        rows = [
            f"  {name:<16} {score:.3f}  [{' '.join(f'{v:7.1f}' for v in box)}]"
            for name, score, box in zip(
                self.class_names[:_REPR_ROWS].tolist(),
                self.confidence[:_REPR_ROWS].tolist(),
                self.xyxy[:_REPR_ROWS].tolist(),
                strict=True,
            )
        ]
        if len(self) > _REPR_ROWS:
            rows.append(f"  ... and {len(self) - _REPR_ROWS} more")
        return "\n".join([head, *rows])


@attrs.define(eq=False)
class Classification(Prediction):
    """Class probabilities for one image: ``probabilities`` float32 [C] indexing ``labels``.

    ``len`` is the number of classes, as for ``supervision.Classifications``.
    """

    probabilities: np.ndarray = attrs.field(converter=_float32, kw_only=True, repr=_compact)

    def __len__(self) -> int:
        return int(self.probabilities.shape[0])

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

    def top(self, k: int = _TOP_CLASSES) -> list[tuple[str, float]]:
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
            "top": [{"class": label, "probability": round(p, 5)} for label, p in self.top(_TOP_CLASSES)],
        }

    def __repr__(self) -> str:
        """One line: the number of classes and the top five, however many classes the model has."""
        top = self.top(_TOP_CLASSES)
        best = ", ".join(f"{label!r} {probability:.3f}" for label, probability in top)
        return f"{type(self).__name__}({_counted(len(self), 'class', 'classes')}, top {len(top)}: {best})"


def _vector(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float32).reshape(-1)


def _class_map(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 2 or not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise InputError(f"a class map is an integer array [height, width], got {array.dtype} {list(array.shape)}")
    if array.size and array.min() < 0:
        raise InputError(f"a class map holds class ids from 0, found {array.min()}")
    return array.astype(np.int32, copy=False)


@attrs.define(eq=False)
class Embedding(Prediction):
    """One image's feature vector: ``vector`` float32 [D], L2-normalised (unit length).

    A network that outputs all zeros gives a zero vector (``norm`` 0), never NaN; ``similarity`` with
    it is 0. ``len`` is the number of dimensions; ``embedding.similarity(other)`` is the cosine
    similarity (a dot product, since both have unit length).
    """

    vector: np.ndarray = attrs.field(converter=_vector, kw_only=True, repr=_compact)

    def __len__(self) -> int:
        return int(self.vector.shape[0])

    @property
    def norm(self) -> float:
        """1.0, or 0.0 for a zero vector (up to float32 rounding)."""
        return float(np.linalg.norm(self.vector))

    def similarity(self, other: Embedding | np.ndarray) -> float:
        """Cosine similarity with another embedding or vector, in [-1, 1]."""
        return float(similarity(self, other))

    def to_dict(self) -> dict[str, Any]:
        """``dimensions``, ``norm`` and the ``vector``, each value as the shortest text that reads back exactly."""
        return {
            "type": "embedding",
            "dimensions": len(self),
            "norm": round(self.norm, 5),
            "vector": [float(str(value)) for value in self.vector],
        }

    def __repr__(self) -> str:
        head = ", ".join(f"{value:.3f}" for value in self.vector[:4].tolist())
        more = ", ..." if len(self) > 4 else ""
        return f"{type(self).__name__}({_counted(len(self), 'dimension')}, norm {self.norm:.3f}, [{head}{more}])"


def similarity(
    first: Embedding | np.ndarray | Iterable[Embedding], second: Embedding | np.ndarray | Iterable[Embedding]
) -> float | np.ndarray:
    """Cosine similarity of embeddings: a float for two single ones, else a float32 matrix [N, M].

    Each argument is an ``Embedding``, a vector ``[D]``, a matrix ``[N, D]`` (one vector per row) or a
    list of embeddings. Vectors are normalised here, so raw features work too; a zero vector has
    similarity 0 with everything. Vectors of different lengths are an ``InputError``.
    """
    left, left_single = _rows(first)
    right, right_single = _rows(second)
    if left.shape[1] != right.shape[1]:
        raise InputError(
            f"cannot compare embeddings of {left.shape[1]} and {right.shape[1]} dimensions; "
            "use embeddings from the same model"
        )
    matrix = unit_rows(left) @ unit_rows(right).T
    np.clip(matrix, -1.0, 1.0, out=matrix)
    return float(matrix[0, 0]) if left_single and right_single else matrix


def _rows(value: Any) -> tuple[np.ndarray, bool]:
    """``value`` as a float32 matrix [N, D], and whether it was one vector."""
    if isinstance(value, Embedding):
        return value.vector[None], True
    if isinstance(value, list | tuple) and value and all(isinstance(item, Embedding) for item in value):
        return np.stack([item.vector for item in value]), False
    array = np.asarray(value, dtype=np.float32)
    if array.ndim == 1:
        return array[None], True
    if array.ndim != 2:
        raise InputError(f"similarity takes embeddings, vectors [D] or matrices [N, D], got shape {array.shape}")
    return array, False


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """The rows of ``matrix`` divided by their L2 norm, in its dtype; zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


@attrs.define(eq=False)
class SemanticSegmentation(Prediction):
    """A class for every pixel of one image: ``class_map`` int32 [H, W] indexing ``labels``.

    ``class_ids`` are the classes present, ``pixel_counts`` how many pixels each has, ``mask(id)`` a
    class's bool mask. ``to_dict`` is compact (per present class: pixel count and COCO RLE mask);
    ``to_supervision`` gives ``supervision.Detections`` with one mask per present class, since
    supervision has no semantic-segmentation type.
    """

    class_map: np.ndarray = attrs.field(converter=_class_map, kw_only=True, repr=_compact)

    @property
    def class_ids(self) -> np.ndarray:
        """The classes present, ascending: int64 [K]."""
        return np.flatnonzero(self.pixel_counts)

    @property
    def pixel_counts(self) -> np.ndarray:
        """Pixels of each class id: int64 [max(len(labels), largest id + 1)]."""
        return np.bincount(self.class_map.ravel(), minlength=len(self.labels)).astype(np.int64)

    def name(self, class_id: int) -> str:
        return _label(self.labels, class_id)

    def mask(self, class_id: int) -> np.ndarray:
        """Where class ``class_id`` is: bool [H, W]."""
        return self.class_map == class_id

    def to_supervision(self) -> supervision.Detections:
        """One detection per present class: its mask, the box around it, confidence 1, ``class_name`` in data."""
        sv = _import_supervision()
        ids = self.class_ids
        masks = self.class_map[None] == ids[:, None, None]
        return sv.Detections(
            xyxy=sv.mask_to_xyxy(masks).astype(np.float32).reshape(-1, 4),
            mask=masks,
            confidence=np.ones(len(ids), dtype=np.float32),
            class_id=ids.astype(np.int64),
            data={"class_name": np.array([self.name(i) for i in ids.tolist()], dtype=str)},
        )

    def to_dict(self, masks: bool = True) -> dict[str, Any]:
        """``size`` [H, W] and, per present class, its ``pixels`` and (unless ``masks`` is false) its
        ``mask`` in COCO's uncompressed RLE (see ``mask_rle``)."""
        counts = self.pixel_counts
        classes = []
        for class_id in np.flatnonzero(counts).tolist():
            item: dict[str, Any] = {"class": self.name(class_id), "class_id": class_id, "pixels": int(counts[class_id])}
            if masks:
                item["mask"] = mask_rle(self.mask(class_id))
            classes.append(item)
        return {
            "type": "semantic-segmentation",
            "size": [int(side) for side in self.class_map.shape],
            "classes": classes,
        }

    def __repr__(self) -> str:
        counts = self.pixel_counts
        total = max(1, self.class_map.size)
        order = sorted(np.flatnonzero(counts).tolist(), key=lambda i: -counts[i])
        shown = ", ".join(f"{self.name(i)!r} {counts[i] / total:.1%}" for i in order[:_TOP_CLASSES])
        more = f", and {len(order) - _TOP_CLASSES} more" if len(order) > _TOP_CLASSES else ""
        height, width = self.class_map.shape
        return f"{type(self).__name__}({width}x{height}, {_counted(len(order), 'class', 'classes')}: {shown}{more})"
