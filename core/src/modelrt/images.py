"""Turn what a caller passes as an image into one checked array: RGB uint8 HxWx3, C-contiguous.

What is accepted, and what the result equals (everything else is an ``InputError`` that says why and
what to do):

- numpy arrays, HxWx3 in ``color`` order, HxW or HxWx1 grayscale (the three channels are equal),
  HxWx4 with alpha (dropped); any strides. ``uint8`` pixels are used as they are. Floating-point
  arrays (float16/32/64) whose values are all finite and within [0, 1] are accepted too, and equal the
  uint8 image ``rint(x * 255)`` (computed in float64), so ``u / 255`` gives back exactly ``u``.
  Refused: floats outside [0, 1] (a 0-255 float image would otherwise be read as mostly white), NaN
  and infinity, and every other dtype (bool, signed and wider integers, ...): their pixel range is
  ambiguous (8-bit values in a wider type, 12- or 16-bit sensor data), and guessing wrong silently
  ruins every prediction, so the message gives the conversion to make.
- Paths (``str`` or ``Path``) of regular files, and encoded bytes (``bytes``, ``bytearray``,
  ``memoryview``): decoded as OpenCV decodes them (EXIF orientation applied, alpha dropped, 16-bit
  scaled to 8-bit), then converted to RGB. Only formats whose image size modelrt reads from the header
  are decoded: PNG, JPEG, WebP, BMP, TIFF (and BigTIFF), GIF, PNM/PAM/PFM, Sun raster, JPEG 2000,
  Radiance HDR and AVIF. Anything else, an empty or truncated file, a damaged header, or data the
  decoder rejects is an ``InputError``. Directories, devices, pipes and sockets are refused without
  being opened for reading, so ``/dev/zero`` or a FIFO never hangs a caller.
- PIL images: converted with PIL's own ``convert("RGB")``; a lazily opened file that turns out
  broken is an ``InputError``.

Size limit: an image may have at most ``max_image_pixels()`` pixels (``MAX_IMAGE_PIXELS``, 100 million,
or ``MODELRT_MAX_IMAGE_PIXELS``). Arrays and PIL images are checked before any conversion; encoded
data before decoding, from the size its header declares, so a small file that expands to gigabytes
is never decoded; the decoded size is checked again after decoding.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from modelrt.errors import InputError

__all__ = ["MAX_IMAGE_PIXELS", "MAX_IMAGE_PIXELS_ENV", "load_image", "load_images", "max_image_pixels"]

MAX_IMAGE_PIXELS = 100_000_000
MAX_IMAGE_PIXELS_ENV = "MODELRT_MAX_IMAGE_PIXELS"
COLOR_ORDERS = ("rgb", "bgr")
DECODED_FORMATS = "PNG, JPEG, WebP, BMP, TIFF, GIF, PNM/PAM/PFM, Sun raster, JPEG 2000, Radiance HDR, AVIF"

#: Bytes read from a file before deciding whether it is an image at all.
_HEAD_BYTES = 65536
#: Rows of a float image converted at once, so the float64 scratch stays small.
_FLOAT_CHUNK_ELEMENTS = 1 << 20


def max_image_pixels() -> int:
    """The pixel limit: ``MODELRT_MAX_IMAGE_PIXELS`` when set, else ``MAX_IMAGE_PIXELS``."""
    raw = os.environ.get(MAX_IMAGE_PIXELS_ENV)
    if raw is None or not raw.strip():
        return MAX_IMAGE_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(
            f"{MAX_IMAGE_PIXELS_ENV}={raw!r} is not a positive whole number of pixels; "
            f"set it to e.g. 200000000 or unset it for the default {MAX_IMAGE_PIXELS}"
        )
    return value


def load_images(images: Any, color: str = "rgb") -> tuple[list[np.ndarray], bool]:
    """Load one image or a list/tuple of them; returns the arrays and whether a single image was passed.

    An error in a list names the position of the image that caused it.
    """
    if not isinstance(images, list | tuple):
        return [load_image(images, color)], True
    loaded = []
    for index, image in enumerate(images):
        try:
            loaded.append(load_image(image, color))
        except InputError as error:
            raise InputError(f"image {index} of the {len(images)} given: {error}") from None
    return loaded, False


def load_image(obj: Any, color: str = "rgb") -> np.ndarray:
    """One image as RGB uint8 HxWx3, C-contiguous; ``InputError`` saying what to do for anything else.

    ``color`` is the channel order of a numpy array ("bgr" for arrays from OpenCV); files, bytes and
    PIL images carry their own order. A uint8 array already in the right form is returned without a copy.
    """
    if color not in COLOR_ORDERS:
        raise InputError(f"color={color!r} is not a channel order; use 'rgb' or 'bgr' (arrays from OpenCV)")
    if isinstance(obj, np.ndarray):
        return _from_array(obj, color)
    if isinstance(obj, str | Path):
        return _decode(_read_file(obj), source=str(obj))
    if isinstance(obj, bytes | bytearray | memoryview):
        return _decode(_byte_view(obj), source="the given bytes")
    if _is_pil_image(obj):
        return _from_pil(obj)
    raise InputError(
        f"cannot use a {type(obj).__module__}.{type(obj).__qualname__} as an image; pass a numpy array "
        "(HxWx3 uint8, or float in [0, 1]), a PIL image, a file path or the bytes of an encoded image"
    )


# ------------------------------------------------------------------------------------------- arrays


def _from_array(array: np.ndarray, color: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3):
        hint = "; for a batch, pass a list of images" if array.ndim == 4 else ""
        raise InputError(
            f"image array has shape {array.shape}; expected HxWx3 (color), HxWx4 (with alpha) or HxW (grayscale){hint}"
        )
    channels = array.shape[2] if array.ndim == 3 else 1
    if channels not in (1, 3, 4):
        raise InputError(
            f"image array has {channels} channels (shape {array.shape}); expected 3 (color), "
            "4 (color with alpha) or 1 (grayscale)"
        )
    _check_size(array.shape[0], array.shape[1], "the image array")
    array = _as_uint8(array)
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_GRAY2RGB)
    if color == "bgr":
        code = cv2.COLOR_BGR2RGB if channels == 3 else cv2.COLOR_BGRA2RGB
        return cv2.cvtColor(np.ascontiguousarray(array), code)
    if channels == 4:
        array = array[:, :, :3]
    return np.ascontiguousarray(array)


def _as_uint8(array: np.ndarray) -> np.ndarray:
    """uint8 pixels as they are; floats in [0, 1] scaled to 0-255; an ``InputError`` for any other dtype."""
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind != "f":
        raise InputError(_dtype_refusal(array.dtype))
    low, high = array.min(), array.max()  # NaN propagates through both, so one pass finds it
    if np.isnan(low) or np.isnan(high):
        raise InputError(
            f"image array ({array.dtype}) holds NaN values; a float image must hold finite values in [0, 1]"
        )
    if low < 0 or high > 1:
        raise InputError(
            f"image array ({array.dtype}) holds values from {low} to {high}; a float image must hold values "
            "in [0, 1]. For 0-255 values convert it first: image.clip(0, 255).round().astype(np.uint8)"
        )
    pixels = np.empty(array.shape, np.uint8)
    rows = max(1, _FLOAT_CHUNK_ELEMENTS // max(1, array[0].size))
    for start in range(0, array.shape[0], rows):
        scaled = np.multiply(array[start : start + rows], 255.0, dtype=np.float64)
        pixels[start : start + rows] = np.rint(scaled, out=scaled)
    return pixels


def _dtype_refusal(dtype: np.dtype) -> str:
    accepted = "modelrt takes uint8 pixels (0-255) or floats in [0, 1]"
    if dtype.kind in "iu":
        return (
            f"image array has dtype {dtype}; {accepted}. An integer array's range is ambiguous (8-bit values "
            "in a wider type, 12- or 16-bit sensor data), so convert it yourself: image.astype(np.uint8) "
            "for 0-255 values, (image >> 8).astype(np.uint8) for 16-bit ones"
        )
    if dtype.kind == "b":
        return f"image array has dtype bool; {accepted}. For a mask, pass image.astype(np.uint8) * 255"
    return f"image array has dtype {dtype}, which does not hold pixel values; {accepted}"


def _check_size(height: int, width: int, source: str) -> None:
    if height == 0 or width == 0:
        raise InputError(f"{source} is empty ({height}x{width} pixels); pass an image with pixels in it")
    limit = max_image_pixels()
    if height * width > limit:
        raise InputError(
            f"{source} is {width}x{height} = {height * width} pixels, over the limit of {limit}; "
            f"downscale it first, or raise the limit with {MAX_IMAGE_PIXELS_ENV} if you trust the source"
        )


# ------------------------------------------------------------------------------------ files and bytes


def _byte_view(obj: bytes | bytearray | memoryview) -> memoryview:
    view = memoryview(obj)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return view.cast("B")


def _read_file(path: str | Path) -> memoryview:
    text = os.fspath(path)
    if "://" in text:
        raise InputError(
            f"{text!r} looks like a URL; modelrt reads local files only. Download it first and pass the path"
        )
    if "\x00" in text:
        raise InputError(f"image path {text!r} contains a NUL character, which no file name can hold; check the path")
    # O_NONBLOCK: opening a FIFO must not wait for a writer; the file type is checked right after.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(text, flags)
    except FileNotFoundError:
        raise InputError(f"image file {text} does not exist; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{text} is a directory, not an image file; pass the image files in it") from None
    except OSError as error:
        raise InputError(f"cannot read image file {text}: {error.strerror or error}") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise InputError(f"{text} is a directory, not an image file; pass the image files in it")
        raise InputError(f"{text} is not a regular file (a device, pipe or socket); pass an image file")
    with os.fdopen(descriptor, "rb") as handle:
        try:
            head = handle.read(_HEAD_BYTES)
            if head and _image_format(head) is None:
                return memoryview(head)  # not an image: no need to read the rest to say so
            return memoryview(head + handle.read())
        except OSError as error:
            raise InputError(f"cannot read image file {text}: {error.strerror or error}") from None


def _decode(data: memoryview, source: str) -> np.ndarray:
    if len(data) == 0:
        raise InputError(f"{source}: no data (0 bytes); pass a non-empty image")
    kind = _image_format(bytes(data[:_MAGIC_BYTES]))
    if kind is None:
        raise InputError(f"{source} is not a decodable image ({DECODED_FORMATS}); check that it is an image file")
    try:
        declared = _SIZE_READERS[kind](data)
    except (struct.error, ValueError, IndexError):  # a header cut short or inconsistent
        declared = None
    if declared is None:
        raise InputError(
            f"{source} starts like a {kind} file, but its header does not say the image size (damaged or "
            "truncated); check that the file is complete"
        )
    _check_size(declared[1], declared[0], source)
    # IMREAD_COLOR always yields 8-bit BGR: it drops alpha, expands grayscale, scales 16-bit down and
    # applies the EXIF orientation, which is what a photo's viewer shows.
    try:
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as error:  # some decoders assert instead of returning None on malformed data
        raise InputError(f"{source} is a damaged {kind} file ({error.err}); check that it is complete") from None
    if decoded is None:
        raise InputError(f"{source} is a damaged or truncated {kind} file; check that the file is complete")
    _check_size(decoded.shape[0], decoded.shape[1], source)
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


# ------------------------------------------------------------------------------------------------ PIL


def _is_pil_image(obj: Any) -> bool:
    # PIL is never imported to answer this: only an object whose class comes from PIL can be one.
    return any(cls.__module__.split(".")[0] == "PIL" for cls in type(obj).__mro__) and hasattr(obj, "convert")


def _from_pil(image: Any) -> np.ndarray:
    width, height = image.size
    _check_size(height, width, "the PIL image")
    try:
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
    except MemoryError:
        raise
    except Exception as error:  # PIL decodes lazily: a broken file fails here, with the decoder's own error
        raise InputError(
            f"the PIL image (mode {image.mode}) could not be turned into RGB pixels ({type(error).__name__}: "
            f"{error}); if it was opened from a file, the file is damaged or truncated"
        ) from None


# ----------------------------------------------------------------- image sizes from encoded headers
#
# Each reader returns (width, height) as the header declares it, or None; it may raise struct.error or
# IndexError on data cut short. Readers see the whole data where the size may lie anywhere in it (a
# TIFF's directory is often written last; a JPEG's frame header may follow large metadata segments).

_MAGIC_BYTES = 64
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_TIFF_MAX_ENTRIES = 4096
# A comment runs to the end of its line; requiring that end keeps the pattern free of backtracking blow-ups.
_PNM_SEPARATOR = rb"(?:\s|#[^\r\n]*[\r\n])+"
_PNM_SIZE = re.compile(rb"P[1-6]" + _PNM_SEPARATOR + rb"(\d+)" + _PNM_SEPARATOR + rb"(\d+)")
_PFM_SIZE = re.compile(rb"P[Ff]\s+(\d+)\s+(\d+)")
_HDR_RESOLUTION = re.compile(rb"([-+])([XY]) +(\d+) +([-+])([XY]) +(\d+)")


def _image_format(head: bytes) -> str | None:
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
    if head.startswith(_JP2_SIGNATURE) or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if head.startswith((b"#?RADIANCE", b"#?RGBE")):
        return "Radiance HDR"
    if head[4:8] == b"ftyp" and _is_avif(head):
        return "AVIF"
    return None


def _png_size(data: memoryview) -> tuple[int, int] | None:
    if bytes(data[12:16]) != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", data, 16)
    return width, height


def _jpeg_size(data: memoryview) -> tuple[int, int] | None:
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker in _JPEG_STANDALONE_MARKERS:
            offset += 2
            continue
        if marker in (0xD8, 0xD9, 0xDA):  # another start, the end, or scan data before any frame header
            return None
        if marker in _JPEG_SOF_MARKERS:
            height, width = struct.unpack_from(">HH", data, offset + 5)
            return width, height
        (length,) = struct.unpack_from(">H", data, offset + 2)
        if length < 2:
            return None
        offset += 2 + length
    return None


def _webp_size(data: memoryview) -> tuple[int, int] | None:
    chunk = bytes(data[12:16])
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L":
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and bytes(data[23:26]) == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    return None


def _bmp_size(data: memoryview) -> tuple[int, int] | None:
    (header_size,) = struct.unpack_from("<I", data, 14)
    if header_size == 12:  # the old OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
        width, height = struct.unpack_from("<HH", data, 18)
        return width, height
    width, height = struct.unpack_from("<ii", data, 18)
    return abs(width), abs(height)  # a negative height means rows are stored top-down


def _tiff_size(data: memoryview) -> tuple[int, int] | None:
    order = "<" if bytes(data[:2]) == b"II" else ">"
    (version,) = struct.unpack_from(order + "H", data, 2)
    big = version == 43  # BigTIFF: 64-bit offsets and counts, 20-byte directory entries
    (directory,) = struct.unpack_from(order + ("Q" if big else "I"), data, 8 if big else 4)
    count_format, entry_size, value_offset = ("Q", 20, 12) if big else ("H", 12, 8)
    (entries,) = struct.unpack_from(order + count_format, data, directory)
    first = directory + struct.calcsize(count_format)
    sizes: dict[int, int] = {}
    for index in range(min(entries, _TIFF_MAX_ENTRIES)):
        position = first + index * entry_size
        tag, value_type = struct.unpack_from(order + "HH", data, position)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT, LONG or (BigTIFF) LONG8 values
            value_format = {3: "H", 4: "I", 16: "Q"}.get(value_type)
            if value_format is None:
                return None
            (sizes[tag],) = struct.unpack_from(order + value_format, data, position + value_offset)
    if 256 not in sizes or 257 not in sizes:
        return None
    return sizes[256], sizes[257]


def _gif_size(data: memoryview) -> tuple[int, int] | None:
    width, height = struct.unpack_from("<HH", data, 6)
    return width, height


def _pnm_size(data: memoryview) -> tuple[int, int] | None:
    head = bytes(data[:4096])
    if head.startswith(b"P7"):  # PAM: "WIDTH n" and "HEIGHT n" lines before ENDHDR
        header = head.split(b"ENDHDR", 1)[0]
        width = re.search(rb"(?m)^[ \t]*WIDTH[ \t]+(\d+)", header)
        height = re.search(rb"(?m)^[ \t]*HEIGHT[ \t]+(\d+)", header)
        return (int(width.group(1)), int(height.group(1))) if width and height else None
    found = _PNM_SIZE.match(head) or _PFM_SIZE.match(head)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _sun_raster_size(data: memoryview) -> tuple[int, int] | None:
    width, height = struct.unpack_from(">II", data, 4)
    return width, height


def _jpeg2000_size(data: memoryview) -> tuple[int, int] | None:
    if bytes(data[:4]) == b"\xff\x4f\xff\x51":  # a bare codestream: the SIZ segment follows SOC
        width, height, x_offset, y_offset = struct.unpack_from(">IIII", data, 8)
        return width - x_offset, height - y_offset
    for box, start, end in _boxes(data, 0, len(data)):
        if box == b"jp2h":
            for child, child_start, _ in _boxes(data, start, end):
                if child == b"ihdr":
                    height, width = struct.unpack_from(">II", data, child_start)
                    return width, height
    return None


def _hdr_size(data: memoryview) -> tuple[int, int] | None:
    head = bytes(data[:8192])
    blank_line = head.find(b"\n\n")  # the header ends with an empty line; the resolution line follows
    if blank_line < 0:
        return None
    found = _HDR_RESOLUTION.fullmatch(head[blank_line + 2 :].split(b"\n", 1)[0].strip())
    if found is None:
        return None
    first, second = int(found.group(3)), int(found.group(6))
    return (second, first) if found.group(2) == b"Y" else (first, second)


def _is_avif(head: bytes) -> bool:
    (size,) = struct.unpack_from(">I", head, 0)
    brands = head[8 : min(size, len(head))]
    return any(brands[i : i + 4] in (b"avif", b"avis") for i in range(0, len(brands) - 3, 4))


def _avif_size(data: memoryview) -> tuple[int, int] | None:
    """The largest ``ispe`` (image spatial extent) property: the full image when it is a grid of tiles."""
    sizes = []
    for box, start, end in _boxes(data, 0, len(data)):
        if box != b"meta":
            continue
        for child, child_start, child_end in _boxes(data, start + 4, end):  # meta is a full box
            if child != b"iprp":
                continue
            for group, group_start, group_end in _boxes(data, child_start, child_end):
                if group != b"ipco":
                    continue
                for prop, prop_start, _ in _boxes(data, group_start, group_end):
                    if prop == b"ispe":
                        sizes.append(struct.unpack_from(">II", data, prop_start + 4))
    return max(sizes, key=lambda size: size[0] * size[1]) if sizes else None


def _boxes(data: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO base media (and JPEG 2000) boxes between ``start`` and ``end``: (type, payload start, box end)."""
    offset = start
    while offset + 8 <= end:
        size, box = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield box, offset + header, offset + size
        offset += size


_SIZE_READERS = {
    "PNG": _png_size,
    "JPEG": _jpeg_size,
    "WebP": _webp_size,
    "BMP": _bmp_size,
    "TIFF": _tiff_size,
    "GIF": _gif_size,
    "PNM": _pnm_size,
    "Sun raster": _sun_raster_size,
    "JPEG 2000": _jpeg2000_size,
    "Radiance HDR": _hdr_size,
    "AVIF": _avif_size,
}
