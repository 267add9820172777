"""Turn what a caller passes as an image into one checked array: RGB uint8 HxWx3, C-contiguous.

What is accepted, and what the result equals (everything else is an ``InputError`` that says why and
what to do):

- numpy arrays, HxWx3 in ``color`` order: BGR by default, as ``cv2.imread`` and ``cv2.VideoCapture``
  give them (``color="rgb"`` for RGB arrays); HxW or HxWx1 grayscale (the three channels are equal),
  HxWx4 with alpha (dropped); any strides. ``uint8`` pixels are used as they are. Floating-point
  arrays (float16/32/64) whose values are all finite and within [0, 1] are accepted too, and equal the
  uint8 image ``rint(x * 255)`` (computed in float64), so ``u / 255`` gives back exactly ``u``.
  Refused: floats outside [0, 1] (a 0-255 float image would otherwise be read as mostly white), NaN
  and infinity, and every other dtype (bool, signed and wider integers, ...): their pixel range is
  ambiguous (8-bit values in a wider type, 12- or 16-bit sensor data), and guessing wrong silently
  ruins every prediction, so the message gives the conversion to make.
- Paths (``str`` or ``Path``) of regular files, and encoded bytes (``bytes``, ``bytearray``,
  ``memoryview``): decoded as OpenCV decodes them (EXIF orientation applied, alpha dropped, 16-bit
  scaled to 8-bit), whatever ``color`` says. Only formats whose image size modelrt reads from the
  header are decoded: PNG, JPEG, WebP, BMP, TIFF (and BigTIFF), GIF, PNM/PAM/PFM, Sun raster, JPEG 2000,
  Radiance HDR and AVIF (still images). Anything else, an empty or truncated file, a damaged or
  ambiguous header, or data the decoder rejects is an ``InputError``. Directories, devices, pipes and
  sockets are refused without being opened for reading, so ``/dev/zero`` or a FIFO never hangs a caller.
- PIL images, whatever ``color`` says: the pixels the same file gives as a path. The EXIF orientation
  is applied where OpenCV applies it (every format but AVIF), 16-bit grayscale (``I;16`` modes) is
  scaled to 8 bits as OpenCV scales it, other modes go through PIL's ``convert("RGB")``. Modes ``I``
  and ``F`` (32-bit integers and floats) are refused: their pixel range is unknown. A lazily opened
  file that turns out broken is an ``InputError``.

Size limit: an image may have at most ``max_image_pixels()`` pixels (``MAX_IMAGE_PIXELS``, 100 million,
or ``MODELRT_MAX_IMAGE_PIXELS``). Arrays and PIL images are checked before any conversion. Encoded data
is checked before decoding, from its header read the way the decoder reads it (``image_headers``),
together with every other picture the decoder may allocate for it (later TIFF pages, tiles, the AV1
frames of an AVIF); a file is read whole only after its header passed. A decoded image whose size
differs from its header's is refused. OpenCV's own limit (``OPENCV_IO_MAX_IMAGE_PIXELS``) is set to
the pixel limit before this module imports OpenCV, as a second defence.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from pathlib import Path
from typing import Any

import numpy as np

from modelrt.errors import InputError
from modelrt.image_data import BytesData, EncodedData, FileData
from modelrt.image_headers import (
    DECODED_FORMATS,
    MAGIC_BYTES,
    HeaderRefusal,
    ImageHeader,
    image_format,
    image_header,
)
from modelrt.image_limits import (
    MAX_IMAGE_PIXELS,
    MAX_IMAGE_PIXELS_ENV,
    OPENCV_PIXELS_ENV,
    max_image_pixels,
)
from modelrt.opencv import cv2

__all__ = ["MAX_IMAGE_PIXELS", "MAX_IMAGE_PIXELS_ENV", "load_image", "load_images", "max_image_pixels"]

COLOR_ORDERS = ("rgb", "bgr")

#: Rows of a float image converted at once, so the float64 scratch stays small.
_FLOAT_CHUNK_ELEMENTS = 1 << 20
#: PIL modes of unsigned 16-bit grayscale, scaled to 8 bits as OpenCV scales 16-bit files.
_PIL_16_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
#: Formats whose EXIF orientation OpenCV does not apply, so the PIL path does not either.
_UNORIENTED_FORMATS = frozenset({"AVIF"})
_EXIF_ORIENTATION = 274


def load_images(images: Any, color: str = "bgr") -> tuple[list[np.ndarray], bool]:
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


def load_image(obj: Any, color: str = "bgr") -> np.ndarray:
    """One image as RGB uint8 HxWx3, C-contiguous; ``InputError`` saying what to do for anything else.

    ``color`` is the channel order of a numpy array: "bgr" (the default, what OpenCV gives) or "rgb";
    files, bytes and PIL images carry their own order. An RGB uint8 array already in the right form is
    returned without a copy.
    """
    if color not in COLOR_ORDERS:
        raise InputError(f"color={color!r} is not a channel order; use 'rgb' or 'bgr' (arrays from OpenCV)")
    if isinstance(obj, np.ndarray):
        return _from_array(obj, color)
    if isinstance(obj, str | Path):
        return _load_file(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return _decode(BytesData(_byte_view(obj), "the given bytes"))
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
    _check_pixels(height, width, source)


def _check_pixels(height: int, width: int, source: str) -> None:
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


def _load_file(path: str | Path) -> np.ndarray:
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
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise InputError(f"{text} is a directory, not an image file; pass the image files in it")
        raise InputError(f"{text} is not a regular file (a device, pipe or socket); pass an image file")
    with os.fdopen(descriptor, "rb") as handle:
        return _decode(FileData(handle, status.st_size, text))


def _decode(data: EncodedData) -> np.ndarray:
    """Check the header, then read all the data and decode it; the decoded size must match the header's."""
    source = data.source
    if data.size == 0:
        raise InputError(f"{source}: no data (0 bytes); pass a non-empty image")
    kind = image_format(data.read(0, MAGIC_BYTES))
    if kind is None:
        raise InputError(f"{source} is not a decodable image ({DECODED_FORMATS}); check that it is an image file")
    header = _read_header(kind, data)
    _check_size(header.height, header.width, source)
    for what, width, height in header.others:
        _check_pixels(height, width, f"{source} ({what})")
    contents = data.contents()
    if header.end_marker and re.compile(re.escape(header.end_marker)).search(contents, header.image_data_at) is None:
        raise InputError(f"{source} is a truncated {kind} file (its end is missing); check that the file is complete")
    # IMREAD_COLOR always yields 8-bit BGR: it drops alpha, expands grayscale, scales 16-bit down and
    # applies the EXIF orientation, which is what a photo's viewer shows.
    try:
        decoded = cv2.imdecode(np.frombuffer(contents, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as error:  # some decoders assert instead of returning None on malformed data
        if "CV_IO_MAX_IMAGE" in error.err:
            raise InputError(
                f"{source} is over OpenCV's own pixel limit, {OPENCV_PIXELS_ENV}="
                f"{os.environ.get(OPENCV_PIXELS_ENV, 'unset')} when OpenCV was loaded; set "
                f"{MAX_IMAGE_PIXELS_ENV} before the program starts (or before anything imports OpenCV)"
            ) from None
        raise InputError(f"{source} is a damaged {kind} file ({error.err}); check that it is complete") from None
    if decoded is None:
        raise InputError(f"{source} is a damaged or truncated {kind} file; check that the file is complete")
    _check_decoded_size(decoded, header, f"{source} ({kind})")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def _read_header(kind: str, data: EncodedData) -> ImageHeader:
    try:
        header = image_header(kind, data)
    except HeaderRefusal as refusal:
        raise InputError(f"{data.source}: this {kind} file {refusal}; it is not decoded") from None
    except (struct.error, ValueError, IndexError):  # a header cut short or inconsistent
        header = None
    if header is None:
        raise InputError(
            f"{data.source} starts like a {kind} file, but its header does not say the image size (damaged "
            "or truncated); check that the file is complete"
        )
    return header


def _check_decoded_size(decoded: np.ndarray, header: ImageHeader, source: str) -> None:
    """The decoder must produce the size the header declared (turned a quarter by an EXIF orientation)."""
    height, width = decoded.shape[:2]
    if (width, height) not in ((header.width, header.height), (header.height, header.width)):
        raise InputError(
            f"{source} declares {header.width}x{header.height} pixels in its header but decodes to "
            f"{width}x{height}: the header lied (a crafted or damaged file), so the image is refused"
        )


# ------------------------------------------------------------------------------------------------ PIL


def _is_pil_image(obj: Any) -> bool:
    # PIL is never imported to answer this: only an object whose class comes from PIL can be one.
    return any(cls.__module__.split(".")[0] == "PIL" for cls in type(obj).__mro__) and hasattr(obj, "convert")


def _from_pil(image: Any) -> np.ndarray:
    width, height = image.size
    _check_size(height, width, "the PIL image")
    if image.mode in ("I", "F"):
        raise InputError(
            f"the PIL image has mode {image.mode} (32-bit {'integer' if image.mode == 'I' else 'float'} "
            "pixels), whose range modelrt cannot know; convert it first: image.convert('L') for 0-255 "
            "values, Image.fromarray((np.asarray(image) >> 8).astype(np.uint8)) for 16-bit ones, or pass "
            "np.asarray(image) for floats in [0, 1]"
        )
    try:
        image = _exif_oriented(image)
        if image.mode in _PIL_16_BIT_MODES:
            gray = (np.asarray(image) >> 8).astype(np.uint8)
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
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


def _exif_oriented(image: Any) -> Any:
    """The image turned as its EXIF orientation says, where OpenCV turns the same file."""
    if image.format in _UNORIENTED_FORMATS:
        return image
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block, which OpenCV ignores too; a damaged image fails later
        return image
    if orientation not in range(2, 9):
        return image
    from PIL import ImageOps

    return ImageOps.exif_transpose(image)
