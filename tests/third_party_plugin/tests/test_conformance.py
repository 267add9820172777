"""The example backend passes modelrt's backend contract tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from modelrt import Artifact
from modelrt.testing.conformance import BackendConformance

WEIGHTS = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]], dtype=np.float32)
BIAS = np.array([0.25, -0.5], dtype=np.float32)


class TestNumpyReferenceBackend(BackendConformance):
    plugin_module = "modelrt_example_numpy.plugin"
    backend_name = "numpy-reference"

    def make_artifact(self, directory: Path) -> Artifact:
        # logits = relu(x @ W + b); probabilities = softmax(logits): a small classifier head.
        graph = helper.make_graph(
            [
                helper.make_node("Gemm", ["x", "W", "b"], ["hidden"]),
                helper.make_node("Relu", ["hidden"], ["logits"]),
                helper.make_node("Softmax", ["logits"], ["probabilities"]),
            ],
            "head",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
            [
                helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2]),
                helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2]),
            ],
            [numpy_helper.from_array(WEIGHTS, "W"), numpy_helper.from_array(BIAS, "b")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        path = directory / "head.onnx"
        onnx.save(model, str(path))
        return Artifact(role="main", format="onnx", file=path, package_root=directory)

    def input_feed(self) -> dict[str, np.ndarray]:
        return {"x": np.array([[1.0, 2.0, 3.0], [-4.0, 0.0, 1.0]], dtype=np.float32)}

    def expected_outputs(self) -> dict[str, np.ndarray]:
        # Row 1: [1 + 1 + 0 + 0.25, -1 + 4 + 3 - 0.5] = [2.25, 5.5]; row 2: [-4 + 0.25, 4 + 1 - 0.5] -> relu.
        logits = np.array([[2.25, 5.5], [0.0, 4.5]], dtype=np.float32)
        exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
        return {"logits": logits, "probabilities": exponentials / exponentials.sum(axis=1, keepdims=True)}
