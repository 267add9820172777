"""The ``modelrt.json`` manifest of a model package, parsed with cattrs into frozen attrs classes.

Unknown keys and an unknown ``format_version`` are ``PackageError``s that name them, so a manifest
from a newer modelrt is never half-understood. ``schemas/manifest.schema.json`` describes the same
format for other tools; a test keeps the two in step.

A manifest may come from a stranger, so parsing is strict and bounded:

- JSON types are taken as written, never coerced: a string where a number belongs, a number where a
  string belongs, a string or object where an array belongs, ``true`` where 1 belongs are all
  ``PackageError``s naming the key. A whole number may be written ``640`` or ``640.0``, as JSON Schema
  allows; ``640.5`` is refused rather than truncated. NaN, infinities and duplicate keys are refused.
- Values are checked where a wrong one would fail later, far from its cause: thresholds within
  [0, 1], ``pad_value`` within 0-255, ``std`` at least ``MIN_STD`` in magnitude, ``size_multiple`` at
  least 1, artifact paths non-empty and free of NUL characters.
- Limits keep a hostile manifest from exhausting memory: the file is at most ``MAX_MANIFEST_BYTES``
  (read no further), nesting deeper than Python's recursion limit is refused, at most ``MAX_LABELS``
  labels, and a network input (batch x height x width, for a fixed batch size) of at most
  ``MAX_INPUT_PIXELS`` pixels.
"""

from __future__ import annotations

import json
import math
import stat
from collections import Counter
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationNote
from cattrs.gen import make_dict_structure_fn

from modelrt.errors import PackageError

__all__ = [
    "ARTIFACT_FORMATS",
    "DATA_FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "MAX_INPUT_PIXELS",
    "MAX_LABELS",
    "MAX_MANIFEST_BYTES",
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
    "parse_json_strictly",
    "read_bounded",
    "read_manifest",
]

MANIFEST_NAME = "modelrt.json"
FORMAT_VERSION = 1
#: A manifest holds metadata only; a larger file is refused before it is read.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
#: More classes than any published vision model has (ImageNet-21k: 21,841).
MAX_LABELS = 100_000
#: Pixels of one network input batch (batch x height x width): 1.2 GB as float32.
MAX_INPUT_PIXELS = 100_000_000
Task = Literal[
    "object-detection",
    "classification",
    "text-detection",
    "keypoint-detection",
    "instance-segmentation",
    "semantic-segmentation",
    "embedding",
    "oriented-detection",
]
ResizeMode = Literal["letterbox", "stretch", "shorter-side-center-crop"]
DynamicResize = Literal["shorter-side", "letterbox"]
Interpolation = Literal["bilinear", "antialiased-bilinear"]
ArtifactFormat = Literal["onnx", "exported-program", "torchscript", "tensorrt-engine", "torch-pickle", "external-data"]
#: The format of a side file that another artifact reads (ONNX external data): never loaded on its own.
DATA_FORMAT = "external-data"
TASKS: tuple[str, ...] = get_args(Task)
RESIZE_MODES: tuple[str, ...] = get_args(ResizeMode)
ARTIFACT_FORMATS: tuple[str, ...] = get_args(ArtifactFormat)


def _three_floats(value: Any) -> tuple[float, float, float]:
    values = tuple(float(v) for v in value)
    if len(values) != 3:
        raise ValueError(f"expected 3 values (one per channel), got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"expected finite numbers, got {list(values)}")
    return values[0], values[1], values[2]


def _size(value: Any) -> tuple[int, int]:
    values = tuple(int(v) for v in value)
    if len(values) != 2 or min(values) < 1:
        raise ValueError(f"size must be [height, width] of positive integers, got {list(value)}")
    return values[0], values[1]


def _in_range(low: float, high: float) -> Any:
    """An attrs validator: ``None`` or a number within [low, high]."""

    def check(_instance: object, attribute: attrs.Attribute, value: float | None) -> None:
        if value is not None and not low <= value <= high:
            raise ValueError(f"{attribute.name}={value!r} is outside [{low}, {high}]")

    return check


def _at_least(low: float, *, exclusive: bool = False) -> Any:
    """An attrs validator: ``None`` or a finite number ≥ ``low`` (> ``low`` when ``exclusive``)."""

    def check(_instance: object, attribute: attrs.Attribute, value: float | None) -> None:
        if value is None:
            return
        if not math.isfinite(value) or value < low or (exclusive and value == low):
            relation = ">" if exclusive else ">="
            raise ValueError(f"{attribute.name}={value!r} must be a finite number {relation} {low}")

    return check


#: The smallest |std| accepted: real models use 0.2-80. Dividing by less overflows float32 to infinity,
#: and the results turn to NaN (which JSON cannot even write).
MIN_STD = 1e-6


def _divisor(_instance: object, attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
    if any(v == 0 for v in value):
        raise ValueError(f"{attribute.name}={list(value)} holds a 0; pixel values are divided by it")
    if any(abs(v) < MIN_STD for v in value):
        raise ValueError(
            f"{attribute.name}={list(value)} holds a value smaller than {MIN_STD} in magnitude; pixel values are "
            "divided by it and would overflow"
        )


def _finite(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name}={value!r} must be a finite number")


def _input_within_limit(instance: InputSpec, _attribute: object, batch: int | str) -> None:
    height, width = instance.size
    images = batch if isinstance(batch, int) else 1
    if images * height * width > MAX_INPUT_PIXELS:
        raise ValueError(
            f"a network input of batch {images} x {height} x {width} = {images * height * width} pixels is over "
            f"the limit of {MAX_INPUT_PIXELS}"
        )


@attrs.frozen
class InputSpec:
    """How images become the network input.

    ``size`` is ``[height, width]``. With ``dynamic_size`` the network takes any size and the image
    keeps its aspect ratio; ``dynamic_resize`` says how: ``shorter-side`` scales the shorter side to
    ``min(size)`` and rounds each side to a multiple of ``size_multiple``; ``letterbox`` fits the image
    within ``size`` as the fixed letterbox does, with the padding of each side taken modulo
    ``size_multiple`` (Ultralytics' predictor on dynamic exports). ``resize`` (fixed size only):
    ``letterbox`` keeps the aspect ratio and pads with ``pad_value``; ``stretch`` ignores it;
    ``shorter-side-center-crop`` scales the shorter side to ``crop_resize`` (default 256/224 of
    ``size``) and crops the centre. ``interpolation``: ``bilinear`` is OpenCV's (each output pixel from
    its 2x2 nearest source pixels); ``antialiased-bilinear`` is Pillow's, whose filter widens with the
    downscaling factor (torchvision's ``Resize`` on PIL images, Ultralytics' classifiers). Pixel values
    become ``(pixel * scale - mean) / std`` in ``color`` channel order.
    """

    size: tuple[int, int] = attrs.field(converter=_size)
    dynamic_size: bool = False
    size_multiple: int = attrs.field(default=32, validator=_at_least(1))
    resize: ResizeMode = "letterbox"
    pad_value: int = attrs.field(default=114, validator=_in_range(0, 255))
    color: Literal["rgb", "bgr"] = "rgb"
    layout: Literal["nchw", "nhwc"] = "nchw"
    dtype: Literal["float32", "float16", "uint8"] = "float32"
    scale: float = attrs.field(default=1.0 / 255.0, validator=_finite)
    mean: tuple[float, float, float] = attrs.field(default=(0.0, 0.0, 0.0), converter=_three_floats)
    std: tuple[float, float, float] = attrs.field(default=(1.0, 1.0, 1.0), converter=_three_floats, validator=_divisor)
    batch: int | Literal["dynamic"] = attrs.field(default="dynamic", validator=_input_within_limit)
    crop_resize: int | None = attrs.field(default=None, validator=_at_least(1))
    dynamic_resize: DynamicResize = "shorter-side"
    interpolation: Interpolation = "bilinear"


@attrs.frozen
class PostprocessSpec:
    """Default post-processing thresholds; each can be overridden per ``predict`` call.

    ``confidence`` keeps results with a score ≥ it; ``iou`` is the NMS overlap threshold;
    ``class_agnostic`` runs NMS across classes. For text detectors ``pixel_threshold`` binarises the
    probability map and ``unclip_ratio`` grows each region as DB does.
    """

    confidence: float | None = attrs.field(default=None, validator=_in_range(0, 1))
    iou: float | None = attrs.field(default=None, validator=_in_range(0, 1))
    max_detections: int | None = attrs.field(default=None, validator=_at_least(1))
    class_agnostic: bool = False
    pixel_threshold: float | None = attrs.field(default=None, validator=_in_range(0, 1))
    unclip_ratio: float | None = attrs.field(default=None, validator=_at_least(0, exclusive=True))


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


def _check_label_count(_instance: object, _attribute: object, labels: tuple[str, ...]) -> None:
    if len(labels) > MAX_LABELS:
        raise ValueError(f"labels lists {len(labels)} classes, over the limit of {MAX_LABELS}")


def _check_path(_instance: object, _attribute: object, value: str) -> None:
    if not value or "\x00" in value:
        raise ValueError(f"path {value!r} must be a non-empty file name without NUL characters")


@attrs.frozen
class ArtifactEntry:
    """One file of the package: which role it plays, its format, and how to verify it.

    A side file that another artifact reads (ONNX external data) has format ``external-data`` and
    names that artifact's path in ``used_by``; it is verified like any artifact and never loaded alone.
    """

    role: str
    format: ArtifactFormat
    path: str = attrs.field(validator=_check_path)
    size: int | None = attrs.field(default=None, validator=_check_size)
    sha256: str | None = attrs.field(default=None, validator=_check_sha256)
    precision: Literal["fp32", "fp16", "int8"] | None = None
    target: TargetSpec | None = None
    used_by: str | None = attrs.field(default=None)

    @used_by.validator
    def _check_used_by(self, _attribute: object, value: str | None) -> None:
        if (self.format == DATA_FORMAT) != (value is not None):
            raise ValueError(
                f"artifact {self.path!r}: an {DATA_FORMAT!r} file must name the artifact that reads it in "
                "'used_by', and only such a file may"
            )

    @property
    def is_data_file(self) -> bool:
        """Whether this is a side file of another artifact rather than a loadable artifact."""
        return self.format == DATA_FORMAT


def _check_data_files(manifest: Manifest, _attribute: object, artifacts: tuple[ArtifactEntry, ...]) -> None:
    """Every side file belongs to a loadable artifact of the same role, and every role has one of those."""
    loadable = {entry.path: entry for entry in artifacts if not entry.is_data_file}
    for entry in artifacts:
        if not entry.is_data_file:
            continue
        user = loadable.get(entry.used_by or "")
        if user is None:
            raise ValueError(
                f"artifact {entry.path!r} is used_by {entry.used_by!r}, which is not a loadable artifact of "
                "this manifest"
            )
        if user.role != entry.role:
            raise ValueError(
                f"artifact {entry.path!r} has role {entry.role!r} but the artifact that reads it, "
                f"{user.path!r}, has role {user.role!r}"
            )
    if not loadable:
        raise ValueError(f"the manifest lists only {DATA_FORMAT!r} files and no artifact to load")


@attrs.frozen
class Manifest:
    """A model package: what the model does, how to feed it, and its artifacts."""

    format_version: int
    name: str
    task: Task
    architecture: str
    labels: tuple[str, ...] = attrs.field(validator=_check_label_count)
    input: InputSpec
    artifacts: tuple[ArtifactEntry, ...] = attrs.field(validator=_check_data_files)
    postprocess: PostprocessSpec = attrs.field(factory=PostprocessSpec)

    @property
    def roles(self) -> tuple[str, ...]:
        """Distinct artifact roles, in manifest order."""
        return tuple(dict.fromkeys(entry.role for entry in self.artifacts))

    def data_files_of(self, entry: ArtifactEntry) -> tuple[ArtifactEntry, ...]:
        """The side files that artifact ``entry`` reads (its ONNX external data)."""
        return tuple(data for data in self.artifacts if data.is_data_file and data.used_by == entry.path)


def _json_kind(value: Any) -> str:
    """What a JSON value is, in the words of the JSON format, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "an array" if isinstance(value, list | tuple) else "an object" if isinstance(value, dict) else "a value"


def _structure_str(value: Any, _type: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_json_kind(value)}")
    return value


def _structure_int(value: Any, _type: object) -> int:
    # JSON Schema counts 640.0 as an integer; anything with a fraction is refused, never truncated.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {_json_kind(value)}")
    return value


def _structure_float(value: Any, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_json_kind(value)}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _structure_bool(value: Any, _type: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {_json_kind(value)}")
    return value


def _structure_literal(value: Any, type_: Any) -> Any:
    allowed = get_args(type_)
    if isinstance(value, bool) or not isinstance(value, str | int) or value not in allowed:
        raise ValueError(f"expected one of {', '.join(map(repr, allowed))}, got {_json_kind(value)}")
    return value


def _structure_batch(value: Any, _type: object) -> int | str:
    if value == "dynamic":
        return "dynamic"
    try:
        number = _structure_int(value, int)
    except TypeError:
        number = 0
    if number < 1:
        raise ValueError(f"expected a positive integer or 'dynamic', got {_json_kind(value)}")
    return number


def _structure_array(converter: cattrs.Converter, value: Any, type_: Any) -> tuple[Any, ...]:
    """A JSON array as ``tuple[X, ...]`` or a fixed-length tuple, each problem noted with its index."""
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected an array, got {_json_kind(value)}")
    args = get_args(type_)
    if len(args) == 2 and args[1] is Ellipsis:
        item_types = [args[0]] * len(value)
    elif len(value) == len(args):
        item_types = list(args)
    else:
        raise ValueError(f"expected {len(args)} values, got {len(value)}")
    items, errors = [], []
    for index, (item_type, item) in enumerate(zip(item_types, value, strict=True)):
        try:
            items.append(converter.structure(item, item_type))
        except Exception as error:  # collected, so that one message lists every bad item with its index
            # Exception notes are Python 3.11+ (PEP 678); cattrs reads the attribute on 3.10 too, as set here.
            note = IterableValidationNote(f"@ {index}", index, item_type)
            error.__notes__ = [*getattr(error, "__notes__", []), note]  # type: ignore[attr-defined]
            errors.append(error)
    if errors:
        raise cattrs.IterableValidationError(f"while structuring {type_!r}", errors, type_)
    return tuple(items)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, omit_if_default=False)
    for type_, hook in ((str, _structure_str), (int, _structure_int), (float, _structure_float)):
        converter.register_structure_hook(type_, hook)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook_func(lambda cls: get_origin(cls) is Literal, _structure_literal)
    converter.register_structure_hook_func(lambda cls: cls == int | Literal["dynamic"], _structure_batch)
    # cattrs builds a tuple from any iterable (a string becomes its characters, an object its keys):
    # only a JSON array may become one.
    converter.register_structure_hook_func(
        lambda cls: get_origin(cls) is tuple, lambda value, type_: _structure_array(converter, value, type_)
    )

    def object_hook(cls: type) -> Any:
        structure_fields: Any = make_dict_structure_fn(cls, converter)

        def structure_object(value: Any, type_: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {_json_kind(value)}")
            return structure_fields(value, type_)

        return structure_object

    converter.register_structure_hook_factory(attrs.has, object_hook)
    return converter


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
    if isinstance(version, bool) or version != FORMAT_VERSION:
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
    """Read and parse ``<package_dir>/modelrt.json`` (a regular file of at most ``MAX_MANIFEST_BYTES``)."""
    path = package_dir / MANIFEST_NAME
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise PackageError(f"{path} is not a regular file; a manifest is a JSON file")
        if status.st_size > MAX_MANIFEST_BYTES:
            raise PackageError(
                f"{path} is {status.st_size} bytes, over the limit of {MAX_MANIFEST_BYTES} for a manifest (it "
                "holds metadata only); this is not a modelrt manifest"
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise PackageError(
            f"{package_dir} is not a modelrt package: it has no {MANIFEST_NAME}. "
            "Create one with `modelrt package MODEL_FILE --task TASK -o DIR`."
        ) from None
    except OSError as error:
        raise PackageError(f"cannot read {path}: {error.strerror}") from None
    if len(raw) > MAX_MANIFEST_BYTES:  # the file grew after stat
        raise PackageError(f"{path} is over the limit of {MAX_MANIFEST_BYTES} bytes for a manifest")
    return manifest_from_dict(parse_json_strictly(raw, path), origin=str(path))


class _NotJSON(ValueError):
    """Text that Python's json module accepts but JSON does not (NaN, Infinity, repeated keys)."""


def _refuse_constant(name: str) -> Any:
    raise _NotJSON(f"{name} is not a JSON number")


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        repeated = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        # Readers disagree on which copy of a repeated key wins; refusing it leaves no room for a
        # manifest that means one thing to a validator and another to modelrt.
        raise _NotJSON(f"key {', '.join(map(repr, repeated))} appears more than once in one object")
    return data


def read_bounded(path: Path, limit: int, what: str | None = None) -> bytes:
    """The bytes of a metadata file of at most ``limit`` bytes, never reading more than ``limit + 1``.

    ``what`` names the file in errors (default: its path); every problem is a ``PackageError``.
    """
    name = what or str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as error:
        raise PackageError(f"cannot read {name}: {error.strerror or error}") from None
    if len(raw) > limit:
        raise PackageError(f"{name} is over {limit} bytes; it holds metadata only, so this is not a package file")
    return raw


def parse_json_strictly(raw: bytes, path: Path) -> Any:
    """Parse UTF-8 JSON as the format defines it: no NaN or infinities, no repeated keys, bounded nesting.

    Every problem is a ``PackageError`` naming ``path``. Sources reading other packages' JSON configs use
    it too, so no config means one thing to a validator and another to modelrt.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PackageError(f"{path}: not UTF-8 text (byte {error.start}); a manifest is JSON in UTF-8") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_repeated_keys)
    except json.JSONDecodeError as error:
        raise PackageError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    except _NotJSON as error:
        raise PackageError(f"{path}: not valid JSON ({error})") from None
    except RecursionError:
        raise PackageError(f"{path}: not a manifest (arrays or objects nested too deeply)") from None


def dump_manifest(manifest: Manifest) -> str:
    """The manifest as indented JSON text."""
    return json.dumps(manifest_to_dict(manifest), indent=2) + "\n"


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of ``modelrt.json`` shipped with the core."""
    from importlib.resources import files

    return json.loads(files("modelrt").joinpath("schemas/manifest.schema.json").read_text(encoding="utf-8"))
