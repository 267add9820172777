"""Antialiased bilinear resizing that gives Pillow's ``Image.resize(size, BILINEAR)`` bit for bit.

Networks trained on images resized by Pillow (torchvision's ``Resize`` on PIL images, Ultralytics'
classifiers) see slightly different pixels from OpenCV's ``INTER_LINEAR``, which reads only the 2x2
source pixels nearest each output pixel: downscaled by more than 2, it skips most of the image and
aliases, and a classifier's top class can change. Pillow widens the triangle filter by the
downscaling factor, so every source pixel contributes.

The arithmetic is Pillow's: a triangle filter of support ``max(1, in/out)`` around each output
pixel's centre, weights normalised in float64 and rounded to 22-bit fixed point, sums rounded and
clipped to 8 bits, two passes (one per axis, in Pillow's order) through an 8-bit intermediate
image. Each pass is vectorised as one gather, multiply and add per filter tap (at most
``2 * ceil(in/out) + 1`` taps) into reusable buffers. Only the output rows and columns asked for
are computed, so a resize followed by a centre crop costs only the crop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import attrs
import numpy as np

__all__ = ["BufferProvider", "resize_antialiased"]

#: ``buffer(role, shape, dtype)``: a reusable array of that shape and dtype (contents undefined).
BufferProvider = Callable[[str, tuple[int, ...], type], np.ndarray]

_PRECISION_BITS = 32 - 8 - 2
_ROUNDING = 1 << (_PRECISION_BITS - 1)


@attrs.frozen
class _Taps:
    """For each output pixel along one axis: the source pixels it reads and their fixed-point weights.

    ``sources`` and ``weights`` are ``[outputs, taps]``; taps past a pixel's window read its first
    source with weight 0. The windows together span source pixels ``first_source`` to ``stop_source``.
    """

    sources: np.ndarray
    weights: np.ndarray
    first_source: int
    stop_source: int

    def shifted(self, first: int) -> _Taps:
        """The same taps reading a band of the source that starts at pixel ``first``."""
        return attrs.evolve(self, sources=self.sources - first, first_source=0, stop_source=self.stop_source - first)


@functools.lru_cache(maxsize=64)
def _taps(in_size: int, out_size: int, first: int, stop: int) -> _Taps:
    """Pillow's filter windows and weights for output pixels ``first`` to ``stop`` of ``out_size``."""
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = filter_scale  # the triangle filter reaches 1 pixel, widened when downscaling
    centers = (np.arange(first, stop, dtype=np.float64) + 0.5) * scale
    # C's (int) cast truncates towards zero; both ends are then clamped to the image.
    window_start = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    window_stop = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    # Pillow reserves 2 * ceil(support) + 1 taps; no window uses more than the widest one here.
    offsets = np.arange(min(math.ceil(support) * 2 + 1, int((window_stop - window_start).max())))
    inside = offsets[None, :] < (window_stop - window_start)[:, None]
    distance = ((window_start[:, None] + offsets[None, :]) - centers[:, None] + 0.5) * (1.0 / filter_scale)
    weights = np.where(inside, np.maximum(1.0 - np.abs(distance), 0.0), 0.0)
    # Summed left to right, as Pillow does, so that the normalised weights round alike.
    totals = np.cumsum(weights, axis=1)[:, -1:]
    normalised = np.divide(weights, totals, out=weights, where=totals != 0)
    fixed = (normalised * (1 << _PRECISION_BITS) + 0.5).astype(np.int32)
    sources = np.where(inside, window_start[:, None] + offsets[None, :], window_start[:, None])
    for array in (sources, fixed):
        array.flags.writeable = False
    return _Taps(sources, fixed, int(window_start.min()), int(window_stop.max()))


def _filter(source: np.ndarray, taps: _Taps, axis: int, out: np.ndarray, buffer: BufferProvider) -> None:
    """One pass along ``axis`` (0: rows, 1: columns) of ``source`` (HxWxC) into the uint8 ``out``.

    The arithmetic runs on 2-D views (rows x columns*channels) of contiguous buffers, with one weight
    per row (vertical pass) or per column and channel (horizontal pass), which numpy broadcasts fastest.
    """
    rows = out.shape[0]
    total = buffer(f"resample-{axis}-sum", out.shape, np.int32)
    gathered = buffer(f"resample-{axis}-gathered", out.shape, np.uint8)
    product = buffer(f"resample-{axis}-product", out.shape, np.int32)
    flat_total, flat_gathered, flat_product = (array.reshape(rows, -1) for array in (total, gathered, product))
    if axis == 0:
        weights = np.ascontiguousarray(taps.weights.T)[:, :, None]  # [tap] -> a column, one weight per row
    else:
        weights = np.ascontiguousarray(np.repeat(taps.weights, out.shape[2], axis=0).T)[:, None, :]  # [tap] -> a row
    total.fill(_ROUNDING)
    for tap in range(taps.sources.shape[1]):
        np.take(source, taps.sources[:, tap], axis=axis, out=gathered, mode="clip")
        np.multiply(flat_gathered, weights[tap], out=flat_product)
        flat_total += flat_product
    np.right_shift(total, _PRECISION_BITS, out=total)
    np.clip(total, 0, 255, out=total)
    np.copyto(out, total, casting="unsafe")


def resize_antialiased(
    image: np.ndarray,
    size: tuple[int, int],
    rows: tuple[int, int],
    columns: tuple[int, int],
    out: np.ndarray,
    buffer: BufferProvider,
) -> None:
    """Rows ``rows[0]:rows[1]`` and columns ``columns[0]:columns[1]`` of ``image`` (HxWxC uint8) resized
    to ``size`` (height, width), written to ``out``; ``buffer`` provides the scratch arrays."""
    in_height, in_width, channels = image.shape
    out_height, out_width = size
    vertical = _taps(in_height, out_height, *rows) if out_height != in_height else None
    horizontal = _taps(in_width, out_width, *columns) if out_width != in_width else None
    if horizontal is None:
        source = image[:, columns[0] : columns[1]]
        if vertical is None:
            np.copyto(out, source[rows[0] : rows[1]])
        else:
            _filter(source, vertical, 0, out, buffer)
    elif vertical is None:
        _filter(image[rows[0] : rows[1]], horizontal, 1, out, buffer)
    elif _vertical_first(image.shape[:2], size):
        first, stop = horizontal.first_source, horizontal.stop_source
        band = buffer("resample-band", (rows[1] - rows[0], stop - first, channels), np.uint8)
        _filter(image[:, first:stop], vertical, 0, band, buffer)
        _filter(band, horizontal.shifted(first), 1, out, buffer)
    else:
        first, stop = vertical.first_source, vertical.stop_source
        band = buffer("resample-band", (stop - first, columns[1] - columns[0], channels), np.uint8)
        _filter(image[first:stop], horizontal, 1, band, buffer)
        _filter(band, vertical.shifted(first), 0, out, buffer)


def _vertical_first(in_size: tuple[int, int], out_size: tuple[int, int]) -> bool:
    """Pillow 13's order of the two passes: vertical first when the height shrinks by more than twice
    as many pixels as the width (earlier Pillow always went horizontal first, a difference of at most
    1 in a few pixels)."""
    (in_height, in_width), (out_height, out_width) = in_size, out_size
    return out_height < in_height and in_height - out_height > 2 * (in_width - out_width)
