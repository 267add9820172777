"""Short synthetic videos for the video tests, written with ``cv2.VideoWriter`` in temporary directories.

Each frame is one solid colour taken in turn from ``COLOURS``, so the colour classifier of
``tests/integration/cli_models.py`` names every frame exactly and the order of results shows the order
of frames.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

#: RGB colours the frames take in turn, and the class the colour classifier gives each.
COLOURS = ((230, 10, 10), (10, 230, 10), (10, 10, 230))
CLASSES = ("red", "green", "blue")
WIDTH, HEIGHT = 64, 48
FPS = 10.0


def expected_classes(count: int) -> list[str]:
    return [CLASSES[index % len(CLASSES)] for index in range(count)]


def write_video(path: Path, frames: int, codec: str = "mp4v", fps: float = FPS) -> Path:
    """``frames`` solid-colour frames of WIDTH x HEIGHT at ``fps`` (``MJPG`` for ``.avi``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*codec), fps, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for index in range(frames):
        rgb = np.full((HEIGHT, WIDTH, 3), COLOURS[index % len(COLOURS)], np.uint8)
        writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
    writer.release()
    return path


def truncated_video(path: Path, frames: int = 20, keep: float = 0.5) -> Path:
    """An MJPG ``.avi`` whose header announces ``frames`` frames, cut to ``keep`` of its bytes (the
    frames are noise, so they, not the header, make up most of the file)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    noise = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(noise.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def read_back(path: Path) -> tuple[int, tuple[int, int], float]:
    """(frames decoded, (width, height), fps) of a written video, as OpenCV reads it."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    count = 0
    while capture.read()[0]:
        count += 1
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return count, size, fps
