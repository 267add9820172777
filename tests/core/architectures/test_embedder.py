"""Image embedders end to end: tiny ONNX graphs whose features are each image's mean colour, so every
vector, its normalisation and every similarity is worked out by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from modelrt.architectures.embedder import ImageEmbedder
from modelrt.errors import InputError, PackageError
from modelrt.results import Embedding

from .conftest import IR_VERSION, OPSET, OrtTestSession, package

# Pixels reach the network unscaled, so a solid image's features are its colour.
RAW_4X4 = {"size": [4, 4], "resize": "stretch", "scale": 1.0}


def mean_colour_model(pooled: bool = True) -> onnx.ModelProto:
    """Features ``[B, 3]``: each image's mean colour; or, unpooled, the input itself as ``[B, 3, h, w]`` maps."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    if pooled:
        result = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3])
        nodes = [helper.make_node("ReduceMean", ["images"], ["features"], axes=[2, 3], keepdims=0)]
    else:
        result = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3, "height", "width"])
        nodes = [helper.make_node("Identity", ["images"], ["features"])]
    graph = helper.make_graph(nodes, "embed", [image], [result])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def embedder(network: onnx.ModelProto) -> ImageEmbedder:
    return ImageEmbedder(package("image-embedder", "embedding", [], RAW_4X4), {"main": OrtTestSession(network)})


def solid(*rgb: int) -> np.ndarray:
    return np.full((6, 9, 3), rgb, dtype=np.uint8)


def test_the_feature_vector_is_divided_by_its_length() -> None:
    (result,) = embedder(mean_colour_model()).predict([solid(3, 4, 0)])
    assert isinstance(result, Embedding)
    assert result.vector.dtype == np.float32
    np.testing.assert_allclose(result.vector, [0.6, 0.8, 0.0], rtol=1e-6)
    assert len(result) == 3 and result.norm == pytest.approx(1.0)


def test_feature_maps_are_averaged_over_their_pixels_first() -> None:
    (result,) = embedder(mean_colour_model(pooled=False)).predict([solid(3, 4, 0)])
    np.testing.assert_allclose(result.vector, [0.6, 0.8, 0.0], rtol=1e-6)


def test_a_zero_vector_stays_zero_and_is_similar_to_nothing() -> None:
    black, other = embedder(mean_colour_model()).predict([solid(0, 0, 0), solid(3, 4, 0)])
    np.testing.assert_array_equal(black.vector, [0.0, 0.0, 0.0])
    assert black.norm == 0.0
    assert black.similarity(other) == 0.0 and black.similarity(black) == 0.0


def test_a_batch_of_two_runs_in_one_call_and_keeps_each_image_apart() -> None:
    model = embedder(mean_colour_model())
    first, second = model.predict([solid(3, 4, 0), solid(0, 0, 5)])
    assert model.session.run_shapes == [(2, 3, 4, 4)]  # type: ignore[attr-defined]
    np.testing.assert_allclose(first.vector, [0.6, 0.8, 0.0], rtol=1e-6)
    np.testing.assert_allclose(second.vector, [0.0, 0.0, 1.0], rtol=1e-6)


def test_nan_features_are_a_package_error_not_a_vector(make_constant_model: Any) -> None:
    with pytest.raises(PackageError, match=r"NaN or infinite features for image 0.*float32"):
        embedder(make_constant_model(np.array([[1.0, np.nan]], np.float32))).predict([solid(1, 1, 1)])


def test_features_of_another_rank_are_a_package_error(make_constant_model: Any) -> None:
    with pytest.raises(PackageError, match=r"pooled features \[batch, dimensions\].*is \[1, 4, 3\]"):
        embedder(make_constant_model(np.zeros((1, 4, 3), np.float32))).predict([solid(1, 1, 1)])


def test_post_processing_overrides_are_rejected() -> None:
    with pytest.raises(InputError, match="accepts: none"):
        embedder(mean_colour_model()).predict([solid(1, 1, 1)], confidence=0.5)


# ------------------------------------------------------------------------------------------ results


def vector(*values: float) -> Embedding:
    return Embedding((), vector=values)


def test_similarity_of_two_embeddings_is_their_cosine() -> None:
    from modelrt.results import similarity

    assert similarity(vector(0.6, 0.8, 0.0), vector(0.8, 0.6, 0.0)) == pytest.approx(0.96)
    assert vector(0.6, 0.8, 0.0).similarity(vector(0.0, 0.0, 1.0)) == pytest.approx(0.0)
    assert similarity(np.array([3.0, 4.0]), np.array([-6.0, -8.0])) == pytest.approx(-1.0)  # raw vectors too


def test_similarity_of_batches_is_a_matrix_of_every_pair() -> None:
    from modelrt.results import similarity

    queries = [vector(1.0, 0.0), vector(0.0, 1.0)]
    gallery = np.array([[1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])
    matrix = similarity(queries, gallery)
    assert isinstance(matrix, np.ndarray) and matrix.shape == (2, 3)
    np.testing.assert_allclose(matrix, [[0.5**0.5, 0.0, 0.0], [0.5**0.5, 1.0, 0.0]], rtol=1e-6)


def test_embeddings_of_different_lengths_cannot_be_compared() -> None:
    from modelrt.results import similarity

    with pytest.raises(InputError, match="3 and 2 dimensions"):
        similarity(vector(1.0, 0.0, 0.0), vector(1.0, 0.0))


def test_to_dict_and_repr_give_the_length_the_norm_and_the_vector() -> None:
    embedding = Embedding((), vector=np.array([0.6, 0.8, 0.0, 0.0, 0.0], np.float32))
    assert embedding.to_dict() == {"type": "embedding", "dimensions": 5, "norm": 1.0, "vector": [0.6, 0.8, 0, 0, 0]}
    assert repr(embedding) == "Embedding(5 dimensions, norm 1.000, [0.600, 0.800, 0.000, 0.000, ...])"
