"""``modelrt predict``: images in, one result per image out, each printed as soon as it is known.

Images stream through ``Model.predict_iter``, so memory stays bounded for directories of any size.
An input that cannot be predicted (missing, unreadable, not an image) is reported on stderr
with its reason while the others go on; the command then exits with status 1. A video or stream URL
is predicted frame by frame by ``modelrt.cli_video``. With ``--json`` stdout
is one JSON document: ``model``, ``plan``, ``results`` (one record per predicted image, in input order)
and ``errors`` (``{"image", "error"}`` per failed input; an error that stopped the run has no
``image``), plus ``"interrupted": true`` after Ctrl-C. Results are written (and flushed) as they come, one per line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from modelrt.cli_inputs import ImageInput, InputProblem, expand_inputs, looks_like_video, video_refusal
from modelrt.cli_output import document_stream, escaped, quoted_name, result_data, to_json, whole_writes
from modelrt.cli_progress import Progress, progress
from modelrt.cli_save import annotated_paths, refuse_existing, save_picture
from modelrt.errors import InputError, ModelRTError

if TYPE_CHECKING:
    import numpy as np

    from modelrt.model import Model
    from modelrt.results import Prediction

__all__ = ["class_selection", "model_overrides", "run_predict"]

#: Classes named in an "unknown class" error before "and N more".
_SHOWN_CLASSES = 50


def run_predict(args: argparse.Namespace, load_options: Mapping[str, Any]) -> int:
    """Predict every input of ``args.images`` with ``args.model``; 0 when all were predicted, else 1."""
    from modelrt.model import load

    inputs = expand_inputs(args.images)
    if inputs.videos:
        from modelrt.cli_video import run_video

        return run_video(args, load_options, inputs)
    for note in inputs.notes:
        print(f"note: {note}", file=sys.stderr)
    names = [image.name for image in inputs.images]
    save_paths = annotated_paths(Path(args.save), names) if args.save and names else []
    if save_paths and not args.overwrite:
        refuse_existing(save_paths)
    for problem in inputs.problems:
        print(f"error: {problem.reason}", file=sys.stderr)
    problems = list(inputs.problems)
    with load(args.model, **load_options) as model:
        overrides = model_overrides(args, model)
        report: _JsonReport | _TextReport = _JsonReport(document_stream(), model) if args.json else _TextReport()
        with progress(len(inputs.images)) as bar:
            pending: deque[_Pending] = deque()
            images = _decoded(inputs.images, save_paths, pending, problems, bar)
            try:
                for result in model.predict_iter(images, batch=args.batch, color="rgb", **overrides):
                    image, save_path, pixels = pending.popleft()
                    saved = _save(save_path, pixels, result, args.overwrite)
                    report.result(image.name, result, saved, bar)
                    bar.advance()
            except KeyboardInterrupt:
                report.end(problems, interrupted=True)
                raise
            except ModelRTError as error:
                report.end(problems, stopped_by=error)
                raise
            report.end(problems)
    return 1 if problems else 0


#: An image handed to the model, where its picture goes (with --save), and its pixels for that picture.
_Pending = tuple[ImageInput, "Path | None", "np.ndarray | None"]


def _decoded(
    images: Sequence[ImageInput],
    save_paths: Sequence[Path],
    pending: deque[_Pending],
    problems: list[InputProblem],
    bar: Progress,
) -> Iterator[np.ndarray]:
    """Decode ``images`` lazily; one that fails is reported and skipped, the others queue in ``pending``."""
    for index, image in enumerate(images):
        try:
            pixels = _decode(image)
        except InputError as error:
            reason = escaped(f"stdin: {error}" if image.from_stdin else str(error))
            problems.append(InputProblem(image.name, reason))
            bar.warn(f"error: {reason}")
            bar.advance()
            continue
        save_path = save_paths[index] if save_paths else None
        pending.append((image, save_path, pixels if save_path is not None else None))
        yield pixels


def _decode(image: ImageInput) -> np.ndarray:
    from modelrt.images import load_image

    source = image.source()
    try:
        return load_image(source)
    except InputError:
        if looks_like_video(source if isinstance(source, bytes) else _head(source)):
            raise InputError(video_refusal(image.name)) from None
        raise


def _head(path: str) -> bytes:
    """The first bytes of a regular file, or nothing (never opens a device or a pipe)."""
    try:
        if not os.path.isfile(path):
            return b""
        with open(path, "rb") as handle:
            return handle.read(64)
    except OSError:
        return b""


def _save(path: Path | None, pixels: np.ndarray | None, result: Prediction, overwrite: bool) -> Path | None:
    if path is None or pixels is None:
        return None
    from modelrt.annotate import annotate

    save_picture(path, annotate(pixels, result), overwrite=overwrite)
    return path


# ------------------------------------------------------------------------------------------- options


def model_overrides(args: argparse.Namespace, model: Model) -> dict[str, Any]:
    """The post-processing options given on the command line, as ``predict`` overrides."""
    names = ("confidence", "iou", "max_detections")
    overrides: dict[str, Any] = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.classes is not None:
        overrides["classes"] = class_selection(args.classes, model.labels, model.name)
    return overrides


def class_selection(text: str, labels: Sequence[str], model_name: str) -> list[str | int]:
    """``--classes`` as class names and ids: a token that is a class name is that class, else a whole
    number is a class id; anything else is an ``InputError`` listing the valid classes."""
    tokens = [token.strip() for token in text.split(",") if token.strip()]
    if not tokens:
        raise InputError("--classes is empty; pass class names or ids separated by commas, e.g. --classes 0,person")
    chosen: list[str | int] = []
    for token in tokens:
        if token in labels:
            chosen.append(token)
        elif token.isascii() and token.isdigit() and (not labels or int(token) < len(labels)):
            chosen.append(int(token))
        else:
            raise InputError(
                f"--classes: {token!r} is neither a class name nor a class id of model "
                f"{model_name!r}; valid: {_valid_classes(labels)}"
            )
    return chosen


def _valid_classes(labels: Sequence[str]) -> str:
    if not labels:
        return "class ids only (the model has no class names)"
    shown = ", ".join(f"{index} {escaped(label)}" for index, label in enumerate(labels[:_SHOWN_CLASSES]))
    more = len(labels) - _SHOWN_CLASSES
    return f"{shown}, and {more} more (ids up to {len(labels) - 1})" if more > 0 else shown


# ------------------------------------------------------------------------------------------- reports


class _TextReport:
    """One line per classification, a header and one line per box for detections."""

    def result(self, name: str, result: Prediction, saved: Path | None, bar: Progress) -> None:
        bar.print(describe(name, result))
        if saved is not None:
            bar.print(f"  saved {escaped(str(saved))}")

    def end(
        self, problems: Sequence[InputProblem], interrupted: bool = False, stopped_by: BaseException | None = None
    ) -> None:
        """Nothing to close: every line is already out."""


def describe(name: str, result: Prediction) -> str:
    from modelrt.results import SemanticSegmentation

    # A text line has no use for a segmentation's RLE masks, so they are not computed.
    data = result.to_dict(masks=False) if isinstance(result, SemanticSegmentation) else result.to_dict()
    shown = quoted_name(name)
    if data["type"] == "classification":
        top = ", ".join(f"{escaped(item['class'])} ({item['probability']:.3f})" for item in data["top"][:3])
        return f"{shown}: {top}"
    if data["type"] == "embedding":
        return f"{shown}: embedding of {data['dimensions']} values, norm {data['norm']:.3f}"
    if data["type"] == "semantic-segmentation":
        return _describe_segmentation(shown, data)
    lines = [f"{shown}: {len(data['detections'])} detections"]
    for item in data["detections"]:
        x1, y1, x2, y2 = item["xyxy"]
        label = escaped(item["class"])
        lines.append(f"  {label:<12} {item['confidence']:.3f}  [{x1:7.1f} {y1:7.1f} {x2:7.1f} {y2:7.1f}]")
    return "\n".join(lines)


def _describe_segmentation(shown: str, data: dict[str, Any]) -> str:
    """A header with the map's size, then each class present with its share of the pixels, largest first."""
    height, width = data["size"]
    classes = sorted(data["classes"], key=lambda item: -item["pixels"])
    lines = [f"{shown}: {width}x{height} class map, {len(classes)} classes present"]
    total = max(1, width * height)
    lines += [f"  {escaped(item['class']):<16} {item['pixels'] / total:7.2%}" for item in classes]
    return "\n".join(lines)


class _JsonReport:
    """Writes the JSON document as results come: the header at once, one record per line, the rest at the end."""

    def __init__(self, stream: TextIO, model: Model) -> None:
        self._stream = stream
        self._first = True
        header = f'{{\n  "model": {to_json(model.name)},\n  "plan": {_nested(model.plan.to_dict())},\n  "results": ['
        with whole_writes():
            stream.write(header)
            stream.flush()

    def result(self, name: str, result: Prediction, saved: Path | None, bar: Progress) -> None:
        record: dict[str, Any] = {"image": name, **result_data(result)}
        if saved is not None:
            record["saved"] = str(saved)
        with whole_writes():
            self._stream.write(("\n    " if self._first else ",\n    ") + to_json(record, indent=None))
            self._stream.flush()  # a reader sees each result as soon as it is known
            self._first = False

    def end(
        self, problems: Sequence[InputProblem], interrupted: bool = False, stopped_by: BaseException | None = None
    ) -> None:
        errors: list[dict[str, str]] = [{"image": problem.name, "error": problem.reason} for problem in problems]
        if stopped_by is not None:
            errors.append({"error": str(stopped_by)})
        closing = "]" if self._first else "\n  ]"
        tail = ',\n  "interrupted": true' if interrupted else ""
        with whole_writes():
            self._stream.write(f'{closing},\n  "errors": {_nested(errors)}{tail}\n}}\n')
            self._stream.flush()


def _nested(value: Any) -> str:
    """``value`` as indented JSON placed one level inside the document."""
    return to_json(value).replace("\n", "\n  ")
