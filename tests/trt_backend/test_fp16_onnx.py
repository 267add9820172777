"""``to_fp16_onnx``: the fp16 model a strongly typed TensorRT builds an fp16 engine from."""

from __future__ import annotations

import builtins
import logging
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.errors import ModelRTError, PackageError
from modelrt_trt.fp16_onnx import to_fp16_onnx


def affine_model(weight: float = 0.5, bias: float = 0.25) -> bytes:
    """``y = x * weight + bias`` over float32 ``[N, 4]``."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    constants = [
        numpy_helper.from_array(np.full((4,), weight, np.float32), "weight"),
        numpy_helper.from_array(np.full((4,), bias, np.float32), "bias"),
    ]
    nodes = [helper.make_node("Mul", ["x", "weight"], ["scaled"]), helper.make_node("Add", ["scaled", "bias"], ["y"])]
    graph = helper.make_graph(nodes, "affine", [x], [y], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model.SerializeToString()


def run(model: bytes, x: np.ndarray) -> Any:
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_the_weights_become_float16() -> None:
    converted = onnx.load_from_string(to_fp16_onnx(affine_model()))
    assert {tensor.data_type for tensor in converted.graph.initializer} == {TensorProto.FLOAT16}


def test_inputs_and_outputs_stay_float32() -> None:
    converted = onnx.load_from_string(to_fp16_onnx(affine_model()))
    io = [*converted.graph.input, *converted.graph.output]
    assert {value.type.tensor_type.elem_type for value in io} == {TensorProto.FLOAT}


def test_the_fp16_model_computes_what_the_fp32_model_does_within_fp16_rounding() -> None:
    x = np.linspace(-4, 4, 32, dtype=np.float32).reshape(8, 4)
    np.testing.assert_allclose(run(to_fp16_onnx(affine_model()), x), run(affine_model(), x), atol=1e-2)


def test_a_model_already_in_fp16_is_returned_unchanged() -> None:
    converted = to_fp16_onnx(affine_model())
    assert to_fp16_onnx(converted) == converted


def test_a_weight_out_of_fp16_range_is_logged_not_warned(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="modelrt.trt"):
        to_fp16_onnx(affine_model(weight=1e6))
    assert "truncated" in caplog.text


def test_bytes_that_are_not_onnx_are_a_package_error() -> None:
    with pytest.raises(PackageError, match="does not parse"):
        to_fp16_onnx(b"\x08\x01garbage that is not a model")


def test_without_onnxconverter_common_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def without_converter(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("onnxconverter_common"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_converter)
    with pytest.raises(ModelRTError, match="pip install onnxconverter-common"):
        to_fp16_onnx(affine_model())
