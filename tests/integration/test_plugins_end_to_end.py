"""Plugins installed with pip, as users install them: a third-party backend runs a model, a broken
plugin is listed as broken while predictions keep working, and strict mode makes it fatal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import modelrt
from modelrt.package_builder import build_package

from .conftest import run_cli

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plugins_installed(install_plugin) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with (
        install_plugin(TESTS / "third_party_plugin", "modelrt-example-numpy-backend", "modelrt_example_numpy"),
        install_plugin(TESTS / "data" / "broken_plugin", "modelrt-broken-example", "modelrt_broken_example"),
    ):
        yield


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny classifier: mean of each channel, softmax over the three 'colours'."""
    root = tmp_path_factory.mktemp("model")
    graph = helper.make_graph(
        [
            helper.make_node("Transpose", ["x"], ["nhwc"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", ["nhwc", "shape"], ["pixels"]),
            helper.make_node("MatMul", ["mean_weights", "pixels"], ["means"]),
            helper.make_node("Reshape", ["means", "flat_shape"], ["flat"]),
            helper.make_node("Softmax", ["flat"], ["probabilities"], axis=1),
        ],
        "colour",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 3])],
        [
            helper.make_tensor("shape", TensorProto.INT64, [3], [1, 16, 3]),
            helper.make_tensor("mean_weights", TensorProto.FLOAT, [1, 16], [1 / 16] * 16),
            helper.make_tensor("flat_shape", TensorProto.INT64, [2], [1, 3]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(root / "colour.onnx"))
    build_package(
        root / "colour.onnx",
        root / "package",
        task="classification",
        labels=["red", "green", "blue"],
        input_spec={"size": [4, 4], "resize": "stretch", "batch": 1},
    )
    return root / "package"


def _green() -> np.ndarray:
    image = np.zeros((6, 6, 3), np.uint8)
    image[..., 1] = 255
    return image


def test_modelrt_plugins_lists_the_installed_and_the_broken_plugin(plugins_installed: None) -> None:
    result = run_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    by_name = {p["name"]: p for p in json.loads(result.stdout)}
    assert by_name["example-numpy"]["status"] == "ok"
    assert by_name["example-numpy"]["registers"]["backends"] == ["numpy-reference"]
    assert by_name["broken-example"]["status"] == "broken"
    assert "libexample.so.1" in by_name["broken-example"]["error"]


def test_the_third_party_backend_runs_a_model_like_onnxruntime(plugins_installed: None, package: Path) -> None:
    with modelrt.load(package, backend="numpy-reference") as reference, modelrt.load(package) as default:
        assert reference.plan.chosen()["main"].backend == "numpy-reference"
        assert default.plan.chosen()["main"].backend == "onnxruntime"
        ours, theirs = reference.predict(_green()), default.predict(_green())
    assert ours.label == theirs.label == "green"
    np.testing.assert_allclose(ours.probabilities, theirs.probabilities, rtol=1e-5)


def test_predictions_keep_working_beside_a_broken_plugin(plugins_installed: None, package: Path) -> None:
    result = run_cli("predict", str(package), str(TESTS.parent / "demo" / "images" / "coffee.png"), "--json")
    assert result.returncode == 0, result.stderr
    assert "broken-example" in result.stderr  # the warning names the broken plugin


def test_strict_mode_makes_the_broken_plugin_fatal(plugins_installed: None, package: Path) -> None:
    result = run_cli(
        "predict",
        str(package),
        str(TESTS.parent / "demo" / "images" / "coffee.png"),
        env={"MODELRT_STRICT_PLUGINS": "1"},
    )
    assert result.returncode == 1
    assert "broken-example" in result.stderr and "libexample.so.1" in result.stderr
