"""``modelrt package`` of an ONNX model that keeps its weights in other files (ONNX external data).

Such a model reads ``model.data`` (or any relative location) at load time: the package gets a copy at
the same relative place, and the manifest lists it with its size and sha256 as an ``external-data``
entry used by the model, so a load verifies it like the model itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.errors import InputError, SecurityError
from modelrt.manifest import MANIFEST_NAME, ArtifactEntry, read_manifest
from modelrt.package_builder import ArtifactFile, build_multi_artifact_package, build_package

WEIGHTS = np.arange(3, dtype=np.float32)


def onnx_with_external_data(model_file: Path, *locations: str, write: bool = True) -> Path:
    """y = x + w0 + w1 + ..., each ``w`` (0, 1, 2) kept at one of ``locations`` beside the model."""
    tensors, nodes, previous = [], [], "x"
    for index, location in enumerate(locations):
        tensor = numpy_helper.from_array(WEIGHTS, f"w{index}")
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", str(WEIGHTS.nbytes))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        tensors.append(tensor)
        nodes.append(helper.make_node("Add", [previous, f"w{index}"], [f"sum{index}"]))
        previous = f"sum{index}"
    nodes.append(helper.make_node("Identity", [previous], ["y"]))
    graph = helper.make_graph(
        nodes,
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        tensors,
    )
    model_file.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(helper.make_model(graph), str(model_file))
    for location in locations if write else ():
        target = model_file.parent / location
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(WEIGHTS.tobytes())
    return model_file


def package(model_file: Path, output: Path) -> list[ArtifactEntry]:
    build_package(model_file, output, task="classification", labels=["a", "b"])
    return list(read_manifest(output).artifacts)


def test_external_data_is_copied_beside_the_model_and_listed_with_its_checksum(tmp_path: Path) -> None:
    model = onnx_with_external_data(tmp_path / "export" / "model.onnx", "weights/model.data")
    output = tmp_path / "package"
    artifacts = package(model, output)
    content = WEIGHTS.tobytes()
    assert (output / "weights" / "model.data").read_bytes() == content
    assert artifacts[1] == ArtifactEntry(
        role="main",
        format="external-data",
        path="weights/model.data",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        used_by="model.onnx",
    )


def test_every_external_data_file_gets_one_entry(tmp_path: Path) -> None:
    model = onnx_with_external_data(tmp_path / "export" / "model.onnx", "a.bin", "./a.bin", "b.bin")
    artifacts = package(model, tmp_path / "package")
    assert [(entry.format, entry.path) for entry in artifacts] == [
        ("onnx", "model.onnx"),
        ("external-data", "a.bin"),
        ("external-data", "b.bin"),
    ]


def test_a_model_without_external_data_gets_no_other_entry(tmp_path: Path) -> None:
    model = onnx_with_external_data(tmp_path / "export" / "model.onnx")
    assert [entry.path for entry in package(model, tmp_path / "package")] == ["model.onnx"]


@pytest.mark.parametrize("location", ["../elsewhere.bin", "/etc/hostname"])
def test_external_data_outside_the_models_directory_is_refused_and_nothing_is_written(
    tmp_path: Path, location: str
) -> None:
    model = onnx_with_external_data(tmp_path / "export" / "model.onnx", location, write=False)
    (tmp_path / "elsewhere.bin").write_bytes(WEIGHTS.tobytes())
    with pytest.raises(SecurityError, match=r"outside the model's directory|absolute"):
        package(model, tmp_path / "package")
    assert not (tmp_path / "package").exists()


def test_external_data_reached_through_a_symlink_leaving_the_directory_is_refused(tmp_path: Path) -> None:
    model = onnx_with_external_data(tmp_path / "export" / "model.onnx", "link.bin", write=False)
    (tmp_path / "secret.bin").write_bytes(WEIGHTS.tobytes())
    (tmp_path / "export" / "link.bin").symlink_to(tmp_path / "secret.bin")
    with pytest.raises(SecurityError, match=r"'link.bin'.*secret.bin, outside the model's directory"):
        package(model, tmp_path / "package")


def test_missing_external_data_is_an_input_error_naming_it(tmp_path: Path) -> None:
    model = onnx_with_external_data(tmp_path / "export" / "model.onnx", "model.data", write=False)
    with pytest.raises(InputError, match=r"keeps weights in 'model.data'.*does not exist"):
        package(model, tmp_path / "package")


def test_external_data_may_not_take_the_manifests_name(tmp_path: Path) -> None:
    model = onnx_with_external_data(tmp_path / "export" / "model.onnx", MANIFEST_NAME)
    with pytest.raises(InputError, match=rf"'{MANIFEST_NAME}', a name another file of the package already has"):
        package(model, tmp_path / "package")


def test_two_models_may_not_bring_different_files_of_one_name(tmp_path: Path) -> None:
    first = onnx_with_external_data(tmp_path / "fp32" / "model.onnx", "weights.bin")
    second = onnx_with_external_data(tmp_path / "fp16" / "model-fp16.onnx", "weights.bin")
    artifacts = [ArtifactFile(first), ArtifactFile(second)]
    with pytest.raises(InputError, match=r"model-fp16.onnx keeps external data in 'weights.bin'"):
        build_multi_artifact_package(artifacts, tmp_path / "package", task="classification", labels=["a"], name="m")
