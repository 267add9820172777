"""The example plugin is tested from its source tree, whether or not it is installed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
if str(SOURCE) not in sys.path:
    sys.path.insert(0, str(SOURCE))


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[..., Path]:
    """Write a one-graph ONNX model: ``write_model(nodes, inputs, outputs, initializers, opset=17)``.

    ``inputs``/``outputs`` are ``(name, shape)`` pairs of float32 tensors; ``initializers`` maps names
    to numpy arrays.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def write(
        nodes: Sequence[Any],
        inputs: Sequence[tuple[str, Sequence[Any]]],
        outputs: Sequence[tuple[str, Sequence[Any]]],
        initializers: dict[str, Any] | None = None,
        opset: int = 17,
        name: str = "model.onnx",
    ) -> Path:
        graph = helper.make_graph(
            list(nodes),
            "test-graph",
            [helper.make_tensor_value_info(tensor, TensorProto.FLOAT, shape) for tensor, shape in inputs],
            [helper.make_tensor_value_info(tensor, TensorProto.FLOAT, shape) for tensor, shape in outputs],
            [numpy_helper.from_array(array, tensor) for tensor, array in (initializers or {}).items()],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        path = tmp_path / name
        onnx.save(model, str(path))
        return path

    return write
