"""Images from strangers: every input kind is either accepted with a known result, or an ``InputError``.

Written down first (``modelrt.images`` documents the same), then checked property by property.

Accepted, and what the result equals:

- uint8 arrays HxW, HxWx1, HxWx3, HxWx4, any strides: the pixels; gray repeated on 3 channels, BGR
  (the default, as OpenCV gives arrays) reversed, RGB with ``color="rgb"`` as it is, alpha dropped.
- float16/32/64 arrays whose values are all finite and within [0, 1]: the uint8 image ``rint(x * 255)``
  (computed in float64), laid out as above; so ``u / 255`` gives back exactly ``u``.
- encoded bytes or files of PNG, JPEG, WebP, BMP, TIFF, GIF, PNM/PAM/PFM, Sun raster, JPEG 2000, HDR
  and AVIF: OpenCV's decode, as RGB; lossless formats give back the encoded pixels; bytes after the
  end of the image are ignored; a file is read whole only once its header has passed.
- corrupted bytes of those formats: either an ``InputError`` or a decode that never exceeded the
  limit (PNG, whose chunks are checksummed: the original pixels or an ``InputError``).
- PIL images: the pixels the same file gives as a path or bytes (EXIF orientation, 16-bit grayscale);
  modes without a file behind them: ``np.asarray(image.convert("RGB"))``, 16-bit ones scaled by 256.

An ``InputError``, always:

- arrays of another rank or channel count, with a 0 in H or W, holding NaN, infinity or floats outside
  [0, 1], or of any other dtype (bool, signed or wider integers, complex, object, ...), with the
  conversion to make;
- more than ``MODELRT_MAX_IMAGE_PIXELS`` pixels: refused before anything is allocated or decoded,
  including headers that say two things (a decoy JPEG frame header behind stuffed bytes, repeated TIFF
  size tags, an AVIF ``ispe`` that disagrees with its AV1 data), later TIFF pages and tiles;
- a decoded size that differs from the header's;
- any proper prefix of an encoded image (truncated), a damaged header, data the decoder rejects;
- anything else: text, archives, executables, random bytes, empty data (a file is read no further
  than 64 KiB to say so);
- paths that name no readable regular file: missing, a directory, a FIFO, a device, a dangling link,
  a link loop, a NUL in the name, a URL, unreadable; never blocking;
- a lazily opened PIL image whose file turns out truncated, a mode PIL cannot convert, or a mode
  whose pixel range is unknown (``I``, ``F``);
- any other object.

Through ``Model.predict`` on a real ONNX Runtime model: every accepted kind predicts exactly what its
canonical uint8 RGB array predicts; every refused one is an ``InputError`` that leaves the model
working. Hypothesis runs ``FUZZ_EXAMPLES`` examples per fuzzed property (CI size; more under ``-m slow``)
and 150 for the others.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import modelrt
from modelrt import images
from modelrt.errors import InputError
from modelrt.images import MAX_IMAGE_PIXELS_ENV, load_image, load_images

from .conftest import FUZZ_EXAMPLES

ACCEPTED_CHANNELS = (1, 3, 4)
FLOAT_DTYPES = (np.float16, np.float32, np.float64)
OTHER_DTYPES = (
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint16,
    np.uint32,
    np.uint64,
    np.complex64,
    np.dtype("datetime64[s]"),
    np.dtype("U3"),
    np.dtype([("r", np.uint8), ("g", np.uint8)]),
    object,
)
#: OpenCV's writers, each with whether it stores the pixels exactly.
FORMATS = {
    ".png": True,
    ".bmp": True,
    ".tiff": True,
    ".webp": True,  # OpenCV's default WebP quality is lossless
    ".ppm": True,
    ".pam": True,
    ".sr": True,
    ".jpg": False,
    ".gif": False,
    ".pfm": False,
    ".jp2": False,
    ".hdr": False,
    ".avif": False,
}
SMALL_LIMIT = 5_000  # pixels: the originals below are at most 64 x 64 = 4,096
quick = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def expected_layout(pixels: np.ndarray, color: str = "rgb") -> np.ndarray:
    """What an accepted uint8 array must become, written independently of ``modelrt.images``."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        return np.stack([pixels] * 3, axis=-1)
    rgb = pixels[:, :, :3]
    return rgb[:, :, ::-1] if color == "bgr" else rgb


def is_image_shape(shape: tuple[int, ...]) -> bool:
    color = len(shape) == 2 or (len(shape) == 3 and shape[2] in ACCEPTED_CHANNELS)
    return color and shape[0] > 0 and shape[1] > 0


def encode(extension: str, rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(extension, np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok
    return data.tobytes()


def encode_raw(extension: str, pixels: np.ndarray) -> bytes:
    """``pixels`` encoded as they are (OpenCV's channel order, any depth OpenCV writes)."""
    ok, data = cv2.imencode(extension, pixels)
    assert ok
    return data.tobytes()


def opencv_reference(data: bytes) -> np.ndarray:
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded[:, :, ::-1]


def photos(max_side: int = 64) -> st.SearchStrategy[np.ndarray]:
    shapes = st.tuples(st.integers(32, max_side), st.integers(32, max_side), st.just(3))  # JPEG 2000 needs 32
    return shapes.flatmap(lambda shape: hnp.arrays(np.uint8, shape, elements=st.integers(0, 255)))


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, str(SMALL_LIMIT))
    return SMALL_LIMIT


@pytest.fixture
def decoded_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pixel counts of every image the decoder produced during the test."""
    sizes: list[int] = []
    real_decode = cv2.imdecode

    def spy(buffer: np.ndarray, flags: int) -> np.ndarray | None:
        decoded = real_decode(buffer, flags)
        if decoded is not None:
            sizes.append(decoded.shape[0] * decoded.shape[1])
        return decoded

    monkeypatch.setattr(images.cv2, "imdecode", spy)
    return sizes


class _CountingFile:
    """A file object that records how many bytes each read returned."""

    def __init__(self, handle: io.BufferedReader, reads: list[int]) -> None:
        self._handle = handle
        self._reads = reads

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._reads.append(len(data))
        return data

    def readinto(self, buffer: bytearray) -> int:
        count = self._handle.readinto(buffer)
        self._reads.append(count)
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@pytest.fixture
def bytes_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every read from an image file during the test."""
    reads: list[int] = []
    real_fdopen = os.fdopen

    def counting_fdopen(*args: Any, **kwargs: Any) -> _CountingFile:
        return _CountingFile(real_fdopen(*args, **kwargs), reads)

    monkeypatch.setattr(images.os, "fdopen", counting_fdopen)
    return reads


# ------------------------------------------------------------------------------------- uint8 arrays


@quick
@given(
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=9)),
    st.sampled_from(["rgb", "bgr"]),
    st.booleans(),
)
def test_a_uint8_array_is_its_pixels_or_an_input_error(array: np.ndarray, color: str, strided: bool) -> None:
    if strided and array.ndim >= 2:
        array = array[::-1, ::2]
    if not is_image_shape(array.shape):
        with pytest.raises(InputError):
            load_image(array, color)
        return
    loaded = load_image(array, color)
    assert loaded.dtype == np.uint8 and loaded.flags.c_contiguous
    np.testing.assert_array_equal(loaded, expected_layout(array, color))


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0, 3), (0, 0), (4, 4, 0), (0,), ()])
def test_a_zero_size_array_is_an_input_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(InputError):
        load_image(np.zeros(shape, np.uint8))


# ------------------------------------------------------------------------------------- float arrays


def _float_arrays() -> st.SearchStrategy[np.ndarray]:
    shapes = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6)
    float16 = (st.floats(0, 1, width=16), st.floats(width=16))
    float32 = (st.floats(0, 1, width=32), st.floats(width=32))
    float64 = (st.floats(0, 1), st.floats())
    return st.one_of(
        *[
            hnp.arrays(dtype, shapes, elements=st.one_of(in_range, in_range, anything))
            for dtype, (in_range, anything) in zip(FLOAT_DTYPES, (float16, float32, float64), strict=True)
        ]
    )


@quick
@given(_float_arrays(), st.sampled_from(["rgb", "bgr"]))
def test_a_float_array_in_0_1_is_rint_x_255_and_anything_else_an_input_error(array: np.ndarray, color: str) -> None:
    valid = is_image_shape(array.shape) and bool(np.isfinite(array).all()) and (array >= 0).all() and (array <= 1).all()
    if not valid:
        with pytest.raises(InputError):
            load_image(array, color)
        return
    as_uint8 = np.rint(array.astype(np.float64) * 255).astype(np.uint8)
    np.testing.assert_array_equal(load_image(array, color), expected_layout(as_uint8, color))


@quick
@given(photos(40), st.sampled_from(FLOAT_DTYPES))
def test_a_uint8_image_divided_by_255_gives_back_the_same_pixels(photo: np.ndarray, dtype: type) -> None:
    np.testing.assert_array_equal(load_image((photo / 255).astype(dtype), color="rgb"), photo)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, -0.01, 1.01, 255.0])
def test_a_float_array_with_one_bad_value_is_an_input_error(value: float) -> None:
    array = np.full((4, 4, 3), 0.5, np.float32)
    array[2, 1, 0] = value
    with pytest.raises(InputError, match=r"NaN|\[0, 1\]"):
        load_image(array)


@pytest.mark.parametrize("dtype", OTHER_DTYPES, ids=str)
def test_any_other_dtype_is_an_input_error_even_holding_0_to_255(dtype: Any) -> None:
    array = np.zeros((4, 4, 3), dtype=dtype)
    with pytest.raises(InputError, match="uint8 pixels"):
        load_image(array)


# ------------------------------------------------------------------------------------- size limit


def test_an_array_over_the_limit_is_refused_before_any_allocation() -> None:
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.float32), (20_000, 20_000, 3))  # 400 Mpx, no memory behind it
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="over the limit"):
            load_image(huge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


@quick
@given(st.integers(1, 120), st.integers(1, 120))
def test_an_array_is_accepted_exactly_up_to_the_limit(height: int, width: int) -> None:
    array = np.broadcast_to(np.uint8(7), (height, width, 3))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MAX_IMAGE_PIXELS_ENV, str(SMALL_LIMIT))
        if height * width > SMALL_LIMIT:
            with pytest.raises(InputError, match=f"{width}x{height} = {height * width} pixels"):
                load_image(array)
        else:
            assert load_image(array).shape == (height, width, 3)


@pytest.mark.parametrize("extension", list(FORMATS))
def test_an_encoded_image_is_refused_before_decoding_one_pixel_over_the_limit(
    extension: str, monkeypatch: pytest.MonkeyPatch, decoded_sizes: list[int]
) -> None:
    data = encode(extension, np.full((48, 64, 3), 90, np.uint8))
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, str(48 * 64 - 1))
    with pytest.raises(InputError, match="64x48 = 3072 pixels, over the limit of 3071"):
        load_image(data)
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, str(48 * 64))
    assert load_image(data).shape == (48, 64, 3)
    assert decoded_sizes == [48 * 64]  # only the second call decoded


def _jpeg_with_large_metadata(rgb: np.ndarray) -> bytes:
    """A JPEG whose frame header (with the size) comes after 128 KiB of metadata segments."""
    plain = encode(".jpg", rgb)
    segment = b"\xff\xe1" + struct.pack(">H", 65535) + b"\x00" * 65533
    return plain[:2] + segment * 2 + plain[2:]


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG header declaring a size, followed by nothing an honest decoder could use."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + b"\x00" * 4 + b"\x00" * 64


@pytest.mark.parametrize(
    "make, declared",
    [
        (lambda: _png_declaring(100_000, 100_000), "100000x100000"),
        (lambda: _jpeg_with_large_metadata(np.zeros((3000, 2000, 3), np.uint8)), "2000x3000"),
    ],
    ids=["png-bomb-header", "jpeg-size-after-128-KiB-of-metadata"],
)
def test_a_declared_size_over_the_limit_is_never_decoded(
    make: Callable[[], bytes], declared: str, monkeypatch: pytest.MonkeyPatch, decoded_sizes: list[int]
) -> None:
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "1000000")
    with pytest.raises(InputError, match=f"{declared} = .* pixels, over the limit"):
        load_image(make())
    assert decoded_sizes == []


# ------------------------------------------------------------------------------- headers that lie

BOMB_SIDE = 16_000  # 256 million pixels: 768 MB once decoded, from a file of a few kilobytes
BOMB_OVER_THE_LIMIT = f"{BOMB_SIDE}x{BOMB_SIDE} = {BOMB_SIDE**2} pixels, over the limit"


def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, fail the test if anything reaches the decoder."""

    def decode(buffer: np.ndarray, flags: int) -> None:
        pytest.fail("the image reached the decoder")

    monkeypatch.setattr(images.cv2, "imdecode", decode)


def _jpeg_segments(data: bytes) -> list[bytes]:
    """The marker segments of a plain JPEG after its start marker; the last runs from the scan to the end."""
    segments, offset = [], 2
    while data[offset + 1] != 0xDA:
        (length,) = struct.unpack_from(">H", data, offset + 2)
        segments.append(data[offset : offset + 2 + length])
        offset += 2 + length
    return [*segments, data[offset:]]


def _jpeg_with_decoy(width: int, height: int) -> bytes:
    """A real 64x48 JPEG whose frame header, declaring ``width`` x ``height``, hides behind a stuffed
    ``FF 00`` pair, and whose APP1 segment holds a 10x10 decoy frame header.

    libjpeg skips the ``FF 00`` pair and the bytes after it up to the next marker, reads the real frame
    header and skips the APP1 segment. A reader that took ``FF 00`` for a segment with a length would
    skip the real frame header and land on the decoy."""
    plain = encode(".jpg", np.random.default_rng(14).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    segments = _jpeg_segments(plain)
    frame = next(segment for segment in segments if segment[1] == 0xC0)
    real = frame[:5] + struct.pack(">HH", height, width) + frame[9:]
    decoy = frame[:5] + struct.pack(">HH", 10, 10) + frame[9:]
    hidden = b"\xff\x00" + struct.pack(">H", 2 + len(real) + 4) + real
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + len(decoy)) + decoy
    return plain[:2] + hidden + app1 + b"".join(segment for segment in segments if segment is not frame)


def test_a_jpeg_is_sized_where_libjpeg_finds_its_frame_header_not_by_a_decoy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_image(_jpeg_with_decoy(64, 48)).shape == (48, 64, 3)  # what libjpeg reads: the hidden header
    forbid_decoding(monkeypatch)
    with pytest.raises(InputError, match=BOMB_OVER_THE_LIMIT):
        load_image(_jpeg_with_decoy(BOMB_SIDE, BOMB_SIDE))


def test_a_jpeg_declaring_its_frame_twice_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = encode(".jpg", np.zeros((48, 64, 3), np.uint8))
    segments = _jpeg_segments(plain)
    frame = next(segment for segment in segments if segment[1] == 0xC0)
    bomb_frame = frame[:5] + struct.pack(">HH", BOMB_SIDE, BOMB_SIDE) + frame[9:]
    twice = plain[:2] + b"".join(segment + bomb_frame if segment is frame else segment for segment in segments)
    forbid_decoding(monkeypatch)
    with pytest.raises(InputError, match=r"declares its frame .* twice"):
        load_image(twice)


def _gray_tiff(pages: list[list[tuple[int, int]]], pixels: bytes) -> bytes:
    """A little-endian TIFF whose pages each have the directory entries given, as (tag, LONG value) in
    that order, plus one uncompressed strip of 8-bit gray ``pixels`` that all pages share."""
    strip = [(259, 1), (262, 1), (273, 8), (277, 1), (279, len(pixels))]
    data = bytearray(b"II*\x00" + struct.pack("<I", 8 + len(pixels)) + pixels)
    for index, entries in enumerate(pages):
        directory = sorted([*entries, *strip], key=lambda entry: entry[0])  # stable: repeated tags keep their order
        following = len(data) + 2 + 12 * len(directory) + 4 if index + 1 < len(pages) else 0
        data += struct.pack("<H", len(directory))
        data += b"".join(struct.pack("<HHII", tag, 4, 1, value) for tag, value in directory)
        data += struct.pack("<I", following)
    return bytes(data)


def test_a_tiff_repeating_its_size_tags_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    pixels = bytes(range(256)) * 12  # 64 x 48
    first_wins = _gray_tiff([[(256, 64), (256, 10), (257, 48), (257, 10)]], pixels)
    assert opencv_reference(first_wins).shape == (48, 64, 3)  # libtiff keeps the first of repeated tags
    forbid_decoding(monkeypatch)
    bomb = _gray_tiff([[(256, BOMB_SIDE), (256, 10), (257, BOMB_SIDE), (257, 10)]], pixels)
    for crafted in (first_wins, bomb):
        with pytest.raises(InputError, match=r"declares tag 256 .* twice"):
            load_image(crafted)


@pytest.mark.parametrize(
    "pages, over",
    [
        ([[(256, 10), (257, 10)], [(256, BOMB_SIDE), (257, BOMB_SIDE)]], "page 2"),
        ([[(256, 10), (257, 10), (322, BOMB_SIDE), (323, BOMB_SIDE)]], "the tiles"),
    ],
    ids=["second-page", "tiles"],
)
def test_every_tiff_page_and_tile_size_is_checked_before_decoding(
    pages: list[list[tuple[int, int]]], over: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_decoding(monkeypatch)
    with pytest.raises(InputError, match=rf"\({over}\) is {BOMB_OVER_THE_LIMIT}"):
        load_image(_gray_tiff(pages, bytes(100)))


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + payload)


def _avif(items: list[tuple[bytes, bytes, tuple[int, int] | None]], after: bytes = b"") -> bytes:
    """An AVIF of ``items``, each (item type, data, size its ``ispe`` claims or None for no ``ispe``),
    numbered from 1; the first is the primary image. AV1 data lies in ``mdat``, other data (a grid's) in
    ``idat``; ``after`` ends the file."""
    file_type = _box(b"ftyp", b"avif\x00\x00\x00\x00avifmif1miaf")
    in_idat = b"".join(data for kind, data, _ in items if kind != b"av01")
    in_mdat = b"".join(data for kind, data, _ in items if kind == b"av01")

    def meta(mdat_payload_at: int) -> bytes:
        locations, mdat_offset, idat_offset = [], mdat_payload_at, 0
        for item, (kind, data, _) in enumerate(items, 1):
            if kind == b"av01":
                locations.append(struct.pack(">HHHHII", item, 0, 0, 1, mdat_offset, len(data)))
                mdat_offset += len(data)
            else:
                locations.append(struct.pack(">HHHHII", item, 1, 0, 1, idat_offset, len(data)))
                idat_offset += len(data)
        entries = b"".join(
            _full_box(b"infe", struct.pack(">HH4s", item, 0, kind) + b"\x00", version=2)
            for item, (kind, _, _) in enumerate(items, 1)
        )
        # Properties: 1 av1C (essential), 2 pixi, then the ispe of each item that has one.
        sized = [(item, size) for item, (_, _, size) in enumerate(items, 1) if size is not None]
        properties = _box(b"av1C", bytes([0x81, 0, 0x0C, 0])) + _full_box(b"pixi", bytes([3, 8, 8, 8]))
        properties += b"".join(_full_box(b"ispe", struct.pack(">II", *size)) for _, size in sized)
        ispe_index = {item: 3 + position for position, (item, _) in enumerate(sized)}
        indices = [
            [0x81, 0x02, *([ispe_index[item]] if item in ispe_index else [])] for item in range(1, len(items) + 1)
        ]
        associations = struct.pack(">I", len(items)) + b"".join(
            struct.pack(">HB", item, len(of_item)) + bytes(of_item) for item, of_item in enumerate(indices, 1)
        )
        return _full_box(
            b"meta",
            _full_box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13)
            + _full_box(b"pitm", struct.pack(">H", 1))
            + _full_box(b"iloc", bytes([0x44, 0x00]) + struct.pack(">H", len(items)) + b"".join(locations), 1)
            + _full_box(b"iinf", struct.pack(">H", len(items)) + entries)
            + _box(b"iprp", _box(b"ipco", properties) + _full_box(b"ipma", associations))
            + (_box(b"idat", in_idat) if in_idat else b""),
        )

    mdat_payload_at = len(file_type) + len(meta(0)) + 8
    return file_type + meta(mdat_payload_at) + _box(b"mdat", in_mdat) + after


def _av1_sequence_header(width: int, height: int) -> bytes:
    """An AV1 sequence header unit (the reduced still-picture form) allowing frames of up to ``width`` x
    ``height``, followed by an empty frame unit: enough to be sized, never to be decoded."""
    fields = "000110100011111111" + format(width - 1, "016b") + format(height - 1, "016b")
    fields += "0" * (-len(fields) % 8)
    payload = int(fields, 2).to_bytes(len(fields) // 8, "big")
    return bytes([0x0A, len(payload)]) + payload + b"\x32\x00"


def _opencv_av1_data() -> bytes:
    """The AV1 data of a 64x48 AVIF written by OpenCV, which puts nothing else in ``mdat``."""
    data = encode(".avif", np.random.default_rng(15).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    return data[data.index(b"mdat") + 4 :]


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda: _avif([(b"av01", _opencv_av1_data(), (10, 10))]), "claims 10x10 .* while its data is 64x48"),
        (
            lambda: _avif([(b"av01", _av1_sequence_header(BOMB_SIDE, BOMB_SIDE), (10, 10))]),
            f"claims 10x10 .* while its data is {BOMB_SIDE}x{BOMB_SIDE}",
        ),
        (
            lambda: _avif(
                [
                    (b"grid", struct.pack(">BBBBHH", 0, 0, 0, 0, 64, 48), (64, 48)),
                    (b"av01", _av1_sequence_header(BOMB_SIDE, BOMB_SIDE), None),
                ]
            ),
            rf"\(AV1 item 2\) is {BOMB_OVER_THE_LIMIT}",
        ),
        (
            lambda: _avif(
                [
                    (b"grid", struct.pack(">BBBBHH", 0, 0, 0, 0, BOMB_SIDE, BOMB_SIDE), (64, 48)),
                    (b"av01", _av1_sequence_header(64, 48), (64, 48)),
                ]
            ),
            f"claims 64x48 .* while its data is {BOMB_SIDE}x{BOMB_SIDE}",
        ),
        (
            lambda: _avif([(b"av01", _opencv_av1_data(), (64, 48))], after=_box(b"moov", b"")),
            "image sequence",
        ),
    ],
    ids=["ispe-smaller-than-the-frame", "ispe-hiding-a-bomb", "grid-tile-bomb", "grid-ispe-hiding-a-bomb", "sequence"],
)
def test_an_avif_is_sized_by_the_av1_data_the_decoder_decodes(
    make: Callable[[], bytes], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_image(_avif([(b"av01", _opencv_av1_data(), (64, 48))])).shape == (48, 64, 3)  # an honest one
    crafted = make()
    forbid_decoding(monkeypatch)
    with pytest.raises(InputError, match=says):
        load_image(crafted)


def test_a_decoded_size_that_differs_from_the_header_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(".png", np.zeros((48, 64, 3), np.uint8))
    monkeypatch.setattr(images.cv2, "imdecode", lambda buffer, flags: np.zeros((480, 64, 3), np.uint8))
    with pytest.raises(InputError, match="declares 64x48 pixels in its header but decodes to 64x480: the header lied"):
        load_image(data)


def test_opencv_refuses_by_itself_what_is_over_the_limit_unless_told_a_lower_limit() -> None:
    code = (
        "import os, numpy as np\n"
        "import modelrt.images, cv2\n"
        "print(os.environ['OPENCV_IO_MAX_IMAGE_PIXELS'])\n"
        "ok, png = cv2.imencode('.png', np.zeros((30, 40, 3), np.uint8))\n"  # 1200 pixels
        "try:\n"
        "    cv2.imdecode(png, cv2.IMREAD_COLOR)\n"
        "    print('decoded')\n"
        "except cv2.error:\n"
        "    print('refused')\n"
    )
    # OPENCV_IO_MAX_IMAGE_PIXELS as the user set it -> as OpenCV gets it, with MODELRT_MAX_IMAGE_PIXELS=1000
    for set_by_user, expected in [(None, "1000"), ("500", "500"), ("5000000000", "1000")]:
        environment = {**os.environ, MAX_IMAGE_PIXELS_ENV: "1000"}
        environment.pop("OPENCV_IO_MAX_IMAGE_PIXELS", None)
        if set_by_user is not None:
            environment["OPENCV_IO_MAX_IMAGE_PIXELS"] = set_by_user
        run = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
        assert run.stdout.split() == [expected, "refused"], f"OPENCV_IO_MAX_IMAGE_PIXELS set to {set_by_user}"


SPARSE_SIZE = 64 * 1024 * 1024


def test_a_file_over_the_limit_is_refused_after_reading_its_header_only(tmp_path: Path, bytes_read: list[int]) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.write(_png_declaring(100_000, 100_000))
        file.truncate(SPARSE_SIZE)  # sparse: costs no disk, but reading it would cost 64 MiB of memory
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"100000x100000 = .* over the limit"):
            load_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(bytes_read) <= 65536
    assert peak < 1024 * 1024


def test_an_accepted_file_is_read_once_without_a_second_copy(tmp_path: Path, bytes_read: list[int]) -> None:
    path = tmp_path / "padded.png"
    with path.open("wb") as file:
        file.write(encode(".png", np.full((48, 64, 3), 77, np.uint8)))
        file.truncate(SPARSE_SIZE)  # bytes after the end of a PNG are ignored
    tracemalloc.start()
    try:
        assert (load_image(path) == 77).all()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert SPARSE_SIZE <= sum(bytes_read) <= SPARSE_SIZE + 65536
    assert peak < SPARSE_SIZE + 4 * 1024 * 1024


# ------------------------------------------------------------------------------------- encoded data


@pytest.mark.parametrize("extension", list(FORMATS))
def test_every_decoded_format_gives_opencvs_pixels_and_lossless_ones_the_originals(extension: str) -> None:
    photo = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    data = encode(extension, photo)
    loaded = load_image(data)
    np.testing.assert_array_equal(loaded, opencv_reference(data))
    if FORMATS[extension]:
        np.testing.assert_array_equal(loaded, photo)


@pytest.mark.parametrize("examples", FUZZ_EXAMPLES)
def test_every_truncation_of_every_format_is_an_input_error(examples: int) -> None:
    @settings(max_examples=examples, deadline=None)
    @given(st.sampled_from(list(FORMATS)), photos(), st.floats(0, 1, exclude_max=True))
    def check(extension: str, photo: np.ndarray, kept: float) -> None:
        data = encode(extension, photo)
        with pytest.raises(InputError):
            load_image(data[: int(len(data) * kept)])

    check()


def test_a_jpeg_missing_only_its_last_bytes_is_an_input_error() -> None:
    # A photo whose scan data ends just before the end marker: libjpeg decodes it cut short as well.
    data = encode(".jpg", np.random.default_rng(18).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    assert load_image(data).shape == (48, 64, 3)
    for cut in (1, 2):
        with pytest.raises(InputError, match="truncated JPEG file"):
            load_image(data[:-cut])


@pytest.mark.parametrize("examples", FUZZ_EXAMPLES)
def test_corrupted_bytes_are_an_input_error_or_a_decode_within_the_limit(
    examples: int, small_limit: int, decoded_sizes: list[int]
) -> None:
    @settings(max_examples=examples, deadline=None)
    @given(st.sampled_from(list(FORMATS)), photos(), st.data())
    def check(extension: str, photo: np.ndarray, data: st.DataObject) -> None:
        corrupted = bytearray(encode(extension, photo))
        for _ in range(data.draw(st.integers(1, 6))):
            corrupted[data.draw(st.integers(0, len(corrupted) - 1))] = data.draw(st.integers(0, 255))
        try:
            loaded = load_image(bytes(corrupted))
        except InputError:
            return
        assert loaded.dtype == np.uint8 and loaded.ndim == 3 and loaded.shape[2] == 3
        if extension == ".png":  # CRCs guard every chunk: the pixels are the original ones or nothing
            np.testing.assert_array_equal(loaded, photo)

    check()
    assert all(size <= small_limit for size in decoded_sizes), "the decoder made an image over the limit"


@pytest.mark.parametrize("extension", list(FORMATS))
def test_bytes_after_the_end_of_an_image_are_ignored(extension: str) -> None:
    photo = np.random.default_rng(4).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    data = encode(extension, photo)
    np.testing.assert_array_equal(load_image(data + b"\x00trailing junk" * 50), load_image(data))


@quick
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_an_input_error_or_exactly_opencvs_decode(data: bytes) -> None:
    try:
        loaded = load_image(data)
    except InputError:
        return
    np.testing.assert_array_equal(loaded, opencv_reference(data))


NON_IMAGES = {
    "text": b"hello, this is a text file\n" * 20,
    "json": b'{"image": "cat.jpg"}',
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "zip": b"PK\x03\x04" + b"\x00" * 100,
    "npy": b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (4, 4, 3), }",
    "html": b"<!doctype html><html><body><img src=x></body></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
    "nul": b"\x00" * 4096,
    "one-byte": b"\xff",
}


@pytest.mark.parametrize("content", list(NON_IMAGES.values()), ids=list(NON_IMAGES))
def test_a_non_image_is_an_input_error_saying_what_is_decodable(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "upload.jpg"
    path.write_bytes(content)
    for source in (content, path):
        with pytest.raises(InputError, match=r"not a decodable image \(PNG, JPEG"):
            load_image(source)


def test_an_executable_is_refused_after_reading_at_most_64_kib(bytes_read: list[int]) -> None:
    executable = Path(sys.executable).resolve()
    with pytest.raises(InputError, match="not a decodable image"):
        load_image(executable)
    assert sum(bytes_read) <= 65536


def test_empty_bytes_and_an_empty_file_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    for source in (b"", bytearray(), memoryview(b""), tmp_path / "empty.png"):
        with pytest.raises(InputError, match="0 bytes"):
            load_image(source)


def test_a_non_contiguous_memoryview_of_an_image_decodes() -> None:
    data = encode(".png", np.full((5, 6, 3), 33, np.uint8))
    doubled = np.repeat(np.frombuffer(data, np.uint8), 2)
    assert (load_image(doubled.data[::2]) == 33).all()


# ------------------------------------------------------------------------------------- paths


@pytest.fixture
def photo_file(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(encode(".png", np.full((6, 8, 3), 120, np.uint8)))
    return path


def test_a_path_as_str_or_path_equals_its_bytes(photo_file: Path) -> None:
    expected = load_image(photo_file.read_bytes())
    np.testing.assert_array_equal(load_image(photo_file), expected)
    np.testing.assert_array_equal(load_image(str(photo_file)), expected)


def _fifo(directory: Path) -> str:
    os.mkfifo(directory / "pipe.png")  # no writer: a blocking open() for reading would wait forever
    return str(directory / "pipe.png")


def _dangling_link(directory: Path) -> str:
    (directory / "dangling.png").symlink_to(directory / "nowhere.png")
    return str(directory / "dangling.png")


def _link_loop(directory: Path) -> str:
    (directory / "loop.png").symlink_to(directory / "loop.png")
    return str(directory / "loop.png")


def _file_used_as_directory(directory: Path) -> str:
    (directory / "file.txt").write_text("x")
    return str(directory / "file.txt" / "photo.png")


WRONG_PATHS: dict[str, tuple[Callable[[Path], str], str]] = {
    "missing": (lambda directory: str(directory / "missing.png"), "does not exist"),
    "directory": (str, "is a directory"),
    "fifo": (_fifo, "not a regular file"),
    "character-device": (lambda _: "/dev/zero", "not a regular file"),
    "dangling-symlink": (_dangling_link, "does not exist"),
    "symlink-loop": (_link_loop, "cannot read image file"),
    "nul-in-the-name": (lambda directory: str(directory / "a\x00b.png"), "NUL character"),
    "name-too-long": (lambda directory: str(directory / ("x" * 5000)), "cannot read image file"),
    "file-used-as-directory": (_file_used_as_directory, "cannot read image file"),
}


@pytest.mark.parametrize("make, says", list(WRONG_PATHS.values()), ids=list(WRONG_PATHS))
@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
@pytest.mark.timeout(60)  # a hang guard: opening the FIFO must not wait for a writer
def test_a_path_naming_no_readable_file_is_an_input_error_without_blocking(
    make: Callable[[Path], str], says: str, as_path: bool, tmp_path: Path
) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError, match=says):
        load_image(Path(path) if as_path else path)


def test_a_url_is_an_input_error_saying_to_download_it() -> None:
    with pytest.raises(InputError, match="looks like a URL"):
        load_image("https://example.com/cat.jpg")


def test_an_unreadable_file_is_an_input_error(photo_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Permission bits do not stop root, which CI may be: the refusal the OS would give is injected instead.
    real_open = os.open

    def refuse(path: str, flags: int, *args: object) -> int:
        if os.fspath(path) == str(photo_file):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(images.os, "open", refuse)
    with pytest.raises(InputError, match="Permission denied"):
        load_image(photo_file)


@quick
@given(st.text(max_size=40))
def test_an_arbitrary_string_that_names_no_image_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError):
        load_image(text)


@pytest.mark.timeout(60)  # a hang guard: opening the FIFO must not wait for a writer
def test_a_fifo_in_a_batch_does_not_block_the_other_images(tmp_path: Path, photo_file: Path) -> None:
    fifo = tmp_path / "camera.pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"image 1 of the 2 given: .*camera.pipe is not a regular file"):
        load_images([photo_file, fifo])


# ------------------------------------------------------------------------------------- PIL


PIL_8_BIT_MODES = ["1", "L", "P", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "LA", "PA"]


@pytest.mark.parametrize("mode", PIL_8_BIT_MODES)
def test_a_pil_image_of_an_8_bit_mode_equals_pils_own_rgb_conversion(mode: str) -> None:
    rgb = Image.fromarray(np.random.default_rng(5).integers(0, 256, (6, 7, 3), dtype=np.uint8))
    image = rgb.convert(mode)
    np.testing.assert_array_equal(load_image(image), np.asarray(image.convert("RGB")))


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_a_16_bit_pil_image_is_scaled_to_8_bits_as_opencv_scales_a_16_bit_file(mode: str) -> None:
    pixels = np.random.default_rng(5).integers(0, 65536, (6, 7), dtype=np.uint16)
    byte_order = ">u2" if mode == "I;16B" else "<u2"
    image = Image.frombytes(mode, (7, 6), pixels.astype(byte_order).tobytes())
    np.testing.assert_array_equal(load_image(image), np.stack([(pixels >> 8).astype(np.uint8)] * 3, axis=-1))


@pytest.mark.parametrize("mode", ["I", "F"])
def test_a_pil_image_whose_pixel_range_is_unknown_is_an_input_error_with_the_conversion(mode: str) -> None:
    image = Image.fromarray(np.full((6, 7), 300, np.int32)).convert(mode)
    with pytest.raises(InputError, match=f"mode {mode} .*range modelrt cannot know; convert it first"):
        load_image(image)


def _pil_saved(image: Image.Image, file_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def _rotated_by_exif(file_format: str, **options: Any) -> Callable[[], bytes]:
    """A 40x56 photo saved with EXIF orientation 6: shown turned a quarter, 56 tall and 40 wide."""

    def make() -> bytes:
        rng = np.random.default_rng(11)
        photo = cv2.GaussianBlur(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), (5, 5), 0)
        exif = Image.Exif()
        exif[274] = 6
        return _pil_saved(Image.fromarray(photo), file_format, exif=exif, **options)

    return make


def _sixteen_bit(extension: str, channels: int) -> Callable[[], bytes]:
    def make() -> bytes:
        shape = (9, 7) if channels == 1 else (9, 7, channels)
        return encode_raw(extension, np.random.default_rng(12).integers(0, 65536, shape, dtype=np.uint16))

    return make


SAME_FILE_CASES: dict[str, Callable[[], bytes]] = {
    "jpeg-rotated-by-exif": _rotated_by_exif("JPEG"),
    "png-rotated-by-exif": _rotated_by_exif("PNG"),
    "webp-rotated-by-exif": _rotated_by_exif("WEBP", lossless=True),
    "tiff-rotated-by-exif": _rotated_by_exif("TIFF"),
    "avif-with-exif-orientation": _rotated_by_exif("AVIF", quality=100),  # OpenCV keeps AVIF unturned
    "png-16-bit-gray": _sixteen_bit(".png", 1),
    "tiff-16-bit-gray": _sixteen_bit(".tiff", 1),
    "png-16-bit-color": _sixteen_bit(".png", 3),
    "png-palette-with-transparency": lambda: _pil_saved(
        Image.fromarray(np.random.default_rng(13).integers(0, 256, (9, 7, 3), dtype=np.uint8)).convert("P"),
        "PNG",
        transparency=3,
    ),
}


def test_a_file_gives_the_same_pixels_as_a_path_as_bytes_and_opened_with_pil(tmp_path: Path) -> None:
    for name, make in SAME_FILE_CASES.items():
        data = make()
        path = tmp_path / name
        path.write_bytes(data)
        from_path = load_image(path)
        np.testing.assert_array_equal(load_image(data), from_path, err_msg=f"{name} as bytes")
        with Image.open(path) as opened:
            np.testing.assert_array_equal(load_image(opened), from_path, err_msg=f"{name} with PIL")
        with Image.open(path) as opened:
            opened.load()
            np.testing.assert_array_equal(load_image(opened), from_path, err_msg=f"{name} with PIL, loaded")


def test_an_exif_rotated_jpeg_is_shown_turned_whichever_way_it_is_passed(tmp_path: Path) -> None:
    data = _rotated_by_exif("JPEG")()
    with Image.open(io.BytesIO(data)) as opened:
        assert load_image(opened).shape == load_image(data).shape == (56, 40, 3)


def test_a_truncated_file_opened_with_pil_is_an_input_error() -> None:
    data = encode(".png", np.full((40, 50, 3), 8, np.uint8))
    lazily_opened = Image.open(io.BytesIO(data[: len(data) // 2]))
    with pytest.raises(InputError, match="could not be turned into RGB pixels"):
        load_image(lazily_opened)


def test_a_pil_image_over_the_limit_is_refused_before_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    image = Image.new("L", (100, 100))
    monkeypatch.setattr(image, "convert", lambda *args: pytest.fail("converted"))
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "9999")
    with pytest.raises(InputError, match="over the limit"):
        load_image(image)


@pytest.mark.parametrize(
    "value",
    [None, 42, 3.5, "", [[1, 2], [3, 4]], {"image": 1}, object(), np.uint8(3), b"".decode],
    ids=["None", "int", "float", "empty-str", "nested-list", "dict", "object", "numpy-scalar", "function"],
)
def test_any_other_object_is_an_input_error(value: object) -> None:
    with pytest.raises(InputError):
        load_image(value)


# ------------------------------------------------------------------------------- through Model.predict


def _same_image_as(photo: np.ndarray, kind: str, tmp_path: Path) -> tuple[object, str]:
    """``photo`` passed the way ``kind`` says, with the ``color`` argument that goes with it."""
    if kind == "bgr":
        return np.ascontiguousarray(photo[:, :, ::-1]), "bgr"
    if kind == "rgba":
        return np.dstack([photo, np.full(photo.shape[:2], 7, np.uint8)]), "rgb"
    if kind == "strided":
        return np.repeat(photo, 2, axis=1)[:, ::2], "rgb"
    if kind in ("float16", "float32", "float64"):
        return (photo / 255).astype(kind), "rgb"
    if kind == "png-bytes":
        return encode(".png", photo), "rgb"
    if kind == "png-file":
        path = tmp_path / "photo.png"
        path.write_bytes(encode(".png", photo))
        return path, "rgb"
    if kind == "pil":
        return Image.fromarray(photo), "rgb"
    raise AssertionError(kind)


SAME_IMAGE_KINDS = ["bgr", "rgba", "strided", "float16", "float32", "float64", "png-bytes", "png-file", "pil"]


@pytest.mark.parametrize("kind", SAME_IMAGE_KINDS)
def test_every_accepted_kind_predicts_what_its_uint8_rgb_array_predicts(
    classifier: modelrt.Model, kind: str, tmp_path: Path
) -> None:
    photo = np.random.default_rng(6).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    image, color = _same_image_as(photo, kind, tmp_path)
    expected = classifier.predict(photo, color="rgb").probabilities
    np.testing.assert_array_equal(classifier.predict(image, color=color).probabilities, expected)


def test_an_array_read_by_opencv_predicts_what_its_file_predicts(classifier: modelrt.Model, tmp_path: Path) -> None:
    photo = np.random.default_rng(7).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    path.write_bytes(encode(".png", photo))
    expected = classifier.predict(path).probabilities
    np.testing.assert_array_equal(classifier.predict(cv2.imread(str(path))).probabilities, expected)
    np.testing.assert_array_equal(classifier.predict(photo, color="rgb").probabilities, expected)
    assert not np.array_equal(classifier.predict(photo).probabilities, expected)  # RGB taken for BGR differs


def test_a_grayscale_image_predicts_what_its_three_channel_copy_predicts(classifier: modelrt.Model) -> None:
    gray = np.random.default_rng(8).integers(0, 256, (30, 40), dtype=np.uint8)
    expected = classifier.predict(np.stack([gray] * 3, axis=-1)).probabilities
    for image in (gray, gray[:, :, None]):
        np.testing.assert_array_equal(classifier.predict(image).probabilities, expected)


REFUSED = {
    "nan": np.full((8, 8, 3), np.nan, np.float32),
    "float-0-255": np.full((8, 8, 3), 128.0, np.float32),
    "int64": np.zeros((8, 8, 3), np.int64),
    "two-channels": np.zeros((8, 8, 2), np.uint8),
    "empty": np.zeros((0, 8, 3), np.uint8),
    "batch-array": np.zeros((2, 8, 8, 3), np.uint8),
    "garbage-bytes": b"GIF89a\x00\x00garbage",
    "missing-file": "/nonexistent/cat.jpg",
}


@pytest.mark.parametrize("image", list(REFUSED.values()), ids=list(REFUSED))
def test_a_refused_image_is_an_input_error_and_the_model_keeps_working(
    classifier: modelrt.Model, image: object
) -> None:
    photo = np.random.default_rng(9).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    before = classifier.predict(photo).probabilities
    with pytest.raises(InputError):
        classifier.predict(image)
    with pytest.raises(InputError, match="image 1 of the 2 given"):
        classifier.predict([photo, image])
    np.testing.assert_array_equal(classifier.predict(photo).probabilities, before)
