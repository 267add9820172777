"""An AVIF's image size, confirmed from the AV1 bitstream the decoder will decode, not only ``ispe``.

The ``ispe`` property only claims a size: the AV1 decoder allocates frames as large as the sequence
header of the coded data says, whatever ``ispe`` claims (OpenCV then returns an image of the ``ispe``
size). So the item locations (``iloc``) are followed to every AV1 item's data, and the largest frame
each sequence header allows is read from it; an item whose ``ispe`` says otherwise is refused. The
image size is that of the primary item: its AV1 frame, or for a grid of tiles the grid's output size;
every AV1 item (tiles, alpha) is checked as well. Image sequences (a ``moov`` box) and primary items
of any other kind are refused: what they decode to cannot be confirmed from the header.
"""

from __future__ import annotations

import struct

from modelrt.header_reading import HeaderRefusal, ImageHeader, boxes, unpack
from modelrt.image_data import EncodedData

__all__ = ["avif_header"]

_MAX_ITEMS = 4096
_MAX_OBUS = 8192
_SEQUENCE_HEADER_OBU = 1
#: More than the longest sequence header (32 operating points with every optional field).
_SEQUENCE_HEADER_BYTES = 1024


class _Meta:
    """The parts of the ``meta`` box that say where each item is and what it is."""

    def __init__(self) -> None:
        self.primary: int | None = None
        self.types: dict[int, bytes] = {}
        #: Item id -> its extents as (absolute offset, length); a length of 0 runs to the end of the file.
        self.extents: dict[int, list[tuple[int, int]]] = {}
        self.idat_at: int | None = None
        #: Item id -> the (width, height) of its ``ispe`` property, where it has one.
        self.extents_claimed: dict[int, tuple[int, int]] = {}


def avif_header(data: EncodedData) -> ImageHeader | None:
    meta = None
    for box, start, end in boxes(data, 0, data.size):
        if box == b"moov":
            raise HeaderRefusal("is an AVIF image sequence (animated), which modelrt does not decode; pass one frame")
        if box == b"meta":
            if meta is not None:
                return None
            meta = _read_meta(data, start + 4, end)  # meta is a full box: skip version and flags
    if meta is None or meta.primary is None:
        return None
    frames = {item: _frame_size(data, meta, item) for item, kind in meta.types.items() if kind == b"av01"}
    primary_type = meta.types.get(meta.primary)
    if primary_type == b"av01":
        width, height = frames[meta.primary]
    elif primary_type == b"grid":
        width, height = _grid_size(_item_bytes(data, meta, meta.primary))
    else:
        raise HeaderRefusal(f"has a primary image of type {primary_type!r}, which modelrt cannot size before decoding")
    if meta.primary not in meta.extents_claimed:
        raise HeaderRefusal("does not declare the size of its primary image (no ispe property)")
    for item, size in {**frames, meta.primary: (width, height)}.items():
        claimed = meta.extents_claimed.get(item, size)
        if claimed != size:
            raise HeaderRefusal(
                f"claims {claimed[0]}x{claimed[1]} pixels for image item {item} (ispe) while its data is "
                f"{size[0]}x{size[1]}: the header lied (a crafted or damaged file)"
            )
    others = tuple((f"AV1 item {item}", *size) for item, size in frames.items() if item != meta.primary)
    return ImageHeader(width, height, others)


def _read_meta(data: EncodedData, start: int, end: int) -> _Meta:
    meta = _Meta()
    locations: dict[int, tuple[int, int, list[tuple[int, int]]]] = {}
    properties: list[tuple[bytes, int]] = []
    associations: dict[int, list[int]] = {}
    for box, box_start, box_end in boxes(data, start, end):
        if box == b"pitm":
            (version,) = unpack(data, ">B", box_start)
            (meta.primary,) = unpack(data, ">H" if version == 0 else ">I", box_start + 4)
        elif box == b"iinf":
            meta.types = _item_types(data, box_start, box_end)
        elif box == b"iloc":
            locations = _item_locations(data, box_start)
        elif box == b"idat":
            meta.idat_at = box_start
        elif box == b"iprp":
            properties, associations = _item_properties(data, box_start, box_end)
    for item, (method, base, extents) in locations.items():
        if method == 0:
            meta.extents[item] = [(base + offset, length) for offset, length in extents]
        elif method == 1 and meta.idat_at is not None:
            meta.extents[item] = [(meta.idat_at + base + offset, length) for offset, length in extents]
    for item, indices in associations.items():
        spatial = [properties[index - 1][1] for index in indices if properties[index - 1][0] == b"ispe"]
        if len(spatial) > 1:
            raise HeaderRefusal(f"declares the size of image item {item} twice (ispe)")
        if spatial:
            meta.extents_claimed[item] = unpack(data, ">II", spatial[0] + 4)  # ispe is a full box
    return meta


def _item_properties(data: EncodedData, start: int, end: int) -> tuple[list[tuple[bytes, int]], dict[int, list[int]]]:
    """The properties in ``ipco`` as (type, payload start), and item id -> their 1-based indices (``ipma``)."""
    properties: list[tuple[bytes, int]] = []
    associations: dict[int, list[int]] = {}
    for box, box_start, box_end in boxes(data, start, end):
        if box == b"ipco":
            properties = [(kind, payload_start) for kind, payload_start, _ in boxes(data, box_start, box_end)]
        elif box == b"ipma":
            (version_and_flags,) = unpack(data, ">I", box_start)
            version, flags = version_and_flags >> 24, version_and_flags & 0xFFFFFF
            index_size, index_mask = (2, 0x7FFF) if flags & 1 else (1, 0x7F)  # the top bit says "essential"
            field = _Fields(data, box_start + 4)
            for _ in range(min(field.read(4), _MAX_ITEMS)):
                item = field.read(2 if version < 1 else 4)
                indices = [field.read(index_size) & index_mask for _ in range(field.read(1))]
                associations.setdefault(item, []).extend(index for index in indices if index)  # 0: none
    for indices in associations.values():
        if any(not 0 < index <= len(properties) for index in indices):
            raise HeaderRefusal("associates an image item with a property it does not have; it was crafted or damaged")
    return properties, associations


def _item_types(data: EncodedData, start: int, end: int) -> dict[int, bytes]:
    (version,) = unpack(data, ">B", start)
    entries_start = start + (6 if version == 0 else 8)
    types: dict[int, bytes] = {}
    for box, entry_start, _ in boxes(data, entries_start, end):
        if box != b"infe":
            continue
        (version,) = unpack(data, ">B", entry_start)
        if version < 2:
            continue  # an old-style entry names no item type
        item, _protection, kind = unpack(data, ">HH4s" if version == 2 else ">IH4s", entry_start + 4)
        if item in types or len(types) >= _MAX_ITEMS:
            raise HeaderRefusal("lists an image item twice, or too many items; it was crafted or damaged")
        types[item] = kind
    return types


def _item_locations(data: EncodedData, start: int) -> dict[int, tuple[int, int, list[tuple[int, int]]]]:
    """Item id -> (construction method, base offset, extents as (offset, length)), from ``iloc``."""
    (version,) = unpack(data, ">B", start)
    sizes, more_sizes = unpack(data, ">BB", start + 4)
    offset_size, length_size, base_size = sizes >> 4, sizes & 15, more_sizes >> 4
    index_size = more_sizes & 15 if version in (1, 2) else 0
    field = _Fields(data, start + 6)
    locations: dict[int, tuple[int, int, list[tuple[int, int]]]] = {}
    for _ in range(min(field.read(4 if version == 2 else 2), _MAX_ITEMS)):
        item = field.read(4 if version == 2 else 2)
        method = field.read(2) & 15 if version in (1, 2) else 0
        field.read(2)  # data reference index
        base = field.read(base_size)
        extents = []
        for _ in range(field.read(2)):
            field.read(index_size)
            extents.append((field.read(offset_size), field.read(length_size)))
        if item in locations:
            raise HeaderRefusal("locates an image item twice; it was crafted or damaged")
        locations[item] = (method, base, extents)
    return locations


class _Fields:
    """Big-endian unsigned fields of 0, 1, 2, 4 or 8 bytes, read one after another."""

    def __init__(self, data: EncodedData, offset: int) -> None:
        self._data = data
        self._offset = offset

    def read(self, size: int) -> int:
        if size not in (0, 1, 2, 4, 8):
            raise ValueError(f"a field of {size} bytes")
        raw = self._data.read(self._offset, size)
        if len(raw) != size:
            raise struct.error("the data ends inside a field")
        self._offset += size
        return int.from_bytes(raw, "big")


class _ItemBytes:
    """The bytes of one item: its extents, one after another."""

    def __init__(self, data: EncodedData, extents: list[tuple[int, int]]) -> None:
        self._data = data
        self._extents = [(start, length or max(0, data.size - start)) for start, length in extents]
        self.size = sum(length for _, length in self._extents)

    def read(self, offset: int, length: int) -> bytes:
        pieces = []
        for start, extent_length in self._extents:
            if length <= 0:
                break
            if offset < extent_length:
                piece = self._data.read(start + offset, min(length, extent_length - offset))
                pieces.append(piece)
                length -= len(piece)
                offset = 0
            else:
                offset -= extent_length
        return b"".join(pieces)


def _item_bytes(data: EncodedData, meta: _Meta, item: int) -> _ItemBytes:
    extents = meta.extents.get(item)
    if not extents:
        raise HeaderRefusal(f"does not say where the data of image item {item} is")
    return _ItemBytes(data, extents)


def _grid_size(grid: _ItemBytes) -> tuple[int, int]:
    """The output size in an ImageGrid item: version, flags, rows-1, columns-1, then 16- or 32-bit sizes."""
    _version, flags = struct.unpack(">BB", grid.read(0, 2))
    width, height = struct.unpack(">II" if flags & 1 else ">HH", grid.read(4, 8 if flags & 1 else 4))
    return width, height


def _frame_size(data: EncodedData, meta: _Meta, item: int) -> tuple[int, int]:
    """The largest frame the sequence header in an AV1 item's data allows; refused unless there is one size."""
    coded = _item_bytes(data, meta, item)
    sizes = set()
    offset = 0
    for _ in range(_MAX_OBUS):
        if offset >= coded.size:
            break
        (header,) = struct.unpack(">B", coded.read(offset, 1))
        if header & 0x80:
            raise HeaderRefusal(f"has a damaged AV1 bitstream in image item {item}")
        position = offset + 1 + ((header >> 2) & 1)  # the extension byte, when flagged
        if header & 0x02:
            length, position = _leb128(coded, position)
        else:
            length = coded.size - position
        if (header >> 3) & 15 == _SEQUENCE_HEADER_OBU:
            sizes.add(_sequence_max_frame(coded.read(position, min(length, _SEQUENCE_HEADER_BYTES))))
        offset = position + length
    else:
        raise HeaderRefusal(f"has more than {_MAX_OBUS} AV1 units in image item {item}")
    if len(sizes) != 1:
        raise HeaderRefusal(f"has {len(sizes)} different AV1 frame sizes in image item {item}; it needs exactly one")
    return sizes.pop()


def _leb128(coded: _ItemBytes, position: int) -> tuple[int, int]:
    value = 0
    for index in range(8):
        (byte,) = struct.unpack(">B", coded.read(position + index, 1))
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, position + index + 1
    raise HeaderRefusal("has an AV1 unit size longer than 8 bytes")


def _sequence_max_frame(payload: bytes) -> tuple[int, int]:
    """max_frame_width and max_frame_height from an AV1 sequence header (AV1 spec, section 5.5)."""
    bits = _Bits(payload)
    bits.read(3)  # seq_profile
    bits.read(1)  # still_picture
    if bits.read(1):  # reduced_still_picture_header
        bits.read(5)  # seq_level_idx
    else:
        _skip_operating_points(bits)
    width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
    return bits.read(width_bits) + 1, bits.read(height_bits) + 1


def _skip_operating_points(bits: _Bits) -> None:
    decoder_model_present = False
    buffer_delay_bits = 0
    if bits.read(1):  # timing_info_present_flag
        bits.read(32)  # num_units_in_display_tick
        bits.read(32)  # time_scale
        if bits.read(1):  # equal_picture_interval
            bits.uvlc()  # num_ticks_per_picture_minus_1
        decoder_model_present = bool(bits.read(1))
        if decoder_model_present:
            buffer_delay_bits = bits.read(5) + 1
            bits.read(32)  # num_units_in_decoding_tick
            bits.read(5)  # buffer_removal_time_length_minus_1
            bits.read(5)  # frame_presentation_time_length_minus_1
    initial_display_delay_present = bool(bits.read(1))
    for _ in range(bits.read(5) + 1):  # operating points
        bits.read(12)  # operating_point_idc
        if bits.read(5) > 7:  # seq_level_idx
            bits.read(1)  # seq_tier
        if decoder_model_present and bits.read(1):
            bits.read(buffer_delay_bits)  # decoder_buffer_delay
            bits.read(buffer_delay_bits)  # encoder_buffer_delay
            bits.read(1)  # low_delay_mode_flag
        if initial_display_delay_present and bits.read(1):
            bits.read(4)  # initial_display_delay_minus_1


class _Bits:
    """Most-significant-bit-first reading, as the AV1 spec's f(n) and uvlc()."""

    def __init__(self, payload: bytes) -> None:
        self._value = int.from_bytes(payload, "big")
        self._left = 8 * len(payload)

    def read(self, count: int) -> int:
        if count > self._left:
            raise struct.error("the AV1 sequence header ends early")
        self._left -= count
        return (self._value >> self._left) & ((1 << count) - 1)

    def uvlc(self) -> int:
        leading_zeros = 0
        while not self.read(1):
            leading_zeros += 1
        if leading_zeros >= 32:
            return (1 << 32) - 1
        return self.read(leading_zeros) + (1 << leading_zeros) - 1
