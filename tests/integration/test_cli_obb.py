"""`modelrt predict --json` on an Ultralytics OBB export prints each oriented box and its corners."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .conftest import run_cli


def obb_export(path: Path, output: np.ndarray) -> Path:
    """An Ultralytics-style OBB ``.onnx`` (metadata ``task: obb``) whose head outputs ``output``."""
    nodes = [
        helper.make_node("ReduceSum", ["images"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["head", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "obb",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
        [numpy_helper.from_array(output, "head"), numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    metadata = {"task": "obb", "stride": "32", "imgsz": "[64, 64]", "names": str({0: "plane", 1: "ship"})}
    helper.set_model_props(model, metadata)
    onnx.save(model, str(path))
    return path


def test_predict_json_on_an_obb_export_gives_each_rotated_box_and_its_corners(tmp_path: Path) -> None:
    head = np.array([[[32], [32], [40], [20], [0.1], [0.9], [2.0]]], dtype=np.float32)  # a ship turned by 2 rad
    model = obb_export(tmp_path / "yolo11n-obb.onnx", head)
    image = tmp_path / "wide.png"
    cv2.imwrite(str(image), np.zeros((32, 128, 3), dtype=np.uint8))
    result = run_cli("predict", str(model), str(image), "--json")
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)["results"][0]["detections"]
    assert item["class"] == "ship"
    # Letterbox gain 0.5, 24 rows of padding on top; sides and angle as the head gives them.
    assert item["xywhr"] == [64.0, 16.0, 80.0, 40.0, 2.0]
    assert len(item["corners"]) == 4
    xs, ys = [point[0] for point in item["corners"]], [point[1] for point in item["corners"]]
    assert item["xyxy"] == [round(min(xs), 2), 0.0, round(max(xs), 2), 32.0]  # bounds clipped to the 32 rows
    assert min(ys) < 0 and max(ys) > 32  # the box itself is left whole, as Ultralytics leaves it


def test_predict_save_draws_the_rotated_outline(tmp_path: Path) -> None:
    head = np.array([[[32], [32], [40], [16], [0.9], [0.1], [0.5]]], dtype=np.float32)
    model = obb_export(tmp_path / "yolo11n-obb.onnx", head)
    image, saved = tmp_path / "grey.png", tmp_path / "grey.annotated.png"
    cv2.imwrite(str(image), np.full((64, 64, 3), 128, dtype=np.uint8))
    result = run_cli("predict", str(model), str(image), "--save", str(saved))
    assert result.returncode == 0, result.stderr
    changed = (cv2.imread(str(saved)) != 128).any(axis=2)
    # The end of the long side, centre + (w/2)(cos 0.5, sin 0.5), is drawn; the centre is not.
    assert changed[round(32 + 20 * np.sin(0.5)), round(32 + 20 * np.cos(0.5))]
    assert not changed[32, 32]
