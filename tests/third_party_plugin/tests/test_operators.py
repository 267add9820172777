"""Each operator of the example backend agrees with onnxruntime, the reference runtime, on one node."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import helper, numpy_helper

from modelrt import Artifact, Device, RunOptions
from modelrt_example_numpy.backend import NumpyReferenceBackend
from modelrt_example_numpy.ops import OPERATORS

RANDOM = np.random.default_rng(7)


def _floats(*shape: int) -> np.ndarray:
    return RANDOM.standard_normal(shape).astype(np.float32)


# operator -> (nodes computing "y", input values, initializers, rank of "y")
CASES = {
    "Identity": ([helper.make_node("Identity", ["x"], ["y"])], {"x": _floats(2, 3)}, {}, 2),
    "Add": ([helper.make_node("Add", ["x", "c"], ["y"])], {"x": _floats(2, 3)}, {"c": _floats(3)}, 2),
    "Sub": ([helper.make_node("Sub", ["x", "c"], ["y"])], {"x": _floats(2, 3)}, {"c": _floats(2, 1)}, 2),
    "Mul": ([helper.make_node("Mul", ["x", "c"], ["y"])], {"x": _floats(2, 3)}, {"c": _floats(1, 3)}, 2),
    "Div": ([helper.make_node("Div", ["x", "c"], ["y"])], {"x": _floats(2, 3)}, {"c": _floats(3) + 5}, 2),
    "Relu": ([helper.make_node("Relu", ["x"], ["y"])], {"x": _floats(4, 5)}, {}, 2),
    "Sigmoid": ([helper.make_node("Sigmoid", ["x"], ["y"])], {"x": _floats(4, 5)}, {}, 2),
    "Softmax": ([helper.make_node("Softmax", ["x"], ["y"], axis=1)], {"x": _floats(2, 4, 3)}, {}, 3),
    "MatMul": (
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        {"x": _floats(2, 5, 3)},
        {"w": _floats(3, 4)},
        3,
    ),
    "Gemm": (
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], alpha=0.5, beta=2.0, transB=1)],
        {"x": _floats(2, 3)},
        {"w": _floats(4, 3), "b": _floats(4)},
        2,
    ),
    "Conv": (
        [
            helper.make_node(
                "Conv", ["x", "w", "b"], ["y"], strides=[2, 1], pads=[1, 0, 1, 2], dilations=[1, 2], group=1
            )
        ],
        {"x": _floats(2, 3, 9, 8)},
        {"w": _floats(4, 3, 3, 3), "b": _floats(4)},
        4,
    ),
    "Transpose": (
        [helper.make_node("Transpose", ["x"], ["y"], perm=[2, 0, 1])],
        {"x": _floats(2, 3, 4)},
        {},
        3,
    ),
    "Reshape": (
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        {"x": _floats(2, 3, 4)},
        {"shape": np.array([0, -1], dtype=np.int64)},
        2,
    ),
    "Flatten": ([helper.make_node("Flatten", ["x"], ["y"], axis=2)], {"x": _floats(2, 3, 4, 5)}, {}, 2),
    "Concat": (
        [helper.make_node("Concat", ["x", "c"], ["y"], axis=-1)],
        {"x": _floats(2, 3)},
        {"c": _floats(2, 2)},
        2,
    ),
    "Constant": (
        [
            helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(_floats(3), "c")),
            helper.make_node("Add", ["x", "c"], ["y"]),
        ],
        {"x": _floats(2, 3)},
        {},
        2,
    ),
}


def _load(path):
    artifact = Artifact(role="main", format="onnx", file=path, package_root=path.parent)
    return NumpyReferenceBackend().load(artifact, Device.parse("cpu"), RunOptions(threads=1))


def test_every_operator_has_a_case():
    assert set(CASES) == set(OPERATORS)


@pytest.mark.parametrize("operator", sorted(CASES))
def test_operator_matches_onnxruntime(operator, write_model):
    nodes, feed, initializers, rank = CASES[operator]
    output_shape = [f"y{axis}" for axis in range(rank)]
    path = write_model(
        nodes, [(name, value.shape) for name, value in feed.items()], [("y", output_shape)], initializers
    )
    expected = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["y"], feed)[0]
    actual = _load(path).run(feed)["y"]
    assert actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
