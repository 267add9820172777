"""Annotated video out (``modelrt predict MODEL clip.mp4 --save out.mp4``), written whole or not at all.

Frames go to a temporary file next to the target, which takes the target's name only when the last
frame is written: a run that fails or is interrupted leaves no half video under that name. The codec is
one that the OpenCV wheels write on every platform: MPEG-4 Part 2 (``mp4v``) for ``.mp4``/``.mov``/``.m4v``,
Motion JPEG (``MJPG``) for ``.avi``/``.mkv``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelrt.errors import InputError, StorageError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["VIDEO_CODECS", "AnnotatedVideoWriter"]

#: The codec (FourCC) written for each suffix ``--save`` accepts for a video.
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class AnnotatedVideoWriter:
    """Writes BGR frames of one size at one frame rate to ``path``, published by ``finish()``."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], *, overwrite: bool) -> None:
        from modelrt.opencv import cv2

        codec = VIDEO_CODECS.get(path.suffix.lower())
        if codec is None:
            raise InputError(
                f"--save {path}: cannot write a video as {path.suffix or 'a file without suffix'}; "
                f"use one of {', '.join(VIDEO_CODECS)}"
            )
        if os.path.lexists(path) and not overwrite:
            raise InputError(
                f"--save would replace {path}, a file that already exists; pass --overwrite, or save elsewhere"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.size = size
        self._overwrite = overwrite
        self._temp = path.parent / f".{path.stem}.{os.urandom(6).hex()}.tmp{path.suffix}"
        self._writer = cv2.VideoWriter(str(self._temp), cv2.VideoWriter.fourcc(*codec), fps, size)
        if not self._writer.isOpened():
            self._writer.release()
            self._temp.unlink(missing_ok=True)
            raise StorageError(
                f"cannot write the video {path} with codec {codec}: OpenCV could not open it for "
                "writing; check that the directory is writable"
            )
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append a BGR frame; a frame of another size (stills of mixed sizes) is resized to fit."""
        from modelrt.opencv import cv2

        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(frame)
        self.frames += 1

    def finish(self) -> None:
        """Close the file and give it its name."""
        from modelrt.storage import publish, storage_errors

        self._writer.release()
        with storage_errors(self.path):
            try:
                publish(self._temp, self.path, replace=self._overwrite)
            except FileExistsError:
                self.discard()
                raise InputError(
                    f"--save: {self.path} appeared while the video was written; pass --overwrite to replace it"
                ) from None

    def discard(self) -> None:
        """Close and delete the unfinished file."""
        self._writer.release()
        self._temp.unlink(missing_ok=True)
