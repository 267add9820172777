"""Reads the few parts of an ONNX model modelrt needs, straight from the protobuf wire format.

Why not ``onnx.load``: the ``onnx`` package is not a runtime dependency, and it decodes every weight to
answer a question about metadata. Why not an onnxruntime session: building one to read metadata loads
and optimises the whole graph, then the backend builds it again. This reader walks the bytes (a
memory-mapped file, or bytes already read) and skips each weight blob by its length, so metadata, graph
inputs/outputs and external-data locations cost about as much as reading the file header, whatever the
model's size. It imports nothing but the standard library, so the core can read ONNX files (``modelrt
package`` copies their external data) without the ONNX plugin.

Field numbers are those of ``onnx/onnx.proto`` (stable since IR version 3).
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

import attrs

from modelrt.backend import TensorInfo

__all__ = [
    "ELEMENT_TYPES",
    "ExternalData",
    "LocationNotUtf8Error",
    "OnnxFormatError",
    "OnnxHeader",
    "external_data",
    "read_header",
]

#: What the reader walks: the bytes of a model, or a read-only memory map of its file.
_Buffer: TypeAlias = bytes | mmap.mmap

# Wire types of the protobuf encoding.
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5

# ModelProto
_MODEL_GRAPH, _MODEL_METADATA, _MODEL_TRAINING_INFO, _MODEL_FUNCTIONS = 7, 14, 20, 25
# GraphProto
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_SPARSE_INITIALIZER = 1, 5, 11, 12, 15
# NodeProto
_NODE_ATTRIBUTE = 5
# FunctionProto: its nodes, and its attributes' default values (AttributeProtos)
_FUNCTION_NODE, _FUNCTION_ATTRIBUTE_PROTO = 7, 11
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


class LocationNotUtf8Error(OnnxFormatError):
    """An external-data location is not UTF-8: a runtime would open these raw bytes as a file name."""

    def __init__(self, raw: bytes) -> None:
        super().__init__(f"external-data location {raw!r} is not UTF-8 text")
        self.raw = raw


@attrs.frozen
class OnnxHeader:
    """What a source needs to know about an ONNX model without running it."""

    metadata: dict[str, str]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


@attrs.frozen
class ExternalData:
    """The files a model's tensors keep their bytes in, as the model names them.

    ``locations`` lists every location in file order, each once. ``top_level_only`` tells whether every
    tensor stored outside is a dense initializer of the main graph: the only place where onnxruntime
    takes external data handed over in memory (it reads the file itself for subgraphs, sparse
    initializers, node attributes and functions).
    """

    locations: tuple[str, ...] = ()
    top_level_only: bool = True


def read_header(model: Path | bytes) -> OnnxHeader:
    """Metadata props and graph inputs/outputs (initializers excluded) of a model file or its bytes."""
    with _opened(model) as buffer:
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


def external_data(model: Path | bytes) -> ExternalData:
    """Every external-data ``location`` any tensor of the model refers to, and where those tensors sit.

    Covers initializers, sparse initializers, tensor attributes of nodes, subgraphs at any depth,
    model-local functions (their nodes and attribute defaults) and training graphs. Every ``location``
    entry counts, whatever the tensor's ``data_location`` says: a runtime that reads one must find it
    here. A model without the bytes ``location`` anywhere is answered by one ``find``, without walking
    the graph.

    :raises LocationNotUtf8Error: a location that is not UTF-8 (it cannot be checked as a path).
    """
    with _opened(model) as buffer:
        if buffer.find(_LOCATION_KEY) < 0:
            return ExternalData()
        walk = _Walk(buffer)
        for field, start, end in _length_fields(buffer, 0, len(buffer)):
            if field == _MODEL_GRAPH:
                walk.graph(start, end, depth=0)
            elif field == _MODEL_FUNCTIONS:
                walk.function(start, end)
            elif field == _MODEL_TRAINING_INFO:
                for part, part_start, part_end in _length_fields(buffer, start, end):
                    if part in _TRAINING_GRAPHS:
                        walk.graph(part_start, part_end, depth=1)
        return ExternalData(locations=tuple(walk.found), top_level_only=walk.top_level_only)


@contextlib.contextmanager
def _opened(model: Path | bytes) -> Iterator[_Buffer]:
    """The bytes as given, or a read-only memory map of the file: weights are skipped, never copied."""
    if isinstance(model, bytes):
        if not model:
            raise OnnxFormatError("the model is empty (0 bytes)")
        yield model
        return
    with model.open("rb") as handle:
        try:
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # mmap refuses empty files
            raise OnnxFormatError("the file is empty") from None
    try:
        yield buffer
    finally:
        buffer.close()


def _varint(buffer: _Buffer, position: int, end: int) -> tuple[int, int]:
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


def _fields(buffer: _Buffer, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
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


def _length_fields(buffer: _Buffer, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(number, start, end) of the length-delimited fields of one message (strings, sub-messages)."""
    for field, wire, first, second in _fields(buffer, start, end):
        if wire == _LENGTH_DELIMITED:
            yield field, first, second


def _text(buffer: _Buffer, start: int, end: int) -> str:
    return bytes(buffer[start:end]).decode("utf-8", errors="replace")


def _string_entry(buffer: _Buffer, start: int, end: int) -> tuple[str, str]:
    key = value = ""
    for field, part_start, part_end in _length_fields(buffer, start, end):
        if field == _ENTRY_KEY:
            key = _text(buffer, part_start, part_end)
        elif field == _ENTRY_VALUE:
            value = _text(buffer, part_start, part_end)
    return key, value


def _read_graph_signature(
    buffer: _Buffer,
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


def _value_info(buffer: _Buffer, start: int, end: int) -> TensorInfo:
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


def _tensor_type(buffer: _Buffer, start: int, end: int) -> tuple[str, tuple[int | str | None, ...]]:
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


def _dimension(buffer: _Buffer, start: int, end: int) -> int | str | None:
    """A dimension is a number, a symbolic name, or (neither set) unknown."""
    for field, wire, first, second in _fields(buffer, start, end):
        if field == _DIM_VALUE and wire == _VARINT:
            return first
        if field == _DIM_PARAM and wire == _LENGTH_DELIMITED:
            return _text(buffer, first, second)
    return None


class _Walk:
    """Collects external-data locations over every place a ``TensorProto`` can sit."""

    def __init__(self, buffer: _Buffer) -> None:
        self.buffer = buffer
        self.found: dict[str, None] = {}
        self.top_level_only = True

    def graph(self, start: int, end: int, depth: int) -> None:
        if depth > _MAX_GRAPH_DEPTH:
            raise OnnxFormatError(f"subgraphs nested deeper than {_MAX_GRAPH_DEPTH} levels")
        for field, part_start, part_end in _length_fields(self.buffer, start, end):
            if field == _GRAPH_INITIALIZER:
                self.tensor(part_start, part_end, top_level=depth == 0)
            elif field == _GRAPH_SPARSE_INITIALIZER:
                self.sparse(part_start, part_end)
            elif field == _GRAPH_NODE:
                self.node(part_start, part_end, depth)

    def function(self, start: int, end: int) -> None:
        for field, part_start, part_end in _length_fields(self.buffer, start, end):
            if field == _FUNCTION_NODE:
                self.node(part_start, part_end, depth=1)
            elif field == _FUNCTION_ATTRIBUTE_PROTO:
                self.attribute(part_start, part_end, depth=1)

    def node(self, start: int, end: int, depth: int) -> None:
        for field, part_start, part_end in _length_fields(self.buffer, start, end):
            if field == _NODE_ATTRIBUTE:
                self.attribute(part_start, part_end, depth)

    def attribute(self, start: int, end: int, depth: int) -> None:
        for field, part_start, part_end in _length_fields(self.buffer, start, end):
            if field in _ATTR_TENSORS:
                self.tensor(part_start, part_end, top_level=False)
            elif field in _ATTR_SPARSE_TENSORS:
                self.sparse(part_start, part_end)
            elif field in _ATTR_GRAPHS:
                self.graph(part_start, part_end, depth + 1)

    def sparse(self, start: int, end: int) -> None:
        for field, part_start, part_end in _length_fields(self.buffer, start, end):
            if field in _SPARSE_PARTS:
                self.tensor(part_start, part_end, top_level=False)

    def tensor(self, start: int, end: int, top_level: bool) -> None:
        for field, entry_start, entry_end in _length_fields(self.buffer, start, end):
            if field != _TENSOR_EXTERNAL_DATA:
                continue
            key, raw = b"", b""
            for part, part_start, part_end in _length_fields(self.buffer, entry_start, entry_end):
                if part == _ENTRY_KEY:
                    key = bytes(self.buffer[part_start:part_end])
                elif part == _ENTRY_VALUE:
                    raw = bytes(self.buffer[part_start:part_end])
            if key != _LOCATION_KEY:
                continue
            try:
                location = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise LocationNotUtf8Error(raw) from None
            self.found[location] = None
            self.top_level_only = self.top_level_only and top_level
