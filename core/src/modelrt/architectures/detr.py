"""DETR-family detectors: a fixed set of queries, each a normalised box with class scores, and no NMS.

The three exported layouts differ only in how scores are read and selected; boxes are always normalised
``cx, cy, w, h`` relative to the network input, so they map back to the image through the package's
transform (a stretch resize, as these models are trained with, or a letterbox, which is undone).

``rf-detr`` (Roboflow's RF-DETR, ``rfdetr`` 1.11 ``export/prepare.py`` and ``export/_runtime/``):
    input ``input`` ``[B, 3, R, R]`` (R: 384 nano, 512 small, 576 medium, 560 base, 704 large), a stretch
    resize (bilinear, no antialiasing) of the RGB image scaled to [0, 1] and normalised with ImageNet's mean
    and std; outputs ``dets`` ``[B, Q, 4]`` (normalised cxcywh) and ``labels`` ``[B, Q, L]`` class logits.
    Scores are independent sigmoids; ``PostProcess`` ranks all query x class pairs and keeps the top ones
    (one query may yield several classes), then thresholds (``predict``'s default 0.5). ``L`` is the number
    of classes plus one background slot, last (fine-tuned models: labels list ``L - 1`` names and the last
    slot is never reported), or every slot is a class (COCO checkpoints: ``L = 91`` sparse COCO ids, labels
    list 91 names).
``rt-detr`` (Ultralytics' ``RTDETRDecoder`` export and ``RTDETRPredictor``):
    one output ``[B, Q, 4 + C]``: normalised cxcywh, then C class scores with the sigmoid already applied;
    each query keeps its best class (per-query max, default confidence 0.25); input a stretch resize
    (``LetterBox(scale_fill=True)``) to a square size (640), pixels scaled to [0, 1].
``detr`` (Facebook's DETR, ``models/detr.py`` ``PostProcess`` and its ONNX export test):
    outputs ``pred_logits`` ``[B, Q, C + 1]`` and ``pred_boxes`` ``[B, Q, 4]`` (normalised cxcywh); a
    softmax over the classes, whose last one is "no object" and is ignored; each query keeps its best real
    class (default confidence 0.7, as DETR's own demo uses); input normalised with ImageNet's mean and std,
    shorter side 800 (a dynamic input size).

Of two outputs, the one whose name holds ``dets`` or ``box`` is the boxes, else the only one ending in 4,
else the layout's usual position; the other holds the class scores. A score equal to the confidence is
kept, as for every modelrt detector; ``max_detections`` bounds the selection (RF-DETR's ``num_select``),
ranked by score, ties by query then class. Decoding is vectorised per batch element: no Python loop per
query or detection. Outputs that do not fit the layout or the labels are a ``PackageError`` at load time
when the graph declares their shapes, else at the first prediction.

MPS-capable (the reference runtime lists RF-DETR as the family that runs on MPS): the graph has static
shapes (a fixed number of queries; a fixed input for RF-DETR and RT-DETR; only DETR's input size may vary)
and no op whose output size depends on the data (no NMS, ``NonZero`` or data-sized ``TopK``), so nothing
on the device changes shape between images; all selection happens here, in numpy.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from modelrt.architectures.base import (
    DEFAULT_MAX_DETECTIONS,
    SingleStageArchitecture,
    check_override_names,
    class_filter,
    fraction,
    positive_int,
    setting,
)
from modelrt.backend import Session
from modelrt.errors import PackageError
from modelrt.packages import ModelPackage
from modelrt.preprocess import ImageTransform, boxes_to_original
from modelrt.results import Detections, Prediction

__all__ = ["DETR", "RFDETR", "RTDETR", "QuerySettings"]

# Declared output shapes are checked with zeros at load time up to this many values (a real head has far fewer).
_MAX_CHECKED_VALUES = 10_000_000
# Logits beyond this overflow float32 exp; their sigmoid is 0 or 1 either way.
_LOGIT_LIMIT = 88.0


@attrs.frozen
class QuerySettings:
    """Query-based detector post-processing: keep scores ≥ ``confidence``, at most ``max_detections``,
    of the class ids in ``classes`` (``None``: all). There is no NMS, so no ``iou``."""

    OVERRIDES: ClassVar[tuple[str, ...]] = ("confidence", "max_detections", "classes")

    confidence: float
    max_detections: int = DEFAULT_MAX_DETECTIONS
    classes: tuple[int, ...] | None = None


class _QueryDetector(SingleStageArchitecture):
    """Shared decoding: scores ``[B, Q, C]`` per labelled class and boxes ``[B, Q, 4]`` normalised cxcywh."""

    #: Confidence when neither the call nor the manifest sets one: the exporting project's own default.
    default_confidence: ClassVar[float]
    #: How many network outputs the layout has.
    output_count: ClassVar[int]
    #: What the outputs look like, for error messages.
    layout: ClassVar[str]
    #: Each query keeps only its best class (``False``: every query x class pair competes).
    best_class_per_query: ClassVar[bool] = True
    #: Where the boxes are among two outputs whose names and shapes do not tell.
    _default_box_index: ClassVar[int] = 0

    def __init__(self, package: ModelPackage, sessions: Mapping[str, Session]) -> None:
        super().__init__(package, sessions)
        if len(self.output_names) != self.output_count:
            count = len(self.output_names)
            names = ", ".join(self.output_names)
            raise self._layout_error(f"has {count} output{'s' if count != 1 else ''} ({names})")
        self._check_declared_shapes()

    def settings(self, overrides: Mapping[str, Any]) -> QuerySettings:
        manifest = self.package.manifest
        given = check_override_names(overrides, QuerySettings.OVERRIDES, manifest.architecture)
        defaults = manifest.postprocess
        return QuerySettings(
            confidence=setting(given, "confidence", defaults.confidence, self.default_confidence, fraction),
            max_detections=setting(
                given, "max_detections", defaults.max_detections, DEFAULT_MAX_DETECTIONS, positive_int
            ),
            classes=class_filter(given["classes"], manifest.labels) if "classes" in given else None,
        )

    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: QuerySettings
    ) -> list[Prediction]:
        boxes, scores = self._boxes_and_scores(outputs)
        count = len(transforms)
        boxes, scores = boxes[:count].astype(np.float32), scores[:count]
        return [
            self._detections(boxes[index], scores[index], transform, settings)
            for index, transform in enumerate(transforms)
        ]

    def _check_declared_shapes(self) -> None:
        """Check the layout at load time when the graph declares every output dimension but the batch.

        Otherwise (symbolic or unknown dimensions) the first prediction checks the real outputs.
        """
        shapes: list[tuple[int, ...]] = []
        for output in self.session.outputs:
            dims = [dim for dim in output.shape[1:] if isinstance(dim, int) and dim >= 0]
            if not output.shape or len(dims) != len(output.shape) - 1:
                return
            shapes.append((1, *dims))
        if sum(math.prod(shape) for shape in shapes) > _MAX_CHECKED_VALUES:
            return
        self._boxes_and_scores([np.zeros(shape, dtype=np.float32) for shape in shapes])

    @abc.abstractmethod
    def _boxes_and_scores(self, outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Boxes ``[B, Q, 4]`` and scores ``[B, Q, len(labels)]`` in [0, 1], checked against the layout."""

    def _detections(
        self, boxes: np.ndarray, scores: np.ndarray, transform: ImageTransform, settings: QuerySettings
    ) -> Detections:
        if self.best_class_per_query:
            class_ids = scores.argmax(axis=1)
            best = np.take_along_axis(scores, class_ids[:, None], axis=1)[:, 0]
            queries = np.flatnonzero(best >= settings.confidence)
            chosen, class_ids = best[queries], class_ids[queries]
        else:
            pairs = np.flatnonzero(scores >= settings.confidence)
            chosen = scores.reshape(-1)[pairs]
            queries, class_ids = np.divmod(pairs, scores.shape[1])
        if settings.classes is not None:
            # After the selection, as Ultralytics filters: a query whose best class is unwanted is dropped,
            # not reported as its second best (query x class pairs are simply filtered).
            wanted = np.isin(class_ids, settings.classes)
            chosen, queries, class_ids = chosen[wanted], queries[wanted], class_ids[wanted]
        # Descending score; a stable sort keeps ties in query (then class) order, as RF-DETR's PostProcess.
        order = np.argsort(-chosen, kind="stable")[: settings.max_detections]
        cxcywh = boxes[queries[order]]
        input_h, input_w = transform.input_size
        half = cxcywh[:, 2:] / 2
        xyxy = np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)
        xyxy *= np.array([input_w, input_h, input_w, input_h], dtype=np.float32)
        return Detections(
            self.labels,
            xyxy=boxes_to_original(xyxy, transform),
            confidence=chosen[order],
            class_id=class_ids[order].astype(np.int64),
        )

    # ---------------------------------------------------------------------------- layout checks

    def _pair(self, outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The boxes and class outputs of a two-output layout: by name, else by shape, else in order."""
        names = [name.lower() for name in self.output_names]
        box_index = next((i for i, name in enumerate(names) if "dets" in name or "box" in name), None)
        if box_index is None:
            ending_in_4 = [i for i, output in enumerate(outputs) if output.ndim == 3 and output.shape[-1] == 4]
            box_index = ending_in_4[0] if len(ending_in_4) == 1 else self._default_box_index
        boxes, logits = outputs[box_index], outputs[1 - box_index]
        if boxes.ndim != 3 or boxes.shape[-1] != 4 or logits.ndim != 3 or logits.shape[:2] != boxes.shape[:2]:
            raise self._layout_error(f"outputs {list(boxes.shape)} (boxes) and {list(logits.shape)} (class scores)")
        return boxes, logits

    def _layout_error(self, found: str) -> PackageError:
        manifest = self.package.manifest
        return PackageError(
            f"package {manifest.name!r}: a {manifest.architecture} model outputs {self.layout}, but this model "
            f"{found}; check 'architecture' in modelrt.json (rf-detr, rt-detr or detr)"
        )

    def _class_mismatch(self, output: np.ndarray, scores: int, expected: str) -> PackageError:
        manifest = self.package.manifest
        return PackageError(
            f"package {manifest.name!r}: the model's output {list(output.shape)} holds {scores} class "
            f"scores per query, but the manifest lists {len(self.labels)} labels; a {manifest.architecture} "
            f"model needs {expected}; fix 'labels' (or 'architecture') in modelrt.json"
        )


class RFDETR(_QueryDetector):
    """RF-DETR: ``dets`` ``[B, Q, 4]`` and ``labels`` ``[B, Q, L]`` logits; sigmoid, top-k over query x class.

    The last of ``L`` slots is a background slot, never reported, when the labels list ``L - 1`` names;
    with ``L`` names every slot is a class.
    """

    default_confidence = 0.5
    output_count = 2
    layout = "'dets' [batch, queries, 4] and 'labels' [batch, queries, classes (+1 background)]"
    best_class_per_query = False

    def _boxes_and_scores(self, outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        boxes, logits = self._pair(outputs)
        slots = logits.shape[-1]
        if self.labels and slots not in (len(self.labels), len(self.labels) + 1):
            raise self._class_mismatch(logits, slots, f"{slots} or {slots - 1} labels (the last slot a background)")
        if self.labels:
            logits = logits[..., : len(self.labels)]
        return boxes, _sigmoid(logits)


class DETR(_QueryDetector):
    """Facebook's DETR: ``pred_logits`` ``[B, Q, C + 1]`` and ``pred_boxes`` ``[B, Q, 4]``; softmax, the last
    class "no object" ignored, each query its best class."""

    default_confidence = 0.7
    output_count = 2
    layout = "'pred_logits' [batch, queries, classes + 1 (no object)] and 'pred_boxes' [batch, queries, 4]"
    _default_box_index = 1

    def _boxes_and_scores(self, outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        boxes, logits = self._pair(outputs)
        if logits.shape[-1] < 2:
            raise self._layout_error(f"outputs {list(boxes.shape)} (boxes) and {list(logits.shape)} (class scores)")
        if self.labels and logits.shape[-1] != len(self.labels) + 1:
            raise self._class_mismatch(
                logits,
                logits.shape[-1],
                f"one label per score but the last, which is 'no object' ({logits.shape[-1] - 1} labels)",
            )
        return boxes, _softmax(logits)[..., :-1]


class RTDETR(_QueryDetector):
    """Ultralytics' RT-DETR: one output ``[B, Q, 4 + C]``, boxes then sigmoid scores; each query its best class."""

    default_confidence = 0.25
    output_count = 1
    layout = "one output [batch, queries, 4 + classes]"

    def _boxes_and_scores(self, outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        (predictions,) = outputs
        if predictions.ndim != 3 or predictions.shape[-1] < 5:
            raise self._layout_error(f"outputs {list(predictions.shape)}")
        classes = predictions.shape[-1] - 4
        if self.labels and classes != len(self.labels):
            raise self._class_mismatch(predictions, classes, f"{classes} labels, one per class score")
        return predictions[..., :4], predictions[..., 4:].astype(np.float32)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    clipped = np.clip(logits.astype(np.float32), -_LOGIT_LIMIT, _LOGIT_LIMIT)
    return 1 / (1 + np.exp(-clipped))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float32) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)
