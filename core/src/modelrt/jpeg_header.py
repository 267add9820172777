"""A JPEG's frame size, found the way libjpeg finds it.

libjpeg looks for the next marker by skipping any bytes that are not 0xFF, any run of 0xFF fill bytes
and any stuffed ``FF 00`` pair; a reader that stepped differently (taking ``FF 00`` for a segment
with a length, say) could be shown a small decoy frame header while libjpeg decodes a huge one.
Markers are walked up to the first scan. A second frame header, a scan before the frame header, a
segment length under 2, or a marker libjpeg rejects is refused; libjpeg would not decode them either.
libjpeg decodes data cut short with a warning, filling in what is missing, so the header asks for the
end-of-image marker after the first scan (scan data never holds ``FF D9``: its 0xFF bytes are stuffed).
"""

from __future__ import annotations

import struct

from modelrt.header_reading import HeaderRefusal, ImageHeader, unpack
from modelrt.image_data import EncodedData

__all__ = ["jpeg_header"]

#: Frame headers libjpeg decodes: baseline, extended, progressive, lossless; Huffman or arithmetic.
_FRAME_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB})
#: Segments libjpeg reads or skips by their length: DHT, DAC, DQT, DNL, DRI, APP0-15, COM.
_SEGMENT_MARKERS = frozenset({0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xFE, *range(0xE0, 0xF0)})
#: Markers without a length: TEM and the restart markers.
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
_START_OF_SCAN = 0xDA
_END_OF_IMAGE = b"\xff\xd9"
_MAX_MARKERS = 4096
_MAX_SKIPPED_BYTES = 1 << 20
_SCAN_CHUNK = 512


def jpeg_header(data: EncodedData) -> ImageHeader | None:
    """The size in the frame header, or None when the markers end or go wrong before the first scan."""
    size: tuple[int, int] | None = None
    offset = 2  # after the start-of-image marker, which the format check has seen
    for _ in range(_MAX_MARKERS):
        marker, offset = _next_marker(data, offset)
        if marker in _STANDALONE_MARKERS:
            continue
        if marker == _START_OF_SCAN:
            if size is None:
                raise HeaderRefusal("has image data before its frame header, which no decoder accepts")
            return ImageHeader(*size, end_marker=_END_OF_IMAGE, image_data_at=offset)
        if marker not in _FRAME_MARKERS and marker not in _SEGMENT_MARKERS:
            return None  # another start, the end of the image, or a marker libjpeg does not know
        (length,) = unpack(data, ">H", offset)
        if length < 2:
            return None
        if marker in _FRAME_MARKERS:
            if size is not None:
                raise HeaderRefusal("declares its frame (and so its size) twice; it was crafted or damaged")
            _precision, height, width, components = unpack(data, ">BHHB", offset + 2)
            if length != 8 + 3 * components:
                return None
            size = (width, height)
        offset += length
    raise HeaderRefusal(f"has more than {_MAX_MARKERS} header segments before its image data")


def _next_marker(data: EncodedData, offset: int) -> tuple[int, int]:
    """libjpeg's next_marker: (the marker byte, the offset after it). ``struct.error`` at the end of data."""
    skipped = 0
    while skipped <= _MAX_SKIPPED_BYTES:
        chunk = data.read(offset, _SCAN_CHUNK)
        start = chunk.find(b"\xff")
        if start < 0:
            if len(chunk) < _SCAN_CHUNK:
                raise struct.error("the data ends before the next marker")
            offset, skipped = offset + len(chunk), skipped + len(chunk)
            continue
        end = start
        while end < len(chunk) and chunk[end] == 0xFF:
            end += 1
        if end == len(chunk):  # the fill bytes run on past this chunk: look again from the last one
            if len(chunk) < _SCAN_CHUNK:
                raise struct.error("the data ends before the next marker")
            offset, skipped = offset + end - 1, skipped + end - 1
            continue
        if chunk[end] != 0x00:
            return chunk[end], offset + end + 1
        offset, skipped = offset + end + 1, skipped + end + 1  # a stuffed FF 00 pair is skipped like stray bytes
    raise HeaderRefusal(f"has more than {_MAX_SKIPPED_BYTES} stray or fill bytes between its header segments")
