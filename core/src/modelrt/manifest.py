"""The ``modelrt.json`` manifest of a model package, parsed with cattrs into frozen attrs classes.

Unknown keys and an unknown ``format_version`` are ``PackageError``s that name them, so a manifest
from a newer modelrt is never half-understood. ``schemas/manifest.schema.json`` describes the same
format for other tools; a test keeps the two in step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

import attrs
import cattrs

from modelrt.errors import PackageError

__all__ = [
    "ARTIFACT_FORMATS",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "RESIZE_MODES",
    "TASKS",
    "ArtifactEntry",
    "InputSpec",
    "Manifest",
    "PostprocessSpec",
    "TargetSpec",
    "dump_manifest",
    "manifest_from_dict",
    "manifest_schema",
    "manifest_to_dict",
    "read_manifest",
]

MANIFEST_NAME = "modelrt.json"
FORMAT_VERSION = 1
Task = Literal[
    "object-detection",
    "classification",
    "text-detection",
    "keypoint-detection",
    "instance-segmentation",
    "semantic-segmentation",
    "embedding",
]
ResizeMode = Literal["letterbox", "stretch", "shorter-side-center-crop"]
ArtifactFormat = Literal["onnx", "exported-program", "torchscript", "tensorrt-engine", "torch-pickle"]
TASKS: tuple[str, ...] = get_args(Task)
RESIZE_MODES: tuple[str, ...] = get_args(ResizeMode)
ARTIFACT_FORMATS: tuple[str, ...] = get_args(ArtifactFormat)


def _three_floats(value: Any) -> tuple[float, float, float]:
    values = tuple(float(v) for v in value)
    if len(values) != 3:
        raise ValueError(f"expected 3 values (one per channel), got {len(values)}")
    return values[0], values[1], values[2]


def _size(value: Any) -> tuple[int, int]:
    values = tuple(int(v) for v in value)
    if len(values) != 2 or min(values) < 1:
        raise ValueError(f"size must be [height, width] of positive integers, got {list(value)}")
    return values[0], values[1]


@attrs.frozen
class InputSpec:
    """How images become the network input.

    ``size`` is ``[height, width]``. With ``dynamic_size`` the network takes any size: the image keeps
    its aspect ratio, is scaled so its shorter side equals ``min(size)``, and each side is rounded to
    a multiple of ``size_multiple``. ``resize`` (fixed size only): ``letterbox`` keeps the aspect
    ratio and pads with ``pad_value``; ``stretch`` ignores it; ``shorter-side-center-crop`` scales the
    shorter side to ``crop_resize`` (default 256/224 of ``size``) and crops the centre. Pixel values
    become ``(pixel * scale - mean) / std`` in ``color`` channel order.
    """

    size: tuple[int, int] = attrs.field(converter=_size)
    dynamic_size: bool = False
    size_multiple: int = 32
    resize: ResizeMode = "letterbox"
    pad_value: int = 114
    color: Literal["rgb", "bgr"] = "rgb"
    layout: Literal["nchw", "nhwc"] = "nchw"
    dtype: Literal["float32", "float16", "uint8"] = "float32"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = attrs.field(default=(0.0, 0.0, 0.0), converter=_three_floats)
    std: tuple[float, float, float] = attrs.field(default=(1.0, 1.0, 1.0), converter=_three_floats)
    batch: int | Literal["dynamic"] = "dynamic"
    crop_resize: int | None = None


@attrs.frozen
class PostprocessSpec:
    """Default post-processing thresholds; each can be overridden per ``predict`` call.

    ``confidence`` keeps results with a score ≥ it; ``iou`` is the NMS overlap threshold;
    ``class_agnostic`` runs NMS across classes. For text detectors ``pixel_threshold`` binarises the
    probability map and ``unclip_ratio`` grows each region as DB does.
    """

    confidence: float | None = None
    iou: float | None = None
    max_detections: int | None = None
    class_agnostic: bool = False
    pixel_threshold: float | None = None
    unclip_ratio: float | None = None


@attrs.frozen
class TargetSpec:
    """Hardware an artifact was built for (TensorRT engines); it loads only on a matching host."""

    gpu_compute_capability: str | None = None
    tensorrt: str | None = None
    platform: str | None = None
    hardware_compatibility: str | None = None


def _check_sha256(_instance: object, _attribute: object, value: str | None) -> None:
    if value is not None and (len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value)):
        raise ValueError(f"sha256 must be 64 hexadecimal characters, got {value!r}")


def _check_size(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"size must be a number of bytes (>= 0), got {value}")


@attrs.frozen
class ArtifactEntry:
    """One file of the package: which role it plays, its format, and how to verify it."""

    role: str
    format: ArtifactFormat
    path: str
    size: int | None = attrs.field(default=None, validator=_check_size)
    sha256: str | None = attrs.field(default=None, validator=_check_sha256)
    precision: Literal["fp32", "fp16", "int8"] | None = None
    target: TargetSpec | None = None


@attrs.frozen
class Manifest:
    """A model package: what the model does, how to feed it, and its artifacts."""

    format_version: int
    name: str
    task: Task
    architecture: str
    labels: tuple[str, ...]
    input: InputSpec
    artifacts: tuple[ArtifactEntry, ...]
    postprocess: PostprocessSpec = attrs.field(factory=PostprocessSpec)

    @property
    def roles(self) -> tuple[str, ...]:
        """Distinct artifact roles, in manifest order."""
        return tuple(dict.fromkeys(entry.role for entry in self.artifacts))


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, omit_if_default=False)
    batch_type = int | Literal["dynamic"]
    converter.register_structure_hook_func(
        lambda cls: cls == batch_type,
        lambda value, _: value if value == "dynamic" else _positive_int(value),
    )
    return converter


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a positive integer or 'dynamic', got {value!r}")
    return value


_CONVERTER = _make_converter()


def _describe_problem(error: BaseException, type_: Any) -> str:
    """One readable phrase per problem, naming unknown keys so a newer manifest is recognised as such."""
    if isinstance(error, cattrs.ForbiddenExtraKeysError):
        return f"unknown keys {sorted(error.extra_fields)} (written by a newer modelrt? upgrade modelrt-core)"
    if isinstance(error, KeyError):
        return "required key missing"
    if isinstance(error, (ValueError, TypeError)) and str(error):
        return str(error)
    return cattrs.v.format_exception(error, type_)


def manifest_from_dict(data: Any, origin: str = MANIFEST_NAME) -> Manifest:
    """Parse manifest data; every problem is a ``PackageError`` that names the key and the file."""
    if not isinstance(data, dict):
        raise PackageError(f"{origin}: the manifest must be a JSON object, got {type(data).__name__}")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise PackageError(
            f"{origin}: unsupported format_version {version!r}; this modelrt reads format_version "
            f"{FORMAT_VERSION}. Upgrade modelrt-core or re-create the package with `modelrt package`."
        )
    if not data.get("artifacts"):
        raise PackageError(f"{origin}: the manifest lists no artifacts; add at least one under 'artifacts'")
    try:
        return _CONVERTER.structure(data, Manifest)
    except cattrs.BaseValidationError as error:
        problems = "; ".join(cattrs.transform_error(error, path="manifest", format_exception=_describe_problem))
        raise PackageError(f"{origin}: invalid manifest: {problems}") from None
    except (TypeError, ValueError) as error:
        raise PackageError(f"{origin}: invalid manifest: {error}") from None


def manifest_to_dict(manifest: Manifest) -> dict[str, Any]:
    """Plain data for ``modelrt.json``; ``None`` values are left out."""
    return _drop_none(_CONVERTER.unstructure(manifest))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(item) for item in value]
    return value


def read_manifest(package_dir: Path) -> Manifest:
    """Read and parse ``<package_dir>/modelrt.json``."""
    path = package_dir / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackageError(
            f"{package_dir} is not a modelrt package: it has no {MANIFEST_NAME}. "
            "Create one with `modelrt package MODEL_FILE --task TASK -o DIR`."
        ) from None
    except OSError as error:
        raise PackageError(f"cannot read {path}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PackageError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    return manifest_from_dict(data, origin=str(path))


def dump_manifest(manifest: Manifest) -> str:
    """The manifest as indented JSON text."""
    return json.dumps(manifest_to_dict(manifest), indent=2) + "\n"


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of ``modelrt.json`` shipped with the core."""
    from importlib.resources import files

    return json.loads(files("modelrt").joinpath("schemas/manifest.schema.json").read_text(encoding="utf-8"))
