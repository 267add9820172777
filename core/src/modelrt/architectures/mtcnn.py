"""MTCNN face detection (Zhang et al., 2016): an image pyramid through three cascaded networks.

The package holds one network per role, each in whatever formats its backends run (an exported program
and an ONNX export, say); this module only sees sessions, so the same detector runs on any backend.

- ``pnet`` (proposal): fully convolutional, run on every level of an image pyramid (levels scaled by
  0.709 from the one where a face of ``min_face_size`` pixels fills the network's 12x12 window); each
  output cell whose face probability is ≥ 0.6 proposes a box. Outputs, in session order:
  regression ``[1, 4, h, w]``, probability ``[1, 2, h, w]``.
- ``rnet`` (refinement): the proposals cut out, squared and resized to 24x24, in batches; keeps those
  scoring > 0.7. Outputs: regression ``[N, 4]``, probability ``[N, 2]``.
- ``onet`` (output): the same at 48x48; keeps those scoring ≥ ``confidence`` and adds five landmarks
  (eyes, nose, mouth corners). Outputs: regression ``[N, 4]``, landmarks ``[N, 10]`` (five x then five
  y, as fractions of the crop), probability ``[N, 2]``.

Between stages: box regression, squaring, and NMS through ``modelrt.nms`` (per pyramid level at 0.5,
then across levels at 0.7, after ``rnet`` at 0.7, after ``onet`` at ``iou``). The reference
implementations suppress the last stage by intersection over the smaller box; ``modelrt.nms`` measures
IoU, used here too, so of two nested faces (a face inside a larger false box) both may be kept.

Choices and their reasons:
- Pyramid levels are resized with OpenCV's area interpolation (facenet-pytorch's ``area`` mode), and
  their sides are rounded up to even numbers, at least 14: ``pnet``'s first pooling rounds up, so an
  exported program is traced for one parity of the input size, and a 12-pixel side would make its
  output a single cell, a shape exports specialise on. The box geometry uses each level's true scale
  per axis, so rounding moves no box.
- Crops are cut for all boxes at once with one ``cv2.remap`` per mip level: each box samples the level
  of a halving pyramid where it is between one and two output sizes wide, so bilinear sampling never
  shrinks by more than two (no aliasing) and no Python loop runs per box. Parts of a box outside the
  image read as black, as in the original MTCNN (which keeps a face's geometry at the border).
- ``input.scale``/``mean``/``std``/``color`` of the manifest normalise pixels (MTCNN's weights expect
  ``(pixel - 127.5) / 128`` on RGB); ``input.size`` only sizes the warm-up image.
- Not MPS-capable (registered with ``mps_capable=False``): every pyramid level and every crop batch has
  its own shape, and MPS builds a graph per shape; for networks this small the CPU is faster.

Each face is one ``Detections`` row (label ``face``), with ``keypoints`` ``[N, 5, 3]``: x, y and, as
the landmarks have no score of their own, the face's confidence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import attrs
import numpy as np

from modelrt.architectures.base import (
    Architecture,
    check_override_names,
    fraction,
    positive_int,
    setting,
)
from modelrt.backend import Session
from modelrt.errors import InputError, PackageError
from modelrt.manifest import InputSpec
from modelrt.nms import nms
from modelrt.opencv import cv2
from modelrt.packages import ModelPackage
from modelrt.results import Detections, Prediction
from modelrt.timing import StageTimer

__all__ = ["MTCNN", "MTCNNSettings"]

PROPOSAL_THRESHOLD = 0.6
REFINEMENT_THRESHOLD = 0.7
PYRAMID_FACTOR = 0.709
PROPOSAL_WINDOW = 12
PROPOSAL_STRIDE = 2
LEVEL_NMS_IOU = 0.5
PROPOSAL_NMS_IOU = 0.7
REFINEMENT_NMS_IOU = 0.7
REFINEMENT_SIZE = 24
OUTPUT_SIZE = 48
LANDMARKS = 5
# Crops per network call: bounds memory on images with many proposals (facenet-pytorch uses 512 too).
MAX_CROP_BATCH = 512
# cv2.remap refuses maps with a side of SHRT_MAX or more.
_MAX_REMAP_SIDE = 32_766
_MIN_LEVEL_SIDE = 14

DEFAULT_CONFIDENCE = 0.7
DEFAULT_IOU = 0.7
DEFAULT_MAX_DETECTIONS = 300
DEFAULT_MIN_FACE_SIZE = 20


@attrs.frozen
class MTCNNSettings:
    """Per-call settings: final ``confidence`` (``onet``'s threshold) and ``iou``, ``max_detections``, and
    ``min_face_size`` in pixels (smaller faces are not searched for; smaller values cost more levels)."""

    OVERRIDES: ClassVar[tuple[str, ...]] = ("confidence", "iou", "max_detections", "min_face_size")

    confidence: float = DEFAULT_CONFIDENCE
    iou: float = DEFAULT_IOU
    max_detections: int = DEFAULT_MAX_DETECTIONS
    min_face_size: int = DEFAULT_MIN_FACE_SIZE

    @classmethod
    def resolve(cls, package: ModelPackage, overrides: Mapping[str, Any]) -> MTCNNSettings:
        """Overrides, else the manifest's ``postprocess``, else MTCNN's published defaults."""
        given = check_override_names(overrides, cls.OVERRIDES, package.manifest.architecture)
        defaults = package.manifest.postprocess
        return cls(
            confidence=setting(given, "confidence", defaults.confidence, DEFAULT_CONFIDENCE, fraction),
            iou=setting(given, "iou", defaults.iou, DEFAULT_IOU, fraction),
            max_detections=setting(
                given, "max_detections", defaults.max_detections, DEFAULT_MAX_DETECTIONS, positive_int
            ),
            min_face_size=setting(given, "min_face_size", None, DEFAULT_MIN_FACE_SIZE, _face_size),
        )


def _face_size(name: str, value: Any) -> int:
    size = positive_int(name, value)
    if size < PROPOSAL_WINDOW:
        raise InputError(f"{name}={value!r} is below MTCNN's {PROPOSAL_WINDOW}-pixel window; pass at least 12")
    return size


class _Stage:
    """One network of the cascade and the outputs it must have, checked once at load."""

    def __init__(self, package: ModelPackage, role: str, session: Session, outputs: Sequence[str]) -> None:
        if not session.inputs or len(session.outputs) < len(outputs):
            raise PackageError(
                f"package {package.manifest.name!r}: MTCNN's {role!r} network must take one image input and "
                f"give {len(outputs)} outputs ({', '.join(outputs)}, in that order), but it takes "
                f"{len(session.inputs)} input(s) and gives {len(session.outputs)}; check its artifacts"
            )
        self.role = role
        self.session = session
        self.input_name = session.inputs[0].name
        self.output_names = [info.name for info in session.outputs[: len(outputs)]]

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        outputs = self.session.run({self.input_name: tensor})
        return [np.asarray(outputs[name], dtype=np.float32) for name in self.output_names]


class MTCNN(Architecture):
    """Three-stage face detector with five landmarks; see the module docstring for each stage."""

    roles: ClassVar[tuple[str, ...]] = ("pnet", "rnet", "onet")

    def __init__(self, package: ModelPackage, sessions: Mapping[str, Session]) -> None:
        super().__init__(package, sessions)
        self.proposal = _Stage(package, "pnet", sessions["pnet"], ("regression", "probability"))
        self.refinement = _Stage(package, "rnet", sessions["rnet"], ("regression", "probability"))
        self.output = _Stage(package, "onet", sessions["onet"], ("regression", "landmarks", "probability"))
        self.normalise = _Normaliser(package.manifest.input)

    def predict(
        self, images: Sequence[np.ndarray], timer: StageTimer | None = None, **overrides: Any
    ) -> list[Prediction]:
        settings = MTCNNSettings.resolve(self.package, overrides)
        return [self._detect(image, settings, timer) for image in images]

    def _detect(self, image: np.ndarray, settings: MTCNNSettings, timer: StageTimer | None) -> Detections:
        height, width = image.shape[:2]
        boxes = self._propose(image, settings, timer)
        if not len(boxes):
            return self._no_faces()
        with _stage(timer, "pre"):
            mips = _MipLevels(image)
        boxes = self._refine(mips, boxes, timer)
        if not len(boxes):
            return self._no_faces()
        boxes, scores, landmarks = self._finish(mips, boxes, settings, timer)
        with _stage(timer, "post"):
            np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
            np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
            keypoints = np.empty((len(scores), LANDMARKS, 3), np.float32)
            keypoints[..., 0] = np.clip(landmarks[:, :LANDMARKS], 0, width)
            keypoints[..., 1] = np.clip(landmarks[:, LANDMARKS:], 0, height)
            keypoints[..., 2] = scores[:, None]
        return Detections(
            self.labels, xyxy=boxes, confidence=scores, class_id=np.zeros(len(scores), np.int64), keypoints=keypoints
        )

    def _no_faces(self) -> Detections:
        return Detections(
            self.labels,
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int64),
            keypoints=np.zeros((0, LANDMARKS, 3), np.float32),
        )

    # ------------------------------------------------------------------------------ stage 1

    def _propose(self, image: np.ndarray, settings: MTCNNSettings, timer: StageTimer | None) -> np.ndarray:
        """Squared proposal boxes ``[N, 4]`` (float64, original-image pixels) from every pyramid level."""
        height, width = image.shape[:2]
        found: list[np.ndarray] = []
        for level_height, level_width in pyramid_sizes(height, width, settings.min_face_size):
            with _stage(timer, "pre"):
                level = cv2.resize(image, (level_width, level_height), interpolation=cv2.INTER_AREA)
                tensor = self.normalise(level[None])
            with _stage(timer, "run"):
                regression, probability = self.proposal(tensor)
            with _stage(timer, "post"):
                found.append(_proposals(regression, probability, level_width / width, level_height / height))
        with _stage(timer, "post"):
            candidates = np.concatenate(found) if found else np.zeros((0, 9))
            if not len(candidates):
                return candidates[:, :4]
            level_of = np.repeat(np.arange(len(found)), [len(part) for part in found])
            keep = nms(candidates[:, :4], candidates[:, 4], level_of, LEVEL_NMS_IOU, max_detections=len(candidates))
            candidates = candidates[keep]
            keep = nms(candidates[:, :4], candidates[:, 4], level_of[keep], PROPOSAL_NMS_IOU, True, len(keep))
            candidates = candidates[keep]
            # pnet's regression is in units of the box's extent (no +1, as in facenet-pytorch's first stage).
            sides = candidates[:, 2:4] - candidates[:, 0:2]
            return _squared(candidates[:, :4] + candidates[:, 5:9] * np.tile(sides, 2))

    # ------------------------------------------------------------------------------ stage 2

    def _refine(self, mips: _MipLevels, boxes: np.ndarray, timer: StageTimer | None) -> np.ndarray:
        regression, probability = self._run_on_crops(self.refinement, mips, boxes, REFINEMENT_SIZE, timer)
        with _stage(timer, "post"):
            scores = probability[:, 1]
            passing = scores > REFINEMENT_THRESHOLD
            boxes, scores, regression = boxes[passing], scores[passing], regression[passing]
            keep = nms(boxes, scores, np.zeros(len(boxes)), REFINEMENT_NMS_IOU, True, len(boxes))
            return _squared(_regressed(boxes[keep], regression[keep]))

    # ------------------------------------------------------------------------------ stage 3

    def _finish(
        self, mips: _MipLevels, boxes: np.ndarray, settings: MTCNNSettings, timer: StageTimer | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        regression, landmarks, probability = self._run_on_crops(self.output, mips, boxes, OUTPUT_SIZE, timer)
        with _stage(timer, "post"):
            scores = probability[:, 1]
            passing = scores >= settings.confidence
            boxes, scores = boxes[passing], scores[passing]
            regression, landmarks = regression[passing], landmarks[passing]
            sides = boxes[:, 2:4] - boxes[:, 0:2] + 1
            points = np.empty_like(landmarks, dtype=np.float64)
            points[:, :LANDMARKS] = sides[:, :1] * landmarks[:, :LANDMARKS] + boxes[:, :1] - 1
            points[:, LANDMARKS:] = sides[:, 1:] * landmarks[:, LANDMARKS:] + boxes[:, 1:2] - 1
            boxes = _regressed(boxes, regression)
            keep = nms(boxes, scores, np.zeros(len(boxes)), settings.iou, True, settings.max_detections)
            return boxes[keep].astype(np.float32), scores[keep], points[keep].astype(np.float32)

    def _run_on_crops(
        self, stage: _Stage, mips: _MipLevels, boxes: np.ndarray, size: int, timer: StageTimer | None
    ) -> list[np.ndarray]:
        """The stage's outputs for every box, run in batches of at most ``MAX_CROP_BATCH`` crops."""
        parts: list[list[np.ndarray]] = []
        for start in range(0, len(boxes), MAX_CROP_BATCH):
            with _stage(timer, "pre"):
                tensor = self.normalise(mips.crops(boxes[start : start + MAX_CROP_BATCH], size))
            with _stage(timer, "run"):
                parts.append(stage(tensor))
        return [np.concatenate(outputs) for outputs in zip(*parts, strict=True)]


# ---------------------------------------------------------------------------------- geometry


def pyramid_sizes(height: int, width: int, min_face_size: int) -> list[tuple[int, int]]:
    """``(height, width)`` of each pyramid level ``pnet`` runs on, largest first.

    Level ``k`` is the image scaled by ``12 / min_face_size * 0.709**k`` (sides as facenet-pytorch rounds
    them, then up to an even number of at least 14), down to the level whose shorter side is 12.
    """
    scale = PROPOSAL_WINDOW / min_face_size
    shorter = min(height, width) * scale
    sizes = []
    while shorter >= PROPOSAL_WINDOW:
        sizes.append((_level_side(height * scale), _level_side(width * scale)))
        scale *= PYRAMID_FACTOR
        shorter *= PYRAMID_FACTOR
    return sizes


def _level_side(scaled: float) -> int:
    side = int(scaled + 1)
    return max(_MIN_LEVEL_SIDE, side + side % 2)


def _proposals(regression: np.ndarray, probability: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """Rows ``x1, y1, x2, y2, score, dx1, dy1, dx2, dy2`` for each ``pnet`` cell over the threshold."""
    if regression.ndim != 4 or probability.ndim != 4 or probability.shape[1] < 2:
        raise PackageError(
            f"MTCNN's pnet must output regression [1, 4, h, w] and probability [1, 2, h, w], got "
            f"{list(regression.shape)} and {list(probability.shape)}; check the package's pnet artifacts"
        )
    face = probability[0, 1]
    rows, columns = np.nonzero(face >= PROPOSAL_THRESHOLD)
    out = np.empty((rows.size, 9), np.float64)
    out[:, 0] = np.floor((PROPOSAL_STRIDE * columns + 1) / scale_x)
    out[:, 1] = np.floor((PROPOSAL_STRIDE * rows + 1) / scale_y)
    out[:, 2] = np.floor((PROPOSAL_STRIDE * columns + PROPOSAL_WINDOW) / scale_x)
    out[:, 3] = np.floor((PROPOSAL_STRIDE * rows + PROPOSAL_WINDOW) / scale_y)
    out[:, 4] = face[rows, columns]
    out[:, 5:9] = regression[0][:, rows, columns].T
    return out


def _regressed(boxes: np.ndarray, regression: np.ndarray) -> np.ndarray:
    """Boxes moved by a network's regression, in units of the box's pixel width and height."""
    sides = boxes[:, 2:4] - boxes[:, 0:2] + 1
    return boxes + regression[:, :4].astype(np.float64) * np.tile(sides, 2)


def _squared(boxes: np.ndarray) -> np.ndarray:
    """Each box grown to a square around its centre (the networks were trained on square crops)."""
    sides = boxes[:, 2:4] - boxes[:, 0:2]
    longest = sides.max(axis=1, keepdims=True)
    corner = boxes[:, 0:2] + sides / 2 - longest / 2
    return np.concatenate([corner, corner + longest], axis=1)


class _MipLevels:
    """The image and its successive halvings (area-averaged), for crops sampled without aliasing."""

    def __init__(self, image: np.ndarray) -> None:
        self.levels = [np.ascontiguousarray(image)]
        while min(self.levels[-1].shape[:2]) >= 2 * OUTPUT_SIZE:
            previous = self.levels[-1]
            half = (previous.shape[1] // 2, previous.shape[0] // 2)
            self.levels.append(cv2.resize(previous, half, interpolation=cv2.INTER_AREA))

    def crops(self, boxes: np.ndarray, size: int) -> np.ndarray:
        """``[N, size, size, 3]`` uint8: each box ``x1, y1, x2, y2`` (pixel edges) resized to ``size``."""
        out = np.zeros((len(boxes), size, size, 3), np.uint8)
        widths = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6)
        heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1e-6)
        ratio = np.maximum(widths, heights) / size
        level_of = np.clip(np.floor(np.log2(np.maximum(ratio, 1.0))), 0, len(self.levels) - 1).astype(np.intp)
        centres = (np.arange(size) + 0.5) / size
        for level in np.unique(level_of):
            for chunk in _chunks(np.flatnonzero(level_of == level), _MAX_REMAP_SIDE // size):
                factor = 2.0**level
                xs = (boxes[chunk, 0:1] + centres * widths[chunk, None]) / factor - 0.5
                ys = (boxes[chunk, 1:2] + centres * heights[chunk, None]) / factor - 0.5
                shape = (len(chunk), size, size)
                map_x = np.broadcast_to(xs[:, None, :], shape).reshape(-1, size).astype(np.float32)
                map_y = np.broadcast_to(ys[:, :, None], shape).reshape(-1, size).astype(np.float32)
                sampled = cv2.remap(
                    self.levels[level], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
                )
                out[chunk] = sampled.reshape(len(chunk), size, size, 3)
        return out


def _chunks(indices: np.ndarray, length: int) -> Iterator[np.ndarray]:
    for start in range(0, len(indices), length):
        yield indices[start : start + length]


class _Normaliser:
    """uint8 ``[N, H, W, 3]`` RGB → float32 ``[N, 3, H, W]`` as the manifest's input spec says."""

    def __init__(self, spec: InputSpec) -> None:
        pixels = np.arange(256, dtype=np.float64)
        mean = np.asarray(spec.mean, dtype=np.float64)[:, None]
        std = np.asarray(spec.std, dtype=np.float64)[:, None]
        self.luts = ((pixels * spec.scale - mean) / std).astype(np.float32)
        # Which RGB channel feeds each of the network's channels.
        self.sources = (0, 1, 2) if spec.color == "rgb" else (2, 1, 0)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        tensor = np.empty((images.shape[0], 3, images.shape[1], images.shape[2]), np.float32)
        for channel, source in enumerate(self.sources):
            np.take(self.luts[channel], images[..., source], out=tensor[:, channel])
        return tensor


def _stage(timer: StageTimer | None, name: str) -> AbstractContextManager[None]:
    return timer.stage(name) if timer is not None else nullcontext()
