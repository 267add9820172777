"""``modelrt pull`` fetches what a load needs (or every format), so the model then loads with no network;
the other commands take ``--revision`` and say what to do when a Hub model is not cached."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

import modelrt

from .conftest import classifier_onnx, image, manifest_for, package_files, run_python
from .emulator import HubEmulator


def modelrt_cli(*arguments: str) -> tuple[int, str, str]:
    """Run the ``modelrt`` command in a fresh process (stdout and stderr are pipes, not a terminal)."""
    completed = run_python(f"from modelrt.cli import main; raise SystemExit(main({list(arguments)!r}))", timeout=120)
    return completed.returncode, completed.stdout, completed.stderr


@pytest.fixture
def three_formats(hub: HubEmulator) -> dict[str, int]:
    """``org/three``: one network as ONNX, TorchScript and an exported program; sizes by path."""
    artifacts = {
        "model.onnx": ("onnx", classifier_onnx()),
        "model.torchscript": ("torchscript", b"t" * 50_000),
        "model.pt2": ("exported-program", b"e" * 80_000),
    }
    files = {"modelrt.json": manifest_for(artifacts), **{path: data for path, (_, data) in artifacts.items()}}
    hub.publish("org/three", files)
    return {path: len(data) for path, data in files.items()}


def test_pull_fetches_only_what_a_load_here_needs_and_the_model_then_loads_offline(
    hub: HubEmulator, three_formats: dict[str, int], request: pytest.FixtureRequest
) -> None:
    status, stdout, stderr = modelrt_cli("pull", "hf://org/three", "--device", "cpu", "--json")
    assert status == 0, stderr
    report = json.loads(stdout)
    assert [file["path"] for file in report["files"]] == ["model.onnx"]
    assert report["total_bytes"] == three_formats["model.onnx"]
    assert sorted(entry.path for entry in hub.downloads()) == ["model.onnx", "modelrt.json"]
    request.getfixturevalue("no_sockets")
    with modelrt.load("hf://org/three", device="cpu", offline=True) as model:
        model.predict(image())


def test_pull_all_formats_fetches_every_artifact_for_another_machine(
    hub: HubEmulator, three_formats: dict[str, int]
) -> None:
    status, stdout, stderr = modelrt_cli("pull", "hf://org/three", "--all-formats")
    assert status == 0, stderr
    assert "3 file(s)" in stdout
    fetched = {entry.path: entry.bytes_sent for entry in hub.downloads()}
    assert fetched == three_formats


def test_downloads_show_no_progress_bar_when_stderr_is_not_a_terminal(hub: HubEmulator) -> None:
    hub.publish("org/tiny", package_files())
    status, _stdout, stderr = modelrt_cli("pull", "hf://org/tiny")
    assert status == 0
    assert stderr == ""


def test_predicting_an_uncached_model_offline_exits_1_with_the_pull_command(hub: HubEmulator, tmp_path: Path) -> None:
    picture = tmp_path / "flat.png"
    cv2.imwrite(str(picture), image())
    status, _stdout, stderr = modelrt_cli(
        "predict", "hf://org/tiny", str(picture), "--offline", "--revision", "refs/pr/3"
    )
    assert status == 1
    assert "not cached" in stderr and "`modelrt pull hf://org/tiny --revision refs/pr/3`" in stderr


def test_predict_and_explain_take_a_revision(hub: HubEmulator, tmp_path: Path) -> None:
    hub.publish("org/tiny", package_files(classifier_onnx(seed=5)), branch="refs/pr/3")
    hub.publish("org/tiny", package_files(classifier_onnx(seed=6)))
    picture = tmp_path / "flat.png"
    cv2.imwrite(str(picture), image())
    outputs = {}
    for revision in ("main", "refs/pr/3"):
        status, stdout, stderr = modelrt_cli("predict", "hf://org/tiny", str(picture), "--revision", revision, "--json")
        assert status == 0, stderr
        outputs[revision] = stdout
    assert outputs["main"] != outputs["refs/pr/3"]
    status, stdout, _ = modelrt_cli("explain", "hf://org/tiny", "--revision", "refs/pr/3", "--json")
    assert status == 0 and json.loads(stdout)["source"] == "huggingface-hub"


def test_cache_verify_reports_a_hub_file_damaged_in_the_huggingface_hub_cache(hub: HubEmulator, tmp_path: Path) -> None:
    hub.publish("org/tiny", package_files())
    assert modelrt_cli("pull", "hf://org/tiny")[0] == 0
    assert modelrt_cli("cache", "verify")[0] == 0
    (model,) = (tmp_path / "hf-cache").rglob("snapshots/*/model.onnx")
    blob = model.resolve()
    blob.write_bytes(blob.read_bytes()[::-1])
    status, stdout, _ = modelrt_cli("cache", "verify")
    assert status == 1
    assert "model.onnx" in stdout and "not the file the Hub served" in stdout
