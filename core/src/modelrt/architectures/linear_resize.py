"""``cv2.resize`` ``INTER_LINEAR`` of float32 images, evaluated only at the output pixels asked for.

OpenCV's float32 bilinear resize (its own code, not IPP: see ``yolo_seg_masks``) computes each output
pixel as ``(S[y0, x0] * a0 + S[y0, x1] * a1) * b0 + (S[y1, x0] * a0 + S[y1, x1] * a1) * b1`` in float32,
one rounding per operation (no fused multiply-add), with taps and weights that depend only on the output
position and the full sizes (``linear_taps``). numpy's float32 operations round the same way, so the
same expression at a subset of output pixels gives the bits the full resize gives there.

``above`` thresholds a resize. For a 0/1 image scaled up ``r`` times whose weights repeat with period
``r``, each output pixel is one of 16 values set by its four source bits, so a table per phase computed
with the same expression replaces the arithmetic.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from modelrt.opencv import cv2

__all__ = ["Taps", "above", "bilinear", "linear_taps"]

#: Weights of a 2x2 pattern of bits for ``cv2.filter2D``, anchored at the top-left bit.
_CODE_KERNEL = np.array([[1, 2], [4, 8]], dtype=np.float32)


class Taps(NamedTuple):
    """Per output index along one axis: the two source indices and their float32 weights.

    From ``one_tap_from`` on (columns past the last source pixel's centre) OpenCV reads the last pixel
    alone, ``S * 1``, not ``S * 1 + S * 0``: the same value unless the pixel is infinite.
    """

    first: np.ndarray
    second: np.ndarray
    first_weight: np.ndarray
    second_weight: np.ndarray
    one_tap_from: int


@lru_cache(maxsize=64)
def linear_taps(source: int, target: int, columns: bool) -> Taps:
    """The taps of ``cv2.resize`` ``INTER_LINEAR`` from ``source`` to ``target`` pixels along one axis.

    The position ``(d + 0.5) * source / target - 0.5`` is computed in double and rounded to float32.
    Along columns OpenCV moves positions outside the image to the border pixel (weight 1); along rows it
    keeps the weights and clamps the row indices, so the first and last rows mix one row with itself.
    """
    position = ((np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5).astype(np.float32)
    floor = np.floor(position)
    fraction = position - floor
    first = floor.astype(np.intp)
    one_tap_from = target
    if columns:
        before, after = first < 0, first >= source - 1
        fraction[before | after] = 0
        first[before] = 0
        first[after] = source - 1
        second = np.minimum(first + 1, source - 1)
        one_tap_from = int(np.argmax(after)) if after.any() else target
    else:
        second = np.clip(first + 1, 0, source - 1)
        first = np.clip(first, 0, source - 1)
    arrays = (first, second, np.float32(1) - fraction, fraction)
    for array in arrays:
        array.flags.writeable = False
    return Taps(*arrays, one_tap_from)


def bilinear(
    source: np.ndarray, origin: tuple[int, int], rows: Taps, columns: Taps, area: tuple[int, int, int, int]
) -> np.ndarray:
    """Output pixels ``area`` (top, bottom, left, right) of the resize that ``rows`` and ``columns`` describe.

    ``source`` holds the source pixels (float32, or 0/1 of any type) from row, column ``origin`` on, at
    least those the taps of ``area`` read. The operations are OpenCV's, in float32 and in its order:
    across each source row, then down.
    """
    top, bottom, left, right = area
    source_top, source_left = origin
    # Only the source rows these output rows read (a strip at a border reads few).
    used_top = int(rows.first[top])
    source = source[used_top - source_top : int(rows.second[bottom - 1]) + 1 - source_top]
    source_top = used_top
    across = source[:, columns.first[left:right] - source_left] * columns.first_weight[left:right]
    across += source[:, columns.second[left:right] - source_left] * columns.second_weight[left:right]
    if right > columns.one_tap_from:
        alone = max(left, columns.one_tap_from)
        across[:, alone - left :] = source[:, columns.first[alone:right] - source_left]
    values = np.take(across, rows.first[top:bottom] - source_top, axis=0)
    values *= rows.first_weight[top:bottom, None]
    below = np.take(across, rows.second[top:bottom] - source_top, axis=0)
    below *= rows.second_weight[top:bottom, None]
    values += below
    return values


class _Periodic(NamedTuple):
    """An axis scaled up ``ratio`` times: from ``start`` on, each run of ``ratio`` outputs reads one source
    pixel and the next, with the weights of phase ``(index - start) % ratio``, up to ``stop``."""

    ratio: int
    start: int
    stop: int


@lru_cache(maxsize=64)
def _periodic(source: int, target: int, columns: bool) -> _Periodic | None:
    """Where the taps of an integer upscale repeat with its ratio (all but a border at each end)."""
    if target % source or target == source:
        return None
    ratio = target // source
    taps = linear_taps(source, target, columns)
    for start in range(ratio + 1):
        for stop in range(target, max(target - 2 * ratio, start), -1):
            if _repeats(taps, ratio, start, stop):
                return _Periodic(ratio, start, stop)
    return None


def _repeats(taps: Taps, ratio: int, start: int, stop: int) -> bool:
    """Whether every run of ``ratio`` outputs from ``start`` reads one pixel and the next, one pixel on
    from the run before, with the same weights per phase."""
    blocks = (stop - start) // ratio
    if blocks < 1:
        return False
    end = start + blocks * ratio
    first = taps.first[start:end].reshape(blocks, ratio)
    return bool(
        np.array_equal(first, np.broadcast_to(first[0, 0] + np.arange(blocks)[:, None], first.shape))
        and np.array_equal(taps.second[start:end], taps.first[start:end] + 1)
        and np.all(taps.first_weight[start:end].reshape(blocks, ratio) == taps.first_weight[start : start + ratio])
        and np.all(taps.second_weight[start:end].reshape(blocks, ratio) == taps.second_weight[start : start + ratio])
    )


@lru_cache(maxsize=64)
def _phase_tables(rows_key: tuple[int, int], columns_key: tuple[int, int], threshold: float) -> np.ndarray:
    """``[row phase, 16, column phase]``: whether each 2x2 pattern of source bits resizes to > ``threshold``.

    Bit 0 is the top-left tap, bit 1 top-right, bit 2 bottom-left, bit 3 bottom-right; the values are
    computed with the expression and rounding of ``bilinear``.
    """
    rows, columns = linear_taps(*rows_key, columns=False), linear_taps(*columns_key, columns=True)
    row_period, column_period = _periodic(*rows_key, columns=False), _periodic(*columns_key, columns=True)
    assert row_period is not None and column_period is not None
    bits = np.arange(16)
    top_left, top_right, bottom_left, bottom_right = (((bits >> shift) & 1).astype(np.float32) for shift in range(4))
    tables = np.zeros((row_period.ratio, 16, column_period.ratio), dtype=bool)
    for row_phase in range(row_period.ratio):
        y = row_period.start + row_phase
        for column_phase in range(column_period.ratio):
            x = column_period.start + column_phase
            a0, a1 = columns.first_weight[x], columns.second_weight[x]
            upper = top_left * a0 + top_right * a1
            lower = bottom_left * a0 + bottom_right * a1
            values = upper * rows.first_weight[y] + lower * rows.second_weight[y]
            tables[row_phase, :, column_phase] = values > np.float32(threshold)
    tables.flags.writeable = False
    return tables


def above(
    source: np.ndarray,
    origin: tuple[int, int],
    sizes: tuple[tuple[int, int], tuple[int, int]],
    area: tuple[int, int, int, int],
    threshold: float,
    out: np.ndarray,
    *,
    binary: bool = False,
) -> None:
    """``out = resize(source)[area] > threshold``, ``source`` placed as in ``bilinear``.

    ``sizes`` are the (source, target) heights then widths of the whole resize; ``out`` is bool, the
    shape of ``area``. A 0/1 (``binary``) source scaled up an integer number of times is looked up per
    2x2 pattern of bits inside whole periods. (Slices instead of gathers for float sources measured
    three times slower in numpy: the phase axis is too short an inner loop.)
    """
    rows_key, columns_key = sizes
    rows, columns = linear_taps(*rows_key, columns=False), linear_taps(*columns_key, columns=True)
    row_period, column_period = _periodic(*rows_key, columns=False), _periodic(*columns_key, columns=True)
    top, bottom, left, right = area
    inner_rows, inner_columns = _whole_periods(row_period, top, bottom), _whole_periods(column_period, left, right)
    if not binary or row_period is None or column_period is None or inner_rows is None or inner_columns is None:
        np.greater(bilinear(source, origin, rows, columns, area), np.float32(threshold), out=out)
        return
    (inner_top, inner_bottom), (inner_left, inner_right) = inner_rows, inner_columns
    # What the whole periods leave at the sides, computed as they are.
    for strip in (
        (top, inner_top, left, right),
        (inner_bottom, bottom, left, right),
        (inner_top, inner_bottom, left, inner_left),
        (inner_top, inner_bottom, inner_right, right),
    ):
        if strip[1] > strip[0] and strip[3] > strip[2]:
            values = bilinear(source, origin, rows, columns, strip)
            place = out[strip[0] - top : strip[1] - top, strip[2] - left : strip[3] - left]
            np.greater(values, np.float32(threshold), out=place)
    row_ratio, column_ratio = row_period.ratio, column_period.ratio
    row_blocks, column_blocks = (inner_bottom - inner_top) // row_ratio, (inner_right - inner_left) // column_ratio
    first_row, first_column = int(rows.first[inner_top]) - origin[0], int(columns.first[inner_left]) - origin[1]
    bits = source[first_row : first_row + row_blocks + 1, first_column : first_column + column_blocks + 1]
    # 1 * top-left + 2 * top-right + 4 * bottom-left + 8 * bottom-right: small integers, exact in any
    # arithmetic; one filter call is faster than seven numpy operations.
    codes = np.asarray(cv2.filter2D(bits.astype(np.uint8, copy=False), -1, _CODE_KERNEL, anchor=(0, 0)), np.uint8)
    codes = codes[:-1, :-1]
    # Output rows of one phase are whole rows of ``column_ratio`` bools per code: a byte table lookup.
    inner = out[inner_top - top : inner_bottom - top, inner_left - left : inner_right - left]
    packed = _packed_tables(rows_key, columns_key, threshold)
    for row_phase, table in enumerate(_phase_tables(rows_key, columns_key, threshold)):
        if packed is not None:
            looked_up = cv2.LUT(codes, packed[row_phase]).view(np.bool_)
        else:
            looked_up = np.take(table, codes, axis=0)
        np.copyto(inner[row_phase :: row_period.ratio], looked_up.reshape(row_blocks, -1))


@lru_cache(maxsize=64)
def _packed_tables(rows_key: tuple[int, int], columns_key: tuple[int, int], threshold: float) -> np.ndarray | None:
    """``_phase_tables`` as ``cv2.LUT`` tables: 256 entries per row phase, each the column phases' bools
    packed into one 1-, 2- or 4-byte value; ``None`` for other column ratios."""
    tables = _phase_tables(rows_key, columns_key, threshold)
    packing = {1: np.uint8, 2: np.uint16, 4: np.int32}.get(tables.shape[2])
    if packing is None:
        return None
    packed = np.zeros((tables.shape[0], 256), dtype=packing)
    packed[:, :16] = np.ascontiguousarray(tables).view(packing)[:, :, 0]
    packed.flags.writeable = False
    return packed


def _whole_periods(period: _Periodic | None, start: int, stop: int) -> tuple[int, int] | None:
    """The widest part of ``[start, stop)`` made of whole periods of ``period``, if any."""
    if period is None:
        return None
    ratio = period.ratio
    first = period.start + -(-(max(start, period.start) - period.start) // ratio) * ratio
    last = period.start + ((min(stop, period.stop) - period.start) // ratio) * ratio
    return (first, last) if last > first else None
