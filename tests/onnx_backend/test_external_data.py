"""ONNX external data: verified like the model, handed to onnxruntime from memory, and never a way out.

The model is a two-class colour classifier whose weights live in ``model.data``: a red image is
``red`` with the packaged weights, and ``green`` with the same-size weights an attacker swaps in.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import modelrt
from modelrt.errors import IntegrityError, PackageError, SecurityError
from modelrt.manifest import MANIFEST_NAME
from modelrt.onnx_proto import ExternalData
from modelrt.package_builder import build_package
from modelrt.packages import ModelPackage
from modelrt_onnx import backend as backend_module

from .conftest import RUNNABLE_EXTERNAL_DATA_PLACES, external_tensor, save_external_data_model

LABELS = ("red", "green")
SIDE = 8
#: Mean colour (r, g, b) @ WEIGHTS = logits: red scores 5 for "red"; SWAPPED turns it into "green".
WEIGHTS = np.array([[5.0, 0.0], [0.0, 5.0], [0.0, 0.0]], np.float32)
SWAPPED = WEIGHTS[:, ::-1].copy()
RED = np.zeros((SIDE, SIDE, 3), np.uint8)
RED[..., 0] = 255


def colour_classifier(directory: Path, weights: np.ndarray = WEIGHTS, location: str = "model.data") -> Path:
    """``model.onnx``: logits = mean colour @ W, with W stored in ``location`` beside it."""
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["colour"], axis=1),
            helper.make_node("MatMul", ["colour", "w"], ["logits"]),
        ],
        "colour",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        [external_tensor(weights, "w", location)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(directory / "model.onnx"))
    (directory / location).parent.mkdir(parents=True, exist_ok=True)
    (directory / location).write_bytes(weights.tobytes())
    return directory / "model.onnx"


def package_of(model_file: Path, output: Path) -> Path:
    spec = {"size": [SIDE, SIDE], "resize": "stretch"}
    build_package(model_file, output, task="classification", labels=LABELS, input_spec=spec)
    return output


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return package_of(colour_classifier(tmp_path / "export"), tmp_path / "package")


def top_class(package: Path) -> tuple[str, float]:
    with modelrt.load(package, device="cpu") as model:
        result = model.predict(RED, color="rgb")
    return result.label, round(result.confidence, 3)


def swap_weights(package: Path) -> None:
    """What an attacker who can write the package does: same size, other weights."""
    (package / "model.data").write_bytes(SWAPPED.tobytes())


def test_a_package_runs_the_weights_of_its_external_data(package: Path) -> None:
    assert top_class(package) == ("red", 0.993)


def test_swapped_external_data_of_the_same_size_is_an_integrity_error(package: Path) -> None:
    swap_weights(package)
    with pytest.raises(IntegrityError, match=r"model.data has sha256 .* but its manifest says"):
        top_class(package)


def test_files_replaced_after_they_were_verified_are_never_what_runs(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst moment: every check done, onnxruntime about to build its session."""
    evil = colour_classifier(tmp_path / "evil", weights=SWAPPED)

    def swap_both_files() -> None:
        for name in ("model.onnx", "model.data"):
            shutil.copyfile(evil.parent / name, package / name)

    _before_each_session(monkeypatch, swap_both_files)
    assert top_class(package) == ("red", 0.993)


def test_a_file_replaced_right_after_the_package_was_opened_is_an_integrity_error(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_artifact = ModelPackage.open_artifact

    def open_then_swap(self: ModelPackage, *args: Any, **kwargs: Any) -> Any:
        artifact = open_artifact(self, *args, **kwargs)
        swap_weights(package)
        return artifact

    monkeypatch.setattr(ModelPackage, "open_artifact", open_then_swap)
    with pytest.raises(IntegrityError, match=r"model.data"):
        top_class(package)


@pytest.mark.parametrize("place", RUNNABLE_EXTERNAL_DATA_PLACES)
def test_onnxruntime_reads_no_file_of_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, place: str) -> None:
    """Deleted once verified, the files are not missed: onnxruntime got their bytes, or private copies."""
    package = _runnable_package(tmp_path, place)

    def delete_both_files() -> None:
        for name in ("model.onnx", "weights.bin"):
            (package / name).unlink()

    _before_each_session(monkeypatch, delete_both_files)
    with modelrt.load(package, device="cpu") as model:
        session = model.sessions["main"]
        outputs = session.run({"x": np.ones(3, np.float32)})
    np.testing.assert_array_equal(outputs["y"], [1.0, 2.0, 3.0])
    assert not (package / "model.onnx").exists() and not (package / "weights.bin").exists()


@pytest.mark.parametrize("place", RUNNABLE_EXTERNAL_DATA_PLACES)
def test_a_model_naming_a_file_its_manifest_does_not_list_is_a_security_error(tmp_path: Path, place: str) -> None:
    package = _runnable_package(tmp_path, place)
    _drop_data_entries(package)
    with pytest.raises(SecurityError, match=r"model.onnx reads weights.bin, which the package manifest does not list"):
        modelrt.load(package, device="cpu")


def test_the_security_error_for_an_unlisted_file_says_how_to_package_it(package: Path) -> None:
    _drop_data_entries(package)
    with pytest.raises(SecurityError, match=r"`modelrt package model.onnx -o DIR`"):
        top_class(package)


def test_without_verification_an_unlisted_file_inside_the_package_is_read(package: Path) -> None:
    _drop_data_entries(package)
    with modelrt.load(package, device="cpu", verify=False) as model:
        assert model.predict(RED, color="rgb").label == "red"


def test_a_location_that_is_not_utf8_is_a_security_error(package: Path) -> None:
    """Decoded leniently, the location was checked as a decoy while onnxruntime opened the raw bytes."""
    raw = b"mo\xffel.data"  # as long as b"model.data", so the protobuf lengths stay right
    _rewrite_model(package, (package / "model.onnx").read_bytes().replace(b"model.data", raw))
    (package / "mo\ufffdel.data").write_bytes(WEIGHTS.tobytes())  # the decoy that was checked
    (package / os.fsdecode(raw)).write_bytes(SWAPPED.tobytes())  # the file that was read
    with pytest.raises(SecurityError, match=re.escape(f"{raw!r}, which is not UTF-8")):
        top_class(package)


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("../outside.bin", "outside the package directory"),
        ("/etc/hostname", "absolute"),
        ("we\x00ights.bin", "NUL character"),
        ("*/_ORT_MEM_ADDR_/*", "in-memory address marker"),
    ],
)
@pytest.mark.parametrize("place", ["initializer", "function-node", "function-attribute-default", "sparse-initializer"])
def test_a_hostile_location_is_refused_wherever_the_tensor_sits(
    tmp_path: Path, place: str, location: str, why: str
) -> None:
    package = _runnable_package(tmp_path, place)
    model = package / "model.onnx"
    onnx.save(_relocated(onnx.load(str(model), load_external_data=False), location), str(model))
    _record_model(package)
    with pytest.raises(SecurityError, match=why):
        modelrt.load(package, device="cpu")


def test_a_reference_the_reader_misses_is_not_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded from bytes, onnxruntime would look for the file in the current directory."""
    package = _runnable_package(tmp_path, "if-branch")
    _drop_data_entries(package)
    decoys = tmp_path / "elsewhere"
    decoys.mkdir()
    (decoys / "weights.bin").write_bytes(np.full(3, 100, np.float32).tobytes())
    monkeypatch.chdir(decoys)
    monkeypatch.setattr(backend_module, "read_external_data", lambda model_file, content: ExternalData())
    with pytest.raises(PackageError, match=r"model.onnx"):
        modelrt.load(package, device="cpu")


def test_without_in_memory_external_data_onnxruntime_reads_private_copies(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An onnxruntime older than 1.24.1 (the newest for Python 3.10 is 1.23.2) reads files itself."""
    import onnxruntime

    class OlderSessionOptions(onnxruntime.SessionOptions):
        def __getattribute__(self, name: str) -> Any:
            if name == "add_external_initializers_from_files_in_memory":
                raise AttributeError(name)
            return super().__getattribute__(name)

    _before_each_session(monkeypatch, lambda: swap_weights(package), SessionOptions=OlderSessionOptions)
    assert top_class(package) == ("red", 0.993)


def test_modelrt_package_keeps_external_data_and_predicts_like_the_source(tmp_path: Path) -> None:
    source = colour_classifier(tmp_path / "export", location="weights/model.data")
    labels = tmp_path / "labels.txt"
    labels.write_text("red\ngreen\n")
    output = tmp_path / "package"
    command = [sys.executable, "-m", "modelrt", "package", str(source), "--task", "classification"]
    command += ["--labels", str(labels), "--size", str(SIDE), str(SIDE), "--resize", "stretch", "-o", str(output)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    assert (output / "weights" / "model.data").read_bytes() == WEIGHTS.tobytes()
    with modelrt.load(output, device="cpu") as model:
        logits = model.sessions["main"].run({"x": np.ones((1, 3, SIDE, SIDE), np.float32)})["logits"]
    import onnxruntime

    reference = onnxruntime.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(logits, reference.run(None, {"x": np.ones((1, 3, SIDE, SIDE), np.float32)})[0])


# ------------------------------------------------------------------------------------------- helpers


def _runnable_package(tmp_path: Path, place: str) -> Path:
    """A package of a y = x + w model whose w sits at ``place``, built by ``modelrt package``'s code."""
    source = save_external_data_model(tmp_path / "export", place)
    spec = {"size": [SIDE, SIDE], "resize": "stretch"}
    output = tmp_path / "package"
    build_package(source, output, task="classification", labels=LABELS, input_spec=spec)
    return output


def _manifest(package: Path) -> dict[str, Any]:
    return json.loads((package / MANIFEST_NAME).read_text())


def _write_manifest(package: Path, data: dict[str, Any]) -> None:
    (package / MANIFEST_NAME).write_text(json.dumps(data))


def _drop_data_entries(package: Path) -> None:
    """The manifest an older ``modelrt package`` wrote: the model only, its external data unlisted."""
    data = _manifest(package)
    data["artifacts"] = [entry for entry in data["artifacts"] if entry["format"] != "external-data"]
    _write_manifest(package, data)


def _record_model(package: Path) -> None:
    """Record the model's current size and sha256, as a hostile publisher would."""
    content = (package / "model.onnx").read_bytes()
    data = _manifest(package)
    for entry in data["artifacts"]:
        if entry["path"] == "model.onnx":
            entry["size"], entry["sha256"] = len(content), hashlib.sha256(content).hexdigest()
    _write_manifest(package, data)


def _rewrite_model(package: Path, content: bytes) -> None:
    (package / "model.onnx").write_bytes(content)
    _record_model(package)


def _relocated(model: onnx.ModelProto, location: str) -> onnx.ModelProto:
    """The model with every external-data location replaced by ``location``."""
    from onnx.external_data_helper import _get_all_tensors

    tensors = list(_get_all_tensors(model))
    tensors += [part for sparse in model.graph.sparse_initializer for part in (sparse.values, sparse.indices)]
    for function in model.functions:  # older onnx releases leave functions out of _get_all_tensors
        tensors += [attribute.t for attribute in function.attribute_proto]
        tensors += [attribute.t for node in function.node for attribute in node.attribute]
    for tensor in tensors:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    return model


def _before_each_session(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None], **replaced: Any) -> None:
    """Run ``action`` each time the backend builds an onnxruntime session, just before it does."""
    import onnxruntime

    def session(*args: Any, **kwargs: Any) -> Any:
        action()
        return onnxruntime.InferenceSession(*args, **kwargs)

    runtime = _module_like(onnxruntime, InferenceSession=session, **replaced)
    monkeypatch.setattr(backend_module, "import_onnxruntime", lambda: runtime)


def _module_like(module: Any, **replaced: Any) -> Any:
    names = {name: getattr(module, name) for name in dir(module) if not name.startswith("__")}
    return SimpleNamespace(__version__=module.__version__, **{**names, **replaced})
