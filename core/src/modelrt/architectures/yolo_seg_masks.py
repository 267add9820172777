"""YOLOv8-seg masks computed inside each box only, bit for bit what full-frame ``cv2.resize`` calls give.

The masks are made as Ultralytics' predictor makes them by default: coefficients x prototypes, resized
bilinearly (``cv2.resize``, ``INTER_LINEAR``) to the network input, kept where > 0 and inside the box,
then the letterboxed content resized bilinearly to the original image and kept where > 0.5. A mask is
empty outside its box, so only the pixels whose bilinear taps reach into the box are computed.

Why this is exact and not an approximation: OpenCV's own float32 bilinear resize (stacks of 2 or >= 5
channels) is one float32 expression per output pixel, which ``linear_resize`` evaluates at the pixels
asked for with the taps of the full resize, so those pixels get the same bits. Stacks of 1, 3 or 4
channels go to Intel IPP inside OpenCV, whose arithmetic differs; the masks that the full-frame path
resizes in such a stack (the last stack of 128) are resized exactly that way here too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from modelrt.architectures.linear_resize import above, linear_taps
from modelrt.opencv import cv2
from modelrt.preprocess import ImageTransform

__all__ = ["box_masks"]

#: The most channels one ``cv2.resize`` call takes in the full-frame path.
RESIZE_CHANNELS = 128
#: Channel counts for which OpenCV hands a float32 ``INTER_LINEAR`` resize to IPP (other arithmetic).
_IPP_CHANNELS = (1, 3, 4)


def box_masks(
    prototypes: np.ndarray, coefficients: np.ndarray, xyxy: np.ndarray, transform: ImageTransform
) -> tuple[np.ndarray, np.ndarray]:
    """Which detections have mask pixels (bool ``[N]``) and their masks in original pixels (bool ``[K, H, W]``).

    ``xyxy`` are the boxes in network-input pixels; a mask keeps input pixel columns ``x1 <= x < x2``
    (rows alike). Detections whose input mask is empty get no mask.
    """
    height, width = transform.original_size
    count = len(coefficients)
    if count == 0:
        return np.zeros(0, dtype=bool), np.zeros((0, height, width), dtype=bool)
    channels, proto_height, proto_width = prototypes.shape
    flat = prototypes.reshape(channels, -1).astype(np.float32, copy=False)
    # Infinite or NaN values make NaNs here as they do inside cv2.resize, which says nothing about them.
    with np.errstate(invalid="ignore", over="ignore"):
        logits = (flat.T @ coefficients.astype(np.float32, copy=False).T).reshape(proto_height, proto_width, -1)
        windows = _input_windows(logits, xyxy, transform.input_size)
    has_pixels = np.array([window is not None for window in windows], dtype=bool)
    kept = [window for window in windows if window is not None]
    return has_pixels, _original_masks(kept, transform)


class _Window(NamedTuple):
    """A mask's pixels ``mask`` placed at row ``top``, column ``left`` of a larger all-false image."""

    top: int
    left: int
    mask: np.ndarray


def _input_windows(logits: np.ndarray, xyxy: np.ndarray, input_size: tuple[int, int]) -> list[_Window | None]:
    """Each detection's mask in network-input pixels, within its box; ``None`` when it has no pixels."""
    height, width = input_size
    rows = linear_taps(logits.shape[0], height, columns=False)
    columns = linear_taps(logits.shape[1], width, columns=True)
    sizes = ((logits.shape[0], height), (logits.shape[1], width))
    # Integer pixel x satisfies x1 <= x < x2 exactly when ceil(x1) <= x < ceil(x2); any NaN side keeps
    # nothing, as every comparison with NaN is false.
    boxes = np.asarray(xyxy, dtype=np.float64)
    bounds = np.ceil(np.where(np.isnan(boxes).any(axis=1, keepdims=True), 0.0, boxes))
    x1, x2 = (np.clip(bounds[:, index], 0, width).astype(np.intp) for index in (0, 2))
    y1, y2 = (np.clip(bounds[:, index], 0, height).astype(np.intp) for index in (1, 3))
    ipp_start = _ipp_chunk_start(len(xyxy))
    if logits.shape[0] > height or logits.shape[1] > width:
        # Prototypes larger than the input (never so in YOLO): OpenCV halves with INTER_AREA's sums,
        # not the bilinear expression, so every mask is resized whole, as before.
        ipp_start = 0
    full_frame = _resize(logits[:, :, ipp_start:], height, width) if ipp_start is not None else None
    windows: list[_Window | None] = []
    for index in range(len(xyxy)):
        top, bottom, left, right = int(y1[index]), int(y2[index]), int(x1[index]), int(x2[index])
        if bottom <= top or right <= left:
            windows.append(None)
            continue
        if full_frame is not None and ipp_start is not None and index >= ipp_start:
            mask = full_frame[top:bottom, left:right, index - ipp_start] > 0
        else:
            origin = (int(rows.first[top]), int(columns.first[left]))
            source = logits[origin[0] : rows.second[bottom - 1] + 1, origin[1] : columns.second[right - 1] + 1, index]
            mask = np.empty((bottom - top, right - left), dtype=bool)
            above(source, origin, sizes, (top, bottom, left, right), 0.0, mask)
        windows.append(_Window(top, left, mask) if mask.any() else None)
    return windows


def _original_masks(windows: list[_Window], transform: ImageTransform) -> np.ndarray:
    """The letterboxed content of each input window resized to the original image: bool ``[K, H, W]``."""
    height, width = transform.original_size
    masks = np.zeros((len(windows), height, width), dtype=bool)
    content_height, content_width = transform.resized_size
    left, top = transform.offset
    rows = linear_taps(content_height, height, columns=False)
    columns = linear_taps(content_width, width, columns=True)
    sizes = ((content_height, height), (content_width, width))
    ipp_start = _ipp_chunk_start(len(windows))
    own = windows[:ipp_start]
    # Each window in content pixels, cut to the content; then the output pixels with a tap inside it
    # (every other tap reads a zero). Downscaling skips source pixels, so the taps of those output
    # pixels may not reach every window pixel.
    corners = np.array([(window.top, window.left) for window in own], dtype=np.intp).reshape(-1, 2)
    shapes = np.array([window.mask.shape for window in own], dtype=np.intp).reshape(-1, 2)
    source_top, source_left = np.maximum(corners[:, 0] - top, 0), np.maximum(corners[:, 1] - left, 0)
    source_bottom = np.minimum(corners[:, 0] + shapes[:, 0] - top, content_height)
    source_right = np.minimum(corners[:, 1] + shapes[:, 1] - left, content_width)
    out_top = np.searchsorted(rows.second, source_top, side="left")
    out_bottom = np.searchsorted(rows.first, source_bottom - 1, side="right")
    out_left = np.searchsorted(columns.second, source_left, side="left")
    out_right = np.searchsorted(columns.first, source_right - 1, side="right")
    reached = (source_bottom > source_top) & (source_right > source_left)
    reached &= (out_bottom > out_top) & (out_right > out_left)
    for index in np.flatnonzero(reached).tolist():
        window = own[index]
        area = (int(out_top[index]), int(out_bottom[index]), int(out_left[index]), int(out_right[index]))
        first_row, first_column = int(rows.first[area[0]]), int(columns.first[area[2]])
        end_row, end_column = int(rows.second[area[1] - 1]) + 1, int(columns.second[area[3] - 1]) + 1
        content = np.zeros((end_row - first_row, end_column - first_column), dtype=np.uint8)
        from_row, to_row = max(int(source_top[index]), first_row), min(int(source_bottom[index]), end_row)
        from_column, to_column = max(int(source_left[index]), first_column), min(int(source_right[index]), end_column)
        mask_top, mask_left = window.top - top, window.left - left
        content[from_row - first_row : to_row - first_row, from_column - first_column : to_column - first_column] = (
            window.mask[from_row - mask_top : to_row - mask_top, from_column - mask_left : to_column - mask_left]
        )
        plane = masks[index, area[0] : area[1], area[2] : area[3]]
        above(content, (first_row, first_column), sizes, area, 0.5, plane, binary=True)
    if ipp_start is not None:
        masks[ipp_start:] = _full_frame_original(windows[ipp_start:], transform)
    return masks


def _full_frame_original(windows: list[_Window], transform: ImageTransform) -> np.ndarray:
    """The full-frame path for the masks it would resize in one IPP-handled stack: bool ``[K, H, W]``."""
    input_height, input_width = transform.input_size
    stack = np.zeros((input_height, input_width, len(windows)), dtype=np.float32)
    for index, window in enumerate(windows):
        rows, columns = window.mask.shape
        stack[window.top : window.top + rows, window.left : window.left + columns, index] = window.mask
    left, top = transform.offset
    content_height, content_width = transform.resized_size
    content = stack[top : top + content_height, left : left + content_width]
    height, width = transform.original_size
    return np.moveaxis(_resize(content, height, width) > 0.5, 2, 0)


def _ipp_chunk_start(count: int) -> int | None:
    """Where the full-frame path's last resize stack starts, if OpenCV hands that stack to IPP."""
    last = count % RESIZE_CHANNELS
    return count - last if last in _IPP_CHANNELS else None


def _resize(stack: np.ndarray, height: int, width: int) -> np.ndarray:
    """The full-frame path's bilinear resize of a channels-last float32 stack, in stacks of 128 channels."""
    if stack.shape[:2] == (height, width):
        return stack
    chunks = [
        cv2.resize(stack[:, :, start : start + RESIZE_CHANNELS], (width, height), interpolation=cv2.INTER_LINEAR)
        for start in range(0, stack.shape[2], RESIZE_CHANNELS)
    ]
    return np.concatenate([chunk.reshape(height, width, -1) for chunk in chunks], axis=2)
