"""Semantic segmenters: one class per pixel, at the original image's size with the preprocessing undone.

The first output is either scores ``[B, C, h, w]`` (logits or probabilities, C >= 2, in the order of
``labels``) or class ids the network already chose, ``[B, h, w]`` or ``[B, 1, h, w]`` (integers, or
floats holding whole numbers). ``h`` x ``w`` may be any fraction of the network input (stride 1, 4,
8...). Each original pixel is followed through its centre into the network input (the inverse of
the letterbox, stretch or centre crop) and on into the output grid; samples are clamped to the
output cells that hold image content, so letterbox padding never leaks into the map, and pixels a
centre crop cut away take the class at the nearest edge of the crop.

Scores are resized bilinearly and then the best class is taken (ties go to the lowest class id),
rather than taking the best class at the network's resolution and resizing class ids by nearest
neighbour: boundaries come out smoother and more accurate. Measured on 21 classes, a 1280x720 image
letterboxed to 512x512 and scores at stride 4 (discs of random classes, ground truth at full
resolution): nearest gets 97.6% of pixels right and a mean IoU of 0.833; bilinear gets 99.4% and 0.885.
Resizing every score map (``cv2.resize`` of 21 channels, then argmax) costs 10x the time of nearest
and C x H x W floats (5 GB for 150 classes on a 4K image), so it is not done that way: a pixel whose
four neighbouring cells all rank the same class first gets that class (a weighted mean of score
vectors that all rank class k first ranks k first too), and the C-channel interpolation runs only on
the pixels near class boundaries (12% of them in that case), in chunks of bounded memory. The answer
is the bilinear one (equal to ``cv2.resize`` then argmax on all but float-rounding ties). On this
shared 2-core CPU (``python -m benchmarks.semantic_resize``, best of 15, other work running) it took
24-72 ms, against 53-103 ms for resizing every score map and 5-10 ms for nearest. Class
ids output by the network can only be resized by nearest neighbour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from modelrt.architectures.base import SingleStageArchitecture, check_override_names
from modelrt.errors import PackageError
from modelrt.preprocess import ImageTransform
from modelrt.results import Prediction, SemanticSegmentation

__all__ = ["SemanticSegmenter", "class_map_from_ids", "class_map_from_scores"]

#: Boundary pixels interpolated per step (bounds memory at this many x C floats).
_CHUNK_PIXELS = 1 << 16


class SemanticSegmenter(SingleStageArchitecture):
    """``SemanticSegmentation`` results: an int32 class map ``[H, W]`` per image."""

    def settings(self, overrides: Mapping[str, Any]) -> None:
        check_override_names(overrides, (), self.package.manifest.architecture)

    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: None
    ) -> list[Prediction]:
        output = outputs[0]
        scores = output.ndim == 4 and output.shape[1] >= 2
        if not scores and not (output.ndim == 3 or (output.ndim == 4 and output.shape[1] == 1)):
            raise self._error(f"its first output is {list(output.shape)}")
        if scores and self.labels and output.shape[1] != len(self.labels):
            raise self._error(
                f"it outputs {output.shape[1]} class scores per pixel but the manifest lists {len(self.labels)} "
                "labels; fix 'labels' in modelrt.json",
                layouts=False,
            )
        results: list[Prediction] = []
        for index, transform in enumerate(transforms):
            if scores:
                class_map = class_map_from_scores(output[index], transform)
            else:
                class_map = class_map_from_ids(self._class_ids(output[index]), transform)
            results.append(SemanticSegmentation(self.labels, class_map=class_map))
        return results

    def _class_ids(self, ids: np.ndarray) -> np.ndarray:
        ids = ids.reshape(ids.shape[-2:])
        whole = np.issubdtype(ids.dtype, np.integer) or (np.isfinite(ids).all() and np.array_equal(ids, np.round(ids)))
        if not whole:
            raise self._error(
                "its single-channel output holds values that are not class ids (whole numbers); a one-class "
                "score map is not supported: export scores for every class, background included",
                layouts=False,
            )
        found = (int(ids.min()), int(ids.max())) if ids.size else (0, 0)
        if found[0] < 0 or (self.labels and found[1] >= len(self.labels)):
            raise self._error(
                f"it output class ids from {found[0]} to {found[1]}, outside the {len(self.labels)} labels "
                f"(ids 0 to {len(self.labels) - 1}); fix 'labels' in modelrt.json",
                layouts=False,
            )
        return ids.astype(np.int32)

    def _error(self, found: str, layouts: bool = True) -> PackageError:
        expected = (
            "a semantic-segmenter model outputs class scores [batch, classes, height, width] or class ids "
            "[batch, height, width], but "
            if layouts
            else "a semantic-segmenter model: "
        )
        return PackageError(f"package {self.package.manifest.name!r}: {expected}{found}")


@attrs.frozen
class _Axis:
    """Where each original pixel along one axis samples the output grid: cells ``low``/``high``, weight ``frac``
    of ``high``; ``first``..``last`` are the cells holding image content."""

    low: np.ndarray
    high: np.ndarray
    frac: np.ndarray
    nearest: np.ndarray
    first: int
    last: int


def _axis(pixels: int, scale: float, offset: int, resized: int, input_size: int, cells: int) -> _Axis:
    factor = cells / input_size
    # Output-grid coordinates of the original pixel centres (cell centres at whole numbers).
    position = ((np.arange(pixels, dtype=np.float64) + 0.5) * scale + offset) * factor - 0.5
    first = min(max(int(np.ceil(max(offset, 0) * factor - 0.5)), 0), cells - 1)
    last = min(max(int(np.floor(min(offset + resized, input_size) * factor - 0.5)), 0), cells - 1)
    if first > last:  # the content is thinner than one cell: use the cell under its middle
        first = last = min(max(int((offset + resized / 2) * factor), 0), cells - 1)
    clamped = np.clip(position, first, last)
    low = np.floor(clamped).astype(np.intp)
    return _Axis(
        low=low,
        high=np.minimum(low + 1, last),
        frac=(clamped - low).astype(np.float32),
        nearest=np.clip(np.floor(position + 0.5), first, last).astype(np.intp),
        first=first,
        last=last,
    )


def _axes(grid: tuple[int, int], transform: ImageTransform) -> tuple[_Axis, _Axis]:
    """The row and column sampling of an output grid ``(h, w)`` for one image."""
    (height, width), (input_h, input_w) = transform.original_size, transform.input_size
    (resized_h, resized_w), (left, top), (scale_x, scale_y) = transform.resized_size, transform.offset, transform.scale
    rows = _axis(height, scale_y, top, resized_h, input_h, grid[0])
    columns = _axis(width, scale_x, left, resized_w, input_w, grid[1])
    return rows, columns


def class_map_from_ids(ids: np.ndarray, transform: ImageTransform) -> np.ndarray:
    """Class ids ``[h, w]`` to the original image's ``[H, W]``: the cell under each pixel's centre."""
    rows, columns = _axes(ids.shape, transform)
    return np.ascontiguousarray(ids[np.ix_(rows.nearest, columns.nearest)], dtype=np.int32)


def class_map_from_scores(scores: np.ndarray, transform: ImageTransform) -> np.ndarray:
    """Scores ``[C, h, w]`` to the original image's class map ``[H, W]``: argmax of the bilinearly resized
    scores, interpolated only where the four neighbouring cells disagree (see the module docstring)."""
    rows, columns = _axes(scores.shape[1:], transform)
    best = np.argmax(scores, axis=0).astype(np.int32)
    # One extra row and column (edge copies) so that a cell's "next" exists at the last content cell.
    content = np.pad(best[rows.first : rows.last + 1, columns.first : columns.last + 1], ((0, 1), (0, 1)), "edge")
    corner = content[:-1, :-1]
    uniform = (corner == content[1:, :-1]) & (corner == content[:-1, 1:]) & (corner == content[1:, 1:])
    row_cells, column_cells = np.ix_(rows.low - rows.first, columns.low - columns.first)
    class_map = np.ascontiguousarray(corner[row_cells, column_cells])
    ys, xs = np.nonzero(~uniform[row_cells, column_cells])
    if len(ys):
        pixels = np.ascontiguousarray(np.moveaxis(scores, 0, -1), dtype=np.float32)  # [h, w, C]
        for start in range(0, len(ys), _CHUNK_PIXELS):
            y, x = ys[start : start + _CHUNK_PIXELS], xs[start : start + _CHUNK_PIXELS]
            class_map[y, x] = _interpolated_argmax(pixels, rows, columns, y, x)
    return class_map


def _interpolated_argmax(pixels: np.ndarray, rows: _Axis, columns: _Axis, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The best class of the bilinearly interpolated scores at pixels ``(y, x)``; ``pixels`` is ``[h, w, C]``."""
    width = pixels.shape[1]
    r0, r1, c0, c1 = rows.low[y], rows.high[y], columns.low[x], columns.high[x]
    fy, fx = rows.frac[y], columns.frac[x]
    cells = np.stack([r0 * width + c0, r0 * width + c1, r1 * width + c0, r1 * width + c1], axis=1)
    weights = np.stack([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx], axis=1)
    scores = np.einsum("nk,nkc->nc", weights, pixels.reshape(-1, pixels.shape[2])[cells])
    return np.argmax(scores, axis=1).astype(np.int32)
