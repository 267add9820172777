"""``modelrt engine inspect`` shows what an engine file records; ``modelrt engine strip`` writes its bare plan."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from modelrt.cli import main
from modelrt.engines.container import write_container

from .engine_files import PLAN, full_facts, ultralytics_file, ultralytics_metadata

SHA256 = hashlib.sha256(PLAN).hexdigest()


def _run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def container(tmp_path: Path) -> Path:
    path = tmp_path / "model.engine"
    path.write_bytes(write_container(PLAN, full_facts()))
    return path


def test_inspect_shows_the_kind_every_fact_the_io_the_profiles_and_the_plan(
    capsys: pytest.CaptureFixture[str], container: Path
) -> None:
    status, out, _ = _run(capsys, "engine", "inspect", str(container))
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"{container}: modelrt engine container"
    assert f"plan: {len(PLAN)} bytes, sha256 {SHA256}" in lines
    assert "  tensorrt_version        10.3.0" in lines
    assert "  compute_capability      8.6" in lines
    assert "  l4t                     unknown (not recorded)" in lines
    assert lines[lines.index("inputs:") + 1] == "  images  float32  [-1, 3, 8, 8]"
    assert lines[lines.index("outputs:") + 1] == "  scores  float32  [-1, 3, 8, 8]"
    assert lines[lines.index("profiles:") + 1] == "  images  min [1, 3, 8, 8]  opt [4, 3, 8, 8]  max [8, 3, 8, 8]"


def test_inspect_says_a_bare_plan_records_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "model.plan"
    path.write_bytes(PLAN)
    status, out, _ = _run(capsys, "engine", "inspect", str(path))
    assert status == 0
    assert "bare TensorRT plan (it records no build facts)" in out
    assert "  flavour                 unknown (not recorded)" in out
    assert "inputs: unknown (not recorded)" in out


def test_inspect_summarises_ultralytics_metadata(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    names = {str(index): f"class{index}" for index in range(80)}
    path = tmp_path / "yolo11n.engine"
    path.write_bytes(ultralytics_file(ultralytics_metadata(names=names)))
    status, out, _ = _run(capsys, "engine", "inspect", str(path))
    assert status == 0
    assert "Ultralytics .engine file (it records no TensorRT version, GPU or L4T)" in out
    assert "  precision               fp16" in out
    assert "  names: 80 classes (class0, class1, class2, class3, class4, ...)" in out
    assert "  imgsz: [640, 640]" in out
    assert '  task: "detect"' in out


def test_inspect_json_is_one_document_with_facts_unknowns_plan_and_metadata(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    metadata = ultralytics_metadata()
    path = tmp_path / "yolo11n.engine"
    path.write_bytes(ultralytics_file(metadata))
    status, out, _ = _run(capsys, "engine", "inspect", str(path), "--json")
    assert status == 0
    report = json.loads(out)
    assert report["kind"] == "ultralytics"
    assert report["file"] == str(path)
    assert report["facts"]["precision"] == "fp16"
    assert report["facts"]["tensorrt_version"] is None
    assert "tensorrt_version" in report["unknown_facts"]
    assert "precision" not in report["unknown_facts"]
    assert report["plan"] == {"bytes": len(PLAN), "sha256": SHA256}
    assert report["metadata"] == metadata


def test_inspect_json_of_a_container_round_trips_its_facts(capsys: pytest.CaptureFixture[str], container: Path) -> None:
    _, out, _ = _run(capsys, "engine", "inspect", str(container), "--json")
    assert json.loads(out)["facts"] == json.loads(json.dumps(full_facts().to_dict()))


def test_inspect_of_a_damaged_container_is_one_error_line(capsys: pytest.CaptureFixture[str], container: Path) -> None:
    data = bytearray(container.read_bytes())
    data[-1] ^= 0xFF
    container.write_bytes(bytes(data))
    status, out, err = _run(capsys, "engine", "inspect", str(container))
    assert status == 1
    assert out == ""
    assert err.startswith(f"error: {container} is a damaged modelrt engine container")
    assert len(err.splitlines()) == 1


def test_inspect_of_a_missing_file_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = _run(capsys, "engine", "inspect", str(tmp_path / "absent.engine"))
    assert status == 1
    assert "absent.engine does not exist; check the path" in err


@pytest.mark.parametrize("kind", ["container", "ultralytics", "bare"])
def test_strip_writes_exactly_the_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str) -> None:
    source = tmp_path / "model.engine"
    data = {
        "container": write_container(PLAN, full_facts()),
        "ultralytics": ultralytics_file(ultralytics_metadata(), ascii_only=False),
        "bare": PLAN,
    }[kind]
    source.write_bytes(data)
    output = tmp_path / "out" / "model.plan"
    status, out, _ = _run(capsys, "engine", "strip", str(source), "-o", str(output))
    assert status == 0
    assert output.read_bytes() == PLAN
    assert out == f"{output}: bare TensorRT plan, {len(PLAN)} bytes, sha256 {SHA256}\n"


def test_strip_refuses_to_replace_an_existing_file(
    capsys: pytest.CaptureFixture[str], container: Path, tmp_path: Path
) -> None:
    output = tmp_path / "model.plan"
    output.write_bytes(b"keep me")
    status, _, err = _run(capsys, "engine", "strip", str(container), "-o", str(output))
    assert status == 1
    assert "model.plan already exists; pass --overwrite to replace it" in err
    assert output.read_bytes() == b"keep me"


def test_strip_with_overwrite_replaces_the_file_and_leaves_no_temporary_file(
    capsys: pytest.CaptureFixture[str], container: Path, tmp_path: Path
) -> None:
    output = tmp_path / "model.plan"
    output.write_bytes(b"old")
    status, _, _ = _run(capsys, "engine", "strip", str(container), "-o", str(output), "--overwrite")
    assert status == 0
    assert output.read_bytes() == PLAN
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.engine", "model.plan"]


def test_strip_of_a_file_that_is_no_engine_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"just some text")
    output = tmp_path / "model.plan"
    status, _, err = _run(capsys, "engine", "strip", str(source), "-o", str(output))
    assert status == 1
    assert "is not a TensorRT engine" in err
    assert not output.exists()
