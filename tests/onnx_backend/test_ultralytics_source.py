"""The ``ultralytics-onnx`` source: a bare Ultralytics ``.onnx`` file becomes a package with a manifest."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

import modelrt
from modelrt.devices import Device
from modelrt.errors import IntegrityError, PackageError, SecurityError
from modelrt.manifest import manifest_from_dict, manifest_to_dict
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.sources import UltralyticsOnnxSource

from .conftest import COCO_LIKE, move_weights_to_external_data, ultralytics_metadata


@pytest.fixture
def source() -> UltralyticsOnnxSource:
    return UltralyticsOnnxSource()


def test_a_detector_with_a_4_plus_c_head_is_a_yolov8_package(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector()
    package = source.open(str(path))
    manifest = package.manifest
    assert (manifest.task, manifest.architecture, manifest.labels) == (
        "object-detection",
        "yolov8",
        COCO_LIKE,
    )
    assert package.root == path.parent
    assert (package.source, package.reference) == ("ultralytics-onnx", str(path))
    assert manifest.name == "yolov8n"


def test_detector_input_is_letterboxed_rgb_scaled_to_unit_range(source: UltralyticsOnnxSource, models: Any) -> None:
    spec = source.open(str(models.detector())).manifest.input
    assert (spec.size, spec.resize, spec.pad_value, spec.color, spec.layout) == (
        (64, 64),
        "letterbox",
        114,
        "rgb",
        "nchw",
    )
    assert spec.scale == pytest.approx(1 / 255) and spec.mean == (0, 0, 0) and spec.std == (1, 1, 1)
    assert (spec.batch, spec.dynamic_size, spec.size_multiple, spec.dtype) == (1, False, 32, "float32")


def test_detector_post_processing_defaults_are_ultralytics_own(source: UltralyticsOnnxSource, models: Any) -> None:
    post = source.open(str(models.detector())).manifest.postprocess
    assert (post.confidence, post.iou, post.max_detections, post.class_agnostic) == (0.25, 0.7, 300, False)


def test_the_artifact_is_pinned_to_the_content_seen_at_open(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector()
    (artifact,) = source.open(str(path)).manifest.artifacts
    assert (artifact.role, artifact.format, artifact.path) == ("main", "onnx", path.name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (artifact.size, artifact.sha256) == (path.stat().st_size, digest)
    assert artifact.precision == "fp32"


def test_the_manifest_is_valid_for_the_core_parser(source: UltralyticsOnnxSource, models: Any) -> None:
    manifest = source.open(str(models.detector())).manifest
    assert manifest_from_dict(manifest_to_dict(manifest)) == manifest


def test_the_package_artifact_loads_and_runs_on_the_backend(source: UltralyticsOnnxSource, models: Any) -> None:
    package = source.open(str(models.detector()))
    artifact = package.open_artifact(package.entries("main")[0])
    session = OnnxRuntimeBackend().load(artifact, Device.parse("cpu"), RunOptions(threads=1))
    assert session.run({"images": np.zeros((1, 3, 64, 64), np.float32)})["output0"].shape == (1, 7, 84)


def test_a_yolov5_repository_export_is_recognised_by_its_n_by_5_plus_c_output(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    metadata = {"stride": "32", "names": str(dict(enumerate(COCO_LIKE)))}  # all yolov5's exporter writes
    path = models.detector(metadata=metadata, output_shape=(1, 252, 5 + len(COCO_LIKE)))
    manifest = source.open(str(path)).manifest
    assert (manifest.architecture, manifest.task) == ("yolov5", "object-detection")
    assert manifest.input.size == (64, 64)  # from the input shape, as there is no imgsz


def test_an_rt_detr_export_is_recognised_by_its_queries_by_4_plus_c_output(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    """Ultralytics writes task 'detect' for RT-DETR too; its decoder outputs [batch, 300 queries, 4 + C]."""
    manifest = source.open(str(models.detector("rtdetr-l.onnx", output_shape=(1, 300, 4 + len(COCO_LIKE))))).manifest
    assert (manifest.task, manifest.architecture) == ("object-detection", "rt-detr")
    assert manifest.input.resize == "stretch"  # RTDETRPredictor: LetterBox(scale_fill=True)
    post = manifest.postprocess
    assert (post.confidence, post.iou, post.max_detections) == (0.25, None, 300)


def test_an_rt_detr_export_runs_each_query_as_one_detection_on_the_stretched_image(models: Any) -> None:
    path = models.detector("rtdetr-l.onnx", output_shape=(1, 300, 4 + len(COCO_LIKE)))
    network = onnx.load(str(path))
    queries = np.zeros((1, 300, 4 + len(COCO_LIKE)), np.float32)
    queries[0, 7] = [0.5, 0.5, 0.5, 0.25, 0.1, 0.9, 0.2]  # normalised cxcywh, then a sigmoid score per class
    [zeros] = [tensor for tensor in network.graph.initializer if tensor.name == "zeros"]
    zeros.CopyFrom(numpy_helper.from_array(queries, "zeros"))
    onnx.save(network, str(path))
    with modelrt.load(str(path), warmup=0) as model:
        assert model.plan.architecture == "rt-detr"
        detections = model.predict(np.zeros((64, 96, 3), np.uint8))
    assert detections.class_names == [COCO_LIKE[1]]
    np.testing.assert_allclose(detections.xyxy, [[24, 24, 72, 40]], atol=1e-4)  # 96x64 image, no padding
    np.testing.assert_allclose(detections.confidence, [0.9])


def test_a_dynamic_export_has_dynamic_batch_and_size(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector(input_shape=("batch", 3, "height", "width"), output_shape=("batch", 7, "anchors"))
    spec = source.open(str(path)).manifest.input
    assert (spec.batch, spec.dynamic_size, spec.size) == ("dynamic", True, (64, 64))


def test_a_half_precision_export_records_fp16_weights_and_its_input_dtype(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    metadata = ultralytics_metadata(args=str({"half": True, "nms": False}))
    path = models.detector(metadata=metadata, input_type=TensorProto.FLOAT16)
    manifest = source.open(str(path)).manifest
    assert manifest.artifacts[0].precision == "fp16" and manifest.input.dtype == "float16"


def test_a_classifier_is_resized_on_its_shorter_side_and_centre_cropped(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    manifest = source.open(str(models.classifier())).manifest
    assert (manifest.task, manifest.architecture) == ("classification", "image-classifier")
    spec = manifest.input
    assert (spec.resize, spec.size, spec.crop_resize, spec.mean, spec.std) == (
        "shorter-side-center-crop",
        (32, 32),
        32,
        (0, 0, 0),
        (1, 1, 1),
    )


def test_names_given_as_a_list_are_accepted(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector(metadata=ultralytics_metadata(names=None) | {"names": str(list(COCO_LIKE))})
    assert source.open(str(path)).manifest.labels == COCO_LIKE


# ------------------------------------------------------------------------------------ refusals


def test_a_missing_file_is_a_package_error_naming_it(source: UltralyticsOnnxSource, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match=r"'.*nowhere.onnx' not found"):
        source.open(str(tmp_path / "nowhere.onnx"))


def test_a_directory_named_like_a_model_is_a_package_error(source: UltralyticsOnnxSource, tmp_path: Path) -> None:
    (tmp_path / "odd.onnx").mkdir()
    with pytest.raises(PackageError, match=r"is not a file"):
        source.open(str(tmp_path / "odd.onnx"))


def test_a_model_without_ultralytics_metadata_says_to_write_a_package(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    with pytest.raises(PackageError, match=r"no Ultralytics metadata.*unknown.*modelrt package .* --task"):
        source.open(str(models.bare()))


def test_garbage_bytes_are_a_package_error(source: UltralyticsOnnxSource, models: Any) -> None:
    with pytest.raises(PackageError, match=r"not a valid ONNX model"):
        source.open(str(models.garbage()))


def test_an_empty_file_is_a_package_error(source: UltralyticsOnnxSource, models: Any) -> None:
    with pytest.raises(PackageError, match=r"empty"):
        source.open(str(models.empty()))


def test_names_that_are_not_a_literal_are_refused_without_evaluating_them(
    source: UltralyticsOnnxSource, models: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "evaluated"
    names = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    with pytest.raises(PackageError, match=r"'names' is not a Python literal"):
        source.open(str(models.detector(metadata=ultralytics_metadata(names=None) | {"names": names})))
    assert not marker.exists()


@pytest.mark.parametrize("names", ["42", "{}", "'person'"])
def test_names_that_are_not_a_mapping_of_classes_are_refused(
    source: UltralyticsOnnxSource, models: Any, names: str
) -> None:
    with pytest.raises(PackageError, match=r"'names' must map class indices to names"):
        source.open(str(models.detector(metadata=ultralytics_metadata() | {"names": names})))


def test_names_with_a_gap_in_class_indices_are_refused(source: UltralyticsOnnxSource, models: Any) -> None:
    metadata = ultralytics_metadata(names={0: "person", 2: "car", 3: "dog"})
    with pytest.raises(PackageError, match=r"0\.\.2 without gaps"):
        source.open(str(models.detector(metadata=metadata)))


def test_names_with_a_non_integer_index_are_refused(source: UltralyticsOnnxSource, models: Any) -> None:
    metadata = ultralytics_metadata() | {"names": "{'a': 'person'}"}
    with pytest.raises(PackageError, match=r"non-integer class index"):
        source.open(str(models.detector(metadata=metadata)))


@pytest.mark.parametrize("task", ["depth"])
def test_tasks_modelrt_does_not_run_yet_are_refused_by_name(
    source: UltralyticsOnnxSource, models: Any, task: str
) -> None:
    with pytest.raises(PackageError, match=rf"task '{task}' is not supported yet"):
        source.open(str(models.detector(metadata=ultralytics_metadata(task=task))))


def test_an_end_to_end_export_is_refused_with_the_export_option_to_use(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    with pytest.raises(PackageError, match=r"end-to-end.*end2end=False"):
        source.open(str(models.detector(metadata=ultralytics_metadata(end2end="True"))))


def test_an_export_with_nms_inside_is_refused_with_the_export_option_to_use(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    metadata = ultralytics_metadata(args=str({"nms": True, "half": False}))
    with pytest.raises(PackageError, match=r"nms=True.*nms=False"):
        source.open(str(models.detector(metadata=metadata)))


@pytest.mark.parametrize("imgsz", ["[640]", "[0, 640]", "'large'", "True", "[True, 64]", "[64.0, 64]"])
def test_a_malformed_imgsz_is_refused(source: UltralyticsOnnxSource, models: Any, imgsz: str) -> None:
    with pytest.raises(PackageError, match=r"'imgsz' must be"):
        source.open(str(models.detector(metadata=ultralytics_metadata(imgsz=imgsz))))


def test_a_square_imgsz_given_as_one_number_is_accepted(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector(metadata=ultralytics_metadata(imgsz="64"))
    assert source.open(str(path)).manifest.input.size == (64, 64)


def test_a_dynamic_input_without_imgsz_is_refused(source: UltralyticsOnnxSource, models: Any) -> None:
    metadata = {key: value for key, value in ultralytics_metadata().items() if key != "imgsz"}
    path = models.detector(metadata=metadata, input_shape=(1, 3, "height", "width"))
    with pytest.raises(PackageError, match=r"dynamic and the metadata has no 'imgsz'"):
        source.open(str(path))


@pytest.mark.parametrize("stride", ["wide", "0", "-32"])
def test_a_stride_that_is_not_a_positive_integer_is_refused(
    source: UltralyticsOnnxSource, models: Any, stride: str
) -> None:
    with pytest.raises(PackageError, match=r"'stride' must be a positive integer"):
        source.open(str(models.detector(metadata=ultralytics_metadata(stride=stride))))


def test_an_input_over_the_pixel_limit_is_a_package_error(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector(metadata=ultralytics_metadata(imgsz="[100000, 100000]"))
    with pytest.raises(PackageError, match=r"yolov8n.onnx: .*over the limit of 100000000"):
        source.open(str(path))


def test_a_huge_metadata_value_is_refused_before_it_is_parsed(source: UltralyticsOnnxSource, models: Any) -> None:
    names = "{" + "0: 'x', " * (10_000_000 // 8) + "}"  # 10 MB; parsing it would take gigabytes
    path = models.detector(metadata={**ultralytics_metadata(), "names": names})
    tracemalloc.start()
    try:
        with pytest.raises(PackageError, match=rf"metadata 'names' is {len(names)} characters.*limit of 262144"):
            source.open(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024


def test_more_than_one_input_is_refused(source: UltralyticsOnnxSource, models: Any) -> None:
    with pytest.raises(PackageError, match=r"one NCHW image input.*extra0"):
        source.open(str(models.detector(extra_inputs=1)))


def test_an_integer_image_input_is_refused(source: UltralyticsOnnxSource, models: Any) -> None:
    with pytest.raises(PackageError, match=r"is int32"):
        source.open(str(models.detector(input_type=TensorProto.INT32)))


def test_a_head_that_does_not_match_the_class_count_is_refused(source: UltralyticsOnnxSource, models: Any) -> None:
    with pytest.raises(PackageError, match=r"3 classes should output \[batch, 7, anchors\].*\[1, 85, 8400\]"):
        source.open(str(models.detector(output_shape=(1, 85, 8400))))


def test_a_classifier_whose_output_does_not_match_the_class_count_is_refused(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    with pytest.raises(PackageError, match=r"3 classes should output \[batch, 3\].*\[1, 1000\]"):
        source.open(str(models.classifier(classes=1000)))


def test_external_data_of_a_bare_model_is_listed_and_pinned_at_open(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector()
    data = move_weights_to_external_data(path)
    artifacts = source.open(str(path)).manifest.artifacts
    assert [(entry.format, entry.path, entry.used_by) for entry in artifacts] == [
        ("onnx", "yolov8n.onnx", None),
        ("external-data", "yolov8n.onnx.data", "yolov8n.onnx"),
    ]
    assert (artifacts[1].size, artifacts[1].sha256) == (
        data.stat().st_size,
        hashlib.sha256(data.read_bytes()).hexdigest(),
    )


def test_a_bare_model_with_external_data_loads_and_runs(models: Any) -> None:
    path = models.detector()
    move_weights_to_external_data(path)
    with modelrt.load(str(path), device="cpu") as model:
        assert len(model.predict(np.zeros((64, 64, 3), np.uint8))) == 0


def test_external_data_changed_after_open_is_an_integrity_error(source: UltralyticsOnnxSource, models: Any) -> None:
    path = models.detector()
    data = move_weights_to_external_data(path)
    package = source.open(str(path))
    data.write_bytes(b"\x01" * data.stat().st_size)
    with pytest.raises(IntegrityError, match=r"yolov8n.onnx.data"):
        OnnxRuntimeBackend().load(package.open_artifact(package.entries("main")[0]), Device.parse("cpu"), RunOptions())


def test_a_bare_model_naming_external_data_outside_its_directory_is_refused_at_open(
    source: UltralyticsOnnxSource, models: Any
) -> None:
    path = models.detector()
    move_weights_to_external_data(path)
    # Same length as the location it replaces, so the protobuf lengths stay right.
    path.write_bytes(path.read_bytes().replace(b"yolov8n.onnx.data", b"../yolov8n.secret"))
    with pytest.raises(SecurityError, match=r"outside the model's directory"):
        source.open(str(path))
