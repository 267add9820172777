"""Reading an ONNX file into numpy steps, with every check done once, at load time."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from modelrt import PackageError, TensorInfo
from modelrt_example_numpy.ops import DEFAULT_ONLY_ATTRIBUTES, OPERATORS, REDUNDANT_ATTRIBUTES

MINIMUM_OPSET = 13
_DEFAULT_DOMAINS = ("", "ai.onnx")
_REPLACE = "export or download it again"
_USE_ONNXRUNTIME = 'use the onnxruntime backend instead (pip install "modelrt[onnx]")'


@attrs.frozen
class Step:
    """One node: the operator to call, where its inputs come from and where its output goes."""

    name: str
    op_type: str
    operator: Callable[..., Any]
    inputs: tuple[str, ...]
    output: str
    attributes: dict[str, Any] = attrs.field(hash=False)


@attrs.frozen
class Graph:
    """A checked network: steps in execution order, constant tensors, and the interface."""

    steps: tuple[Step, ...]
    constants: dict[str, Any] = attrs.field(hash=False)
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


def read_graph(path: Path) -> Graph:
    """Parse and check ``path``; anything numpy-reference cannot run is a ``PackageError`` naming it."""
    import onnx
    from onnx import external_data_helper, numpy_helper

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf reports an unreadable file through its own exception types
        raise PackageError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc}); {_REPLACE}") from exc
    # Refused before the checker runs: it would look for the data files, relative to the working directory.
    if any(external_data_helper.uses_external_data(tensor) for tensor in model.graph.initializer):
        raise PackageError(
            f"{path} keeps weights in external data files, which numpy-reference does not read; {_USE_ONNXRUNTIME}"
        )
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise PackageError(f"{path} is not a valid ONNX model ({exc}); {_REPLACE}") from exc
    opset = max((entry.version for entry in model.opset_import if entry.domain in _DEFAULT_DOMAINS), default=0)
    if opset < MINIMUM_OPSET:
        raise PackageError(
            f"{path} uses ONNX opset {opset}; numpy-reference implements opset {MINIMUM_OPSET} and newer: "
            f"export it again with a newer opset, or {_USE_ONNXRUNTIME}"
        )
    unsupported = sorted(
        {
            f"{node.domain}.{node.op_type}" if node.domain not in _DEFAULT_DOMAINS else node.op_type
            for node in model.graph.node
            if node.domain not in _DEFAULT_DOMAINS or node.op_type not in OPERATORS
        }
    )
    if unsupported:
        raise PackageError(
            f"{path} uses operators numpy-reference does not implement: {', '.join(unsupported)}; {_USE_ONNXRUNTIME}"
        )
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    return Graph(
        steps=tuple(_step(path, node) for node in model.graph.node),
        constants=constants,
        inputs=tuple(_tensor_info(value) for value in model.graph.input if value.name not in constants),
        outputs=tuple(_tensor_info(value) for value in model.graph.output),
    )


def _step(path: Path, node: Any) -> Step:
    from onnx import TensorProto, helper, numpy_helper

    attributes = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, TensorProto):
            value = numpy_helper.to_array(value)
        if attribute.name in REDUNDANT_ATTRIBUTES or (
            attribute.name in DEFAULT_ONLY_ATTRIBUTES and DEFAULT_ONLY_ATTRIBUTES[attribute.name] == value
        ):
            continue
        attributes[attribute.name] = value
    operator = OPERATORS[node.op_type]
    try:
        inspect.signature(operator).bind(*node.input, **attributes)
    except TypeError as exc:
        raise PackageError(
            f"{path}: node {node.name!r} ({node.op_type}) has inputs {list(node.input)} and attributes "
            f"{attributes}, which numpy-reference does not support ({exc}); {_USE_ONNXRUNTIME}"
        ) from exc
    if len(node.output) != 1:
        raise PackageError(
            f"{path}: node {node.name!r} ({node.op_type}) has {len(node.output)} outputs; numpy-reference supports one"
        )
    return Step(node.name, node.op_type, operator, tuple(node.input), node.output[0], attributes)


def _tensor_info(value: Any) -> TensorInfo:
    from onnx import helper

    tensor_type = value.type.tensor_type
    shape = tuple(
        dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None) for dim in tensor_type.shape.dim
    )
    return TensorInfo(value.name, shape, helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).name)
