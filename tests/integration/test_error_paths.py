"""Every foreseeable failure reaches the user as a typed modelrt error that says what to do.

These go through the public API with the real ONNX Runtime backend and a tiny real ONNX model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import modelrt
from modelrt.package_builder import build_package

from .conftest import IMAGES


def _tiny_classifier(path: Path) -> Path:
    """[N,3,8,8] -> mean of each channel -> softmax over the 3 'classes'."""
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("Softmax", ["flat"], ["probabilities"], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["n", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _package(tmp_path: Path, model_file: Path) -> Path:
    out = tmp_path / "package"
    build_package(
        model_file,
        out,
        task="classification",
        labels=["red", "green", "blue"],
        input_spec={"size": [8, 8], "resize": "stretch"},
    )
    return out


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return _package(tmp_path, _tiny_classifier(tmp_path / "tiny.onnx"))


@pytest.fixture
def model(package: Path) -> modelrt.Model:
    with modelrt.load(package) as loaded:
        yield loaded


def test_the_tiny_model_really_runs(model: modelrt.Model) -> None:
    red = np.zeros((10, 10, 3), np.uint8)
    red[..., 0] = 255
    assert model.predict(red, color="rgb").label == "red"


def test_corrupt_onnx_is_a_package_error_naming_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "broken.onnx"
    garbage.write_bytes(b"this is not a protobuf" * 20)
    package = _package(tmp_path, garbage)
    with pytest.raises(modelrt.PackageError, match=r"broken\.onnx"):
        modelrt.load(package)


def test_truncated_onnx_fails_its_integrity_check(package: Path) -> None:
    model_file = package / "tiny.onnx"
    model_file.write_bytes(model_file.read_bytes()[:50])
    with pytest.raises(modelrt.IntegrityError, match="truncated"):
        modelrt.load(package)


def test_missing_model_path_says_not_found(tmp_path: Path) -> None:
    with pytest.raises(modelrt.PackageError, match="not found"):
        modelrt.load(tmp_path / "nowhere")


def test_bare_onnx_without_metadata_says_how_to_package_it(tmp_path: Path) -> None:
    bare = _tiny_classifier(tmp_path / "bare.onnx")
    with pytest.raises(modelrt.PackageError, match="modelrt package"):
        modelrt.load(bare)


def test_unknown_backend_lists_the_installed_ones(package: Path) -> None:
    with pytest.raises(modelrt.NoUsableBackendError, match="onnxruntime"):
        modelrt.load(package, backend="openvino")


def test_bad_device_string_is_an_input_error(package: Path) -> None:
    with pytest.raises(modelrt.InputError, match="unknown device"):
        modelrt.load(package, device="gpu")


def test_cuda_without_a_gpu_says_why_and_what_to_do(package: Path) -> None:
    with pytest.raises(modelrt.NoUsableBackendError, match=r"no NVIDIA driver.*device='cpu'"):
        modelrt.load(package, device="cuda")


def test_garbage_image_bytes_are_an_input_error(model: modelrt.Model) -> None:
    with pytest.raises(modelrt.InputError, match="decodable image"):
        model.predict(b"\x89PNG but not really" * 5)


def test_missing_image_file_is_an_input_error(model: modelrt.Model, tmp_path: Path) -> None:
    with pytest.raises(modelrt.InputError, match=r"missing\.png"):
        model.predict(tmp_path / "missing.png")


def test_wrong_channel_count_is_an_input_error(model: modelrt.Model) -> None:
    with pytest.raises(modelrt.InputError, match="channels"):
        model.predict(np.zeros((10, 10, 2), np.uint8))


def test_zero_size_image_is_an_input_error(model: modelrt.Model) -> None:
    with pytest.raises(modelrt.InputError, match=r"empty|zero"):
        model.predict(np.zeros((0, 10, 3), np.uint8))


def test_image_over_the_pixel_limit_is_an_input_error(model: modelrt.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRT_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(modelrt.InputError, match="MODELRT_MAX_IMAGE_PIXELS"):
        model.predict(IMAGES / "page.png")


def test_unknown_override_is_an_input_error(model: modelrt.Model) -> None:
    with pytest.raises(modelrt.InputError, match="confidenc"):
        model.predict(np.zeros((10, 10, 3), np.uint8), confidence_threshold=0.3)
