"""Which image format encoded data is, and the image size its header declares, before any decoding.

Only formats whose size can be read here are decoded at all. Readers ask ``EncodedData`` for the
bytes they need, so a file is not read whole to learn its size, and read the size where the decoder
reads it (see ``jpeg_header``, ``tiff_header`` and ``avif_header`` for the formats where a header can
say two things). A reader returns None, or raises ``struct.error``, ``ValueError`` or ``IndexError``,
for a header cut short or inconsistent; it raises ``HeaderRefusal`` for one it will not trust.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from modelrt.avif_header import avif_header
from modelrt.header_reading import HeaderRefusal, ImageHeader, boxes, unpack
from modelrt.image_data import EncodedData
from modelrt.jpeg_header import jpeg_header
from modelrt.tiff_header import tiff_header

__all__ = ["DECODED_FORMATS", "MAGIC_BYTES", "HeaderRefusal", "ImageHeader", "image_format", "image_header"]

DECODED_FORMATS = "PNG, JPEG, WebP, BMP, TIFF, GIF, PNM/PAM/PFM, Sun raster, JPEG 2000, Radiance HDR, AVIF"
#: Bytes enough to tell the formats apart.
MAGIC_BYTES = 64

_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_JPEG2000_CODESTREAM = b"\xff\x4f\xff\x51"
# A comment runs to the end of its line; requiring that end keeps the pattern free of backtracking blow-ups.
_PNM_SEPARATOR = rb"(?:\s|#[^\r\n]*[\r\n])+"
_PNM_SIZE = re.compile(rb"P[1-6]" + _PNM_SEPARATOR + rb"(\d+)" + _PNM_SEPARATOR + rb"(\d+)")
_PFM_SIZE = re.compile(rb"P[Ff]\s+(\d+)\s+(\d+)")
_HDR_RESOLUTION = re.compile(rb"([-+])([XY]) +(\d+) +([-+])([XY]) +(\d+)")


def image_format(head: bytes) -> str | None:
    """The format the first bytes announce, among those modelrt decodes."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if re.match(rb"P[1-7]\s|P[Ff]\s", head):
        return "PNM"
    if head.startswith(b"\x59\xa6\x6a\x95"):
        return "Sun raster"
    if head.startswith((_JP2_SIGNATURE, _JPEG2000_CODESTREAM)):
        return "JPEG 2000"
    if head.startswith((b"#?RADIANCE", b"#?RGBE")):
        return "Radiance HDR"
    if head[4:8] == b"ftyp" and _is_avif(head):
        return "AVIF"
    return None


def image_header(kind: str, data: EncodedData) -> ImageHeader | None:
    """The header of ``data``, a ``kind`` image (from ``image_format``), as its decoder will read it."""
    return _HEADER_READERS[kind](data)


def _fixed(fmt: str, offset: int) -> Callable[[EncodedData], ImageHeader]:
    """A reader for formats that store width then height at a fixed place."""

    def read(data: EncodedData) -> ImageHeader:
        return ImageHeader(*unpack(data, fmt, offset))

    return read


def _png_header(data: EncodedData) -> ImageHeader | None:
    if data.read(12, 4) != b"IHDR":
        return None
    return ImageHeader(*unpack(data, ">II", 16))


def _webp_header(data: EncodedData) -> ImageHeader | None:
    chunk = data.read(12, 4)
    if chunk == b"VP8X":  # the canvas size; libwebp checks that a still image's bitstream matches it
        raw = data.read(24, 6)
        if len(raw) != 6:
            return None
        return ImageHeader(int.from_bytes(raw[:3], "little") + 1, int.from_bytes(raw[3:], "little") + 1)
    if chunk == b"VP8L":
        (bits,) = unpack(data, "<I", 21)
        return ImageHeader((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8 " and data.read(23, 3) == b"\x9d\x01\x2a":
        width, height = unpack(data, "<HH", 26)
        return ImageHeader(width & 0x3FFF, height & 0x3FFF)
    return None


def _bmp_header(data: EncodedData) -> ImageHeader:
    (header_size,) = unpack(data, "<I", 14)
    if header_size == 12:  # the old OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
        return ImageHeader(*unpack(data, "<HH", 18))
    width, height = unpack(data, "<ii", 18)
    return ImageHeader(abs(width), abs(height))  # a negative height means rows are stored top-down


def _pnm_header(data: EncodedData) -> ImageHeader | None:
    head = data.read(0, 4096)
    if head.startswith(b"P7"):  # PAM: "WIDTH n" and "HEIGHT n" lines before ENDHDR
        header = head.split(b"ENDHDR", 1)[0]
        width = re.search(rb"(?m)^[ \t]*WIDTH[ \t]+(\d+)", header)
        height = re.search(rb"(?m)^[ \t]*HEIGHT[ \t]+(\d+)", header)
        return ImageHeader(int(width.group(1)), int(height.group(1))) if width and height else None
    found = _PNM_SIZE.match(head) or _PFM_SIZE.match(head)
    return ImageHeader(int(found.group(1)), int(found.group(2))) if found else None


def _jpeg2000_header(data: EncodedData) -> ImageHeader | None:
    """The size in the codestream's SIZ segment, which the decoder uses (a JP2's ``ihdr`` only repeats it)."""
    if data.read(0, 4) == _JPEG2000_CODESTREAM:
        return _codestream_size(data, 0)
    for box, start, _ in boxes(data, 0, data.size):
        if box == b"jp2c":
            return _codestream_size(data, start)
    return None


def _codestream_size(data: EncodedData, start: int) -> ImageHeader | None:
    if data.read(start, 4) != _JPEG2000_CODESTREAM:
        return None
    width, height, x_offset, y_offset = unpack(data, ">IIII", start + 8)
    if width <= x_offset or height <= y_offset:
        return None
    return ImageHeader(width - x_offset, height - y_offset)


def _hdr_header(data: EncodedData) -> ImageHeader | None:
    head = data.read(0, 8192)
    blank_line = head.find(b"\n\n")  # the header ends with an empty line; the resolution line follows
    if blank_line < 0:
        return None
    found = _HDR_RESOLUTION.fullmatch(head[blank_line + 2 :].split(b"\n", 1)[0].strip())
    if found is None:
        return None
    first, second = int(found.group(3)), int(found.group(6))
    return ImageHeader(second, first) if found.group(2) == b"Y" else ImageHeader(first, second)


def _is_avif(head: bytes) -> bool:
    (size,) = struct.unpack_from(">I", head, 0)
    brands = head[8 : min(size, len(head))]
    return any(brands[i : i + 4] in (b"avif", b"avis") for i in range(0, len(brands) - 3, 4))


_HEADER_READERS: dict[str, Callable[[EncodedData], ImageHeader | None]] = {
    "PNG": _png_header,
    "JPEG": jpeg_header,
    "WebP": _webp_header,
    "BMP": _bmp_header,
    "TIFF": tiff_header,
    "GIF": _fixed("<HH", 6),
    "PNM": _pnm_header,
    "Sun raster": _fixed(">II", 4),
    "JPEG 2000": _jpeg2000_header,
    "Radiance HDR": _hdr_header,
    "AVIF": avif_header,
}
