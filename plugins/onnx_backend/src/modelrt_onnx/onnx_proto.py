"""Reads the few parts of an ONNX file modelrt needs, straight from the protobuf wire format.

Why not ``onnx.load``: the ``onnx`` package is not a runtime dependency, and it decodes every weight to
answer a question about metadata. Why not an onnxruntime session: building one to read metadata loads
and optimises the whole graph, then the backend builds it again. This reader walks the memory-mapped
file and skips each weight blob by its length, so metadata, graph inputs/outputs and external-data
locations cost about as much as reading the file header, whatever the model's size.

Field numbers are those of ``onnx/onnx.proto`` (stable since IR version 3).
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from pathlib import Path

import attrs

from modelrt.backend import TensorInfo

__all__ = ["ELEMENT_TYPES", "OnnxFormatError", "OnnxHeader", "external_data_locations", "read_header"]

# Wire types of the protobuf encoding.
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5

# ModelProto
_MODEL_GRAPH, _MODEL_METADATA, _MODEL_TRAINING_INFO, _MODEL_FUNCTIONS = 7, 14, 20, 25
# GraphProto
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_SPARSE_INITIALIZER = 1, 5, 11, 12, 15
# NodeProto / FunctionProto (its nodes are field 3)
_NODE_ATTRIBUTE, _FUNCTION_NODE = 5, 3
# AttributeProto: tensor, graph, tensors, graphs, sparse tensor(s)
_ATTR_TENSORS = (5, 10)
_ATTR_GRAPHS = (6, 11)
_ATTR_SPARSE_TENSORS = (22, 23)
# TrainingInfoProto: initialization and algorithm graphs
_TRAINING_GRAPHS = (1, 2)
# SparseTensorProto: values and indices are TensorProtos
_SPARSE_PARTS = (1, 2)
# TensorProto
_TENSOR_NAME, _TENSOR_EXTERNAL_DATA = 8, 13
# StringStringEntryProto
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
# ValueInfoProto -> TypeProto -> TypeProto.Tensor -> TensorShapeProto -> Dimension
_VALUE_NAME, _VALUE_TYPE = 1, 2
_TYPE_TENSOR = 1
_TENSOR_TYPE_ELEM, _TENSOR_TYPE_SHAPE = 1, 2
_SHAPE_DIM = 1
_DIM_VALUE, _DIM_PARAM = 1, 2

#: ONNX ``TensorProto.DataType`` codes as numpy-style names.
ELEMENT_TYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    6: "int32",
    7: "int64",
    8: "string",
    9: "bool",
    10: "float16",
    11: "float64",
    12: "uint32",
    13: "uint64",
    14: "complex64",
    15: "complex128",
    16: "bfloat16",
}

# Subgraphs nest through If/Loop/Scan attributes; real models stay in single digits. A limit keeps a
# crafted file from exhausting the interpreter stack.
_MAX_GRAPH_DEPTH = 64

_LOCATION_KEY = b"location"


class OnnxFormatError(ValueError):
    """The bytes are not a well-formed ONNX protobuf (garbage, truncated)."""


@attrs.frozen
class OnnxHeader:
    """What a source needs to know about an ONNX model without running it."""

    metadata: dict[str, str]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


def read_header(path: Path) -> OnnxHeader:
    """Metadata props and graph inputs/outputs (initializers excluded) of the model at ``path``."""
    with _mapped(path) as buffer:
        metadata: dict[str, str] = {}
        inputs: list[TensorInfo] = []
        outputs: list[TensorInfo] = []
        initializer_names: set[str] = set()
        for field, start, end in _length_fields(buffer, 0, len(buffer)):
            if field == _MODEL_METADATA:
                key, text = _string_entry(buffer, start, end)
                metadata[key] = text
            elif field == _MODEL_GRAPH:
                _read_graph_signature(buffer, start, end, inputs, outputs, initializer_names)
        # IR < 4 lists initializers among the graph inputs; they are weights, not inputs to feed.
        feedable = tuple(info for info in inputs if info.name not in initializer_names)
        return OnnxHeader(metadata=metadata, inputs=feedable, outputs=tuple(outputs))


def external_data_locations(path: Path) -> tuple[str, ...]:
    """Every external-data ``location`` any tensor of the model refers to, in file order, de-duplicated.

    Covers initializers, sparse initializers, tensor attributes of nodes, subgraphs at any depth,
    functions and training graphs. A file without the bytes ``location`` anywhere is answered by one
    ``find`` over the mapping, without walking the graph.
    """
    with _mapped(path) as buffer:
        if buffer.find(_LOCATION_KEY) < 0:
            return ()
        found: dict[str, None] = {}
        for field, start, end in _length_fields(buffer, 0, len(buffer)):
            if field == _MODEL_GRAPH:
                _graph_locations(buffer, start, end, found, depth=0)
            elif field == _MODEL_FUNCTIONS:
                _function_locations(buffer, start, end, found)
            elif field == _MODEL_TRAINING_INFO:
                for part, part_start, part_end in _length_fields(buffer, start, end):
                    if part in _TRAINING_GRAPHS:
                        _graph_locations(buffer, part_start, part_end, found, depth=0)
        return tuple(found)


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[mmap.mmap]:
    """A read-only memory map of the whole file: weights are skipped, never copied."""
    with path.open("rb") as handle:
        try:
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # mmap refuses empty files
            raise OnnxFormatError("the file is empty") from None
    try:
        yield buffer
    finally:
        buffer.close()


def _varint(buffer: mmap.mmap, position: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if position >= end or shift > 63:
            raise OnnxFormatError(f"malformed varint at byte {position}")
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def _fields(buffer: mmap.mmap, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """The fields of one message as (number, wire type, a, b).

    A varint's value is ``a``; a length-delimited field's bytes are ``buffer[a:b]``. Fixed-width
    fields (floats) are skipped: nothing here needs them.
    """
    position = start
    while position < end:
        key, position = _varint(buffer, position, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise OnnxFormatError(f"field number 0 at byte {position}")
        if wire == _VARINT:
            value, position = _varint(buffer, position, end)
            yield field, wire, value, 0
        elif wire == _LENGTH_DELIMITED:
            length, position = _varint(buffer, position, end)
            if position + length > end:
                raise OnnxFormatError(f"field {field} runs past the end of its message (truncated file?)")
            yield field, wire, position, position + length
            position += length
        elif wire in (_FIXED64, _FIXED32):
            position += 8 if wire == _FIXED64 else 4
            if position > end:
                raise OnnxFormatError(f"field {field} runs past the end of its message (truncated file?)")
        else:
            raise OnnxFormatError(f"unsupported wire type {wire} for field {field} at byte {position}")


def _length_fields(buffer: mmap.mmap, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(number, start, end) of the length-delimited fields of one message (strings, sub-messages)."""
    for field, wire, first, second in _fields(buffer, start, end):
        if wire == _LENGTH_DELIMITED:
            yield field, first, second


def _text(buffer: mmap.mmap, start: int, end: int) -> str:
    return bytes(buffer[start:end]).decode("utf-8", errors="replace")


def _string_entry(buffer: mmap.mmap, start: int, end: int) -> tuple[str, str]:
    key = value = ""
    for field, part_start, part_end in _length_fields(buffer, start, end):
        if field == _ENTRY_KEY:
            key = _text(buffer, part_start, part_end)
        elif field == _ENTRY_VALUE:
            value = _text(buffer, part_start, part_end)
    return key, value


def _read_graph_signature(
    buffer: mmap.mmap,
    start: int,
    end: int,
    inputs: list[TensorInfo],
    outputs: list[TensorInfo],
    initializer_names: set[str],
) -> None:
    for field, part_start, part_end in _length_fields(buffer, start, end):
        if field == _GRAPH_INPUT:
            inputs.append(_value_info(buffer, part_start, part_end))
        elif field == _GRAPH_OUTPUT:
            outputs.append(_value_info(buffer, part_start, part_end))
        elif field == _GRAPH_INITIALIZER:
            for tensor_field, name_start, name_end in _length_fields(buffer, part_start, part_end):
                if tensor_field == _TENSOR_NAME:
                    initializer_names.add(_text(buffer, name_start, name_end))


def _value_info(buffer: mmap.mmap, start: int, end: int) -> TensorInfo:
    name = ""
    dtype = "unknown"
    shape: tuple[int | str | None, ...] = ()
    for field, part_start, part_end in _length_fields(buffer, start, end):
        if field == _VALUE_NAME:
            name = _text(buffer, part_start, part_end)
        elif field == _VALUE_TYPE:
            for type_field, tensor_start, tensor_end in _length_fields(buffer, part_start, part_end):
                if type_field == _TYPE_TENSOR:
                    dtype, shape = _tensor_type(buffer, tensor_start, tensor_end)
    return TensorInfo(name=name, shape=shape, dtype=dtype)


def _tensor_type(buffer: mmap.mmap, start: int, end: int) -> tuple[str, tuple[int | str | None, ...]]:
    dtype = "unknown"
    dims: list[int | str | None] = []
    for field, wire, first, second in _fields(buffer, start, end):
        if field == _TENSOR_TYPE_ELEM and wire == _VARINT:
            dtype = ELEMENT_TYPES.get(first, f"onnx-type-{first}")
        elif field == _TENSOR_TYPE_SHAPE and wire == _LENGTH_DELIMITED:
            for dim_field, dim_start, dim_end in _length_fields(buffer, first, second):
                if dim_field == _SHAPE_DIM:
                    dims.append(_dimension(buffer, dim_start, dim_end))
    return dtype, tuple(dims)


def _dimension(buffer: mmap.mmap, start: int, end: int) -> int | str | None:
    """A dimension is a number, a symbolic name, or (neither set) unknown."""
    for field, wire, first, second in _fields(buffer, start, end):
        if field == _DIM_VALUE and wire == _VARINT:
            return first
        if field == _DIM_PARAM and wire == _LENGTH_DELIMITED:
            return _text(buffer, first, second)
    return None


def _graph_locations(buffer: mmap.mmap, start: int, end: int, found: dict[str, None], depth: int) -> None:
    if depth > _MAX_GRAPH_DEPTH:
        raise OnnxFormatError(f"subgraphs nested deeper than {_MAX_GRAPH_DEPTH} levels")
    for field, part_start, part_end in _length_fields(buffer, start, end):
        if field == _GRAPH_INITIALIZER:
            _tensor_locations(buffer, part_start, part_end, found)
        elif field == _GRAPH_SPARSE_INITIALIZER:
            _sparse_locations(buffer, part_start, part_end, found)
        elif field == _GRAPH_NODE:
            _node_locations(buffer, part_start, part_end, found, depth)


def _function_locations(buffer: mmap.mmap, start: int, end: int, found: dict[str, None]) -> None:
    for field, part_start, part_end in _length_fields(buffer, start, end):
        if field == _FUNCTION_NODE:
            _node_locations(buffer, part_start, part_end, found, depth=0)


def _node_locations(buffer: mmap.mmap, start: int, end: int, found: dict[str, None], depth: int) -> None:
    for field, attr_start, attr_end in _length_fields(buffer, start, end):
        if field != _NODE_ATTRIBUTE:
            continue
        for attr_field, part_start, part_end in _length_fields(buffer, attr_start, attr_end):
            if attr_field in _ATTR_TENSORS:
                _tensor_locations(buffer, part_start, part_end, found)
            elif attr_field in _ATTR_SPARSE_TENSORS:
                _sparse_locations(buffer, part_start, part_end, found)
            elif attr_field in _ATTR_GRAPHS:
                _graph_locations(buffer, part_start, part_end, found, depth + 1)


def _sparse_locations(buffer: mmap.mmap, start: int, end: int, found: dict[str, None]) -> None:
    for field, part_start, part_end in _length_fields(buffer, start, end):
        if field in _SPARSE_PARTS:
            _tensor_locations(buffer, part_start, part_end, found)


def _tensor_locations(buffer: mmap.mmap, start: int, end: int, found: dict[str, None]) -> None:
    for field, entry_start, entry_end in _length_fields(buffer, start, end):
        if field == _TENSOR_EXTERNAL_DATA:
            key, value = _string_entry(buffer, entry_start, entry_end)
            if key == "location":
                found[value] = None
