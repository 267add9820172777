"""Fuzzing the manifest reader: whatever the bytes, a well-formed ``Manifest`` or a ``PackageError``.

Three campaigns, each CI-sized here and long under ``-m slow``:

- hypothesis, structured: a complete valid manifest with 1-3 mutations anywhere in it (a value
  replaced by any JSON value, a key removed, an unknown key added). An accepted manifest must be
  well-formed (exact types, finite numbers, values in range) and survive a JSON round trip; the parser
  and the shipped JSON Schema must agree on it.
- hypothesis, raw bytes: valid manifest text with bytes changed, cut or inserted, read from a file.
- atheris (coverage-guided libFuzzer), ``fuzz_manifest.py``, seeded with valid manifests:
  20,000 executions in CI, 500,000 under ``-m slow``; any other outcome is a crash it reports.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrt.errors import PackageError
from modelrt.manifest import (
    MANIFEST_NAME,
    MAX_INPUT_PIXELS,
    MAX_LABELS,
    TASKS,
    Manifest,
    dump_manifest,
    manifest_from_dict,
    manifest_schema,
    manifest_to_dict,
    read_manifest,
)

from .conftest import FUZZ_EXAMPLES

FUZZER = Path(__file__).with_name("fuzz_manifest.py")
ATHERIS_RUNS = [pytest.param(20_000, id="ci"), pytest.param(500_000, id="long", marks=pytest.mark.slow)]

VALID: dict[str, Any] = {
    "format_version": 1,
    "name": "yolov8n-coco",
    "task": "object-detection",
    "architecture": "yolov8",
    "labels": ["person", "bicycle"],
    "input": {
        "size": [640, 640],
        "dynamic_size": False,
        "size_multiple": 32,
        "resize": "letterbox",
        "pad_value": 114,
        "color": "rgb",
        "layout": "nchw",
        "dtype": "float32",
        "scale": 0.00392156862745098,
        "mean": [0, 0, 0],
        "std": [1, 1, 1],
        "batch": "dynamic",
        "crop_resize": 680,
    },
    "postprocess": {
        "confidence": 0.25,
        "iou": 0.7,
        "max_detections": 300,
        "class_agnostic": False,
        "pixel_threshold": 0.3,
        "unclip_ratio": 1.6,
    },
    "artifacts": [
        {"role": "main", "format": "onnx", "path": "model.onnx", "size": 12, "sha256": "a" * 64, "precision": "fp32"},
        {
            "role": "main",
            "format": "tensorrt-engine",
            "path": "model.engine",
            "size": 0,
            "target": {"gpu_compute_capability": "8.7", "tensorrt": "10.3.0", "platform": "jetson"},
        },
    ],
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as a tuple of keys and indices."""
    found = [prefix] if prefix else []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found.extend(_paths(child, (*prefix, key)))
    return found


PLACES = _paths(VALID)


def json_values(numbers: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | numbers | st.text(max_size=8) | st.sampled_from(["dynamic", "onnx", "main"])
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
        max_leaves=6,
    )


ANY_NUMBER = st.integers() | st.floats(allow_nan=True, allow_infinity=True)
MODEST_NUMBER = st.integers(-5, 5000) | st.floats(-10, 10)


@st.composite
def mutated_manifests(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(PLACES))
        parent: Any = data
        try:
            for key in place[:-1]:
                parent = parent[key]
            last = place[-1]
            parent[last]  # the place may be gone after an earlier mutation
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):  # an earlier mutation put a string there
            continue
        action = draw(st.sampled_from(["replace", "replace", "delete", "add-key"]))
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[last]
        elif action == "add-key" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return data


def assert_well_formed(manifest: Manifest) -> None:
    """What every accepted manifest guarantees to the code that uses it."""
    assert manifest.format_version == 1 and type(manifest.format_version) is int
    assert all(type(text) is str for text in (manifest.name, manifest.architecture, *manifest.labels))
    assert manifest.task in TASKS and len(manifest.labels) <= MAX_LABELS
    spec = manifest.input
    assert all(type(side) is int and side >= 1 for side in spec.size)
    assert type(spec.size_multiple) is int and spec.size_multiple >= 1
    assert type(spec.pad_value) is int and 0 <= spec.pad_value <= 255
    assert type(spec.dynamic_size) is bool
    assert all(math.isfinite(value) for value in (spec.scale, *spec.mean, *spec.std)) and 0 not in spec.std
    assert spec.batch == "dynamic" or (type(spec.batch) is int and spec.batch >= 1)
    post = manifest.postprocess
    for threshold in (post.confidence, post.iou, post.pixel_threshold):
        assert threshold is None or 0 <= threshold <= 1
    assert post.max_detections is None or (type(post.max_detections) is int and post.max_detections >= 1)
    assert manifest.artifacts
    for artifact in manifest.artifacts:
        assert type(artifact.path) is str and artifact.path and "\x00" not in artifact.path
        assert artifact.size is None or (type(artifact.size) is int and artifact.size >= 0)
    assert manifest_from_dict(json.loads(dump_manifest(manifest))) == manifest


def _input_pixels(data: dict[str, Any]) -> int:
    """batch x height x width of a manifest the schema accepts (an unset or dynamic batch counts 1)."""
    spec = data["input"]
    batch = spec.get("batch", "dynamic")
    return math.prod(spec["size"]) * (1 if batch == "dynamic" else batch)


def _parsed(data: Any) -> Manifest | None:
    try:
        return manifest_from_dict(data)
    except PackageError:
        return None


def test_the_unmutated_manifest_is_valid() -> None:
    assert_well_formed(manifest_from_dict(VALID))


@pytest.mark.parametrize("examples", FUZZ_EXAMPLES)
def test_a_mutated_manifest_is_well_formed_or_a_package_error(examples: int) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated_manifests(json_values(ANY_NUMBER)))
    def check(data: dict[str, Any]) -> None:
        manifest = _parsed(data)
        if manifest is not None:
            assert_well_formed(manifest)

    check()


@pytest.mark.parametrize("examples", FUZZ_EXAMPLES)
def test_the_parser_and_the_schema_agree_on_mutated_manifests(examples: int) -> None:
    schema = manifest_schema()

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated_manifests(json_values(MODEST_NUMBER)))
    def check(data: dict[str, Any]) -> None:
        accepted_by_schema = not list(jsonschema.Draft202012Validator(schema).iter_errors(data))
        manifest = _parsed(data)
        if accepted_by_schema and _input_pixels(data) > MAX_INPUT_PIXELS:
            assert manifest is None  # the one limit a JSON Schema cannot state: a product of values
            return
        assert (manifest is not None) == accepted_by_schema, data
        if manifest is not None:
            jsonschema.validate(manifest_to_dict(manifest), schema)

    check()


@st.composite
def damaged_texts(draw: st.DrawFn) -> bytes:
    text = bytearray(json.dumps(VALID, indent=draw(st.sampled_from([None, 2]))).encode())
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["replace", "insert", "cut"]))
        if action == "cut":
            del text[position:]
        elif action == "insert":
            text[position:position] = draw(st.binary(min_size=1, max_size=6))
        elif position < len(text):
            text[position] = draw(st.integers(0, 255))
    return bytes(text)


@pytest.mark.parametrize("examples", FUZZ_EXAMPLES)
def test_damaged_manifest_bytes_read_as_a_well_formed_manifest_or_a_package_error(
    examples: int, tmp_path: Path
) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(damaged_texts())
    def check(raw: bytes) -> None:
        (tmp_path / MANIFEST_NAME).write_bytes(raw)
        try:
            manifest = read_manifest(tmp_path)
        except PackageError:
            return
        assert_well_formed(manifest)

    check()


def _with_fresh_peak_memory(command: list[str]) -> list[str]:
    """``command`` forked by a small shell rather than straight from this test process.

    libFuzzer enforces its memory limit on the process's peak resident size, and Linux carries a process's
    resident size at ``fork`` into that peak, across ``exec`` too: a child forked from a pytest process that
    other tests have grown to gigabytes is "out of memory" before its first run. A grandchild forked by
    ``sh`` starts from sh's few megabytes.
    """
    return ["sh", "-c", '"$@"; exit $?', "sh", *command]


@pytest.mark.parametrize("runs", ATHERIS_RUNS)
def test_the_atheris_campaign_finds_no_crash(runs: int, tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (wheels: Linux x86_64)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "full.json").write_text(json.dumps(VALID))
    (corpus / "indented.json").write_text(json.dumps(VALID, indent=2))
    (corpus / "minimal.json").write_text(
        json.dumps(
            {key: VALID[key] for key in ("format_version", "name", "task", "architecture", "labels")}
            | {
                "input": {"size": [8, 8]},
                "artifacts": [{"role": "main", "format": "onnx", "path": "m.onnx"}],
            }
        )
    )
    memory_backed = "/dev/shm" if os.path.isdir("/dev/shm") else None  # as fuzz_manifest.py chooses
    with tempfile.TemporaryDirectory(prefix="modelrt-fuzz-", dir=memory_backed) as workdir:
        completed = subprocess.run(
            _with_fresh_peak_memory(
                [sys.executable, str(FUZZER), f"-runs={runs}", "-seed=1", f"-artifact_prefix={tmp_path}/", str(corpus)]
            ),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "MODELRT_FUZZ_WORKDIR": workdir},
        )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert re.search(rf"Done {runs} runs", completed.stderr), completed.stderr[-2000:]
