"""A TIFF's image size, and the size of every other page and tile the decoder may allocate.

libtiff keeps the first of repeated tags and ignores the rest; a reader that kept the last one could
be shown a small decoy size while libtiff decodes a huge one. A repeated size tag is refused. OpenCV
decodes the first page, but every page the directory chain reaches (up to 256) is checked too, and so
is the tile size, since a tile buffer is allocated whatever the image size. Directories of more than
4096 entries are refused, as libtiff refuses them.
"""

from __future__ import annotations

import struct

from modelrt.header_reading import HeaderRefusal, ImageHeader, unpack
from modelrt.image_data import EncodedData

__all__ = ["tiff_header"]

_WIDTH, _LENGTH, _TILE_WIDTH, _TILE_LENGTH = 256, 257, 322, 323
_SIZE_TAGS = frozenset({_WIDTH, _LENGTH, _TILE_WIDTH, _TILE_LENGTH})
#: Value types a size may have: SHORT, LONG and (BigTIFF) LONG8.
_VALUE_FORMATS = {3: "H", 4: "I", 16: "Q"}
_MAX_ENTRIES = 4096
_MAX_PAGES = 256


class _Layout:
    """Where things are in a classic TIFF or a BigTIFF (64-bit offsets and counts, 20-byte entries)."""

    def __init__(self, data: EncodedData) -> None:
        self.order = "<" if data.read(0, 2) == b"II" else ">"
        (version,) = unpack(data, self.order + "H", 2)
        big = version == 43
        self.first_directory_at = 8 if big else 4
        self.offset_format = self.order + ("Q" if big else "I")
        self.count_format = self.order + ("Q" if big else "H")
        self.entry_size, self.value_at = (20, 12) if big else (12, 8)


def tiff_header(data: EncodedData) -> ImageHeader | None:
    """The first page's size, with later pages and tiles as ``others``; None if the first page has none."""
    layout = _Layout(data)
    (directory,) = unpack(data, layout.offset_format, layout.first_directory_at)
    first = _page_sizes(data, layout, directory)
    if first is None:
        return None
    sizes, following = first
    others = _tiles(sizes, "the tiles")
    seen = {directory}
    for page in range(2, _MAX_PAGES + 1):
        if following == 0 or following in seen:
            break  # the last page, or a loop back to a page already checked
        seen.add(following)
        try:
            later = _page_sizes(data, layout, following)
        except (struct.error, ValueError):
            later = None
        if later is None:
            break  # libtiff cannot read this page either
        later_sizes, following = later
        others += (
            (f"page {page}", later_sizes[_WIDTH], later_sizes[_LENGTH]),
            *_tiles(later_sizes, f"the tiles of page {page}"),
        )
    return ImageHeader(sizes[_WIDTH], sizes[_LENGTH], others)


def _page_sizes(data: EncodedData, layout: _Layout, directory: int) -> tuple[dict[int, int], int] | None:
    """The size tags of the directory at ``directory`` and the offset of the next one (0 for none); None
    when the directory is unreadable or declares no image size."""
    (entries,) = unpack(data, layout.count_format, directory)
    if entries > _MAX_ENTRIES:
        return None
    first = directory + struct.calcsize(layout.count_format)
    table = data.read(first, entries * layout.entry_size)
    sizes: dict[int, int] = {}
    for index in range(entries):
        position = index * layout.entry_size
        tag, value_type = struct.unpack_from(layout.order + "HH", table, position)
        if tag not in _SIZE_TAGS:
            continue
        if tag in sizes:
            raise HeaderRefusal(f"declares tag {tag} (a size) twice in one directory; it was crafted or damaged")
        value_format = _VALUE_FORMATS.get(value_type)
        (count,) = struct.unpack_from(layout.offset_format, table, position + 4)
        if value_format is None or count != 1:
            return None
        (sizes[tag],) = struct.unpack_from(layout.order + value_format, table, position + layout.value_at)
    if _WIDTH not in sizes or _LENGTH not in sizes:
        return None
    (following,) = unpack(data, layout.offset_format, first + entries * layout.entry_size)
    return sizes, following


def _tiles(sizes: dict[int, int], what: str) -> tuple[tuple[str, int, int], ...]:
    if _TILE_WIDTH in sizes and _TILE_LENGTH in sizes:
        return ((what, sizes[_TILE_WIDTH], sizes[_TILE_LENGTH]),)
    return ()
