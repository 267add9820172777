"""What ``modelrt predict`` accepts as IMAGE arguments, expanded into the list of images to predict.

- a file: predicted whatever its suffix (the decoder decides);
- a video file (by its suffix) or a stream URL (``rtsp://``, ``http(s)://``...): predicted frame by
  frame, on its own (``modelrt.cli_video``); a video without a video suffix, or on stdin, is refused
  with the way around it;
- a directory: the image files directly in it (by suffix), in name order; other files are skipped with
  a note, sub-directories are not searched;
- a glob pattern, quoted so that modelrt expands it (``'photos/*.jpg'``, ``'data/**/*.png'`` recurses):
  the image files it matches, in name order;
- ``-``: one encoded image read from stdin.

A missing path, an empty directory or a pattern without matches is a problem of that argument only:
the other images are still predicted, and the command reports it and exits with status 1.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelrt.cli_output import escaped
from modelrt.errors import InputError
from modelrt.video.frames import STREAM_SCHEMES

__all__ = [
    "IMAGE_SUFFIXES",
    "STDIN",
    "VIDEO_SUFFIXES",
    "ImageInput",
    "InputProblem",
    "PredictInputs",
    "expand_inputs",
    "looks_like_video",
    "video_refusal",
]

STDIN = "-"
#: Suffixes of the formats ``modelrt.images`` decodes; directories and patterns keep these files.
IMAGE_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".bmp",
        ".dib",
        ".webp",
        ".tif",
        ".tiff",
        ".gif",
        ".pbm",
        ".pgm",
        ".ppm",
        ".pnm",
        ".pam",
        ".pfm",
        ".sr",
        ".ras",
        ".jp2",
        ".j2k",
        ".jpf",
        ".jpx",
        ".hdr",
        ".pic",
        ".avif",
    }
)
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"})
#: Suffixes named when a directory or pattern yields no image.
_COMMON_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
_GLOB_CHARACTERS = frozenset("*?[")
#: File names shown in one note before "and N more".
_NAMES_IN_A_NOTE = 3


def video_refusal(name: str) -> str:
    """Why a video is refused, and the way around it: one line for the user."""
    return (
        f"{escaped(name)} is a video; `modelrt predict` reads a video from a file with a video suffix "
        "(.mp4, .mov, .mkv, .avi, ...): save or rename it, e.g. clip.mp4, and pass that path"
    )


def looks_like_video(head: bytes) -> bool:
    """Whether the first bytes of a file announce a video container (MP4/MOV/3GP, Matroska/WebM, AVI,
    MPEG); AVIF and HEIF still pictures share MP4's box format and are not videos."""
    if head[4:8] == b"ftyp":
        return head[8:12] not in _STILL_IMAGE_BRANDS
    return head.startswith((b"\x1a\x45\xdf\xa3", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")) or (
        head[:4] == b"RIFF" and head[8:12] == b"AVI "
    )


_STILL_IMAGE_BRANDS = frozenset({b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"})


@dataclass(frozen=True)
class ImageInput:
    """One image to predict: ``name`` as the user sees it (the path, or ``-`` for stdin)."""

    name: str

    @property
    def from_stdin(self) -> bool:
        return self.name == STDIN

    def source(self) -> str | bytes:
        """What ``modelrt.images.load_image`` takes: the path, or the bytes read from stdin."""
        if not self.from_stdin:
            return self.name
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError(
                "`-` reads one encoded image from stdin, but stdin is a terminal; pipe an image in: "
                "modelrt predict MODEL - < photo.jpg"
            )
        return sys.stdin.buffer.read()


@dataclass(frozen=True)
class InputProblem:
    """An argument or image that cannot be predicted, and why (one line, ready for the user)."""

    name: str
    reason: str


@dataclass
class PredictInputs:
    """The images to predict in order, the videos and stream URLs, the arguments that gave none, and
    notes on what was skipped."""

    images: list[ImageInput] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def expand_inputs(arguments: Sequence[str]) -> PredictInputs:
    """Expand IMAGE arguments in the order given; ``InputError`` for ``-`` given twice."""
    if list(arguments).count(STDIN) > 1:
        raise InputError("`-` (an image on stdin) may be given once; stdin holds one image")
    expanded = PredictInputs()
    for argument in arguments:
        _expand_one(argument, expanded)
    return expanded


def _expand_one(argument: str, expanded: PredictInputs) -> None:
    if argument == STDIN:
        expanded.images.append(ImageInput(STDIN))
        return
    if argument.lower().startswith(STREAM_SCHEMES):
        expanded.videos.append(argument)
        return
    path = Path(argument)
    if path.is_dir():
        try:
            names = sorted(os.listdir(path))
        except OSError as error:
            reason = f"cannot list the directory {escaped(argument)}: {error.strerror or error}"
            expanded.problems.append(InputProblem(argument, reason))
            return
        _add_collection(argument, [os.path.join(argument, name) for name in names], expanded, "directory holds")
        return
    if _is_pattern(argument) and not path.exists():
        _add_collection(argument, sorted(glob.glob(argument, recursive=True)), expanded, "pattern matches")
        return
    if path.suffix.lower() in VIDEO_SUFFIXES and path.exists():
        expanded.videos.append(argument)
        return
    expanded.images.append(ImageInput(argument))


def _add_collection(argument: str, paths: Sequence[str], expanded: PredictInputs, what_it_does: str) -> None:
    """Keep the image files among ``paths``; note the files skipped; a problem when none is an image."""
    images, videos, others = [], [], []
    for path in paths:
        if not os.path.isfile(path):
            continue  # sub-directories are not searched; a pattern with ** reaches into them
        suffix = os.path.splitext(path)[1].lower()
        if suffix in IMAGE_SUFFIXES:
            images.append(path)
        elif suffix in VIDEO_SUFFIXES:
            videos.append(os.path.basename(path))
        else:
            others.append(os.path.basename(path))
    shown = escaped(argument)
    if videos:
        skipped = f"{shown}: skipped {_count(videos, 'video')} ({_names(videos)})"
        expanded.notes.append(f"{skipped}: pass a video by its own path")
    if others:
        expanded.notes.append(f"{shown}: skipped {_count(others, 'file')} without an image suffix ({_names(others)})")
    if not images:
        reason = f"{shown}: the {what_it_does} no image files ({', '.join(_COMMON_SUFFIXES)}, ...)"
        expanded.problems.append(InputProblem(argument, reason))
    expanded.images.extend(ImageInput(image) for image in images)


def _count(names: Sequence[str], noun: str) -> str:
    return f"1 {noun}" if len(names) == 1 else f"{len(names)} {noun}s"


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(escaped(name) for name in names[:_NAMES_IN_A_NOTE])
    more = len(names) - _NAMES_IN_A_NOTE
    return f"{shown}, and {more} more" if more > 0 else shown


def _is_pattern(argument: str) -> bool:
    return any(char in _GLOB_CHARACTERS for char in argument)
