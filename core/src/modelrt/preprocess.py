"""Images to network input tensors, as an ``InputSpec`` says, and network coordinates back to image pixels.

Every resize mode is one geometry: the image is resized to ``resized_size`` and placed with its
top-left corner at ``offset`` in an input of ``input_size`` (a positive offset pads with
``pad_value``, a negative one crops). The resize is OpenCV's bilinear one, or Pillow's antialiased
one (``modelrt.resample``) where the spec asks for it; either computes only the window of the input
that the image covers. Pixel values then go through a 256-entry lookup table per channel
(``(pixel * scale - mean) / std``, computed once in float64), which OpenCV applies in a single pass
per plane straight into that window of the batch tensor. The padding around the window is filled
with its already-normalised value, never resized or looked up (for a 1280x720 frame letterboxed to
640x640 that is 44% of the tensor). Each call writes every element of its entry of the tensor.

Buffers are reused between calls: each thread keeps its own small cache of them (``threading.local``)
rather than sharing one under a lock, because the returned tensor is read by the backend after
``__call__`` returns; a shared buffer could be overwritten by another thread mid-run. The returned
tensor therefore stays valid until the same thread preprocesses again with the same shape.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence

import attrs
import numpy as np

from modelrt.errors import InputError
from modelrt.manifest import InputSpec
from modelrt.opencv import cv2
from modelrt.resample import resize_antialiased

__all__ = ["ImageTransform", "Preprocessor", "boxes_to_original", "points_to_original"]

# Enough for a batch tensor and the scratch arrays of one image, antialiased resizing included.
_CACHED_BUFFERS_PER_THREAD = 16


@attrs.frozen
class ImageTransform:
    """How one original image maps into the network input.

    Sizes are ``(height, width)``. The image was resized to ``resized_size`` and its top-left corner
    placed at ``offset`` ``(x, y)`` in an input of ``input_size`` (negative when cropped). Coordinates
    map as ``input = original * scale + offset`` per axis, ``scale`` being ``(x, y)``: the ratio of the
    rounded resized size to the original one on each axis, so that mapping back is the exact inverse
    of the resize (as Ultralytics' ``scale_boxes`` does), not the unrounded gain the size came from.
    """

    original_size: tuple[int, int]
    input_size: tuple[int, int]
    resized_size: tuple[int, int]
    offset: tuple[int, int]
    scale: tuple[float, float]


def boxes_to_original(xyxy: np.ndarray, transform: ImageTransform) -> np.ndarray:
    """Boxes ``[N, 4]`` in network-input pixels to original-image pixels, clipped to the image."""
    boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
    return points_to_original(boxes.reshape(-1, 2, 2), transform).reshape(-1, 4)


def points_to_original(points: np.ndarray, transform: ImageTransform) -> np.ndarray:
    """Points ``[..., 2]`` (x, y) in network-input pixels to original-image pixels, clipped to the image."""
    points = np.asarray(points, dtype=np.float32)
    offset = np.asarray(transform.offset, dtype=np.float32)
    scale = np.asarray(transform.scale, dtype=np.float32)
    height, width = transform.original_size
    mapped = (points - offset) / scale
    np.clip(mapped[..., 0], 0, width, out=mapped[..., 0])
    np.clip(mapped[..., 1], 0, height, out=mapped[..., 1])
    return mapped


class Preprocessor:
    """Builds batch tensors for one ``InputSpec``; callable from several threads at once.

    A ``uint8`` input gets the raw pixels (``scale``, ``mean`` and ``std`` do not apply); ``float16``
    gets the float32 values rounded once.
    """

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self.dtype = np.dtype(spec.dtype)
        # Where each RGB channel of an image goes in the network's channel order.
        self._channel_slots = (0, 1, 2) if spec.color == "rgb" else (2, 1, 0)
        self._luts = _channel_luts(spec)
        self._interleaved_lut = np.ascontiguousarray(self._luts.T).reshape(1, 256, 3)
        # What the padding holds in each network channel, as the lookup tables map ``pad_value``.
        pad_values = self._luts[:, spec.pad_value] if self.dtype != np.uint8 else np.full(3, spec.pad_value)
        self._pad_values = pad_values.astype(self.dtype)
        self._local = threading.local()

    # ------------------------------------------------------------------------------ geometry

    def transform_for(self, height: int, width: int) -> ImageTransform:
        """Where an image of ``height`` x ``width`` lands in the network input."""
        spec = self.spec
        size_h, size_w = spec.size
        if spec.dynamic_size and spec.dynamic_resize == "shorter-side":
            factor = min(size_h, size_w) / min(height, width)
            input_h = _round_to_multiple(height * factor, spec.size_multiple)
            input_w = _round_to_multiple(width * factor, spec.size_multiple)
            return ImageTransform(
                (height, width),
                (input_h, input_w),
                (input_h, input_w),
                (0, 0),
                (input_w / width, input_h / height),
            )
        if spec.dynamic_size or spec.resize == "letterbox":
            return _letterbox(height, width, spec.size, spec.size_multiple if spec.dynamic_size else None)
        if spec.resize == "stretch":
            return ImageTransform(
                (height, width), (size_h, size_w), (size_h, size_w), (0, 0), (size_w / width, size_h / height)
            )
        # shorter-side-center-crop, with torchvision's rounding (Resize(int) then CenterCrop).
        shorter = spec.crop_resize or round(min(size_h, size_w) * 256 / 224)
        if height <= width:
            resized_h, resized_w = shorter, int(shorter * width / height)
        else:
            resized_h, resized_w = int(shorter * height / width), shorter
        top = round((resized_h - size_h) / 2)
        left = round((resized_w - size_w) / 2)
        return ImageTransform(
            (height, width),
            (size_h, size_w),
            (resized_h, resized_w),
            (-left, -top),
            (resized_w / width, resized_h / height),
        )

    # ------------------------------------------------------------------------------ tensors

    def __call__(
        self, images: Sequence[np.ndarray], batch_size: int | None = None
    ) -> tuple[np.ndarray, list[ImageTransform]]:
        """The batch tensor for RGB uint8 HxWx3 ``images`` and each image's transform.

        All images must land on the same input size (always true for a fixed size; group them by
        ``transform_for(...).input_size`` for a dynamic one). With ``batch_size`` larger than the number
        of images, the tensor has that many entries and the extra ones hold stale data, for networks
        with a fixed batch size.
        """
        transforms = [self.transform_for(image.shape[0], image.shape[1]) for image in images]
        input_sizes = {transform.input_size for transform in transforms}
        if len(input_sizes) != 1:
            raise InputError(
                f"images of one batch must share an input size, got {sorted(input_sizes)}; "
                "preprocess images with different input sizes in separate calls"
            )
        input_h, input_w = transforms[0].input_size
        batch = max(batch_size or 0, len(images))
        nchw = self.spec.layout == "nchw"
        shape = (batch, 3, input_h, input_w) if nchw else (batch, input_h, input_w, 3)
        tensor = self._buffer("tensor", shape, self.dtype)
        for index, (image, transform) in enumerate(zip(images, transforms, strict=True)):
            if nchw:
                self._fill_planes(image, transform, tensor[index])
            else:
                self._fill_interleaved(image, transform, tensor[index])
        return tensor, transforms

    def _fill_planes(self, image: np.ndarray, transform: ImageTransform, out: np.ndarray) -> None:
        window = _window(transform)
        top, bottom, left, right = window
        content = self._content(image, transform, window)
        region = out[:, top:bottom, left:right]
        if self.dtype == np.uint8:
            cv2.split(content, mv=[region[slot] for slot in self._channel_slots])
        else:
            planes = self._buffer("planes", (3, bottom - top, right - left), np.uint8)
            cv2.split(content, mv=[planes[slot] for slot in self._channel_slots])
            for channel in range(3):
                self._apply_lut(planes[channel], self._luts[channel], region[channel])
        for rows, columns in _padding_bands(out.shape[1:], window):
            out[:, rows, columns] = self._pad_values[:, None, None]

    def _fill_interleaved(self, image: np.ndarray, transform: ImageTransform, out: np.ndarray) -> None:
        window = _window(transform)
        top, bottom, left, right = window
        region = out[top:bottom, left:right]
        if self.dtype == np.uint8:
            content = self._content(image, transform, window, into=region)
        else:
            content = self._content(image, transform, window)
        if self.spec.color == "bgr":
            cv2.cvtColor(content, cv2.COLOR_RGB2BGR, dst=content)
        if self.dtype != np.uint8:
            self._apply_lut(content, self._interleaved_lut, region)
        for band in _padding_bands(out.shape[:2], window):
            out[band] = self._pad_values

    def _apply_lut(self, pixels: np.ndarray, lut: np.ndarray, out: np.ndarray) -> None:
        if out.dtype == np.float32:
            cv2.LUT(pixels, lut, dst=out)
            return
        # OpenCV 4 has no float16 lookup tables: go through float32.
        scratch = self._buffer("float32", pixels.shape, np.float32)
        cv2.LUT(pixels, lut, dst=scratch)
        np.copyto(out, scratch, casting="same_kind")

    def _content(
        self,
        image: np.ndarray,
        transform: ImageTransform,
        window: tuple[int, int, int, int],
        into: np.ndarray | None = None,
    ) -> np.ndarray:
        """The resized image's pixels that land in ``window`` of the input (RGB uint8), written to ``into``
        when given (a view of the tensor), else to a reusable buffer of the window's size."""
        top, bottom, left, right = window
        resized_h, resized_w = transform.resized_size
        offset_x, offset_y = transform.offset
        content = into if into is not None else self._buffer("content", (bottom - top, right - left, 3), np.uint8)
        if self.spec.interpolation == "antialiased-bilinear":
            rows, columns = (top - offset_y, bottom - offset_y), (left - offset_x, right - offset_x)
            resize_antialiased(image, (resized_h, resized_w), rows, columns, content, self._buffer)
        elif content.shape[:2] == (resized_h, resized_w):
            cv2.resize(image, (resized_w, resized_h), dst=content, interpolation=cv2.INTER_LINEAR)
        else:  # cropped: resize whole, keep the window
            resized = self._buffer("resized", (resized_h, resized_w, 3), np.uint8)
            cv2.resize(image, (resized_w, resized_h), dst=resized, interpolation=cv2.INTER_LINEAR)
            np.copyto(content, resized[top - offset_y : bottom - offset_y, left - offset_x : right - offset_x])
        return content

    def _buffer(self, role: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """A reusable array of this thread; the least recently used ones are dropped beyond a few."""
        cache: OrderedDict[tuple[object, ...], np.ndarray] | None = getattr(self._local, "buffers", None)
        if cache is None:
            cache = self._local.buffers = OrderedDict()
        key = (role, shape, np.dtype(dtype).str)
        buffer = cache.get(key)
        if buffer is None:
            buffer = cache[key] = np.zeros(shape, dtype=dtype)
            while len(cache) > _CACHED_BUFFERS_PER_THREAD:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        return buffer


def _window(transform: ImageTransform) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)``: the part of the input that the resized image covers."""
    input_h, input_w = transform.input_size
    resized_h, resized_w = transform.resized_size
    left, top = transform.offset
    return max(top, 0), min(top + resized_h, input_h), max(left, 0), min(left + resized_w, input_w)


def _padding_bands(size: tuple[int, int], window: tuple[int, int, int, int]) -> list[tuple[slice, slice]]:
    """The (rows, columns) of an input of ``size`` that lie outside ``window``: the padding, if any."""
    height, width = size
    top, bottom, left, right = window
    bands = ((0, top, 0, width), (bottom, height, 0, width), (top, bottom, 0, left), (top, bottom, right, width))
    return [(slice(r0, r1), slice(c0, c1)) for r0, r1, c0, c1 in bands if r1 > r0 and c1 > c0]


def _letterbox(height: int, width: int, size: tuple[int, int], multiple: int | None) -> ImageTransform:
    """Ultralytics' ``LetterBox``: the image fits within ``size`` keeping its aspect ratio, each side
    rounded (at least 1 pixel), centred on padding. With ``multiple`` (``auto=True``, for dynamic
    inputs) the padding of each side is taken modulo ``multiple``: for a ``size`` that is a multiple
    of it, the input is the smallest multiple that holds the resized image."""
    size_h, size_w = size
    gain = min(size_h / height, size_w / width)
    resized_h, resized_w = max(round(height * gain), 1), max(round(width * gain), 1)
    pad_h, pad_w = size_h - resized_h, size_w - resized_w
    if multiple is not None:
        pad_h, pad_w = pad_h % multiple, pad_w % multiple
    # Ultralytics' split of an odd padding: the extra pixel goes to the bottom/right.
    top, left = round(pad_h / 2 - 0.1), round(pad_w / 2 - 0.1)
    return ImageTransform(
        (height, width),
        (resized_h + pad_h, resized_w + pad_w),
        (resized_h, resized_w),
        (left, top),
        (resized_w / width, resized_h / height),
    )


def _round_to_multiple(value: float, multiple: int) -> int:
    """Nearest multiple (halves round up), at least one multiple."""
    return max(multiple, math.floor(value / multiple + 0.5) * multiple)


def _channel_luts(spec: InputSpec) -> np.ndarray:
    """``[3, 256]`` float32 lookup tables, in the network's channel order."""
    pixels = np.arange(256, dtype=np.float64)
    mean = np.asarray(spec.mean, dtype=np.float64)[:, None]
    std = np.asarray(spec.std, dtype=np.float64)[:, None]
    return np.ascontiguousarray(((pixels * spec.scale - mean) / std).astype(np.float32))
