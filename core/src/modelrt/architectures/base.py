"""What every architecture shares: the ``Architecture`` contract, the single-stage pipeline, and checked
post-processing overrides.

An architecture receives all sessions of its package by role, so multi-stage models fit; most
models are one network, and ``SingleStageArchitecture`` runs them as three separable stages
(pre, run, post) timed by a ``StageTimer``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar, TypeVar

import attrs
import numpy as np

from modelrt.backend import Session
from modelrt.errors import InputError, PackageError
from modelrt.manifest import MAX_INPUT_PIXELS
from modelrt.packages import ModelPackage
from modelrt.preprocess import ImageTransform, Preprocessor
from modelrt.results import Prediction
from modelrt.timing import StageTimer

__all__ = [
    "Architecture",
    "DetectionSettings",
    "SingleStageArchitecture",
    "check_override_names",
    "class_filter",
    "flag",
    "fraction",
    "positive_float",
    "positive_int",
    "setting",
]

T = TypeVar("T")


class Architecture(abc.ABC):
    """Turns decoded images into results using the package's sessions.

    ``roles`` names the artifact roles it needs a session for; ``sessions`` holds one per role (the
    load checks the manifest against ``roles`` once, before any backend is built, so ``explain`` refuses
    what ``load`` would). ``predict`` takes RGB uint8 HxWx3 arrays and returns one result per image,
    recording the stages "pre", "run" and "post" in ``timer``; ``overrides`` are per-call
    post-processing settings (``None`` means the default).
    """

    roles: ClassVar[tuple[str, ...]] = ("main",)

    def __init__(self, package: ModelPackage, sessions: Mapping[str, Session]) -> None:
        self.package = package
        self.sessions = sessions
        self.labels = package.manifest.labels

    @abc.abstractmethod
    def predict(
        self, images: Sequence[np.ndarray], timer: StageTimer | None = None, **overrides: Any
    ) -> list[Prediction]:
        """One result per image."""


class SingleStageArchitecture(Architecture):
    """Preprocess, run the "main" session, postprocess; batching as the manifest's ``input.batch`` allows.

    A dynamic batch runs up to ``max_batch`` images per call, fewer where their inputs are large, so one
    call's input never exceeds ``MAX_INPUT_PIXELS`` (bounding memory); a fixed batch size ``N`` runs
    chunks of ``N``, padding the last one; images whose inputs differ in size (a dynamic input size)
    never share a call. A batch size fixed in the network itself wins over the manifest's, since the
    network is what runs (exports often fix it at 1 while the manifest says "dynamic"). An empty list
    of images runs nothing and returns an empty list.

    With a dynamic input size that scales the shorter side, the input follows the image's aspect ratio,
    so a long thin image (2 x 20,000 pixels) would become an input of gigapixels (a dynamic letterbox
    stays within ``size``): an image whose input exceeds ``MAX_INPUT_PIXELS`` is an ``InputError``
    before anything is allocated. A network whose fixed batch of fixed-size inputs exceeds it is a
    ``PackageError`` at load time.
    """

    max_batch: ClassVar[int] = 16

    def __init__(self, package: ModelPackage, sessions: Mapping[str, Session]) -> None:
        super().__init__(package, sessions)
        self.session = sessions["main"]
        self.preprocessor = Preprocessor(package.manifest.input)
        self.input_name = self.session.inputs[0].name
        self.output_names = [output.name for output in self.session.outputs]
        self.batch = _static_batch(self.session) or package.manifest.input.batch
        spec = package.manifest.input
        if isinstance(self.batch, int) and not spec.dynamic_size:
            height, width = spec.size
            if self.batch * height * width > MAX_INPUT_PIXELS:
                raise PackageError(
                    f"package {package.manifest.name!r}: the network runs batches of {self.batch} inputs of "
                    f"{width}x{height}, {self.batch * height * width} pixels per call, over the limit of "
                    f"{MAX_INPUT_PIXELS}; export the network with a smaller or dynamic batch size"
                )

    @abc.abstractmethod
    def settings(self, overrides: Mapping[str, Any]) -> Any:
        """Post-processing settings: manifest defaults with checked ``overrides`` applied."""

    @abc.abstractmethod
    def postprocess(
        self, outputs: Sequence[np.ndarray], transforms: Sequence[ImageTransform], settings: Any
    ) -> list[Prediction]:
        """Results for the first ``len(transforms)`` entries of the batch ``outputs`` (in session order)."""

    def predict(
        self, images: Sequence[np.ndarray], timer: StageTimer | None = None, **overrides: Any
    ) -> list[Prediction]:
        settings = self.settings(overrides)
        results: list[Prediction | None] = [None] * len(images)
        for indices, batch_size in self._batches(images):
            with _stage(timer, "pre"):
                tensor, transforms = self.preprocessor([images[i] for i in indices], batch_size)
            with _stage(timer, "run"):
                outputs = self.run(tensor)
            with _stage(timer, "post"):
                predictions = self.postprocess(outputs, transforms, settings)
            for index, prediction in zip(indices, predictions, strict=True):
                results[index] = prediction
        return results  # type: ignore[return-value]

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        """The session's outputs for one batch tensor, in the session's output order."""
        outputs = self.session.run({self.input_name: tensor})
        return [outputs[name] for name in self.output_names]

    def _batches(self, images: Sequence[np.ndarray]) -> list[tuple[list[int], int | None]]:
        """Index groups that may share a session call, and the batch size to pad each to.

        Every group is formed, and every input size checked, before the first call runs.
        """
        pad_to = None if self.batch == "dynamic" else self.batch
        groups: dict[tuple[int, int], list[int]] = {}
        for index, image in enumerate(images):
            size = self.preprocessor.transform_for(image.shape[0], image.shape[1]).input_size
            self._check_input_size(index, len(images), image, size)
            groups.setdefault(size, []).append(index)
        batches: list[tuple[list[int], int | None]] = []
        for (height, width), indices in groups.items():
            fits = max(1, MAX_INPUT_PIXELS // (height * width))
            chunk = min(self.max_batch, fits) if pad_to is None else pad_to
            batches.extend((indices[start : start + chunk], pad_to) for start in range(0, len(indices), chunk))
        return batches

    def _check_input_size(self, index: int, count: int, image: np.ndarray, input_size: tuple[int, int]) -> None:
        height, width = input_size
        per_call = height * width * (self.batch if isinstance(self.batch, int) else 1)
        if per_call <= MAX_INPUT_PIXELS:
            return
        which = f"image {index} of the {count} given" if count > 1 else "the image"
        raise InputError(
            f"{which} ({image.shape[1]}x{image.shape[0]} pixels) would become a network input of {width}x{height}"
            f"{f' in batches of {self.batch}' if isinstance(self.batch, int) else ''}, {per_call} pixels per call, "
            f"over the limit of {MAX_INPUT_PIXELS}: this model scales the shorter side to "
            f"{min(self.preprocessor.spec.size)} pixels. Crop the image to a less extreme aspect ratio first"
        )


def _static_batch(session: Session) -> int | None:
    """The batch size the network's first input fixes, if it fixes one."""
    shape = session.inputs[0].shape
    first = shape[0] if shape else None
    return first if isinstance(first, int) and first > 0 else None


def _stage(timer: StageTimer | None, name: str) -> AbstractContextManager[None]:
    return timer.stage(name) if timer is not None else nullcontext()


# ---------------------------------------------------------------------------- checked overrides


def check_override_names(overrides: Mapping[str, Any], valid: Sequence[str], architecture: str) -> dict[str, Any]:
    """The overrides that were given (``None`` means "use the default").

    An unknown name is an ``InputError`` that lists the valid ones.
    """
    given = {name: value for name, value in overrides.items() if value is not None}
    unknown = sorted(set(given) - set(valid))
    if unknown:
        accepted = ", ".join(valid) if valid else "none"
        raise InputError(
            f"unknown post-processing option(s) {', '.join(unknown)} for a {architecture} model; it accepts: {accepted}"
        )
    return given


def setting(
    given: Mapping[str, Any], name: str, manifest_value: T | None, fallback: T, check: Callable[[str, Any], T]
) -> T:
    """The override, else the manifest's value, else ``fallback``; the first two are checked."""
    value = given.get(name, manifest_value)
    return fallback if value is None else check(name, value)


def fraction(name: str, value: Any) -> float:
    """A number in [0, 1] (a threshold or score)."""
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise InputError(f"{name}={value!r} is outside [0, 1]; pass a value between 0 and 1")
    return number


def positive_float(name: str, value: Any) -> float:
    number = _number(name, value)
    if not number > 0:
        raise InputError(f"{name}={value!r} must be greater than 0")
    return number


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{name}={value!r} must be a whole number of at least 1")
    return int(value)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise InputError(f"{name}={value!r} must be True or False")
    return bool(value)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"{name}={value!r} must be a number")
    number = float(value)
    if number != number:
        raise InputError(f"{name} is NaN; pass a number")
    return number


def class_filter(value: Any, labels: Sequence[str]) -> tuple[int, ...]:
    """Class ids to keep, from label names and/or ids (one of them, or a list); unknown ones are an error."""
    items = [value] if isinstance(value, str | int | np.integer) else list(value)
    ids = []
    for item in items:
        if isinstance(item, str):
            if item not in labels:
                known = ", ".join(repr(label) for label in labels) or "none (the model has no labels)"
                raise InputError(f"classes: unknown class name {item!r}; this model's classes are: {known}")
            ids.append(labels.index(item))
        elif isinstance(item, int | np.integer) and not isinstance(item, bool) and item >= 0:
            if labels and item >= len(labels):
                raise InputError(
                    f"classes: class id {item} is out of range; this model has {len(labels)} classes "
                    f"(ids 0 to {len(labels) - 1})"
                )
            ids.append(int(item))
        else:
            raise InputError(f"classes: {item!r} is neither a class name nor a class id (an int from 0)")
    return tuple(ids)


# Ultralytics' defaults, for packages whose manifest sets none.
DEFAULT_CONFIDENCE = 0.25
DEFAULT_IOU = 0.7
DEFAULT_MAX_DETECTIONS = 300


@attrs.frozen
class DetectionSettings:
    """Box-detector post-processing: keep score ≥ ``confidence``, NMS at ``iou``, at most ``max_detections``.

    ``classes`` keeps only those class ids (``None``: all); ``class_agnostic`` suppresses overlaps
    across classes.
    """

    OVERRIDES: ClassVar[tuple[str, ...]] = (
        "confidence",
        "iou",
        "max_detections",
        "classes",
        "class_agnostic",
    )

    confidence: float = DEFAULT_CONFIDENCE
    iou: float = DEFAULT_IOU
    max_detections: int = DEFAULT_MAX_DETECTIONS
    class_agnostic: bool = False
    classes: tuple[int, ...] | None = None

    @classmethod
    def resolve(cls, package: ModelPackage, overrides: Mapping[str, Any]) -> DetectionSettings:
        """Overrides, else the manifest's ``postprocess``, else the class defaults."""
        manifest = package.manifest
        given = check_override_names(overrides, cls.OVERRIDES, manifest.architecture)
        defaults = manifest.postprocess
        return cls(
            confidence=setting(given, "confidence", defaults.confidence, DEFAULT_CONFIDENCE, fraction),
            iou=setting(given, "iou", defaults.iou, DEFAULT_IOU, fraction),
            max_detections=setting(
                given, "max_detections", defaults.max_detections, DEFAULT_MAX_DETECTIONS, positive_int
            ),
            class_agnostic=flag("class_agnostic", given.get("class_agnostic", defaults.class_agnostic)),
            classes=class_filter(given["classes"], manifest.labels) if "classes" in given else None,
        )
