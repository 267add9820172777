"""What the example backend refuses, and how: modelrt's own errors, each naming the cause and the fix."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from modelrt import Artifact, Device, HardwareError, InputError, PackageError
from modelrt.options import RunOptions
from modelrt_example_numpy.backend import NumpyReferenceBackend

CPU = Device.parse("cpu")
RELU = [helper.make_node("Relu", ["x"], ["y"])]


def _artifact(path) -> Artifact:
    return Artifact(role="main", format="onnx", file=path, package_root=path.parent)


def _load(path, options: RunOptions | None = None):
    return NumpyReferenceBackend().load(_artifact(path), CPU, options or RunOptions())


def test_an_operator_it_does_not_implement_is_a_package_error(write_model):
    path = write_model([helper.make_node("LeakyRelu", ["x"], ["y"])], [("x", [2])], [("y", [2])])
    with pytest.raises(PackageError, match=r"does not implement: LeakyRelu; use the onnxruntime backend"):
        _load(path)


def test_an_operator_of_a_custom_domain_is_a_package_error(write_model):
    path = write_model([helper.make_node("Relu", ["x"], ["y"], domain="com.example")], [("x", [2])], [("y", [2])])
    model = onnx.load(str(path))
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(model, str(path))
    with pytest.raises(PackageError, match=r"does not implement: com\.example\.Relu"):
        _load(path)


def test_an_opset_older_than_13_is_a_package_error(write_model):
    path = write_model(RELU, [("x", [2])], [("y", [2])], opset=12)
    with pytest.raises(PackageError, match="opset 12; numpy-reference implements opset 13 and newer"):
        _load(path)


def test_an_attribute_it_does_not_take_is_a_package_error(write_model):
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=3)
    weights = np.ones((3, 1, 1, 1), dtype=np.float32)
    path = write_model([node], [("x", [1, 3, 2, 2])], [("y", [1, 3, 2, 2])], {"w": weights})
    with pytest.raises(PackageError, match=r"attributes \{'group': 3\}, which numpy-reference does not support"):
        _load(path)


def test_weights_in_external_data_are_a_package_error(write_model, tmp_path):
    path = write_model(
        [helper.make_node("Add", ["x", "c"], ["y"])],
        [("x", [4])],
        [("y", [4])],
        {"c": np.arange(4, dtype=np.float32)},
    )
    onnx.save_model(
        onnx.load(str(path)), str(path), save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    with pytest.raises(PackageError, match="external data files"):
        _load(path)


def test_missing_inputs_are_an_input_error(write_model):
    session = _load(write_model(RELU, [("x", [2])], [("y", [2])]))
    with pytest.raises(InputError, match=r"takes the inputs \['x'\], but got \['images'\]"):
        session.run({"images": np.zeros(2, dtype=np.float32)})


def test_inputs_of_the_wrong_shape_are_an_input_error(write_model):
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    path = write_model([node], [("x", [1, 3])], [("y", [1, 2])], {"w": np.ones((3, 2), dtype=np.float32)})
    with pytest.raises(InputError, match=r"node .* \(MatMul\) cannot run on these inputs"):
        _load(path).run({"x": np.zeros((1, 5), dtype=np.float32)})


def test_a_precision_it_cannot_honour_is_a_hardware_error(write_model):
    path = write_model(RELU, [("x", [2])], [("y", [2])])
    with pytest.raises(HardwareError, match="cannot honour precision='fp16'"):
        _load(path, RunOptions(precision="fp16"))


def test_it_is_not_usable_on_a_gpu():
    availability = NumpyReferenceBackend().availability(None, Device.parse("cuda:0"))
    assert (availability.usable, availability.fix) == (False, "use device='cpu'")


def test_loading_on_a_gpu_is_a_hardware_error(write_model):
    path = write_model(RELU, [("x", [2])], [("y", [2])])
    with pytest.raises(HardwareError, match="CPU only"):
        NumpyReferenceBackend().load(_artifact(path), Device.parse("cuda:0"), RunOptions())


def test_an_artifact_of_another_format_is_a_package_error(tmp_path):
    path = tmp_path / "model.engine"
    path.write_bytes(b"ftrt")
    artifact = Artifact(role="main", format="tensorrt-engine", file=path, package_root=tmp_path)
    with pytest.raises(PackageError, match="runs 'onnx' only"):
        NumpyReferenceBackend().load(artifact, CPU, RunOptions())
