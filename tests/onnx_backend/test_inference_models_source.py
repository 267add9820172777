"""The ``inference-models`` source: a Roboflow inference-models local package becomes a modelrt package."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrt.devices import Device
from modelrt.errors import PackageError
from modelrt.manifest import manifest_from_dict, manifest_to_dict
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.sources import InferenceModelsSource

from .conftest import move_weights_to_external_data

VALID_INFERENCE_CONFIG: dict[str, Any] = {
    "image_pre_processing": {},
    "network_input": {
        "training_input_size": {"height": 64, "width": 96},
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


def _config(**network_changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(VALID_INFERENCE_CONFIG)
    config["network_input"].update(network_changes)
    return config


@pytest.fixture
def source() -> InferenceModelsSource:
    return InferenceModelsSource()


def test_a_yolov8_package_maps_to_a_yolov8_detection_manifest(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package()
    package = source.open(str(root))
    manifest = package.manifest
    assert (manifest.task, manifest.architecture, manifest.labels) == (
        "object-detection",
        "yolov8",
        ("person", "bicycle", "car"),
    )
    assert (package.root, package.source, manifest.name) == (root, "inference-models", "rf-package")


def test_network_input_maps_size_resize_padding_color_and_scale(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    spec = source.open(str(inference_models_package())).manifest.input
    assert (spec.size, spec.resize, spec.pad_value, spec.color, spec.batch) == (
        (64, 96),
        "letterbox",
        114,
        "rgb",
        1,
    )
    assert spec.scale == pytest.approx(1 / 255) and not spec.dynamic_size


def test_post_processing_defaults_are_inference_models_own(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    post = source.open(str(inference_models_package())).manifest.postprocess
    assert (post.confidence, post.iou, post.max_detections, post.class_agnostic) == (0.4, 0.3, 300, False)


def test_the_weights_are_the_one_onnx_artifact_pinned_to_the_content_seen_at_open(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package()
    (artifact,) = source.open(str(root)).manifest.artifacts
    weights = root / "weights.onnx"
    assert (artifact.path, artifact.format) == ("weights.onnx", "onnx")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert (artifact.size, artifact.sha256) == (weights.stat().st_size, digest)


def test_external_data_of_the_weights_is_listed_and_pinned_at_open(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package()
    data = move_weights_to_external_data(root / "weights.onnx")
    artifacts = source.open(str(root)).manifest.artifacts
    assert [(entry.format, entry.path, entry.used_by) for entry in artifacts] == [
        ("onnx", "weights.onnx", None),
        ("external-data", "weights.onnx.data", "weights.onnx"),
    ]
    assert artifacts[1].sha256 == hashlib.sha256(data.read_bytes()).hexdigest()


def test_the_manifest_is_valid_for_the_core_parser(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    manifest = source.open(str(inference_models_package())).manifest
    assert manifest_from_dict(manifest_to_dict(manifest)) == manifest


def test_the_weights_load_and_run_on_the_backend(source: InferenceModelsSource, inference_models_package: Any) -> None:
    package = source.open(str(inference_models_package()))
    artifact = package.open_artifact(package.entries("main")[0])
    session = OnnxRuntimeBackend().load(artifact, Device.parse("cpu"), RunOptions(threads=1))
    assert session.run({"images": np.zeros((1, 3, 64, 96), np.float32)})["output0"].shape == (1, 7, 126)


@pytest.mark.parametrize(
    ("architecture", "expected"), [("yolov11", "yolov8"), ("yolov12", "yolov8"), ("yolov5", "yolov5")]
)
def test_architectures_run_by_the_same_head_code_map_to_it(
    source: InferenceModelsSource, inference_models_package: Any, architecture: str, expected: str
) -> None:
    config = {"model_architecture": architecture, "task_type": "object-detection", "backend_type": "onnx"}
    assert source.open(str(inference_models_package(model_config=config))).manifest.architecture == expected


def test_stretch_resize_and_bgr_networks_are_kept(source: InferenceModelsSource, inference_models_package: Any) -> None:
    root = inference_models_package(inference_config=_config(resize_mode="stretch", color_mode="bgr"))
    spec = source.open(str(root)).manifest.input
    assert (spec.resize, spec.color) == ("stretch", "bgr")


def test_missing_padding_value_pads_with_zero_as_inference_models_does(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    config = _config()
    del config["network_input"]["padding_value"]
    assert source.open(str(inference_models_package(inference_config=config))).manifest.input.pad_value == 0


def test_normalization_becomes_mean_and_std(source: InferenceModelsSource, inference_models_package: Any) -> None:
    config = _config(normalization=[[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]])
    spec = source.open(str(inference_models_package(inference_config=config))).manifest.input
    assert spec.mean == (0.485, 0.456, 0.406) and spec.std == (0.229, 0.224, 0.225)


def test_without_scaling_factor_pixels_are_not_scaled(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    config = _config()
    del config["network_input"]["scaling_factor"]
    assert source.open(str(inference_models_package(inference_config=config))).manifest.input.scale == 1.0


def test_a_dynamic_batch_package_has_a_dynamic_batch(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    config = _config()
    config["forward_pass"] = {"max_dynamic_batch_size": 16}
    assert source.open(str(inference_models_package(inference_config=config))).manifest.input.batch == "dynamic"


def test_dynamic_spatial_size_with_divisible_padding_sets_the_size_multiple(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    config = _config(
        dynamic_spatial_size_supported=True,
        dynamic_spatial_size_mode={"type": "pad-to-be-divisible", "value": 32},
    )
    spec = source.open(str(inference_models_package(inference_config=config))).manifest.input
    assert (spec.dynamic_size, spec.size_multiple) == (True, 32)


def test_auto_orient_is_ignored(source: InferenceModelsSource, inference_models_package: Any) -> None:
    config = _config()
    config["image_pre_processing"] = {"auto-orient": {"enabled": True}}
    assert source.open(str(inference_models_package(inference_config=config))).manifest.task == "object-detection"


def test_trailing_blank_lines_of_class_names_are_dropped(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package(class_names="cat\r\ndog\r\n\r\n")
    assert source.open(str(root)).manifest.labels == ("cat", "dog")


# ------------------------------------------------------------------------------------ refusals


def test_a_missing_directory_is_a_package_error(source: InferenceModelsSource, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="not found"):
        source.open(str(tmp_path / "absent"))


@pytest.mark.parametrize("name", ["model_config.json", "inference_config.json", "class_names.txt"])
def test_a_missing_package_file_is_a_package_error_naming_it(
    source: InferenceModelsSource, inference_models_package: Any, name: str
) -> None:
    root = inference_models_package()
    (root / name).unlink()
    with pytest.raises(PackageError, match=rf"missing {name}"):
        source.open(str(root))


def test_missing_weights_are_a_package_error_naming_them(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    with pytest.raises(PackageError, match=r"missing weights\.onnx"):
        source.open(str(inference_models_package(weights=False)))


def test_invalid_json_is_a_package_error_naming_the_file(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package()
    (root / "inference_config.json").write_text("{not json")
    with pytest.raises(PackageError, match=r"inference_config\.json: not valid JSON"):
        source.open(str(root))


def _edit_config(root: Any, edit: Any) -> None:
    path = root / "inference_config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def test_a_repeated_key_is_refused_since_readers_disagree_on_which_copy_wins(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package()
    text = (root / "inference_config.json").read_text()
    (root / "inference_config.json").write_text(text.replace("{", '{"post_processing": {"type": "nms"}, ', 1))
    with pytest.raises(PackageError, match="'post_processing' appears more than once"):
        source.open(str(root))


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda c: c["post_processing"].update(fused="false"), "post_processing.fused is 'false'"),
        (
            lambda c: c["network_input"].update(dynamic_spatial_size_supported="no"),
            "network_input.dynamic_spatial_size_supported is 'no'",
        ),
        (
            lambda c: c["network_input"].update(normalization=[["0.5", 0, 0], [1, 1, 1]]),
            "network_input.normalization is '0.5'; modelrt supports a number",
        ),
        (lambda c: c["network_input"].update(padding_value=""), "network_input.padding_value is ''"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(
    source: InferenceModelsSource, inference_models_package: Any, edit: Any, says: str
) -> None:
    root = inference_models_package()
    _edit_config(root, edit)
    with pytest.raises(PackageError, match=re.escape(says)):
        source.open(str(root))


def test_an_oversized_config_is_refused_before_it_is_parsed(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package()
    (root / "inference_config.json").write_text('{"pad": "' + "x" * (2 * 1024 * 1024) + '"}')
    with pytest.raises(PackageError, match="over 1048576 bytes"):
        source.open(str(root))


def test_json_that_is_not_an_object_is_a_package_error(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    root = inference_models_package()
    (root / "model_config.json").write_text(json.dumps(["yolov8"]))
    with pytest.raises(PackageError, match=r"model_config\.json: the file must be a JSON object"):
        source.open(str(root))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("backend_type", "trt", r"backend_type is 'trt'; modelrt supports 'onnx'"),
        ("task_type", "instance-segmentation", r"task_type is 'instance-segmentation'"),
        ("model_architecture", "rfdetr", r"model_architecture is 'rfdetr'; modelrt supports 'yolov8'"),
    ],
)
def test_unsupported_model_config_values_are_package_errors_naming_the_key(
    source: InferenceModelsSource, inference_models_package: Any, key: str, value: str, message: str
) -> None:
    config = {
        "model_architecture": "yolov8",
        "task_type": "object-detection",
        "backend_type": "onnx",
        key: value,
    }
    with pytest.raises(PackageError, match=message):
        source.open(str(inference_models_package(model_config=config)))


@pytest.mark.parametrize("key", ["model_architecture", "task_type", "backend_type"])
def test_a_missing_model_config_key_is_a_package_error_naming_it(
    source: InferenceModelsSource, inference_models_package: Any, key: str
) -> None:
    config = {"model_architecture": "yolov8", "task_type": "object-detection", "backend_type": "onnx"}
    del config[key]
    with pytest.raises(PackageError, match=rf"model_config\.json has no '{key}'"):
        source.open(str(inference_models_package(model_config=config)))


def test_a_config_without_post_processing_is_a_package_error_not_an_attribute_error(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    config = _config()
    del config["post_processing"]
    with pytest.raises(PackageError, match=r"inference_config\.json has no 'post_processing'"):
        source.open(str(inference_models_package(inference_config=config)))


def test_a_config_without_network_input_is_a_package_error(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    config = _config()
    del config["network_input"]
    with pytest.raises(PackageError, match="has no 'network_input'"):
        source.open(str(inference_models_package(inference_config=config)))


@pytest.mark.parametrize("key", ["training_input_size", "resize_mode", "color_mode"])
def test_a_missing_network_input_key_is_a_package_error_naming_its_path(
    source: InferenceModelsSource, inference_models_package: Any, key: str
) -> None:
    config = _config()
    del config["network_input"][key]
    with pytest.raises(PackageError, match=rf"has no 'network_input\.{key}'"):
        source.open(str(inference_models_package(inference_config=config)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"resize_mode": "fit-longer-edge"},
            r"resize_mode is 'fit-longer-edge'; modelrt supports letterbox, stretch",
        ),
        ({"resize_mode": "letterbox-reflect-edges"}, r"resize_mode is 'letterbox-reflect-edges'"),
        ({"color_mode": "grey"}, r"color_mode is 'grey'"),
        ({"input_channels": 1}, r"input_channels is 1"),
        ({"padding_value": 300}, r"padding_value is 300"),
        ({"scaling_factor": 0}, r"scaling_factor is 0"),
        ({"training_input_size": {"height": 64}}, r"training_input_size\.width is None"),
        ({"normalization": [[0, 0], [1, 1]]}, r"normalization is"),
        (
            {"dynamic_spatial_size_supported": True, "dynamic_spatial_size_mode": {"type": "odd"}},
            r"dynamic_spatial_size_mode\.type is 'odd'",
        ),
    ],
)
def test_unsupported_network_input_values_are_package_errors_naming_the_key(
    source: InferenceModelsSource, inference_models_package: Any, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(PackageError, match=message):
        source.open(str(inference_models_package(inference_config=_config(**changes))))


def test_an_invalid_static_batch_size_is_a_package_error(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    config = _config()
    config["forward_pass"] = {"static_batch_size": 0}
    with pytest.raises(PackageError, match=r"forward_pass\.static_batch_size is 0"):
        source.open(str(inference_models_package(inference_config=config)))


@pytest.mark.parametrize(
    ("post_processing", "message"),
    [
        ({"type": "softmax", "fused": False}, r"post_processing\.type is 'softmax'"),
        ({"type": "nms", "fused": True}, r"post_processing\.fused is True"),
        ({"fused": False}, r"has no 'post_processing\.type'"),
    ],
)
def test_post_processing_other_than_unfused_nms_is_a_package_error(
    source: InferenceModelsSource,
    inference_models_package: Any,
    post_processing: dict[str, Any],
    message: str,
) -> None:
    config = _config()
    config["post_processing"] = post_processing
    with pytest.raises(PackageError, match=message):
        source.open(str(inference_models_package(inference_config=config)))


@pytest.mark.parametrize("step", ["static-crop", "contrast", "grayscale"])
def test_an_enabled_pixel_changing_pre_processing_step_is_refused_by_name(
    source: InferenceModelsSource, inference_models_package: Any, step: str
) -> None:
    config = _config()
    config["image_pre_processing"] = {step: {"enabled": True}}
    with pytest.raises(PackageError, match=rf"image_pre_processing\.{step} is enabled"):
        source.open(str(inference_models_package(inference_config=config)))


def test_an_empty_class_names_file_is_a_package_error(
    source: InferenceModelsSource, inference_models_package: Any
) -> None:
    with pytest.raises(PackageError, match=r"class_names\.txt lists no class names"):
        source.open(str(inference_models_package(class_names="\n\n")))
