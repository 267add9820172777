"""Frame sources: what ``Model.stream`` reads frames from, each frame with where it sits in its source.

``open_frames`` turns what the caller passed into a ``FrameSource``:

- a video file (``clip.mp4``; any container OpenCV's FFmpeg reads): every frame, with the container's
  timestamps;
- a camera index (``0`` or ``"0"``) or a stream URL (``rtsp://``, ``rtmp://``, ``http(s)://``): a *live*
  source, timestamps from the container when it gives them, else seconds since it was opened;
- an image directory (its image files in name order) or a quoted glob pattern: the stills as a video
  at ``stills_fps`` frames per second;
- an object that already is a ``FrameSource`` (a custom camera SDK, a test double), or a function
  without arguments that returns one (called again when a broken live source is re-opened).

Sources are read from one thread at a time (the stream's decode thread), as OpenCV requires.
"""

from __future__ import annotations

import glob
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from modelrt.errors import InputError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["STREAM_SCHEMES", "CaptureSource", "FrameInfo", "FrameSource", "StillsSource", "open_frames"]

#: URL schemes read as live streams.
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
_STILL_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class FrameInfo:
    """Where a frame sits in its source.

    ``index`` counts frames read from the source (dropped and skipped ones included, so gaps show what
    was left out); ``timestamp`` is seconds from the source's start by its container, not the wall clock;
    ``fps`` and ``size`` (width, height) are the source's own; ``stage_seconds`` is what this frame cost
    per stage (read from the source, decode into the model's colour order, pre, run, post; a batch's
    cost shared equally by its frames).
    """

    source: str
    index: int
    timestamp: float
    fps: float
    size: tuple[int, int]
    live: bool
    stage_seconds: dict[str, float] = field(default_factory=dict, compare=False)


@runtime_checkable
class FrameSource(Protocol):
    """Anything that gives frames one by one: OpenCV captures, image directories, a caller's own camera."""

    name: str
    live: bool
    fps: float
    size: tuple[int, int]
    #: Frames the source says it holds (a file's frame count), or ``None`` when unknown or endless.
    frame_count: int | None

    def read(self) -> tuple[float, np.ndarray] | None:
        """The next frame as (timestamp in seconds, HxWx3 uint8 BGR array); ``None`` at the end.

        Raises ``InputError`` when the source breaks (a corrupt file, a lost connection)."""

    def close(self) -> None:
        """Release the device, file or connection."""


def open_frames(source: Any, *, stills_fps: float = 30.0) -> FrameSource:
    """The ``FrameSource`` for ``source`` (see the module docstring); ``InputError`` when it cannot open."""
    if isinstance(source, FrameSource):
        return source
    if callable(source):
        opened = source()
        if not isinstance(opened, FrameSource):
            raise InputError(f"the source function returned a {type(opened).__name__}, not a FrameSource")
        return opened
    if isinstance(source, bool) or not isinstance(source, int | str | os.PathLike):
        raise InputError(
            f"cannot stream from a {type(source).__name__}: pass a video file, a camera index, a stream URL, "
            "an image directory or glob pattern, or a FrameSource"
        )
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return CaptureSource(int(source), name=f"camera {int(source)}", live=True)
    text = os.fspath(source)
    if text.lower().startswith(STREAM_SCHEMES):
        return CaptureSource(text, name=text, live=True)
    if os.path.isdir(text):
        return StillsSource(text, sorted(os.path.join(text, name) for name in os.listdir(text)), stills_fps)
    if any(char in text for char in "*?[") and not os.path.exists(text):
        return StillsSource(text, sorted(glob.glob(text, recursive=True)), stills_fps)
    if not os.path.isfile(text):
        raise InputError(f"{text}: no such video file, directory or pattern; check the path")
    return CaptureSource(text, name=text, live=False)


class CaptureSource:
    """A video file, camera or stream URL read through OpenCV's ``VideoCapture``."""

    def __init__(self, target: int | str, *, name: str, live: bool) -> None:
        from modelrt.opencv import cv2

        self.name = name
        self.live = live
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            self._capture.release()
            what = "camera" if isinstance(target, int) else "stream" if live else "video"
            raise InputError(
                f"{name}: cannot open this {what} (OpenCV's FFmpeg cannot read it, or it is not a video); "
                "check that it plays in a video player, or re-encode it (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)"
            )
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if math.isfinite(fps) and fps > 0 else 30.0
        self.size = (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 and not live else None
        self._read = 0
        self._opened_at = time.monotonic()
        self._last_timestamp = -1.0

    def read(self) -> tuple[float, np.ndarray] | None:
        from modelrt.opencv import cv2

        try:
            ok, frame = self._capture.read()
        except cv2.error as error:
            raise InputError(
                f"{self.name}: frame {self._read} cannot be decoded ({error}); the video is corrupt"
            ) from None
        if not ok or frame is None:
            if self.frame_count is not None and self._read < self.frame_count:
                raise InputError(
                    f"{self.name}: the video ended after {self._read} of the {self.frame_count} frames its container "
                    "announces; the file is truncated or corrupt (re-download or re-encode it)"
                )
            return None
        self._read += 1
        return self._timestamp(self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0), frame

    def _timestamp(self, container: float) -> float:
        """The container's time of the frame; where it gives none that moves forward (cameras, some
        streams), the time since opening (live) or the frame's place at the source's frame rate."""
        if not (math.isfinite(container) and container > self._last_timestamp):
            container = time.monotonic() - self._opened_at if self.live else (self._read - 1) / self.fps
            container = max(container, self._last_timestamp + 1e-6)
        self._last_timestamp = container
        return container

    def close(self) -> None:
        self._capture.release()


class StillsSource:
    """Image files, in name order, read as a video of stills at ``fps`` frames per second."""

    live = False

    def __init__(self, name: str, paths: list[str], fps: float) -> None:
        self.name = name
        self._paths = [path for path in paths if Path(path).suffix.lower() in _STILL_SUFFIXES and os.path.isfile(path)]
        if not self._paths:
            raise InputError(f"{name}: holds no image files ({', '.join(sorted(_STILL_SUFFIXES))}) to stream")
        if not (math.isfinite(fps) and fps > 0):
            raise InputError(f"stills_fps={fps!r} must be a positive number of frames per second")
        self.fps = float(fps)
        self.frame_count: int | None = len(self._paths)
        self._next = 0
        first = self._load(self._paths[0])
        self.size = (int(first.shape[1]), int(first.shape[0]))

    def read(self) -> tuple[float, np.ndarray] | None:
        if self._next >= len(self._paths):
            return None
        frame = self._load(self._paths[self._next])
        timestamp = self._next / self.fps
        self._next += 1
        return timestamp, frame

    @staticmethod
    def _load(path: str) -> np.ndarray:
        from modelrt.images import load_image

        return load_image(path)[:, :, ::-1]  # load_image gives RGB; frames are BGR as OpenCV reads video

    def close(self) -> None:
        """Nothing held open between frames."""
