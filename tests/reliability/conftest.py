"""Tiny real models for the reliability suite, built with ``onnx.helper`` and packaged like a user's.

Every model's output depends on every input pixel (a dense layer over the whole image), so two images
never share a result and a race that mixed up inputs, buffers or outputs would show in the numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import modelrt
from modelrt.package_builder import build_package
from modelrt.plugin_manager import reset_plugin_manager

SIDE = 16
CLASSES = 10
LABELS = [f"class-{index}" for index in range(CLASSES)]

#: Examples per property: a CI-sized run, and a long one for ``-m slow``.
FUZZ_EXAMPLES = [pytest.param(150, id="ci"), pytest.param(3_000, id="long", marks=pytest.mark.slow)]


def dense_classifier(seed: int, batch: int | str = "n") -> onnx.ModelProto:
    """x [batch, 3, 16, 16] -> logits [batch, 10] = flatten(x) @ W + b, W and b random from ``seed``."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(0, 0.05, (3 * SIDE * SIDE, CLASSES)).astype(np.float32)
    bias = rng.normal(0, 0.1, (CLASSES,)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "weights"], ["product"]),
            helper.make_node("Add", ["product", "bias"], ["logits"]),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, CLASSES])],
        [numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")],
    )
    return _model(graph)


def pooled_classifier(seed: int) -> onnx.ModelProto:
    """x [n, 3, h, w] (any size) -> logits [n, 4] = mean of each channel @ W: for dynamic input sizes."""
    weights = np.random.default_rng(seed).normal(0, 1, (3, 4)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
        ],
        "pooled",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 4])],
        [numpy_helper.from_array(weights, "weights")],
    )
    return _model(graph)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def package_model(
    model: onnx.ModelProto, directory: Path, *, labels: Sequence[str] = LABELS, **input_spec: object
) -> Path:
    """Save ``model`` and package it as an image classifier (stretch to 16x16 unless told otherwise)."""
    directory.mkdir(parents=True, exist_ok=True)
    model_file = directory / "source" / "model.onnx"
    model_file.parent.mkdir(exist_ok=True)
    onnx.save(model, str(model_file))
    spec = {"size": [SIDE, SIDE], "resize": "stretch", **input_spec}
    build_package(model_file, directory / "package", task="classification", labels=list(labels), input_spec=spec)
    return directory / "package"


def distinct_images(count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` random RGB images, each of a different size, so each needs its own buffers and gives its own result."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (20 + index, 24 + 2 * index, 3), dtype=np.uint8) for index in range(count)]


@pytest.fixture(autouse=True)
def _fresh_plugin_manager() -> Iterator[None]:
    """Each test discovers the installed plugins afresh, so one test's fakes never leak into another."""
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture(scope="session")
def classifier_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_model(dense_classifier(seed=1), tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="session")
def other_classifier_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_model(dense_classifier(seed=2), tmp_path_factory.mktemp("other-classifier"))


@pytest.fixture
def classifier(classifier_package: Path) -> Iterator[modelrt.Model]:
    with modelrt.load(classifier_package, device="cpu") as model:
        yield model
