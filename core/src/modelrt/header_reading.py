"""What every image header reader returns or raises, and the small readers they share."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, NamedTuple

from modelrt.image_data import EncodedData

__all__ = ["HeaderRefusal", "ImageHeader", "boxes", "unpack"]

_MAX_BOXES = 65536


class ImageHeader(NamedTuple):
    """The image size a header declares, as the decoder will read it."""

    width: int
    height: int
    #: Other pictures the decoder may allocate while decoding this one (TIFF tiles and later pages,
    #: the AV1 frames of an AVIF): (what, width, height). Each must be within the limit too.
    others: tuple[tuple[str, int, int], ...] = ()
    #: Bytes that complete data holds after offset ``image_data_at`` (a JPEG's end-of-image marker),
    #: for formats whose decoder accepts data cut short; empty when the decoder itself notices.
    end_marker: bytes = b""
    image_data_at: int = 0


class HeaderRefusal(Exception):
    """A header modelrt will not trust: it is ambiguous, or the decoder may read it differently."""


def unpack(data: EncodedData, fmt: str, offset: int) -> tuple[Any, ...]:
    """``struct.unpack`` at ``offset``; ``struct.error`` when the data ends first."""
    return struct.unpack(fmt, data.read(offset, struct.calcsize(fmt)))


def boxes(data: EncodedData, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO base media (and JPEG 2000) boxes between ``start`` and ``end``: (type, payload start, box end).

    More than ``_MAX_BOXES`` side by side are refused: no image needs them, and walking them costs time.
    """
    offset = start
    for _ in range(_MAX_BOXES):
        if offset + 8 > end:
            return
        size, box = unpack(data, ">I4s", offset)
        header = 8
        if size == 1:
            (size,) = unpack(data, ">Q", offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield box, offset + header, offset + size
        offset += size
    if offset + 8 <= end:
        raise HeaderRefusal(f"has more than {_MAX_BOXES} boxes side by side")
