"""A manifest for a bare Ultralytics ``.onnx`` file, from the metadata its exporter writes.

Ultralytics stores ``str()`` of Python values as ONNX metadata props: ``names`` ``"{0: 'person', ...}"``,
``imgsz`` ``"[640, 640]"``, ``task`` ``"detect"``, ``stride`` ``"32"``, ``args`` ``"{'half': False, ...}"``,
``end2end`` ``"False"``. They are parsed with ``ast.literal_eval`` (literals only, never ``eval``), and
only when at most ``MAX_METADATA_VALUE_LENGTH`` characters long: parsing builds a syntax tree of several
hundred bytes per character (a 10 MB value took 4.7 GB), so a crafted value could exhaust memory.
Exports of the YOLOv5 repository carry only ``names`` and ``stride``: they are detectors, recognised by
their ``[B, N, 5+C]`` output. RT-DETR exports say ``task`` ``"detect"`` too and are recognised by their
``[B, Q, 4+C]`` output (queries, then boxes and sigmoid scores): stretched input, no NMS.

Pre-processing follows Ultralytics' predictors: detectors letterbox to ``imgsz`` with grey (114)
padding, dynamic exports only up to the next multiple of the stride (``LetterBox(auto=True)``);
classifiers resize with Pillow's antialiased bilinear filter, the shorter side to ``imgsz`` then a
centre crop (a non-square ``imgsz`` is stretched to); both feed RGB scaled to [0, 1] with no
mean/std. Post-processing defaults are Ultralytics' own: confidence 0.25, IoU 0.7, at most 300
detections, class-aware NMS.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from modelrt.backend import TensorInfo
from modelrt.errors import PackageError
from modelrt.integrity import sha256_of
from modelrt.manifest import FORMAT_VERSION, ArtifactEntry, InputSpec, Manifest, PostprocessSpec, ResizeMode
from modelrt.onnx_external_data import pinned_external_data
from modelrt.onnx_proto import OnnxHeader

__all__ = ["MAX_METADATA_VALUE_LENGTH", "SOURCE_NAME", "ultralytics_manifest"]

SOURCE_NAME = "ultralytics-onnx"
#: Characters of one metadata value parsed as a literal: ``names`` of about 10,000 classes, and at most
#: about 130 MB to parse the worst string of that length.
MAX_METADATA_VALUE_LENGTH = 256 * 1024

_Task = Literal[
    "object-detection", "classification", "instance-segmentation", "keypoint-detection", "oriented-detection"
]
_TASKS: dict[str, _Task] = {
    "detect": "object-detection",
    "classify": "classification",
    "segment": "instance-segmentation",
    "pose": "keypoint-detection",
    "obb": "oriented-detection",
}
_DETECTION_DEFAULTS = PostprocessSpec(confidence=0.25, iou=0.7, max_detections=300, class_agnostic=False)
_INPUT_DTYPES = ("float32", "float16")


def _write_package_hint(model: Path) -> str:
    return f"Write a package for it: `modelrt package {model} --task TASK -o DIR` (with --labels FILE), then load DIR."


def _literal(model: Path, key: str, text: str) -> Any:
    if len(text) > MAX_METADATA_VALUE_LENGTH:
        raise PackageError(
            f"{model}: metadata {key!r} is {len(text)} characters long, over the limit of "
            f"{MAX_METADATA_VALUE_LENGTH} for one metadata value, so it is not parsed. {_write_package_hint(model)}"
        )
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise PackageError(
            f"{model}: metadata {key!r} is not a Python literal ({text[:80]!r}); it was not written by "
            f"an Ultralytics exporter, or was edited. {_write_package_hint(model)}"
        ) from None


def _labels(model: Path, text: str) -> tuple[str, ...]:
    names = _literal(model, "names", text)
    if isinstance(names, list | tuple):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise PackageError(
            f"{model}: metadata 'names' must map class indices to names, got {text[:80]!r}. "
            f"{_write_package_hint(model)}"
        )
    try:
        by_index = {int(index): str(name) for index, name in names.items()}
    except (TypeError, ValueError):
        raise PackageError(f"{model}: metadata 'names' has a non-integer class index: {text[:80]!r}") from None
    if sorted(by_index) != list(range(len(by_index))):
        raise PackageError(
            f"{model}: metadata 'names' must number classes 0..{len(by_index) - 1} without gaps, got "
            f"indices {sorted(by_index)[:10]}. {_write_package_hint(model)}"
        )
    return tuple(by_index[index] for index in range(len(by_index)))


def _image_size(model: Path, metadata: Mapping[str, str], image_input: TensorInfo) -> tuple[int, int]:
    if "imgsz" in metadata:
        value = _literal(model, "imgsz", metadata["imgsz"])
        sizes = [value, value] if isinstance(value, int) else value
        well_formed = isinstance(sizes, list | tuple) and len(sizes) == 2
        # bool is a subclass of int: imgsz "True" must not become a 1x1 input.
        if well_formed and all(type(side) is int and side > 0 for side in sizes):
            return int(sizes[0]), int(sizes[1])
        raise PackageError(
            f"{model}: metadata 'imgsz' must be [height, width] in whole pixels, got {metadata['imgsz'][:80]!r}"
        )
    height, width = image_input.shape[2], image_input.shape[3]
    if isinstance(height, int) and isinstance(width, int):
        return height, width
    raise PackageError(
        f"{model}: the input size is dynamic and the metadata has no 'imgsz'. {_write_package_hint(model)}"
    )


def _image_input(model: Path, header: OnnxHeader) -> TensorInfo:
    if len(header.inputs) != 1 or len(header.inputs[0].shape) != 4:
        found = ", ".join(f"{info.name} {list(info.shape)}" for info in header.inputs) or "none"
        raise PackageError(
            f"{model}: an Ultralytics model has one NCHW image input, this one has: {found}. "
            f"{_write_package_hint(model)}"
        )
    image_input = header.inputs[0]
    if image_input.dtype not in _INPUT_DTYPES:
        raise PackageError(
            f"{model}: input {image_input.name!r} is {image_input.dtype}; Ultralytics models take float32 "
            "or float16 images"
        )
    return image_input


def _precision(arguments: Mapping[str, Any]) -> Literal["fp32", "fp16", "int8"]:
    if arguments.get("int8"):
        return "int8"
    if arguments.get("half"):
        return "fp16"
    return "fp32"


def _refuse_fused_outputs(model: Path, metadata: Mapping[str, str], arguments: Mapping[str, Any]) -> None:
    """NMS-free (end2end) and NMS-inside exports emit final boxes, not the raw head modelrt decodes."""
    if metadata.get("end2end", "False").strip() == "True":
        raise PackageError(
            f"{model} is an end-to-end (NMS-free) export whose output is already final boxes; modelrt "
            "decodes the raw head. Export it again with end2end=False."
        )
    if arguments.get("nms"):
        raise PackageError(
            f"{model} was exported with nms=True (NMS inside the graph); modelrt runs NMS itself. "
            "Export it again with nms=False."
        )


def _detection_architecture(model: Path, header: OnnxHeader, classes: int) -> str:
    output = header.outputs[0] if header.outputs else None
    shape: tuple[int | str | None, ...] = output.shape if output is not None else ()
    if len(shape) == 3:
        if shape[1] == 4 + classes:
            return "yolov8"
        if shape[2] == 5 + classes:
            return "yolov5"
        if shape[2] == 4 + classes:  # RTDETRDecoder: [batch, queries, 4 + classes], sigmoid scores, no NMS
            return "rt-detr"
        # Exported without graph simplification, the class dimension is a name ('Concatoutput0_dim_1');
        # the architecture checks it against the labels when the model first runs.
        if not isinstance(shape[1], int):
            return "yolov8"
    found = f"{output.name!r} {list(shape)}" if output is not None else "no output"
    raise PackageError(
        f"{model}: a detector with {classes} classes should output [batch, {4 + classes}, anchors] "
        f"(YOLOv8/YOLO11), [batch, anchors, {5 + classes}] (YOLOv5) or [batch, queries, {4 + classes}] "
        f"(RT-DETR); this one has {found}. The metadata "
        f"'names' may not match the network. {_write_package_hint(model)}"
    )


def _segmentation_architecture(model: Path, header: OnnxHeader, classes: int) -> str:
    """``yolov8-seg`` when the outputs are boxes with M mask coefficients each and M prototypes."""
    shapes = [output.shape for output in header.outputs]
    if len(shapes) == 2 and len(shapes[0]) == 3 and len(shapes[1]) == 4:
        rows, prototypes = shapes[0][1], shapes[1][1]
        # A free dimension (a name, or unknown) is checked against the labels when the model first runs.
        if not (isinstance(rows, int) and isinstance(prototypes, int)) or rows == 4 + classes + prototypes:
            return "yolov8-seg"
    found = ", ".join(f"{output.name!r} {list(output.shape)}" for output in header.outputs) or "no output"
    raise PackageError(
        f"{model}: a segmentation model with {classes} classes should output [batch, {4 + classes} + M, anchors] "
        f"and prototypes [batch, M, height, width]; this one has {found}. The metadata 'names' may not match "
        f"the network. {_write_package_hint(model)}"
    )


def _pose_architecture(model: Path, metadata: Mapping[str, str], header: OnnxHeader, classes: int) -> str:
    """``yolov8-pose`` when ``kpt_shape`` is [K, 3] and the output holds 3K values per box after the classes."""
    shape_text = metadata.get("kpt_shape", "[17, 3]")
    keypoint_shape = _literal(model, "kpt_shape", shape_text)
    well_formed = isinstance(keypoint_shape, list | tuple) and len(keypoint_shape) == 2
    if not (well_formed and all(type(side) is int and side > 0 for side in keypoint_shape)):
        raise PackageError(f"{model}: metadata 'kpt_shape' must be [keypoints, values], got {shape_text[:80]!r}")
    keypoints, values = keypoint_shape
    if values != 3:
        raise PackageError(
            f"{model}: its keypoints carry {values} values each (kpt_shape {list(keypoint_shape)}); modelrt runs "
            f"pose models whose keypoints carry x, y and visibility (kpt_shape [K, 3]). {_write_package_hint(model)}"
        )
    shape: tuple[int | str | None, ...] = header.outputs[0].shape if header.outputs else ()
    if len(shape) == 3 and (not isinstance(shape[1], int) or shape[1] == 4 + classes + 3 * keypoints):
        return "yolov8-pose"
    raise PackageError(
        f"{model}: a pose model with {classes} classes and {keypoints} keypoints should output "
        f"[batch, {4 + classes + 3 * keypoints}, anchors]; this one has {list(shape) or 'no output'}. "
        f"{_write_package_hint(model)}"
    )


def _oriented_architecture(model: Path, header: OnnxHeader, classes: int) -> str:
    """``yolov8-obb`` when the output holds 4 box values, the class scores and one angle per box."""
    shape: tuple[int | str | None, ...] = header.outputs[0].shape if header.outputs else ()
    if len(shape) == 3 and (not isinstance(shape[1], int) or shape[1] == 4 + classes + 1):
        return "yolov8-obb"
    raise PackageError(
        f"{model}: an OBB model with {classes} classes should output [batch, {4 + classes + 1}, anchors] (box, "
        f"class scores, angle); this one has {list(shape) or 'no output'}. {_write_package_hint(model)}"
    )


def _check_classifier_output(model: Path, header: OnnxHeader, classes: int) -> None:
    shape: tuple[int | str | None, ...] = header.outputs[0].shape if header.outputs else ()
    # A free dimension (a name, or unknown) cannot contradict the class count; a number must match it.
    if len(shape) == 2 and not (isinstance(shape[1], int) and shape[1] != classes):
        return
    raise PackageError(
        f"{model}: a classifier with {classes} classes should output [batch, {classes}], this one has "
        f"{list(shape) if header.outputs else 'no output'}. {_write_package_hint(model)}"
    )


def _input_spec(image_input: TensorInfo, size: tuple[int, int], stride: int, task: str, architecture: str) -> InputSpec:
    batch: int | Literal["dynamic"] = image_input.shape[0] if isinstance(image_input.shape[0], int) else "dynamic"
    detector = task != "classification"
    # Ultralytics feeds classifiers a fixed imgsz input, whatever sizes the export accepts.
    dynamic_size = detector and not all(isinstance(dim, int) for dim in image_input.shape[2:])
    resize: ResizeMode = "letterbox" if detector else "shorter-side-center-crop" if size[0] == size[1] else "stretch"
    if architecture == "rt-detr":  # RTDETRPredictor stretches: LetterBox(auto=False, scale_fill=True)
        resize = "stretch"
    return InputSpec(
        size=size,
        dynamic_size=dynamic_size,
        dynamic_resize="letterbox",
        interpolation="bilinear" if detector else "antialiased-bilinear",
        size_multiple=stride,
        resize=resize,
        pad_value=114,
        color="rgb",
        layout="nchw",
        dtype="float16" if image_input.dtype == "float16" else "float32",
        scale=1.0 / 255.0,
        batch=batch,
        crop_resize=min(size) if resize == "shorter-side-center-crop" else None,
    )


def _stride(model: Path, metadata: Mapping[str, str]) -> int:
    try:
        stride = int(metadata.get("stride", "32"))
    except ValueError:
        stride = 0
    if stride < 1:
        raise PackageError(f"{model}: metadata 'stride' must be a positive integer, got {metadata['stride'][:80]!r}")
    return stride


def ultralytics_manifest(model: Path, header: OnnxHeader) -> Manifest:
    """The manifest of the Ultralytics export at ``model``; ``PackageError`` when it is not one we run."""
    metadata = header.metadata
    if "names" not in metadata:
        raise PackageError(
            f"{model} has no Ultralytics metadata (no 'names' among its metadata props), so its "
            f"pre- and post-processing are unknown. {_write_package_hint(model)}"
        )
    labels = _labels(model, metadata["names"])
    task_name = metadata.get("task", "detect").strip()
    if task_name not in _TASKS:
        raise PackageError(
            f"{model}: Ultralytics task {task_name[:80]!r} is not supported yet (supported: "
            f"{', '.join(_TASKS)}). Use a detect, segment, pose, obb or classify export."
        )
    task = _TASKS[task_name]
    parsed_arguments = _literal(model, "args", metadata["args"]) if "args" in metadata else {}
    arguments: dict[str, Any] = parsed_arguments if isinstance(parsed_arguments, dict) else {}
    _refuse_fused_outputs(model, metadata, arguments)
    image_input = _image_input(model, header)
    postprocess = _DETECTION_DEFAULTS
    if task == "object-detection":
        architecture = _detection_architecture(model, header, len(labels))
    elif task == "instance-segmentation":
        architecture = _segmentation_architecture(model, header, len(labels))
    elif task == "keypoint-detection":
        architecture = _pose_architecture(model, metadata, header, len(labels))
    elif task == "oriented-detection":
        architecture = _oriented_architecture(model, header, len(labels))
    else:
        _check_classifier_output(model, header, len(labels))
        architecture = "image-classifier"
        postprocess = PostprocessSpec()
    if architecture == "rt-detr":  # RTDETRPredictor: per-query best class above 0.25, no NMS to tune
        postprocess = PostprocessSpec(confidence=0.25, max_detections=300)
    size = _image_size(model, metadata, image_input)
    try:
        input_spec = _input_spec(image_input, size, _stride(model, metadata), task, architecture)
    except ValueError as error:  # attrs validators: e.g. an input over the pixel limit
        raise PackageError(f"{model}: unusable input from its metadata and shape: {error}") from None
    artifact = ArtifactEntry(
        role="main",
        format="onnx",
        path=model.name,
        size=model.stat().st_size,
        # No published checksum exists: pin the content seen now, so the bytes loaded are these bytes.
        sha256=sha256_of(model),
        precision=_precision(arguments),
    )
    return Manifest(
        format_version=FORMAT_VERSION,
        name=model.stem,
        task=task,
        architecture=architecture,
        labels=labels,
        input=input_spec,
        artifacts=(artifact, *pinned_external_data(model, artifact)),
        postprocess=postprocess,
    )
