"""Results as Arrow columns, one row per image, so a Ray Dataset of predictions writes to Parquet as is.

Detections give ``boxes`` (``[x1, y1, x2, y2]`` per detection, original-image pixels), ``scores``,
``class_ids`` and ``class_names``: lists aligned per row. Where a model gives them, ``keypoints``
(``[x, y, score]`` per point), ``polygons`` (``[x, y]`` per vertex) and ``masks`` (COCO uncompressed RLE,
``{"size": [H, W], "counts": [...]}``, as ``modelrt predict --json`` writes them) follow. A
classification gives ``class_id``, ``class_name`` and ``score`` of the top class, and ``probabilities``
of every class. An embedding gives ``embedding``; a semantic segmentation the classes present
(``class_ids``, ``class_names``), their ``pixels`` and ``masks`` (RLE). The types are written out
rather than inferred, so a batch without any detection has the same schema as one with many, and
blocks concatenate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from modelrt.errors import InputError
from modelrt.results import Classification, Detections, Embedding, Prediction, SemanticSegmentation, mask_rle

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["prediction_columns"]


def prediction_columns(results: Sequence[Prediction]) -> dict[str, pa.Array]:
    """One Arrow array per result field, one row per result; all results of one kind (one model)."""
    import pyarrow as pa

    if all(isinstance(result, Classification) for result in results):
        return _classification_columns(pa, results)  # type: ignore[arg-type]
    if all(isinstance(result, Detections) for result in results):
        return _detection_columns(pa, results)  # type: ignore[arg-type]
    if all(isinstance(result, Embedding) for result in results):
        return _embedding_columns(pa, results)  # type: ignore[arg-type]
    if all(isinstance(result, SemanticSegmentation) for result in results):
        return _segmentation_columns(pa, results)  # type: ignore[arg-type]
    kinds = sorted({type(result).__name__ for result in results})
    raise InputError(
        f"cannot turn results of types {', '.join(kinds)} into table columns; modelrt.ray handles "
        "Detections, Classification, Embedding and SemanticSegmentation (and their subclasses), one kind per model"
    )


def _classification_columns(pa: Any, results: Sequence[Classification]) -> dict[str, Any]:
    return {
        "class_id": pa.array([result.class_id for result in results], pa.int64()),
        "class_name": pa.array([result.label for result in results], pa.string()),
        "score": pa.array([result.confidence for result in results], pa.float32()),
        "probabilities": pa.array([result.probabilities.tolist() for result in results], pa.list_(pa.float32())),
    }


def _detection_columns(pa: Any, results: Sequence[Detections]) -> dict[str, Any]:
    points = pa.list_(pa.list_(pa.list_(pa.float32())))
    columns = {
        "boxes": pa.array([result.xyxy.tolist() for result in results], pa.list_(pa.list_(pa.float32(), 4))),
        "scores": pa.array([result.confidence.tolist() for result in results], pa.list_(pa.float32())),
        "class_ids": pa.array([result.class_id.tolist() for result in results], pa.list_(pa.int64())),
        "class_names": pa.array([result.class_names.tolist() for result in results], pa.list_(pa.string())),
    }
    if any(result.keypoints is not None for result in results):
        columns["keypoints"] = pa.array([_optional_list(result.keypoints) for result in results], points)
    if any(result.polygons is not None for result in results):
        polygons = [None if r.polygons is None else [p.tolist() for p in r.polygons] for r in results]
        columns["polygons"] = pa.array(polygons, points)
    if any(result.masks is not None for result in results):
        rle = pa.struct([("size", pa.list_(pa.int64())), ("counts", pa.list_(pa.int64()))])
        masks = [None if r.masks is None else [mask_rle(mask) for mask in r.masks] for r in results]
        columns["masks"] = pa.array(masks, pa.list_(rle))
    return columns


def _embedding_columns(pa: Any, results: Sequence[Embedding]) -> dict[str, Any]:
    return {"embedding": pa.array([result.vector.tolist() for result in results], pa.list_(pa.float32()))}


def _segmentation_columns(pa: Any, results: Sequence[SemanticSegmentation]) -> dict[str, Any]:
    """The classes present in each image, with their pixel counts and COCO RLE masks (the map itself is
    image-sized: as masks per class it stays compact, as ``modelrt predict --json`` writes it)."""
    rle = pa.struct([("size", pa.list_(pa.int64())), ("counts", pa.list_(pa.int64()))])
    ids, names, pixels, masks = [], [], [], []
    for result in results:
        counts = result.pixel_counts
        present = [int(class_id) for class_id in np.flatnonzero(counts)]
        ids.append(present)
        names.append([result.name(class_id) for class_id in present])
        pixels.append([int(counts[class_id]) for class_id in present])
        masks.append([mask_rle(result.mask(class_id)) for class_id in present])
    return {
        "class_ids": pa.array(ids, pa.list_(pa.int64())),
        "class_names": pa.array(names, pa.list_(pa.string())),
        "pixels": pa.array(pixels, pa.list_(pa.int64())),
        "masks": pa.array(masks, pa.list_(rle)),
    }


def _optional_list(values: Any) -> list[Any] | None:
    return None if values is None else values.tolist()
