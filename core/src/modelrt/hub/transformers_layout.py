"""A manifest for a Transformers/Optimum ONNX image classifier, from the JSON files its exporter writes.

The layout: ``config.json`` (``id2label``), ``preprocessor_config.json`` (an image processor's settings)
and the network in ``onnx/model.onnx`` or ``model.onnx``, input ``[batch, 3, height, width]``, output
``[batch, classes]`` logits. It maps onto the ``image-classifier`` architecture as follows.

Mapped: ``do_resize``/``size`` (``{"height", "width"}``, ``{"shortest_edge"}`` or a bare number),
``do_center_crop``/``crop_size``, ``crop_pct`` (ConvNeXt: the shorter side becomes
``shortest_edge / crop_pct``, then the centre is cropped, below 384 pixels), ``do_rescale``/
``rescale_factor``, ``do_normalize``/``image_mean``/``image_std``, ``do_flip_channel_order`` (BGR input).

``resample``: transformers resizes with Pillow. Bilinear (Pillow's ``2``) is reproduced exactly
(modelrt's ``antialiased-bilinear`` interpolation is bit-exact with Pillow's); other filters (bicubic
for many models) are run as antialiased bilinear too, with a warning that scores may differ slightly.

Refused, naming the setting: ``do_resize: false`` (the network needs a fixed input), ``size`` with
``longest_edge``, a shortest-edge resize without a crop (the input size would vary), a resize to one
height and width followed by a crop to another (no resize mode of modelrt does both), and settings that
change pixels in ways modelrt does not (``do_pad``, ``rescale_offset``, ``do_reduce_labels``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from modelrt.errors import PackageError
from modelrt.manifest import FORMAT_VERSION, ArtifactEntry, InputSpec, Manifest, PostprocessSpec
from modelrt.onnx_proto import OnnxHeader

__all__ = ["CONFIG_NAME", "MODEL_PATHS", "PREPROCESSOR_NAME", "transformers_manifest"]

logger = logging.getLogger("modelrt.hub")

CONFIG_NAME = "config.json"
PREPROCESSOR_NAME = "preprocessor_config.json"
#: Where Optimum's exporter (and repositories converted with it) put the fp32 network, in order of preference.
MODEL_PATHS = ("onnx/model.onnx", "model.onnx")
_BILINEAR = 2
_PIL_FILTERS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
_UNSUPPORTED_FLAGS = ("do_pad", "rescale_offset", "do_reduce_labels")
_CROP_PCT_LIMIT = 384  # transformers' ConvNeXt processor crops only below this size


def transformers_manifest(
    name: str, config: Any, preprocessor: Any, header: OnnxHeader, artifacts: Sequence[ArtifactEntry], origin: str
) -> Manifest:
    """The manifest of a Transformers ONNX image classifier; ``PackageError`` naming what cannot be mapped."""
    labels = _labels(config, origin)
    if not isinstance(preprocessor, dict):
        raise PackageError(f"{origin}: {PREPROCESSOR_NAME} must be a JSON object")
    _check_network(header, len(labels), origin)
    return Manifest(
        format_version=FORMAT_VERSION,
        name=name,
        task="classification",
        architecture="image-classifier",
        labels=labels,
        input=_input_spec(preprocessor, header, origin),
        artifacts=tuple(artifacts),
        postprocess=PostprocessSpec(),
    )


def _labels(config: Any, origin: str) -> tuple[str, ...]:
    mapping = config.get("id2label") if isinstance(config, dict) else None
    if not isinstance(mapping, dict) or not mapping:
        raise PackageError(
            f"{origin}: {CONFIG_NAME} has no 'id2label' mapping of class ids to names, so this is not an image "
            "classifier modelrt can run"
        )
    try:
        by_index = {int(index): name for index, name in mapping.items()}
    except ValueError:
        raise PackageError(f"{origin}: {CONFIG_NAME} 'id2label' has a key that is not a class number") from None
    if sorted(by_index) != list(range(len(by_index))) or not all(isinstance(n, str) for n in by_index.values()):
        raise PackageError(
            f"{origin}: {CONFIG_NAME} 'id2label' must name classes 0..{len(by_index) - 1}, each with a string"
        )
    return tuple(by_index[index] for index in range(len(by_index)))


def _check_network(header: OnnxHeader, classes: int, origin: str) -> None:
    inputs, outputs = header.inputs, header.outputs
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1] != 3:
        found = ", ".join(f"{info.name} {list(info.shape)}" for info in inputs) or "none"
        raise PackageError(
            f"{origin}: an image classifier takes one input [batch, 3, height, width]; this network takes {found}"
        )
    if inputs[0].dtype not in ("float32", "float16"):
        raise PackageError(f"{origin}: input {inputs[0].name!r} is {inputs[0].dtype}; expected float32 or float16")
    shape = outputs[0].shape if outputs else ()
    if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != classes):
        raise PackageError(
            f"{origin}: a classifier of the {classes} classes in {CONFIG_NAME} outputs [batch, {classes}]; this "
            f"network outputs {list(shape) if outputs else 'nothing'}"
        )


def _input_spec(settings: Mapping[str, Any], header: OnnxHeader, origin: str) -> InputSpec:
    where = f"{origin}: {PREPROCESSOR_NAME}"
    for flag in _UNSUPPORTED_FLAGS:
        if settings.get(flag):
            raise PackageError(f"{where} sets {flag!r}, which modelrt's pre-processing does not do; it cannot run it")
    if settings.get("do_resize", True) is not True:
        raise PackageError(f"{where} sets do_resize to false; modelrt resizes every image to the network's input")
    _check_resample(settings.get("resample", _BILINEAR), where)
    geometry = _geometry(settings, where)
    scale = _number(settings, "rescale_factor", 1 / 255, where) if settings.get("do_rescale", True) else 1.0
    normalize = settings.get("do_normalize", True)
    mean = _channels(settings, "image_mean", where) if normalize else (0.0, 0.0, 0.0)
    std = _channels(settings, "image_std", where) if normalize else (1.0, 1.0, 1.0)
    image_input = header.inputs[0]
    batch: int | Literal["dynamic"] = image_input.shape[0] if isinstance(image_input.shape[0], int) else "dynamic"
    try:
        return InputSpec(
            color="bgr" if settings.get("do_flip_channel_order") else "rgb",
            layout="nchw",
            dtype="float16" if image_input.dtype == "float16" else "float32",
            scale=scale,
            mean=mean,
            std=std,
            batch=batch,
            interpolation="antialiased-bilinear",
            **geometry,
        )
    except (TypeError, ValueError) as error:
        raise PackageError(f"{where}: {error}") from None


def _geometry(settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``size``, ``resize`` and ``crop_resize`` of the InputSpec, from the processor's resize and crop."""
    size = settings.get("size")
    crop = _height_width(settings.get("crop_size"), "crop_size", where) if settings.get("do_center_crop") else None
    if isinstance(size, dict) and "longest_edge" in size:
        raise PackageError(f"{where}: size {size} resizes by the longest edge; modelrt cannot run that resize")
    shortest = size.get("shortest_edge") if isinstance(size, dict) else size if isinstance(size, int) else None
    if isinstance(size, int) and crop is None:
        shortest = None  # a bare number without a crop is a square resize
    if shortest is None:
        height, width = _height_width(size, "size", where)
        if crop is not None and crop != (height, width):
            raise PackageError(
                f"{where}: resizing to {height}x{width} then cropping to {crop[0]}x{crop[1]} is not one of "
                "modelrt's resize modes (letterbox, stretch, shorter-side-center-crop)"
            )
        return {"size": (height, width), "resize": "stretch"}
    if not isinstance(shortest, int) or isinstance(shortest, bool) or shortest < 1:
        raise PackageError(f"{where}: size {size!r} must give a positive shortest_edge")
    if crop is not None:
        return {"size": crop, "resize": "shorter-side-center-crop", "crop_resize": shortest}
    if "crop_pct" in settings:
        crop_pct = _number(settings, "crop_pct", 1.0, where)
        if shortest >= _CROP_PCT_LIMIT:
            return {"size": (shortest, shortest), "resize": "stretch"}
        resized = int(shortest / crop_pct)
        return {"size": (shortest, shortest), "resize": "shorter-side-center-crop", "crop_resize": resized}
    raise PackageError(
        f"{where}: the shorter side is resized to {shortest} without a crop, so the network's input size would "
        "change with each image; modelrt runs classifiers on a fixed input size"
    )


def _height_width(value: Any, key: str, where: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, value
    if isinstance(value, dict) and set(value) == {"height", "width"}:
        height, width = value["height"], value["width"]
        if all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in (height, width)):
            return height, width
    raise PackageError(f"{where}: {key} must be {{'height': H, 'width': W}} or a number, got {value!r}")


def _check_resample(resample: Any, where: str) -> None:
    if resample not in _PIL_FILTERS or isinstance(resample, bool):
        raise PackageError(f"{where}: resample {resample!r} is not a Pillow resampling filter (0-5)")
    if resample != _BILINEAR:
        logger.warning(
            "%s asks for %s resizing; modelrt resizes with Pillow's antialiased bilinear filter, so scores may "
            "differ slightly from transformers'",
            where,
            _PIL_FILTERS[resample],
        )


def _number(settings: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PackageError(f"{where}: {key} must be a positive number, got {value!r}")
    return float(value)


def _channels(settings: Mapping[str, Any], key: str, where: str) -> tuple[float, float, float]:
    value = settings.get(key)
    values = [value] * 3 if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(values, list) or len(values) != 3:
        raise PackageError(f"{where}: {key} must be three numbers (one per channel), got {value!r}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise PackageError(f"{where}: {key} must be three numbers (one per channel), got {value!r}")
    return float(values[0]), float(values[1]), float(values[2])
