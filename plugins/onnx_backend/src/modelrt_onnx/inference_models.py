"""A manifest for a local package of Roboflow's ``inference-models``, so its users can move over.

Its package directory holds ``model_config.json`` (architecture, task, backend), ``inference_config.json``
(pre-processing, batch, post-processing), ``class_names.txt`` (one name per line) and ``weights.onnx``.
What is mapped, and how:

- architectures ``yolov8``, ``yolov11``, ``yolov12`` (inference-models runs all three with its YOLOv8
  code: ``[B, 4+C, N]``) → ``yolov8``; ``yolov5`` → ``yolov5``; object detection with the ONNX backend only.
- ``network_input``: ``training_input_size`` → ``size``; ``resize_mode`` ``letterbox``/``stretch``;
  ``padding_value`` (absent: 0, as inference-models pads); ``color_mode`` is the *network's* channel
  order (inference-models' own default for numpy inputs, BGR, concerns the caller's array, not this);
  ``scaling_factor`` 255 → ``scale`` 1/255 (absent: no scaling); ``normalization`` [mean, std] →
  ``mean``/``std``; ``dynamic_spatial_size_supported`` with ``pad-to-be-divisible`` → ``size_multiple``.
- ``forward_pass``: ``static_batch_size`` → that batch; ``max_dynamic_batch_size`` → ``dynamic``.
- ``post_processing`` must be un-fused NMS; defaults are inference-models' own: confidence 0.4,
  IoU 0.3, 300 detections, class-aware.
- ``image_pre_processing`` steps that change pixels (static crop, contrast, grayscale) are refused
  rather than silently skipped; ``auto-orient`` concerns image files' EXIF data and is ignored.

Every problem is a ``PackageError`` naming the file and the key (inference-models leaks an
``AttributeError`` for a config without ``post_processing``). The configs are read as strictly as a
modelrt manifest: at most ``MAX_CONFIG_BYTES``, no repeated keys, no NaN, and values of the JSON type the
key needs (``"false"`` is not false, ``"0.5"`` is not a number).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from modelrt.errors import PackageError
from modelrt.integrity import sha256_of
from modelrt.manifest import (
    FORMAT_VERSION,
    MAX_LABELS,
    ArtifactEntry,
    InputSpec,
    Manifest,
    PostprocessSpec,
    parse_json_strictly,
    read_bounded,
)
from modelrt.onnx_external_data import pinned_external_data

__all__ = [
    "CLASS_NAMES",
    "INFERENCE_CONFIG",
    "MAX_CONFIG_BYTES",
    "MODEL_CONFIG",
    "SOURCE_NAME",
    "WEIGHTS",
    "inference_models_manifest",
]

SOURCE_NAME = "inference-models"
MODEL_CONFIG = "model_config.json"
INFERENCE_CONFIG = "inference_config.json"
CLASS_NAMES = "class_names.txt"
WEIGHTS = "weights.onnx"
#: The configs and the class list hold metadata only; larger files are refused before they are read.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_CLASS_NAMES_BYTES = 16 * 1024 * 1024

_ARCHITECTURES = {"yolov8": "yolov8", "yolov11": "yolov8", "yolov12": "yolov8", "yolov5": "yolov5"}
_TASK: Literal["object-detection"] = "object-detection"
_RESIZE_MODES: dict[str, Literal["letterbox", "stretch"]] = {"letterbox": "letterbox", "stretch": "stretch"}
_PIXEL_CHANGING_STEPS = ("static-crop", "contrast", "grayscale")
_DEFAULTS = PostprocessSpec(confidence=0.4, iou=0.3, max_detections=300, class_agnostic=False)

_Json = dict[str, Any]


class _Config:
    """One JSON file of the package, with lookups whose errors name the file and the key path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise PackageError(
                f"{path.parent} is missing {path.name}, which every inference-models package has; copy "
                "the complete package directory"
            )
        self.data = self.mapping(parse_json_strictly(read_bounded(path, MAX_CONFIG_BYTES), path), "the file")

    def mapping(self, value: Any, key: str) -> _Json:
        if not isinstance(value, dict):
            raise PackageError(f"{self.path}: {key} must be a JSON object, got {type(value).__name__}")
        return value

    def require(self, section: _Json, key: str, where: str = "") -> Any:
        if key not in section:
            location = f"{where}.{key}" if where else key
            raise PackageError(f"{self.path} has no {location!r}; it is required to run the model")
        return section[key]

    def invalid(self, key: str, value: Any, expected: str) -> PackageError:
        return PackageError(f"{self.path}: {key} is {value!r}; modelrt supports {expected}")

    def flag(self, section: _Json, key: str, where: str) -> bool:
        """A true/false setting (absent or null: false); a string such as ``"false"`` is refused."""
        value = section.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.invalid(f"{where}.{key}" if where else key, value, "true or false")
        return value


def _number(config: _Config, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise config.invalid(key, value, "a number")
    return float(value)


def _positive_number(config: _Config, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise config.invalid(key, value, "a number greater than 0")
    return float(value)


def _positive_int(config: _Config, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise config.invalid(key, value, "a positive integer")
    return value


def _architecture(config: _Config) -> str:
    backend = config.require(config.data, "backend_type")
    if backend != "onnx":
        raise config.invalid("backend_type", backend, "'onnx' packages (download the ONNX package of the model)")
    task = config.require(config.data, "task_type")
    if task != _TASK:
        raise config.invalid("task_type", task, f"{_TASK!r}")
    name = config.require(config.data, "model_architecture")
    if name not in _ARCHITECTURES:
        raise config.invalid("model_architecture", name, ", ".join(map(repr, _ARCHITECTURES)))
    return _ARCHITECTURES[name]


def _refuse_pixel_steps(config: _Config) -> None:
    steps = config.mapping(config.data.get("image_pre_processing") or {}, "image_pre_processing")
    for step in _PIXEL_CHANGING_STEPS:
        settings = steps.get(step)
        if settings is not None and config.flag(
            config.mapping(settings, f"image_pre_processing.{step}"), "enabled", f"image_pre_processing.{step}"
        ):
            raise PackageError(
                f"{config.path}: image_pre_processing.{step} is enabled; modelrt does not apply that step "
                "yet, and running without it would give wrong results. Export the model without it."
            )


def _size_multiple(config: _Config, network: _Json) -> tuple[bool, int]:
    if not config.flag(network, "dynamic_spatial_size_supported", "network_input"):
        return False, 32
    mode = network.get("dynamic_spatial_size_mode") or {"type": "any-size"}
    mode = config.mapping(mode, "network_input.dynamic_spatial_size_mode")
    if mode.get("type") == "pad-to-be-divisible":
        return True, _positive_int(config, "network_input.dynamic_spatial_size_mode.value", mode.get("value"))
    if mode.get("type") == "any-size":
        return True, 1
    raise config.invalid(
        "network_input.dynamic_spatial_size_mode.type", mode.get("type"), "pad-to-be-divisible, any-size"
    )


def _input_spec(config: _Config) -> InputSpec:
    network = config.mapping(config.require(config.data, "network_input"), "network_input")
    channels = network.get("input_channels", 3)
    if channels != 3:
        raise config.invalid("network_input.input_channels", channels, "3-channel images")
    size = config.mapping(
        config.require(network, "training_input_size", "network_input"), "network_input.training_input_size"
    )
    height = _positive_int(config, "network_input.training_input_size.height", size.get("height"))
    width = _positive_int(config, "network_input.training_input_size.width", size.get("width"))
    resize = config.require(network, "resize_mode", "network_input")
    if resize not in _RESIZE_MODES:
        raise config.invalid("network_input.resize_mode", resize, ", ".join(_RESIZE_MODES))
    color = config.require(network, "color_mode", "network_input")
    if color not in ("rgb", "bgr"):
        raise config.invalid("network_input.color_mode", color, "rgb, bgr")
    pad_value = network.get("padding_value")
    pad_value = 0 if pad_value is None else pad_value
    if isinstance(pad_value, bool) or not isinstance(pad_value, int) or not 0 <= pad_value <= 255:
        raise config.invalid("network_input.padding_value", pad_value, "an integer from 0 to 255")
    scaling = network.get("scaling_factor")
    scale = 1.0
    if scaling is not None:
        scale = 1.0 / _positive_number(config, "network_input.scaling_factor", scaling)
    mean, std = _normalization(config, network.get("normalization"))
    dynamic_size, size_multiple = _size_multiple(config, network)
    return InputSpec(
        size=(height, width),
        dynamic_size=dynamic_size,
        size_multiple=size_multiple,
        resize=_RESIZE_MODES[resize],
        pad_value=pad_value,
        color=color,
        layout="nchw",
        dtype="float32",
        scale=scale,
        mean=mean,
        std=std,
        batch=_batch(config),
    )


def _normalization(config: _Config, value: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if value is None:
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    well_formed = isinstance(value, list) and len(value) == 2
    if not (well_formed and all(isinstance(part, list) and len(part) == 3 for part in value)):
        raise config.invalid("network_input.normalization", value, "[[mean r, g, b], [std r, g, b]]")
    key = "network_input.normalization"
    return tuple(_number(config, key, v) for v in value[0]), tuple(_number(config, key, v) for v in value[1])


def _batch(config: _Config) -> int | Literal["dynamic"]:
    forward = config.mapping(config.data.get("forward_pass") or {}, "forward_pass")
    static = forward.get("static_batch_size")
    if static is None:
        return "dynamic"
    return _positive_int(config, "forward_pass.static_batch_size", static)


def _check_post_processing(config: _Config) -> None:
    post = config.mapping(config.require(config.data, "post_processing"), "post_processing")
    kind = config.require(post, "type", "post_processing")
    if kind != "nms":
        raise config.invalid("post_processing.type", kind, "'nms' (object detection)")
    if config.flag(post, "fused", "post_processing"):
        raise config.invalid(
            "post_processing.fused", True, "un-fused NMS (modelrt runs NMS itself; use the un-fused export)"
        )


def _class_names(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise PackageError(f"{path.parent} is missing {path.name}; it lists the class names, one per line")
    try:
        lines = read_bounded(path, MAX_CLASS_NAMES_BYTES).decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise PackageError(f"cannot read {path}: {error}") from None
    names = [line.strip() for line in lines]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise PackageError(f"{path} lists no class names; it needs one name per line")
    if len(names) > MAX_LABELS:
        raise PackageError(f"{path} lists {len(names)} class names, over the limit of {MAX_LABELS}")
    return tuple(names)


def inference_models_manifest(root: Path) -> Manifest:
    """The manifest of the inference-models package in ``root``; ``PackageError`` naming file and key."""
    architecture = _architecture(_Config(root / MODEL_CONFIG))
    inference_config = _Config(root / INFERENCE_CONFIG)
    _refuse_pixel_steps(inference_config)
    input_spec = _input_spec(inference_config)
    _check_post_processing(inference_config)
    labels = _class_names(root / CLASS_NAMES)
    weights = root / WEIGHTS
    if not weights.is_file():
        raise PackageError(f"{root} is missing {WEIGHTS}, the network itself; copy the complete package")
    # No published checksum exists: pin the content seen now, so the bytes loaded are these bytes.
    artifact = ArtifactEntry(
        role="main", format="onnx", path=WEIGHTS, size=weights.stat().st_size, sha256=sha256_of(weights)
    )
    return Manifest(
        format_version=FORMAT_VERSION,
        name=root.resolve().name,
        task=_TASK,
        architecture=architecture,
        labels=labels,
        input=input_spec,
        artifacts=(artifact, *pinned_external_data(weights, artifact)),
        postprocess=_DEFAULTS,
    )
