"""Tiny ONNX graphs in the DETR-family output layouts, with known outputs that follow the input image.

Each output is ``base + brightness * delta``, where ``brightness`` is the mean of the image's input tensor
(0 for a black image and 1 for a white one with the default ``scale`` 1/255, mean 0, std 1): a black and
a white image in one batch get different, exactly known outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# An IR version and opset every supported onnxruntime reads.
IR_VERSION, OPSET = 8, 13


def logit(probability: float) -> float:
    """The logit whose sigmoid is ``probability``."""
    return float(np.log(probability / (1 - probability)))


def query_model(
    outputs: Mapping[str, np.ndarray],
    deltas: Mapping[str, np.ndarray] | None = None,
    input_name: str = "input",
    size: tuple[int, int] | None = None,
) -> onnx.ModelProto:
    """A network whose output ``name`` is ``outputs[name]`` (``[Q, K]``) plus brightness x ``deltas[name]``.

    Outputs are ``[batch, Q, K]``, in the order given; ``size`` fixes the input's height and width.
    """
    height, width = size if size is not None else ("height", "width")
    image = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", 3, height, width])
    nodes = [
        helper.make_node("ReduceMean", [input_name], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "per_image_shape"], ["brightness"]),
    ]
    initializers = [numpy_helper.from_array(np.array([-1, 1, 1], dtype=np.int64), "per_image_shape")]
    results = []
    for name, base in outputs.items():
        delta = (deltas or {}).get(name, np.zeros_like(base))
        nodes += [
            helper.make_node("Mul", ["brightness", f"{name}_delta"], [f"{name}_change"]),
            helper.make_node("Add", [f"{name}_change", f"{name}_base"], [name]),
        ]
        initializers += [
            numpy_helper.from_array(np.asarray(base, dtype=np.float32), f"{name}_base"),
            numpy_helper.from_array(np.asarray(delta, dtype=np.float32), f"{name}_delta"),
        ]
        results.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *np.shape(base)]))
    graph = helper.make_graph(nodes, "detr-like", [image], results, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
