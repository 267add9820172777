"""Semantic segmentation: class ids by nearest neighbour vs scores resized bilinearly, in time and accuracy.

A 1280x720 ground truth of discs of 21 classes, letterboxed to 512x512, gives scores at stride 4 (area
averages of the one-hot truth, x8, plus noise). Each way of bringing them back to the image is timed
(best of 15) and scored against the truth; modelrt's ``class_map_from_scores`` must equal the full
bilinear resize. Usage: ``python -m benchmarks.semantic_resize``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from modelrt.architectures.semantic_segmenter import class_map_from_scores
from modelrt.manifest import InputSpec
from modelrt.opencv import cv2
from modelrt.preprocess import Preprocessor

HEIGHT, WIDTH, CLASSES, INPUT, STRIDE = 720, 1280, 21, 512, 4


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The ground truth ``[H, W]`` and the network's scores ``[C, h, w]`` for it."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:HEIGHT, 0:WIDTH]
    truth = np.zeros((HEIGHT, WIDTH), np.int32)
    for class_id in range(1, CLASSES):
        for _ in range(2):
            x, y, radius = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), rng.uniform(30, 200)
            truth[(columns - x) ** 2 + (rows - y) ** 2 < radius**2] = class_id
    cells = INPUT // STRIDE
    content_h = round(HEIGHT * INPUT / WIDTH) // STRIDE
    top = (cells - content_h) // 2
    onehot = np.eye(CLASSES, dtype=np.float32)[truth]
    scores = np.zeros((cells, cells, CLASSES), np.float32)
    for class_id in range(CLASSES):
        plane = cv2.resize(onehot[:, :, class_id], (cells, content_h), interpolation=cv2.INTER_AREA)
        scores[top : top + content_h, :, class_id] = plane
    scores = scores * 8 + rng.normal(0, 0.3, scores.shape).astype(np.float32)
    return truth, np.ascontiguousarray(scores.transpose(2, 0, 1))


def main() -> None:
    truth, scores = scene()
    transform = Preprocessor(InputSpec(size=(INPUT, INPUT))).transform_for(HEIGHT, WIDTH)
    top_input = transform.offset[1]
    top, content_h = top_input // STRIDE, transform.resized_size[0] // STRIDE

    def nearest() -> np.ndarray:
        best = scores.argmax(axis=0)
        columns = ((np.arange(WIDTH) + 0.5) * transform.scale[0] / STRIDE).astype(np.intp)
        rows = (((np.arange(HEIGHT) + 0.5) * transform.scale[1] + top_input) / STRIDE).astype(np.intp)
        return best[np.ix_(np.minimum(rows, top + content_h - 1), np.minimum(columns, best.shape[1] - 1))]

    def resize_all() -> np.ndarray:
        content = np.ascontiguousarray(scores[:, top : top + content_h].transpose(1, 2, 0))
        return cv2.resize(content, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR).argmax(axis=2)

    def modelrt() -> np.ndarray:
        return class_map_from_scores(scores, transform)

    ways: dict[str, Callable[[], np.ndarray]] = {
        "argmax, then nearest": nearest,
        "cv2.resize all, argmax": resize_all,
        "modelrt (bilinear)": modelrt,
    }
    for name, way in ways.items():
        times = []
        for _ in range(15):
            start = time.perf_counter()
            mapped = way()
            times.append(time.perf_counter() - start)
        ious = [
            ((mapped == c) & (truth == c)).sum() / max(1, ((mapped == c) | (truth == c)).sum()) for c in range(CLASSES)
        ]
        print(
            f"{name:24} {min(times) * 1000:6.1f} ms  pixels right {(mapped == truth).mean():.2%}  "
            f"mIoU {np.mean(ious):.3f}"
        )
    print(f"modelrt equals the full bilinear resize on {(modelrt() == resize_all()).mean():.5%} of pixels")


if __name__ == "__main__":
    main()
