"""Bare TensorRT plans and Ultralytics ``.engine`` files are read too; what they do not record is unknown."""

from __future__ import annotations

import hashlib
import json

import pytest

from modelrt.engines.container import read_engine
from modelrt.engines.facts import EngineFacts
from modelrt.errors import PackageError

from .engine_files import PLAN, ultralytics_file, ultralytics_metadata


def test_a_bare_plan_is_read_with_every_fact_unknown() -> None:
    engine = read_engine(PLAN, name="model.plan")
    assert engine.kind == "bare"
    assert engine.facts == EngineFacts()
    assert bytes(engine.plan) == PLAN
    assert engine.plan_sha256 == hashlib.sha256(PLAN).hexdigest()
    assert engine.metadata == {}


def test_an_ultralytics_file_gives_its_plan_and_metadata() -> None:
    metadata = ultralytics_metadata()
    engine = read_engine(ultralytics_file(metadata), name="yolo11n.engine")
    assert engine.kind == "ultralytics"
    assert bytes(engine.plan) == PLAN
    assert engine.plan_sha256 == hashlib.sha256(PLAN).hexdigest()
    assert engine.metadata == metadata


def test_an_ultralytics_file_records_only_precision_and_its_writer() -> None:
    facts = read_engine(ultralytics_file(ultralytics_metadata()), name="yolo11n.engine").facts
    assert facts == EngineFacts(precision="fp16", builder="Ultralytics 8.3.40")


@pytest.mark.parametrize(
    ("args", "precision"),
    [
        ({"half": False}, "fp32"),
        ({"half": True}, "fp16"),
        ({"half": False, "int8": True}, "int8"),
        ({}, None),
        ({"half": "yes"}, None),
    ],
)
def test_the_precision_comes_from_the_export_arguments(args: dict[str, object], precision: str | None) -> None:
    engine = read_engine(ultralytics_file(ultralytics_metadata(args=args)), name="yolo11n.engine")
    assert engine.facts.precision == precision


def test_a_top_level_half_flag_is_read_too() -> None:
    metadata = ultralytics_metadata(half=False)
    del metadata["args"]
    assert read_engine(ultralytics_file(metadata), name="yolo11n.engine").facts.precision == "fp32"


def test_non_ascii_metadata_whose_length_counts_characters_is_read() -> None:
    """Ultralytics writes ``len(json_str)``: with "café" the blob is a byte longer than the prefix says."""
    metadata = ultralytics_metadata(names={"0": "café", "1": "猫"})
    data = ultralytics_file(metadata, ascii_only=False)
    stated = int.from_bytes(data[:4], "little")
    assert len(json.dumps(metadata, ensure_ascii=False).encode("utf-8")) > stated
    engine = read_engine(data, name="yolo11n.engine")
    assert engine.metadata["names"] == {"0": "café", "1": "猫"}
    assert bytes(engine.plan) == PLAN


def test_the_length_quirk_skips_ftrt_inside_the_metadata_text() -> None:
    """Twenty bytes more than the prefix says: the search passes an ``ftrt`` in the last value first."""
    metadata = ultralytics_metadata(description="猫" * 10, note="ftrt")
    data = ultralytics_file(metadata, ascii_only=False)
    assert data.find(b"ftrt", 4 + int.from_bytes(data[:4], "little")) < len(data) - len(PLAN)
    engine = read_engine(data, name="yolo11n.engine")
    assert engine.metadata["note"] == "ftrt"
    assert bytes(engine.plan) == PLAN


def test_a_length_and_a_blob_that_is_not_json_is_refused_as_damaged() -> None:
    blob = b"{this is not json}"
    data = len(blob).to_bytes(4, "little", signed=True) + blob + PLAN
    with pytest.raises(PackageError, match=r"yolo11n.engine starts like an Ultralytics .engine file.*damaged"):
        read_engine(data, name="yolo11n.engine")


def test_json_that_is_not_followed_by_a_plan_is_refused() -> None:
    blob = json.dumps(ultralytics_metadata()).encode()
    data = len(blob).to_bytes(4, "little", signed=True) + blob + b"not a plan"
    with pytest.raises(PackageError, match=r"starts like an Ultralytics .engine file"):
        read_engine(data, name="yolo11n.engine")


def test_a_length_prefix_larger_than_the_file_is_not_an_ultralytics_file() -> None:
    data = (1000).to_bytes(4, "little", signed=True) + b"{}" + PLAN
    with pytest.raises(PackageError, match=r"not a TensorRT engine: the first bytes are"):
        read_engine(data, name="yolo11n.engine")


def test_a_file_that_is_no_engine_says_what_modelrt_reads() -> None:
    with pytest.raises(PackageError) as raised:
        read_engine(b"\x89PNG\r\n\x1a\n...", name="picture.engine")
    message = str(raised.value)
    assert "picture.engine is not a TensorRT engine" in message
    assert "b'\\x89PNG\\r\\n\\x1a\\n'" in message
    assert "modelrt engine containers, bare TensorRT plans and Ultralytics .engine files" in message


def test_a_bare_tensorrt_for_rtx_plan_is_read_and_its_magic_names_the_product() -> None:
    from modelrt.engines.container import read_engine

    engine = read_engine(b"vtrt" + bytes(range(32)), name="rtx.plan")
    assert engine.kind == "bare"
    assert engine.facts.flavour == "tensorrt_rtx"
    assert read_engine(b"ftrt" + bytes(32), name="trt.plan").facts.flavour is None
