"""`modelrt package` on an Ultralytics ONNX: what the file carries (task, class names, input size) is the
default, options given on the command line win, and a file that says nothing needs `--task`."""

from __future__ import annotations

import json
from pathlib import Path

from .cli_models import DETECTOR_LABELS, GRID, SIDE, grid_detector, run_modelrt, write_picture


def _manifest(package: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((package / "modelrt.json").read_text())


def test_an_ultralytics_onnx_is_packaged_from_its_own_metadata(tmp_path: Path) -> None:
    model = grid_detector(tmp_path / "yolo-grid.onnx")
    package = tmp_path / "package"

    result = run_modelrt("package", str(model), "-o", str(package))

    assert result.returncode == 0, result.stderr
    manifest = _manifest(package)
    assert manifest["task"] == "object-detection"
    assert manifest["architecture"] == "yolov8"
    assert manifest["labels"] == list(DETECTOR_LABELS)
    assert manifest["input"]["size"] == [SIDE, SIDE]
    assert manifest["input"]["resize"] == "letterbox"
    assert manifest["postprocess"]["confidence"] == 0.25
    assert manifest["name"] == "yolo-grid"
    assert "from the file's metadata" in result.stdout

    predicted = run_modelrt("predict", str(package), str(write_picture(tmp_path / "grid.png")))
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines()[0].endswith(f"{GRID * GRID} detections")


def test_options_given_win_over_the_file_metadata(tmp_path: Path) -> None:
    model = grid_detector(tmp_path / "grid.onnx")
    labels = tmp_path / "labels.txt"
    labels.write_text("tabby\nterrier\n")
    package = tmp_path / "package"

    result = run_modelrt(
        "package", str(model), "-o", str(package), "--labels", str(labels), "--confidence", "0.6", "--name", "pets"
    )

    assert result.returncode == 0, result.stderr
    manifest = _manifest(package)
    assert manifest["labels"] == ["tabby", "terrier"]
    assert manifest["postprocess"]["confidence"] == 0.6
    assert manifest["postprocess"]["iou"] == 0.7  # still the file's default
    assert manifest["name"] == "pets"
    assert manifest["input"]["size"] == [SIDE, SIDE]


def test_an_onnx_without_metadata_and_no_task_is_an_error_naming_what_to_pass(tmp_path: Path) -> None:
    model = grid_detector(tmp_path / "bare.onnx", metadata=False)

    result = run_modelrt("package", str(model), "-o", str(tmp_path / "package"))

    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "--task" in result.stderr and "--labels" in result.stderr
    assert not (tmp_path / "package").exists()
