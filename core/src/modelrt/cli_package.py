"""``modelrt package``: write a package for a model file, taking what the file already says as defaults.

A file that a source plugin can open on its own (an Ultralytics ``.onnx`` carries its class names,
input size and task in its metadata) needs no ``--task`` or ``--labels``: the manifest that source
builds gives the defaults, and every option given on the command line replaces its part of them.
When ``--task`` names another task than the file's, nothing is taken from the file. A file that says
nothing and comes without ``--task`` is an ``InputError`` naming what to pass.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrt.cli_output import escaped, write_json
from modelrt.errors import InputError, ModelRTError

if TYPE_CHECKING:
    from modelrt.manifest import Manifest

__all__ = ["DEFAULT_SIZE", "PACKAGE_TASKS", "run_package"]

logger = logging.getLogger("modelrt.cli")

#: ``modelrt.manifest.TASKS``, spelt out so that building the parser imports no manifest code.
PACKAGE_TASKS = (
    "object-detection",
    "classification",
    "text-detection",
    "keypoint-detection",
    "instance-segmentation",
    "semantic-segmentation",
    "embedding",
    "oriented-detection",
)
#: The network input size when neither ``--size`` nor the file gives one.
DEFAULT_SIZE = (640, 640)


def run_package(args: argparse.Namespace) -> int:
    from modelrt.manifest import manifest_to_dict
    from modelrt.package_builder import build_package, read_labels

    model_file = Path(args.model_file)
    if not model_file.is_file():
        what = "is a directory, not a model file" if model_file.is_dir() else "does not exist"
        raise InputError(f"model file {escaped(str(model_file))} {what}; check the path")
    carried = _carried_manifest(model_file, args.task)
    task: str = args.task if args.task is not None or carried is None else carried.task
    if carried is not None and carried.task != task:
        carried = None
    carried_data = manifest_to_dict(carried) if carried is not None else {}
    if args.labels:
        labels: tuple[str, ...] = read_labels(Path(args.labels))
    elif carried is not None:
        labels = carried.labels
    else:
        labels = ("text",) if task == "text-detection" else ()
    manifest = build_package(
        model_file,
        Path(args.output),
        task=task,
        labels=labels,
        architecture=args.architecture or (carried.architecture if carried is not None else None),
        name=args.name,
        artifact_format=args.format,
        input_spec=_input_spec(args, carried_data.get("input", {}), model_file),
        postprocess=_postprocess(args, carried_data.get("postprocess", {})),
        precision=carried.artifacts[0].precision if carried is not None else None,
    )
    if args.json:
        write_json(manifest_to_dict(manifest))
        return 0
    artifact = manifest.artifacts[0]
    written = escaped(str(Path(args.output) / "modelrt.json"))
    print(f"wrote {written}: {escaped(manifest.name)} ({manifest.architecture}, {manifest.task})")
    print(f"  {escaped(artifact.path)}: {artifact.size} bytes, sha256 {artifact.sha256}")
    if carried is not None:
        height, width = manifest.input.size
        print(f"  from the file's metadata: task, {len(manifest.labels)} labels, input {height}x{width}")
    return 0


def _carried_manifest(model_file: Path, task: str | None) -> Manifest | None:
    """The manifest a source plugin builds from the file alone; ``None`` when none can and ``--task`` is given."""
    from modelrt.api import default_manager
    from modelrt.sources import open_package

    try:
        return open_package(model_file, default_manager()).manifest
    except ModelRTError as error:
        if task is not None:
            logger.info("%s carries no settings modelrt reads (%s); using the options given", model_file, error)
            return None
        reason = str(error).split(". ", 1)[0].rstrip(".")  # what is missing; the rest tells how to load it
        raise InputError(
            f"cannot take the task and class names from the model file: {reason}. Pass --task (one of "
            f"{', '.join(PACKAGE_TASKS)}) and --labels FILE (class names, one per line)"
        ) from None


def _input_spec(args: argparse.Namespace, carried: Mapping[str, Any], model_file: Path) -> dict[str, Any]:
    """The file's input settings, each replaced by the option given for it.

    Without ``--size`` or a size the file carries, an ONNX model's fixed input height and width is the
    size (a network of fixed shape takes nothing else), else ``DEFAULT_SIZE``.
    """
    spec = dict(carried)
    if args.size is not None:
        spec["size"] = [args.size[0], args.size[-1]]
    if "size" not in spec:
        spec["size"] = list(_fixed_onnx_input_size(model_file) or DEFAULT_SIZE)
    given = {
        "dynamic_size": True if args.dynamic_size else None,
        "resize": args.resize,
        "color": args.color,
        "scale": args.scale,
        "mean": args.mean,
        "std": args.std,
        "pad_value": args.pad_value,
        "crop_resize": args.crop_resize,
        "batch": _batch(args.batch),
    }
    spec.update({key: value for key, value in given.items() if value is not None})
    return spec


def _fixed_onnx_input_size(model_file: Path) -> tuple[int, int] | None:
    """Height and width of an ONNX model's first input when it is NCHW RGB of fixed size (``None`` otherwise)."""
    from modelrt.onnx_proto import OnnxFormatError, read_header

    if model_file.suffix.lower() != ".onnx":
        return None
    try:
        inputs = read_header(model_file).inputs
    except (OnnxFormatError, OSError):
        return None  # the package builder reports an unreadable file
    shape = inputs[0].shape if inputs else ()
    if len(shape) != 4 or shape[1] != 3:
        return None
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
        return height, width
    return None


def _batch(text: str | None) -> int | str | None:
    if text is None or text == "dynamic":
        return text
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--batch {escaped(text)!r}: pass dynamic, or a whole number of images") from None


def _postprocess(args: argparse.Namespace, carried: Mapping[str, Any]) -> dict[str, Any]:
    given = {
        "confidence": args.confidence,
        "iou": args.iou,
        "max_detections": args.max_detections,
        "pixel_threshold": args.pixel_threshold,
        "unclip_ratio": args.unclip_ratio,
    }
    return {**carried, **{key: value for key, value in given.items() if value is not None}}
