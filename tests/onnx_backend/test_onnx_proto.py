"""The protobuf reader agrees with the ``onnx`` package on what it reads, and rejects malformed bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import _get_all_tensors, uses_external_data

from modelrt.backend import TensorInfo
from modelrt.onnx_proto import ExternalData, LocationNotUtf8Error, OnnxFormatError, external_data, read_header

from .conftest import EXTERNAL_DATA_PLACES, external_data_model, save_external_data_model


def _onnx_signature(values: Any) -> list[TensorInfo]:
    infos = []
    for value in values:
        dims = value.type.tensor_type.shape.dim
        shape = tuple(
            dim.dim_value if dim.HasField("dim_value") else dim.dim_param if dim.HasField("dim_param") else None
            for dim in dims
        )
        dtype = helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name
        infos.append(TensorInfo(value.name, shape, dtype))
    return infos


def _onnx_locations(path: Path) -> list[str]:
    model = onnx.load(str(path), load_external_data=False)
    locations = []
    for tensor in _get_all_tensors(model):
        if uses_external_data(tensor):
            locations += [entry.value for entry in tensor.external_data if entry.key == "location"]
    return list(dict.fromkeys(locations))


def test_header_metadata_matches_onnx(models: Any) -> None:
    path = models.detector()
    expected = {prop.key: prop.value for prop in onnx.load(str(path)).metadata_props}
    assert read_header(path).metadata == expected


@pytest.mark.parametrize("builder", ["detector", "classifier", "affine", "bare"])
def test_header_inputs_and_outputs_match_onnx(models: Any, builder: str) -> None:
    path = getattr(models, builder)()
    model = onnx.load(str(path))
    header = read_header(path)
    assert list(header.inputs) == _onnx_signature(model.graph.input)
    assert list(header.outputs) == _onnx_signature(model.graph.output)


def test_header_keeps_symbolic_dims_as_names(models: Any) -> None:
    path = models.detector(input_shape=("batch", 3, "height", "width"), output_shape=("batch", 7, "anchors"))
    header = read_header(path)
    assert header.inputs[0].shape == ("batch", 3, "height", "width")
    assert header.outputs[0].shape == ("batch", 7, "anchors")


def test_header_leaves_out_initializers_listed_among_graph_inputs(tmp_path: Path) -> None:
    weight = numpy_helper.from_array(np.array([2.0], np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["y"])],
        "old-style",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        [weight],
    )
    path = tmp_path / "ir3.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert [info.name for info in read_header(path).inputs] == ["x"]


def test_external_locations_match_onnx_for_initializers(models: Any) -> None:
    path = models.with_external_data("model.onnx", "weights/w.bin")
    assert list(external_data(path).locations) == _onnx_locations(path) == ["weights/w.bin"]


def test_external_locations_are_found_inside_subgraphs(models: Any) -> None:
    path = models.with_external_data_in_subgraph("model.onnx", "branch.bin")
    assert list(external_data(path).locations) == _onnx_locations(path) == ["branch.bin"]


@pytest.mark.parametrize("place", ["constant-node", "tensors-attribute", "if-branch"])
def test_external_locations_agree_with_onnx_wherever_onnx_looks(tmp_path: Path, place: str) -> None:
    path = save_external_data_model(tmp_path, place)
    assert list(external_data(path).locations) == _onnx_locations(path) == ["weights.bin"]


@pytest.mark.parametrize("place", EXTERNAL_DATA_PLACES)
def test_external_data_is_found_in_every_place_a_tensor_can_sit(tmp_path: Path, place: str) -> None:
    found = external_data(save_external_data_model(tmp_path, place))
    assert found.locations == ("weights.bin",)
    # onnxruntime takes external data from memory for main-graph initializers only.
    assert found.top_level_only is (place == "initializer")


def test_the_bytes_of_a_model_read_like_its_file(tmp_path: Path) -> None:
    path = save_external_data_model(tmp_path, "function-node")
    assert external_data(path.read_bytes()) == external_data(path)
    assert read_header(path.read_bytes()) == read_header(path)


def test_a_location_that_is_not_utf8_is_refused_rather_than_decoded_to_another_path(tmp_path: Path) -> None:
    path = save_external_data_model(tmp_path, "initializer", location="AA.bin")
    data = path.read_bytes().replace(b"AA.bin", b"\xff\xfe.bin")
    with pytest.raises(LocationNotUtf8Error) as caught:
        external_data(data)
    assert caught.value.raw == b"\xff\xfe.bin"


def test_every_location_counts_even_on_a_tensor_not_marked_external(tmp_path: Path) -> None:
    model = external_data_model("initializer", "weights.bin")
    model.graph.initializer[0].data_location = TensorProto.DEFAULT
    assert external_data(model.SerializeToString()).locations == ("weights.bin",)


def test_a_self_contained_model_has_no_external_locations(models: Any) -> None:
    assert external_data(models.affine()) == ExternalData(locations=(), top_level_only=True)


def test_garbage_that_mentions_location_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\xff\xff\xff\xff location \xff")
    with pytest.raises(OnnxFormatError):
        external_data(path)


def test_a_truncated_header_is_a_format_error(models: Any, tmp_path: Path) -> None:
    data = models.detector().read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) - 10])
    with pytest.raises(OnnxFormatError, match="truncated"):
        read_header(path)


def test_an_empty_file_is_a_format_error(models: Any) -> None:
    with pytest.raises(OnnxFormatError, match="empty"):
        read_header(models.empty())
