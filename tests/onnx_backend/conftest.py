"""Fixtures for the ONNX Runtime plugin: tiny ONNX models built with ``onnx.helper``, and a fake runtime.

Every model here is built by the tests, so each known output (y = 2x + 1) and each defect (truncation,
external data escaping the package, an opset from the future) is exact and documented.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.backend import Artifact, DataFile
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend

COCO_LIKE = ("person", "bicycle", "car")


def _save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _model(graph: onnx.GraphProto, opset: int = 17, metadata: Mapping[str, str] | None = None) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8  # readable by every onnxruntime this plugin supports
    if metadata:
        helper.set_model_props(model, dict(metadata))
    return model


def affine_model(opset: int = 17) -> onnx.ModelProto:
    """y = 2 * x + 1 on x: float32 [batch, 3]."""
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "two"], ["doubled"]),
            helper.make_node("Add", ["doubled", "one"], ["y"]),
        ],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [
            numpy_helper.from_array(np.array(2.0, np.float32), "two"),
            numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        ],
    )
    return _model(graph, opset)


def multi_output_model() -> onnx.ModelProto:
    """Three outputs of three dtypes from x: float32 [batch, width]: y = 2x + 1, row sums, row argmax (int64)."""
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "two"], ["doubled"]),
            helper.make_node("Add", ["doubled", "one"], ["y"]),
            helper.make_node("ReduceSum", ["x", "axis"], ["sums"], keepdims=0),
            helper.make_node("ArgMax", ["x"], ["best"], axis=1, keepdims=0),
        ],
        "multi_output",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "width"])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "width"]),
            helper.make_tensor_value_info("sums", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("best", TensorProto.INT64, ["batch"]),
        ],
        [
            numpy_helper.from_array(np.array(2.0, np.float32), "two"),
            numpy_helper.from_array(np.array(1.0, np.float32), "one"),
            numpy_helper.from_array(np.array([1], np.int64), "axis"),
        ],
    )
    return _model(graph)


def constant_output_model(
    input_shape: Sequence[int | str],
    output_shape: Sequence[int | str],
    metadata: Mapping[str, str] | None = None,
    input_type: int = TensorProto.FLOAT,
    extra_inputs: int = 0,
) -> onnx.ModelProto:
    """A network with an image-like input whose output has a given shape (values are zeros).

    The output is ``ReduceSum(images) * 0 + zeros``, so the graph uses its input and runs in onnxruntime.
    """
    static_output = [dim if isinstance(dim, int) else 1 for dim in output_shape]
    zeros = numpy_helper.from_array(np.zeros(static_output, np.float32), "zeros")
    nodes = [
        helper.make_node("Cast", ["images"], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["as_float"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["zeros", "nothing"], ["output0"]),
    ]
    inputs = [helper.make_tensor_value_info("images", input_type, list(input_shape))]
    inputs += [helper.make_tensor_value_info(f"extra{index}", TensorProto.FLOAT, [1]) for index in range(extra_inputs)]
    graph = helper.make_graph(
        nodes,
        "head",
        inputs,
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output_shape))],
        [zeros, numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    return _model(graph, metadata=metadata)


def ultralytics_metadata(
    names: Mapping[int, str] | None = None, task: str = "detect", **overrides: str
) -> dict[str, str]:
    """Metadata props as Ultralytics' exporter writes them (``str()`` of Python values)."""
    metadata = {
        "description": "Ultralytics YOLOv8n model",
        "author": "Ultralytics",
        "stride": "32",
        "task": task,
        "batch": "1",
        "imgsz": "[64, 64]",
        "names": str(dict(names if names is not None else enumerate(COCO_LIKE))),
        "args": str({"batch": 1, "half": False, "dynamic": False, "int8": False, "nms": False}),
        "channels": "3",
        "end2end": "False",
    }
    metadata.update(overrides)
    return metadata


class ModelFiles:
    """Writes test models into a directory and returns their paths."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory

    def path(self, name: str) -> Path:
        return self.directory / name

    def affine(self, name: str = "affine.onnx") -> Path:
        return _save(affine_model(), self.path(name))

    def multi_output(self, name: str = "multi_output.onnx") -> Path:
        return _save(multi_output_model(), self.path(name))

    def detector(
        self,
        name: str = "yolov8n.onnx",
        metadata: Mapping[str, str] | None = None,
        input_shape: Sequence[int | str] = (1, 3, 64, 64),
        output_shape: Sequence[int | str] | None = None,
        **model_options: Any,
    ) -> Path:
        """An Ultralytics-like detector: output ``[1, 4+C, N]`` (84 for COCO's 80 classes)."""
        metadata = ultralytics_metadata() if metadata is None else metadata
        shape = output_shape if output_shape is not None else (1, 4 + len(COCO_LIKE), 84)
        return _save(constant_output_model(input_shape, shape, metadata, **model_options), self.path(name))

    def classifier(self, name: str = "yolov8n-cls.onnx", classes: int = len(COCO_LIKE)) -> Path:
        metadata = ultralytics_metadata(task="classify", imgsz="[32, 32]")
        return _save(constant_output_model((1, 3, 32, 32), (1, classes), metadata), self.path(name))

    def bare(self, name: str = "bare.onnx") -> Path:
        """A detector-shaped network without any metadata."""
        return _save(constant_output_model((1, 3, 64, 64), (1, 7, 84)), self.path(name))

    def truncated(self, name: str = "truncated.onnx") -> Path:
        data = self.affine("whole.onnx").read_bytes()
        path = self.path(name)
        path.write_bytes(data[: len(data) // 2])
        return path

    def garbage(self, name: str = "garbage.onnx") -> Path:
        path = self.path(name)
        path.write_bytes(b"\x8f\xff this is not a protobuf \xfe\x00" * 8)
        return path

    def empty(self, name: str = "empty.onnx") -> Path:
        path = self.path(name)
        path.write_bytes(b"")
        return path

    def opset_too_new(self, name: str = "opset_too_new.onnx") -> Path:
        return _save(affine_model(opset=99), self.path(name))

    def ir_too_new(self, name: str = "ir_too_new.onnx") -> Path:
        model = affine_model()
        model.ir_version = 99
        return _save(model, self.path(name))

    def custom_op(self, name: str = "custom_op.onnx") -> Path:
        model = affine_model()
        model.graph.node[0].op_type = "FancyScale"
        model.graph.node[0].domain = "com.example.vision"
        model.opset_import.append(helper.make_opsetid("com.example.vision", 1))
        return _save(model, self.path(name))

    def unknown_standard_op(self, name: str = "unknown_op.onnx") -> Path:
        model = affine_model()
        model.graph.node[0].op_type = "MultiplyTwice"
        return _save(model, self.path(name))

    def with_unused_initializer(self, name: str = "unused_initializer.onnx") -> Path:
        """onnxruntime logs a WARNING for it ("Removing initializer ... not used by any node")."""
        model = affine_model()
        model.graph.initializer.append(numpy_helper.from_array(np.zeros(3, np.float32), "leftover"))
        return _save(model, self.path(name))

    def with_external_data(self, model_name: str, location: str, write_data_at: Path | None = None) -> Path:
        """y = x + w, with ``w`` (float32 [3] = 0, 1, 2) stored at ``location``.

        The data file is written at ``write_data_at`` (default: ``location`` next to the model).
        """
        weights = np.arange(3, dtype=np.float32)
        tensor = external_tensor(weights, "w", location)
        graph = helper.make_graph(
            [helper.make_node("Add", ["x", "w"], ["y"])],
            "external",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
            [tensor],
        )
        model_path = _save(_model(graph), self.path(model_name))
        data_path = write_data_at if write_data_at is not None else model_path.parent / location
        data_path.parent.mkdir(parents=True, exist_ok=True)
        data_path.write_bytes(weights.tobytes())
        return model_path

    def with_external_data_in_subgraph(self, model_name: str, location: str) -> Path:
        """An ``If`` node whose branch holds an initializer stored externally at ``location``."""
        tensor = external_tensor(np.ones(3, np.float32), "branch_weight", location)
        branch = helper.make_graph(
            [helper.make_node("Identity", ["branch_weight"], ["branch_out"])],
            "branch",
            [],
            [helper.make_tensor_value_info("branch_out", TensorProto.FLOAT, [3])],
            [tensor],
        )
        graph = helper.make_graph(
            [helper.make_node("If", ["flag"], ["y"], then_branch=branch, else_branch=branch)],
            "conditional",
            [helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        )
        return _save(_model(graph), self.path(model_name))


def external_tensor(values: np.ndarray, name: str, location: str) -> onnx.TensorProto:
    """A tensor whose bytes are at ``location`` (offset 0), as ``onnx`` writes external data."""
    tensor = numpy_helper.from_array(values, name)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(values.nbytes))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


#: ``w`` of the models below: float32 [3] = 0, 1, 2, as stored in their external-data file.
EXTERNAL_WEIGHTS = np.arange(3, dtype=np.float32)
#: Every place of an ONNX model where a tensor may keep its bytes in another file.
EXTERNAL_DATA_PLACES = (
    "initializer",
    "constant-node",
    "tensors-attribute",
    "if-branch",
    "graphs-attribute",
    "sparse-initializer",
    "sparse-attribute",
    "function-node",
    "function-attribute-default",
    "training-graph",
)
#: The places above whose model onnxruntime runs: y = x + w, with x float32 [3].
RUNNABLE_EXTERNAL_DATA_PLACES = (
    "initializer",
    "constant-node",
    "if-branch",
    "sparse-initializer",
    "sparse-attribute",
    "function-node",
)


def external_data_model(place: str, location: str) -> onnx.ModelProto:
    """A model whose only externally stored tensor (``EXTERNAL_WEIGHTS`` at ``location``) sits at ``place``."""
    weights = external_tensor(EXTERNAL_WEIGHTS, "w", location)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    add = helper.make_node("Add", ["x", "w"], ["y"])
    indices = numpy_helper.from_array(np.arange(3, dtype=np.int64), "w_indices")
    sparse = helper.make_sparse_tensor(weights, indices, [3])
    custom = helper.make_opsetid("com.example.vision", 1)
    nodes: list[onnx.NodeProto] = [add]
    initializers: list[onnx.TensorProto] = []
    functions: list[onnx.FunctionProto] = []
    if place == "initializer":
        initializers.append(weights)
    elif place == "constant-node":
        nodes.insert(0, helper.make_node("Constant", [], ["w"], value=weights))
    elif place == "tensors-attribute":
        nodes.insert(0, helper.make_node("Table", [], ["w"], domain=custom.domain, entries=[weights]))
    elif place == "if-branch":
        branch = helper.make_graph([helper.make_node("Identity", ["w"], ["w_out"])], "branch", [], [y], [weights])
        branch.output[0].name = "w_out"
        nodes[:0] = [
            helper.make_node("Constant", [], ["always"], value=numpy_helper.from_array(np.array(True), "always")),
            helper.make_node("If", ["always"], ["w"], then_branch=branch, else_branch=branch),
        ]
    elif place == "graphs-attribute":
        body = helper.make_graph([], "body", [], [], [weights])
        nodes.insert(0, helper.make_node("Switch", [], ["w"], domain=custom.domain, cases=[body]))
    elif place == "sparse-initializer":
        graph = helper.make_graph(nodes, place, [x], [y], sparse_initializer=[sparse])
        return _model(graph)
    elif place == "sparse-attribute":
        nodes.insert(0, helper.make_node("Constant", [], ["w"], sparse_value=sparse))
    elif place in ("function-node", "function-attribute-default"):
        inner = [helper.make_node("Constant", [], ["fw"], value=weights), helper.make_node("Add", ["fx", "fw"], ["fy"])]
        default = helper.make_attribute("scale", weights)
        function = helper.make_function(
            custom.domain,
            "AddWeights",
            ["fx"],
            ["fy"],
            inner if place == "function-node" else [helper.make_node("Identity", ["fx"], ["fy"])],
            [helper.make_opsetid("", 17)],
            attribute_protos=[default] if place == "function-attribute-default" else None,
        )
        functions.append(function)
        nodes = [helper.make_node("AddWeights", ["x"], ["y"], domain=custom.domain)]
    elif place == "training-graph":
        initializers.append(numpy_helper.from_array(EXTERNAL_WEIGHTS, "w"))
    else:
        raise ValueError(place)
    graph = helper.make_graph(nodes, place, [x], [y], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), custom], functions=functions or None)
    model.ir_version = 8
    if place == "training-graph":
        model.training_info.add().initialization.CopyFrom(helper.make_graph([], "init", [], [], [weights]))
    return model


def move_weights_to_external_data(model_path: Path) -> Path:
    """Re-save ``model_path`` with every initializer in ``<name>.data`` beside it, as exporters of large models do."""
    model = onnx.load(str(model_path))
    data_name = f"{model_path.name}.data"
    onnx.save_model(model, str(model_path), save_as_external_data=True, location=data_name, size_threshold=0)
    return model_path.parent / data_name


def save_external_data_model(directory: Path, place: str, location: str = "weights.bin") -> Path:
    """``model.onnx`` with its tensor at ``place``, and ``EXTERNAL_WEIGHTS`` at ``location`` beside it."""
    model_path = _save(external_data_model(place, location), directory / "model.onnx")
    (directory / location).parent.mkdir(parents=True, exist_ok=True)
    (directory / location).write_bytes(EXTERNAL_WEIGHTS.tobytes())
    return model_path


@pytest.fixture
def models(tmp_path: Path) -> ModelFiles:
    return ModelFiles(tmp_path / "package")


@pytest.fixture
def backend() -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend()


@pytest.fixture
def one_thread() -> RunOptions:
    return RunOptions(threads=1, warmup=0)


def artifact_for(
    path: Path, package_root: Path | None = None, precision: str | None = None, data_files: Sequence[Path] = ()
) -> Artifact:
    """An artifact as a package hands it over; ``data_files`` are covered with their current size and sha256."""
    root = package_root if package_root is not None else path.parent
    return Artifact(
        role="main",
        format="onnx",
        file=path,
        package_root=root,
        precision=precision,
        data_files=tuple(
            DataFile(
                file=file.resolve(),
                path=file.relative_to(root).as_posix(),
                size=file.stat().st_size,
                sha256=hashlib.sha256(file.read_bytes()).hexdigest(),
            )
            for file in data_files
        ),
    )


@pytest.fixture
def make_artifact() -> Any:
    return artifact_for


# --------------------------------------------------------------------------------- inference-models


def write_inference_models_package(
    root: Path,
    model_config: Mapping[str, Any] | None = None,
    inference_config: Mapping[str, Any] | None = None,
    class_names: str = "person\nbicycle\ncar\n",
    weights: bool = True,
) -> Path:
    """A local inference-models package as PEER.md describes it (valid unless told otherwise)."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"model_architecture": "yolov8", "task_type": "object-detection", "backend_type": "onnx"}
    (root / "model_config.json").write_text(json.dumps(config if model_config is None else model_config))
    default_inference = {
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
    chosen = default_inference if inference_config is None else inference_config
    (root / "inference_config.json").write_text(json.dumps(chosen))
    (root / "class_names.txt").write_text(class_names)
    if weights:
        _save(constant_output_model((1, 3, 64, 96), (1, 7, 126)), root / "weights.onnx")
    return root


@pytest.fixture
def inference_models_package(tmp_path: Path) -> Any:
    def build(**options: Any) -> Path:
        return write_inference_models_package(tmp_path / "rf-package", **options)

    return build


# --------------------------------------------------------------------------------- fake onnxruntime


class FakeInferenceSession:
    """Stands in for ``onnxruntime.InferenceSession`` where the real one cannot go (no GPU here)."""

    def __init__(self, path: str, sess_options: Any = None, providers: Sequence[Any] = ()) -> None:
        self.path = path
        self.sess_options = sess_options
        self.requested = list(providers)
        self.providers = ["CPUExecutionProvider"]  # what onnxruntime-gpu does when CUDA fails to start

    def get_providers(self) -> list[str]:
        return self.providers

    def get_inputs(self) -> list[Any]:
        return [SimpleNamespace(name="x", shape=["batch", 3], type="tensor(float)")]

    def get_outputs(self) -> list[Any]:
        return [SimpleNamespace(name="y", shape=["batch", 3], type="tensor(float)")]


def fake_onnxruntime(
    providers: Sequence[str] = ("CPUExecutionProvider",),
    session_class: type = FakeInferenceSession,
    version: str = "1.32.0",
) -> Any:
    """A module-like object with what the backend reads from onnxruntime, built on the real one's types."""
    import onnxruntime

    return SimpleNamespace(
        __version__=version,
        get_available_providers=lambda: list(providers),
        InferenceSession=session_class,
        SessionOptions=onnxruntime.SessionOptions,
        ExecutionMode=onnxruntime.ExecutionMode,
        GraphOptimizationLevel=onnxruntime.GraphOptimizationLevel,
        OrtValue=onnxruntime.OrtValue,
        set_default_logger_severity=lambda severity: None,
    )


@pytest.fixture
def fake_ort() -> Any:
    return fake_onnxruntime


@pytest.fixture
def onnx_logger_level() -> Iterator[Any]:
    """Set the ``modelrt.onnx`` logger's level for one test, restoring it afterwards."""
    logger = logging.getLogger("modelrt.onnx")
    previous = logger.level

    def set_level(level: int) -> None:
        logger.setLevel(level)

    yield set_level
    logger.setLevel(previous)
