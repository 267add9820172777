"""Mask post-processing per image: 30 YOLOv8-seg masks on a 1280x720 image (issue 17's goal: <= 2 ms).

    python -m benchmarks.mask_postprocess [--rounds 30] [--masks 30]

Three ways to turn one image's prototypes ``[32, 160, 160]``, 30 kept detections' coefficients and
boxes into bool masks ``[N, 720, 1280]``, on the same tensors, interleaved round by round:

- ``full_frame``: modelrt's previous implementation (every mask resized over the whole 640x640 input and
  the whole 1280x720 image, ``cv2.resize`` in stacks of 128 channels);
- ``box_masks``: modelrt's implementation now (``modelrt.architectures.yolo_seg_masks``), which must give
  the same bits (checked before timing);
- ``ultralytics``: what Ultralytics' predictor runs with ``retina_masks=False``, rewritten here with torch
  from ``ultralytics.utils.ops.process_mask`` (matmul, ``F.interpolate`` bilinear to the input,
  ``crop_mask``, ``> 0``) and ``ops.scale_masks`` (the letterboxed region, ``F.interpolate`` bilinear to
  the image), then ``> 0.5`` as its ``Results`` use it. Ultralytics itself is not a dependency; when it
  is importable its own functions are timed instead. Needs torch; left out without it.

Medians in milliseconds and the median over rounds of each variant's time over ``box_masks``' time in
the same round.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable

import numpy as np

from benchmarks.harness import interleave, paired_ratio
from modelrt.architectures.yolo_seg_masks import box_masks
from modelrt.opencv import cv2
from modelrt.preprocess import ImageTransform

ORIGINAL = (720, 1280)
INPUT = (640, 640)
RESIZE_CHANNELS = 128


def letterbox(original: tuple[int, int], input_size: tuple[int, int]) -> ImageTransform:
    (height, width), (input_height, input_width) = original, input_size
    gain = min(input_height / height, input_width / width)
    resized = (round(height * gain), round(width * gain))
    offset = (round((input_width - resized[1]) / 2 - 0.1), round((input_height - resized[0]) / 2 - 0.1))
    return ImageTransform(original, input_size, resized, offset, (resized[1] / width, resized[0] / height))


def head_outputs(count: int, transform: ImageTransform, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth prototypes ``[32, 160, 160]`` (masks come out as blobs, as a trained head's do), coefficients,
    and boxes of people-to-cars sizes (40-400 px wide, 60-500 px tall in the original) inside the content."""
    rng = np.random.default_rng(seed)
    height, width = transform.input_size
    noise = rng.standard_normal((32, height // 4, width // 4)).astype(np.float32)
    prototypes = np.stack([cv2.GaussianBlur(plane, (0, 0), 3) * 6 for plane in noise])
    coefficients = rng.standard_normal((count, 32)).astype(np.float32)
    scale_x, scale_y = transform.scale
    left, top = transform.offset
    content_height, content_width = transform.resized_size
    sizes = np.stack([rng.uniform(40, 400, count) * scale_x, rng.uniform(60, 500, count) * scale_y], axis=1)
    corners = rng.uniform(0, 1, (count, 2)) * np.maximum((content_width, content_height) - sizes, 0) + (left, top)
    xyxy = np.concatenate([corners, corners + sizes], axis=1).astype(np.float32)
    return prototypes, coefficients, xyxy


def full_frame_masks(
    prototypes: np.ndarray, coefficients: np.ndarray, xyxy: np.ndarray, transform: ImageTransform
) -> tuple[np.ndarray, np.ndarray]:
    """modelrt's previous implementation (until the box-by-box one), whole frames throughout."""

    def resize(stack: np.ndarray, height: int, width: int) -> np.ndarray:
        chunks = [
            cv2.resize(stack[:, :, start : start + RESIZE_CHANNELS], (width, height), interpolation=cv2.INTER_LINEAR)
            for start in range(0, stack.shape[2], RESIZE_CHANNELS)
        ]
        return np.concatenate([chunk.reshape(height, width, -1) for chunk in chunks], axis=2)

    height, width = transform.input_size
    channels, proto_height, proto_width = prototypes.shape
    logits = (prototypes.reshape(channels, -1).T @ coefficients.T).reshape(proto_height, proto_width, -1)
    masks = resize(logits, height, width) > 0
    columns = np.arange(width, dtype=np.float32)[None, :, None]
    rows = np.arange(height, dtype=np.float32)[:, None, None]
    masks &= (columns >= xyxy[:, 0]) & (columns < xyxy[:, 2])
    masks &= (rows >= xyxy[:, 1]) & (rows < xyxy[:, 3])
    has_pixels = np.asarray(masks.any(axis=(0, 1)))
    left, top = transform.offset
    content_height, content_width = transform.resized_size
    content = masks[top : top + content_height, left : left + content_width, has_pixels].astype(np.float32)
    original = resize(content, *transform.original_size) > 0.5
    return has_pixels, np.ascontiguousarray(np.moveaxis(original, 2, 0))


def ultralytics_masks(transform: ImageTransform) -> Callable[[object, object, object], object] | None:
    """Ultralytics' ``process_mask`` then ``scale_masks`` and ``> 0.5`` on torch tensors, or ``None`` without torch."""
    try:
        import torch
        import torch.nn.functional as functional
    except ImportError:
        return None
    try:
        from ultralytics.utils import ops
    except ImportError:
        ops = None

    def crop_mask(masks: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        # As ultralytics.utils.ops.crop_mask: zero outside x1 <= column < x2, y1 <= row < y2.
        _, height, width = masks.shape
        x1, y1, x2, y2 = torch.chunk(boxes[:, :, None], 4, 1)
        columns = torch.arange(width, dtype=x1.dtype)[None, None, :]
        rows = torch.arange(height, dtype=x1.dtype)[None, :, None]
        return masks * ((columns >= x1) * (columns < x2) * (rows >= y1) * (rows < y2))

    def process_mask(protos: torch.Tensor, masks_in: torch.Tensor, bboxes: torch.Tensor) -> torch.Tensor:
        # As ultralytics.utils.ops.process_mask(..., upsample=True) in the predictor's default path.
        channels, proto_height, proto_width = protos.shape
        masks = (masks_in @ protos.float().view(channels, -1)).view(-1, proto_height, proto_width)
        masks = functional.interpolate(masks[None], transform.input_size, mode="bilinear", align_corners=False)[0]
        return crop_mask(masks, bboxes).gt_(0.0)

    def scale_masks(masks: torch.Tensor) -> torch.Tensor:
        # As ultralytics.utils.ops.scale_masks: the letterboxed region resized to the original image.
        left, top = transform.offset
        content_height, content_width = transform.resized_size
        masks = masks[..., top : top + content_height, left : left + content_width]
        return functional.interpolate(masks, transform.original_size, mode="bilinear", align_corners=False)

    if ops is not None:

        def run(protos: object, masks_in: object, bboxes: object) -> object:
            masks = ops.process_mask(protos, masks_in, bboxes, transform.input_size, upsample=True)
            return ops.scale_masks(masks[None], transform.original_size)[0] > 0.5

        return run

    def run_rewritten(protos: object, masks_in: object, bboxes: object) -> object:
        masks = process_mask(protos, masks_in, bboxes)  # type: ignore[arg-type]
        return scale_masks(masks[None])[0] > 0.5

    return run_rewritten


def _timed(function: Callable[..., object], *arguments: object) -> Callable[[], dict[str, float]]:
    """A variant for ``interleave``: the call's wall time is its only stage."""

    def run() -> dict[str, float]:
        function(*arguments)
        return {}

    return run


def measure(count: int, rounds: int, warmup: int = 3) -> dict[str, object]:
    transform = letterbox(ORIGINAL, INPUT)
    prototypes, coefficients, xyxy = head_outputs(count, transform)
    expected_has_pixels, expected = full_frame_masks(prototypes, coefficients, xyxy, transform)
    has_pixels, masks = box_masks(prototypes, coefficients, xyxy, transform)
    if has_pixels.tolist() != expected_has_pixels.tolist() or not np.array_equal(masks, expected):
        raise SystemExit("box_masks differs from the full-frame masks on the benchmark tensors")
    variants = {
        "full_frame": _timed(full_frame_masks, prototypes, coefficients, xyxy, transform),
        "box_masks": _timed(box_masks, prototypes, coefficients, xyxy, transform),
    }
    facts: dict[str, object] = {"masks": len(masks), "image": list(ORIGINAL), "input": list(INPUT)}
    ultralytics = ultralytics_masks(transform)
    if ultralytics is not None:
        import torch

        tensors = tuple(torch.from_numpy(array) for array in (prototypes, coefficients, xyxy))
        theirs = ultralytics(*tensors).numpy()  # type: ignore[attr-defined]
        facts["ultralytics_pixels_differing"] = int(np.count_nonzero(theirs != masks))
        facts["torch_threads"] = torch.get_num_threads()
        variants["ultralytics"] = _timed(ultralytics, *tensors)
    runs = interleave(variants, runs=rounds, warmup=warmup)
    return {
        **facts,
        "median_ms": {name: 1000 * statistics.median(row["total"] for row in rows) for name, rows in runs.items()},
        "ratio_to_box_masks": {name: paired_ratio(rows, runs["box_masks"]) for name, rows in runs.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mask_postprocess", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--masks", type=int, default=30)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.masks, args.rounds), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
