"""The image pixel limit, and OpenCV's own limit kept at or below it.

Kept apart from ``modelrt.images`` so the limit can be read, and handed to OpenCV, before OpenCV is
imported: OpenCV reads ``OPENCV_IO_MAX_IMAGE_PIXELS`` once, when its library loads. This module
imports nothing but the standard library.
"""

from __future__ import annotations

import os

from modelrt.errors import InputError

__all__ = ["MAX_IMAGE_PIXELS", "MAX_IMAGE_PIXELS_ENV", "OPENCV_PIXELS_ENV", "limit_opencv_decoder", "max_image_pixels"]

MAX_IMAGE_PIXELS = 100_000_000
MAX_IMAGE_PIXELS_ENV = "MODELRT_MAX_IMAGE_PIXELS"
#: OpenCV refuses to decode an image whose header declares more pixels than this variable says.
OPENCV_PIXELS_ENV = "OPENCV_IO_MAX_IMAGE_PIXELS"


def max_image_pixels() -> int:
    """The pixel limit: ``MODELRT_MAX_IMAGE_PIXELS`` when set, else ``MAX_IMAGE_PIXELS``."""
    raw = os.environ.get(MAX_IMAGE_PIXELS_ENV)
    if raw is None or not raw.strip():
        return MAX_IMAGE_PIXELS
    value = _positive_int(raw)
    if value is None:
        raise InputError(
            f"{MAX_IMAGE_PIXELS_ENV}={raw!r} is not a positive whole number of pixels; "
            f"set it to e.g. 200000000 or unset it for the default {MAX_IMAGE_PIXELS}"
        )
    return value


def limit_opencv_decoder() -> None:
    """Set ``OPENCV_IO_MAX_IMAGE_PIXELS`` to the pixel limit, unless it already holds a lower number.

    A second defence behind modelrt's header checks: a decoder that trusts a header modelrt did not
    read the same way still stops at the limit. It only takes effect if OpenCV is loaded afterwards.
    Never raises: a malformed ``MODELRT_MAX_IMAGE_PIXELS`` is reported when an image is loaded.
    """
    try:
        limit = max_image_pixels()
    except InputError:
        return
    current = _positive_int(os.environ.get(OPENCV_PIXELS_ENV, ""))
    if current is None or current > limit:
        os.environ[OPENCV_PIXELS_ENV] = str(limit)


def _positive_int(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value > 0 else None
