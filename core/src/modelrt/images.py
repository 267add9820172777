"""Turn what a caller passes as an image into one checked array: RGB uint8 HxWx3, C-contiguous.

Accepted: numpy arrays (HxWx3 in ``color`` order, HxW or HxWx1 grayscale, HxWx4 with alpha, which is
dropped), PIL images, paths (``str`` or ``Path``), and encoded bytes (PNG, JPEG, ...). Only uint8
arrays are accepted: a float array could hold 0-1 or 0-255 values and guessing wrong silently ruins
every prediction, so the caller converts explicitly.

Oversized images are refused before decoding where the format's header says the size (PNG, JPEG,
GIF, BMP, WebP), so a small file that expands to gigabytes is never decoded; other formats (TIFF,
...) are checked right after decoding.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from modelrt.errors import InputError

__all__ = ["MAX_IMAGE_PIXELS", "MAX_IMAGE_PIXELS_ENV", "load_image", "load_images", "max_image_pixels"]

MAX_IMAGE_PIXELS = 100_000_000
MAX_IMAGE_PIXELS_ENV = "MODELRT_MAX_IMAGE_PIXELS"
COLOR_ORDERS = ("rgb", "bgr")
_DECODABLE = "PNG, JPEG, BMP, TIFF, WebP, GIF, ..."


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
    """Load one image or a list/tuple of them; returns the arrays and whether a single image was passed."""
    if isinstance(images, list | tuple):
        return [load_image(image, color) for image in images], False
    return [load_image(images, color)], True


def load_image(obj: Any, color: str = "rgb") -> np.ndarray:
    """One image as RGB uint8 HxWx3, C-contiguous; ``InputError`` saying what to do for anything else.

    ``color`` is the channel order of a numpy array ("bgr" for arrays from OpenCV); files, bytes and
    PIL images carry their own order. An array already in the right form is returned without a copy.
    """
    if color not in COLOR_ORDERS:
        raise InputError(f"color={color!r} is not a channel order; use 'rgb' or 'bgr' (arrays from OpenCV)")
    if isinstance(obj, np.ndarray):
        return _from_array(obj, color)
    if isinstance(obj, str | Path):
        return _decode(_read_file(obj), source=str(obj))
    if isinstance(obj, bytes | bytearray | memoryview):
        return _decode(np.frombuffer(obj, dtype=np.uint8), source="the given bytes")
    if _is_pil_image(obj):
        return _from_pil(obj)
    raise InputError(
        f"cannot use a {type(obj).__module__}.{type(obj).__qualname__} as an image; pass a numpy array "
        "(HxWx3 uint8), a PIL image, a file path or the bytes of an encoded image"
    )


def _from_array(array: np.ndarray, color: str) -> np.ndarray:
    if array.dtype != np.uint8:
        raise InputError(
            f"image array has dtype {array.dtype}; modelrt takes uint8 pixels (0-255). Convert it "
            "first, e.g. (image * 255).clip(0, 255).astype(np.uint8) for a 0-1 float image"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        _check_size(array.shape[0], array.shape[1], "the image array")
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_GRAY2RGB)
    if array.ndim != 3:
        hint = "; for a batch, pass a list of images" if array.ndim == 4 else ""
        raise InputError(
            f"image array has shape {array.shape}; expected HxWx3 (color), HxWx4 (with alpha) or HxW (grayscale){hint}"
        )
    channels = array.shape[2]
    if channels not in (3, 4):
        raise InputError(
            f"image array has {channels} channels (shape {array.shape}); expected 3 (color), "
            "4 (color with alpha) or 1 (grayscale)"
        )
    _check_size(array.shape[0], array.shape[1], "the image array")
    if color == "bgr":
        code = cv2.COLOR_BGR2RGB if channels == 3 else cv2.COLOR_BGRA2RGB
        return cv2.cvtColor(np.ascontiguousarray(array), code)
    if channels == 4:
        array = array[:, :, :3]
    return np.ascontiguousarray(array)


def _check_size(height: int, width: int, source: str) -> None:
    if height == 0 or width == 0:
        raise InputError(f"{source} is empty ({height}x{width} pixels); pass an image with pixels in it")
    limit = max_image_pixels()
    if height * width > limit:
        raise InputError(
            f"{source} is {width}x{height} = {height * width} pixels, over the limit of {limit}; "
            f"downscale it first, or raise the limit with {MAX_IMAGE_PIXELS_ENV} if you trust the source"
        )


def _read_file(path: str | Path) -> np.ndarray:
    text = str(path)
    if "://" in text:
        raise InputError(
            f"{text!r} looks like a URL; modelrt reads local files only. Download it first and pass the path"
        )
    try:
        # numpy.fromfile instead of cv2.imread: imread cannot open non-ASCII paths on Windows.
        return np.fromfile(os.fspath(path), dtype=np.uint8)
    except FileNotFoundError:
        raise InputError(f"image file {text} does not exist; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{text} is a directory, not an image file; pass the image files in it") from None
    except OSError as error:
        raise InputError(f"cannot read image file {text}: {error.strerror or error}") from None


def _decode(encoded: np.ndarray, source: str) -> np.ndarray:
    if encoded.size == 0:
        raise InputError(f"{source}: no data (0 bytes); pass a non-empty image")
    header_size = _encoded_size(encoded[:65536].tobytes())
    if header_size is not None:
        _check_size(header_size[1], header_size[0], source)
    # IMREAD_COLOR always yields 8-bit BGR: it drops alpha, expands grayscale, scales 16-bit down and
    # applies the EXIF orientation, which is what a photo's viewer shows.
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:
        raise InputError(f"{source} is not a decodable image ({_DECODABLE}); check that it is an image file")
    _check_size(decoded.shape[0], decoded.shape[1], source)
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def _is_pil_image(obj: Any) -> bool:
    # PIL is never imported to answer this: only an object whose class comes from PIL can be one.
    return any(cls.__module__.split(".")[0] == "PIL" for cls in type(obj).__mro__) and hasattr(obj, "convert")


def _from_pil(image: Any) -> np.ndarray:
    width, height = image.size
    _check_size(height, width, "the PIL image")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


# ----------------------------------------------------------------- image sizes from encoded headers

_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _encoded_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) read from the header of a PNG, JPEG, GIF, BMP or WebP file; None otherwise."""
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return width, height
        if head[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", head[6:10])
            return width, height
        if head.startswith(b"BM"):
            width, height = struct.unpack("<ii", head[18:26])
            return abs(width), abs(height)  # a negative height means rows are stored top-down
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(head)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head)
    except struct.error:  # a header cut short: let the decoder judge the file
        return None
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    offset = 2
    while offset + 9 <= len(head):
        if head[offset] != 0xFF:
            return None
        marker = head[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker in _JPEG_SOF_MARKERS:
            height, width = struct.unpack(">HH", head[offset + 5 : offset + 9])
            return width, height
        (length,) = struct.unpack(">H", head[offset + 2 : offset + 4])
        offset += 2 + length
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None
