"""The benchmark model comes as one ONNX file in the form each runtime loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks import floor, models


def test_modelrt_package_runs_the_same_file_and_finds_the_calibrated_anchors(
    tiny_model: models.BenchModel, tiny_image: Path
) -> None:
    import modelrt

    with modelrt.load(tiny_model.modelrt_package, warmup=0) as model:
        detections = model.predict(str(tiny_image))
    package_file = tiny_model.modelrt_package / tiny_model.onnx.name
    assert package_file.read_bytes() == tiny_model.onnx.read_bytes()
    assert isinstance(detections, modelrt.Detections)
    assert 0 < len(detections) <= tiny_model.passing


def test_inference_models_package_has_the_files_and_config_its_loader_reads(tiny_model: models.BenchModel) -> None:
    package = tiny_model.inference_models_package
    assert (package / "weights.onnx").read_bytes() == tiny_model.onnx.read_bytes()
    assert len((package / "class_names.txt").read_text().splitlines()) == models.NUM_CLASSES
    config = json.loads((package / "inference_config.json").read_text())
    assert config["network_input"]["training_input_size"] == {"height": 64, "width": 64}
    assert config["network_input"]["resize_mode"] == "letterbox"
    assert config["post_processing"] == {"type": "nms", "fused": False}
    assert json.loads((package / "model_config.json").read_text())["model_architecture"] == "yolov8"


def test_a_built_model_is_reused_from_the_cache(tiny_model: models.BenchModel, tiny_image: Path) -> None:
    models_dir = tiny_model.onnx.parents[1]
    again = models.synthetic(tiny_image, passing=tiny_model.passing, input_size=64, trunk_depth=1, models=models_dir)
    assert again == tiny_model


def test_hd_frame_letterboxes_without_rounding_ambiguity(tmp_path: Path) -> None:
    """1280x720 -> 640x360 exactly, so floor and round conventions of letterboxing agree."""
    frame = models.hd_frame(tmp_path)
    image = models.read_rgb(frame)
    assert image.shape == (720, 1280, 3)
    _, scale, left, top = floor.letterbox(image)
    assert (scale, left, top) == (0.5, 0, 140)
    assert np.isclose(720 * scale, int(720 * scale))
