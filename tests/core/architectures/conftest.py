"""Fixtures for architecture tests: tiny ONNX graphs with known outputs, a minimal onnxruntime session
adapter, and model packages built in memory."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.backend import TensorInfo
from modelrt.devices import Device
from modelrt.manifest import manifest_from_dict
from modelrt.packages import ModelPackage

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
IMAGES = REPO / "demo" / "images"
PPOCR_DETECTOR = "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
# Where the wheel's files are unpacked on a development machine without the wheel installed.
PPOCR_UNPACKED = Path("/tmp/wh/rocr") / PPOCR_DETECTOR
# An IR version and opset every supported onnxruntime reads.
IR_VERSION, OPSET = 8, 13


class OrtTestSession:
    """Just enough of the ``Session`` protocol around onnxruntime; records the input shape of each run."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self._session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        self.inputs = [TensorInfo(i.name, tuple(i.shape), i.type) for i in self._session.get_inputs()]
        self.outputs = [TensorInfo(o.name, tuple(o.shape), o.type) for o in self._session.get_outputs()]
        self.device = Device.parse("cpu")
        self.provider = "CPUExecutionProvider"
        self.run_shapes: list[tuple[int, ...]] = []

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.run_shapes.append(next(iter(inputs.values())).shape)
        names = [output.name for output in self.outputs]
        return dict(zip(names, self._session.run(names, dict(inputs)), strict=True))

    def close(self) -> None:
        """Nothing to release: the test session lives as long as the test."""


def _model(nodes: list[onnx.NodeProto], inputs: list[Any], outputs: list[Any], initializers: list[Any]) -> Any:
    graph = helper.make_graph(nodes, "test", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def constant_output_model(output: np.ndarray, input_name: str = "images", batch: int | str = "batch") -> Any:
    """A network whose output is ``output`` (``[1, ...]``) repeated for every image of the batch.

    The output is ``output + 0 * mean(input)``, so it depends on the input (and follows its batch
    size) while staying exactly the constant. ``batch`` fixes the input's batch size when an int.
    """
    rank = output.ndim
    image = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, 3, "height", "width"])
    result = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", *output.shape[1:]])
    nodes = [
        helper.make_node("ReduceMean", [input_name], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "per_image_shape"], ["per_image"]),
        helper.make_node("Mul", ["per_image", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "constant"], ["output"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array([-1] + [1] * (rank - 1), dtype=np.int64), "per_image_shape"),
        numpy_helper.from_array(np.zeros((), dtype=np.float32), "zero"),
        numpy_helper.from_array(output.astype(np.float32), "constant"),
    ]
    return _model(nodes, [image], [result], initializers)


def first_channel_model() -> Any:
    """A network whose output ``[B, 1, H, W]`` is the first channel of its input (a stand-in DB map)."""
    image = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    result = helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1, "height", "width"])
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["probability"])]
    initializers = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "starts"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "ends"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
    ]
    return _model(nodes, [image], [result], initializers)


def package(
    architecture: str,
    task: str,
    labels: list[str],
    input_spec: dict[str, Any],
    postprocess: dict[str, Any] | None = None,
) -> ModelPackage:
    data: dict[str, Any] = {
        "format_version": 1,
        "name": f"test-{architecture}",
        "task": task,
        "architecture": architecture,
        "labels": labels,
        "input": input_spec,
        "artifacts": [{"role": "main", "format": "onnx", "path": "model.onnx"}],
    }
    if postprocess is not None:
        data["postprocess"] = postprocess
    return ModelPackage(root=Path("/nonexistent"), manifest=manifest_from_dict(data))


@pytest.fixture
def make_session() -> Callable[[onnx.ModelProto], OrtTestSession]:
    return OrtTestSession


@pytest.fixture
def make_constant_model() -> Callable[..., onnx.ModelProto]:
    return constant_output_model


@pytest.fixture
def make_first_channel_model() -> Callable[[], onnx.ModelProto]:
    return first_channel_model


@pytest.fixture
def make_package() -> Callable[..., ModelPackage]:
    return package


@pytest.fixture(scope="session")
def ppocr_detector_path() -> Path:
    """PP-OCRv4's text detector, from the installed rapidocr-onnxruntime wheel (or its unpacked files)."""
    try:
        installed = Path(str(importlib.metadata.distribution("rapidocr-onnxruntime").locate_file(PPOCR_DETECTOR)))
    except importlib.metadata.PackageNotFoundError:
        installed = None
    for candidate in (installed, PPOCR_UNPACKED):
        if candidate is not None and candidate.is_file():
            return candidate
    pytest.skip("PP-OCRv4 detector not found: pip install --no-deps rapidocr-onnxruntime==1.4.4")


@pytest.fixture(scope="session")
def page_image_path() -> Path:
    return IMAGES / "page.png"


@pytest.fixture(scope="session")
def page_text_lines() -> list[dict[str, Any]]:
    return json.loads((DATA / "page_text_lines.json").read_text())["lines"]
