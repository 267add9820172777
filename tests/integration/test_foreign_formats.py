"""Models from other tools load as they are: a bare Ultralytics ``.onnx`` and an inference-models package.

The network is a tiny ONNX graph whose output is a known YOLOv8 head ``[1, 4 + 2, 4]``, so the detections
after letterboxing, NMS and mapping back to a 640x480 picture are known exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import modelrt

# Columns are anchors: cx, cy, w, h (network pixels), then the scores of classes "cat" and "dog".
HEAD = np.array(
    [
        [320, 325, 100, 500],  # cx
        [320, 320, 100, 500],  # cy
        [100, 100, 40, 60],  # w
        [50, 50, 60, 60],  # h
        [0.9, 0.8, 0.0, 0.3],  # cat
        [0.0, 0.0, 0.5, 0.0],  # dog
    ],
    dtype=np.float32,
)[None]
# A 640x480 (w x h) picture is letterboxed into 640x640 at scale 1 with 80 rows of padding on top.
CAT = [270.0, 215.0, 370.0, 265.0]
SECOND_CAT = [275.0, 215.0, 375.0, 265.0]  # overlaps CAT with IoU 0.905
DOG = [80.0, 0.0, 120.0, 50.0]  # (80, -10)-(120, 50) in the picture, clipped at the top
FAINT_CAT = [470.0, 390.0, 530.0, 450.0]


def _constant_head_model(path: Path, metadata: dict[str, str]) -> Path:
    """output0 = HEAD + 0 * mean(images): a real graph whose output does not depend on the pixels."""
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
            helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
            helper.make_node("Add", ["head", "nothing"], ["output0"]),
        ],
        "constant_head",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 4])],
        [numpy_helper.from_array(HEAD, "head"), numpy_helper.from_array(np.float32(0), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def _picture() -> np.ndarray:
    return np.zeros((480, 640, 3), np.uint8)


def _sorted(detections: modelrt.Detections) -> list[tuple[str, float, list[float]]]:
    rows = zip(detections.class_names, detections.confidence.tolist(), detections.xyxy.tolist(), strict=True)
    return sorted(((name, round(score, 4), [round(v, 3) for v in box]) for name, score, box in rows), key=str)


def test_a_bare_ultralytics_onnx_file_loads_with_its_own_labels_and_defaults(tmp_path: Path) -> None:
    metadata = {"names": "{0: 'cat', 1: 'dog'}", "imgsz": "[640, 640]", "task": "detect", "stride": "32"}
    model_file = _constant_head_model(tmp_path / "yolov8-tiny.onnx", metadata)
    with modelrt.load(model_file) as model:
        detections = model.predict(_picture())
        assert model.plan.source == "ultralytics-onnx"
    # Ultralytics' defaults: confidence 0.25 keeps the faint cat; IoU 0.7 removes the second cat.
    assert _sorted(detections) == sorted([("cat", 0.9, CAT), ("cat", 0.3, FAINT_CAT), ("dog", 0.5, DOG)], key=str)


@pytest.fixture
def inference_models_package(tmp_path: Path) -> Path:
    root = tmp_path / "yolov8-im"
    root.mkdir()
    _constant_head_model(root / "weights.onnx", {})
    (root / "class_names.txt").write_text("cat\ndog\n")
    (root / "model_config.json").write_text(
        json.dumps({"model_architecture": "yolov8", "task_type": "object-detection", "backend_type": "onnx"})
    )
    (root / "inference_config.json").write_text(
        json.dumps(
            {
                "image_pre_processing": {},
                "network_input": {
                    "training_input_size": {"height": 640, "width": 640},
                    "dynamic_spatial_size_supported": False,
                    "color_mode": "rgb",
                    "resize_mode": "letterbox",
                    "padding_value": 114,
                    "input_channels": 3,
                    "scaling_factor": 255,
                },
                "forward_pass": {"static_batch_size": 1},
                "post_processing": {"type": "nms", "fused": False},
            }
        )
    )
    return root


def test_an_inference_models_package_loads_with_its_own_defaults(inference_models_package: Path) -> None:
    with modelrt.load(inference_models_package) as model:
        detections = model.predict(_picture())
        assert model.plan.source == "inference-models"
    # inference-models' defaults: confidence 0.4 drops the faint cat; IoU 0.3 removes the second cat.
    assert _sorted(detections) == sorted([("cat", 0.9, CAT), ("dog", 0.5, DOG)], key=str)


def test_per_call_overrides_replace_the_package_defaults(inference_models_package: Path) -> None:
    with modelrt.load(inference_models_package) as model:
        only_cats = model.predict(_picture(), confidence=0.2, classes=["cat"])
        both_cats = model.predict(_picture(), confidence=0.2, iou=0.95, classes=["cat"])
    assert _sorted(only_cats) == sorted([("cat", 0.9, CAT), ("cat", 0.3, FAINT_CAT)], key=str)
    assert _sorted(both_cats) == sorted([("cat", 0.9, CAT), ("cat", 0.8, SECOND_CAT), ("cat", 0.3, FAINT_CAT)], key=str)


def test_an_inference_models_package_predicts_what_the_equivalent_modelrt_package_does(
    inference_models_package: Path, tmp_path: Path
) -> None:
    from modelrt.package_builder import build_package

    equivalent = tmp_path / "modelrt-package"
    build_package(
        inference_models_package / "weights.onnx",
        equivalent,
        task="object-detection",
        architecture="yolov8",
        labels=["cat", "dog"],
        input_spec={"size": [640, 640], "resize": "letterbox", "pad_value": 114, "color": "rgb", "batch": 1},
        postprocess={"confidence": 0.4, "iou": 0.3, "max_detections": 300},
    )
    picture = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    with modelrt.load(inference_models_package) as im_model, modelrt.load(equivalent) as package_model:
        assert im_model.package.manifest.input == package_model.package.manifest.input
        assert im_model.package.manifest.postprocess == package_model.package.manifest.postprocess
        assert _sorted(im_model.predict(picture)) == _sorted(package_model.predict(picture))
