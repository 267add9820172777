"""The modelrt.json manifest: parsing, errors that name the problem, and the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrt.errors import PackageError
from modelrt.manifest import (
    ARTIFACT_FORMATS,
    RESIZE_MODES,
    TASKS,
    dump_manifest,
    manifest_from_dict,
    manifest_schema,
    manifest_to_dict,
    read_manifest,
)

from .conftest import manifest_data


def test_minimal_manifest_gets_documented_defaults() -> None:
    manifest = manifest_from_dict(manifest_data())
    assert manifest.input.size == (640, 640)
    assert manifest.input.resize == "letterbox"
    assert manifest.input.pad_value == 114
    assert manifest.input.batch == "dynamic"
    assert (manifest.input.dynamic_resize, manifest.input.interpolation) == ("shorter-side", "bilinear")
    assert manifest.labels == ("person", "bicycle")
    assert manifest.roles == ("main",)


def test_manifest_round_trips_through_json() -> None:
    manifest = manifest_from_dict(manifest_data(postprocess={"confidence": 0.3, "iou": 0.5}))
    assert manifest_from_dict(json.loads(dump_manifest(manifest))) == manifest


def test_unknown_format_version_names_the_version_and_the_fix() -> None:
    with pytest.raises(PackageError, match=r"format_version 2.*Upgrade modelrt-core"):
        manifest_from_dict(manifest_data(format_version=2))


def test_unknown_key_is_named() -> None:
    with pytest.raises(PackageError, match=r"unknown keys \['resolution'\].*manifest.input"):
        manifest_from_dict(manifest_data(input={"size": [640, 640], "resolution": 5}))


def test_unknown_top_level_key_is_named() -> None:
    with pytest.raises(PackageError, match=r"unknown keys \['license'\]"):
        manifest_from_dict(manifest_data(license="MIT"))


def test_missing_required_key_is_named() -> None:
    data = manifest_data()
    del data["architecture"]
    with pytest.raises(PackageError, match=r"required key missing @ manifest.architecture"):
        manifest_from_dict(data)


def test_bad_artifact_format_is_rejected() -> None:
    data = manifest_data(artifacts=[{"role": "main", "format": "tflite", "path": "m.tflite"}])
    with pytest.raises(PackageError, match="tflite"):
        manifest_from_dict(data)


def test_malformed_sha256_is_rejected() -> None:
    data = manifest_data(artifacts=[{"role": "main", "format": "onnx", "path": "m.onnx", "sha256": "abc"}])
    with pytest.raises(PackageError, match="64 hexadecimal"):
        manifest_from_dict(data)


def test_a_manifest_without_artifacts_is_rejected() -> None:
    with pytest.raises(PackageError, match="no artifacts"):
        manifest_from_dict(manifest_data(artifacts=[]))


def test_not_an_object_is_rejected() -> None:
    with pytest.raises(PackageError, match="JSON object"):
        manifest_from_dict(["not", "a", "manifest"])


def test_read_manifest_reports_invalid_json_with_line(tmp_path: Path) -> None:
    (tmp_path / "modelrt.json").write_text('{"format_version": 1,\n  oops}')
    with pytest.raises(PackageError, match=r"not valid JSON .* line 2"):
        read_manifest(tmp_path)


def test_read_manifest_of_a_directory_without_one_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="modelrt package"):
        read_manifest(tmp_path)


def test_every_written_manifest_validates_against_the_shipped_schema() -> None:
    manifest = manifest_from_dict(
        manifest_data(
            input={
                "size": [224, 224],
                "resize": "shorter-side-center-crop",
                "crop_resize": 256,
                "batch": 4,
                "dynamic_resize": "letterbox",
                "interpolation": "antialiased-bilinear",
            },
            artifacts=[
                {
                    "role": "main",
                    "format": "onnx",
                    "path": "m.onnx",
                    "size": 10,
                    "sha256": "a" * 64,
                    "precision": "fp32",
                },
                {
                    "role": "main",
                    "format": "tensorrt-engine",
                    "path": "m.engine",
                    "target": {"gpu_compute_capability": "8.7", "tensorrt": "10.3.0", "platform": "jetson"},
                },
            ],
        )
    )
    jsonschema.validate(manifest_to_dict(manifest), manifest_schema())


# Property: the parser and the schema agree on what a manifest is.

_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_input = st.fixed_dictionaries(
    {"size": st.lists(st.integers(-2, 2000), min_size=1, max_size=3)},
    optional={
        "resize": st.sampled_from([*RESIZE_MODES, "crop"]),
        "dynamic_resize": st.sampled_from(["shorter-side", "letterbox", "longer-side"]),
        "interpolation": st.sampled_from(["bilinear", "antialiased-bilinear", "nearest"]),
        "color": st.sampled_from(["rgb", "bgr", "gray"]),
        "batch": st.one_of(st.just("dynamic"), st.integers(-1, 16), st.just("many")),
        "dtype": st.sampled_from(["float32", "float16", "uint8", "int4"]),
        "mean": st.lists(st.floats(0, 1), min_size=2, max_size=4),
        "unknown": st.integers(),
    },
)
_artifact = st.fixed_dictionaries(
    {"role": st.just("main"), "format": st.sampled_from([*ARTIFACT_FORMATS, "tflite"]), "path": _names},
    optional={
        "size": st.integers(-5, 10**9),
        "sha256": st.one_of(st.just("b" * 64), st.just("xyz"), st.just("C" * 64)),
        "precision": st.sampled_from(["fp32", "fp16", "int8", "int2"]),
    },
)
_manifest = st.fixed_dictionaries(
    {
        "format_version": st.sampled_from([1, 1, 1, 2]),
        "name": _names,
        "task": st.sampled_from([*TASKS, "tracking"]),
        "architecture": _names,
        "labels": st.lists(_names, max_size=3),
        "input": _input,
        "artifacts": st.lists(_artifact, min_size=1, max_size=2),
    },
    optional={"postprocess": st.fixed_dictionaries({}, optional={"iou": st.floats(0, 1), "nms": st.booleans()})},
)


def _schema_accepts(data: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(data, manifest_schema())
    except jsonschema.ValidationError:
        return False
    return True


def _parser_accepts(data: dict[str, Any]) -> bool:
    try:
        manifest_from_dict(data)
    except PackageError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(_manifest)
def test_parser_and_schema_agree(data: dict[str, Any]) -> None:
    assert _parser_accepts(data) == _schema_accepts(data), data
