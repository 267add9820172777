"""Model packages from strangers: every way a package can be broken or hostile is a typed error.

Through ``modelrt.load`` with the real ONNX Runtime plugin (pickle cases with a fake backend that
claims the format, since no installed plugin runs pickles yet):

- ``PackageError``: a manifest that is not JSON, not UTF-8, holds NaN or a repeated key, is nested too
  deep, or is over ``MAX_MANIFEST_BYTES`` (then it is not read at all); a wrong JSON type anywhere
  (never coerced), a value out of range, an unknown key or ``format_version`` (the message names the
  key); more than ``MAX_LABELS`` labels, a network input over ``MAX_INPUT_PIXELS``; an artifact that is
  missing, a directory, a FIFO, a symlink loop or unreadable (the message names it); a pickle
  checkpoint labelled as ONNX (the ONNX parser refuses it: nothing is unpickled).
- ``IntegrityError``: an artifact truncated or grown (size), or tampered at the same size (sha256),
  also after an earlier successful load with its mtime put back, or swapped for another file.
- ``SecurityError``: a path with ``..``, an absolute path, a symlink (file or directory) out of the
  package, a manifest that is a link out of it, ONNX external data out of it; a pickle checkpoint
  without ``allow_pickle=True`` on that very call (no environment variable helps), and then the
  backend never sees the file.

A ``SecurityError`` or ``IntegrityError`` is never retried on another backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

import modelrt
from modelrt.errors import IntegrityError, PackageError, SecurityError
from modelrt.manifest import MANIFEST_NAME, MAX_LABELS, MAX_MANIFEST_BYTES, read_manifest
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with

from .conftest import LABELS, SIDE, dense_classifier, package_model

# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A fresh, valid, loadable package (the test may break it)."""
    return package_model(dense_classifier(seed=3), tmp_path / "build")


def _manifest(package: Path) -> dict[str, Any]:
    return json.loads((package / MANIFEST_NAME).read_text())


def _write_manifest(package: Path, data: dict[str, Any]) -> None:
    (package / MANIFEST_NAME).write_text(json.dumps(data))


def _point_artifact_at(package: Path, path: str) -> None:
    data = _manifest(package)
    data["artifacts"][0]["path"] = path
    _write_manifest(package, data)


def test_the_intact_package_loads_and_predicts(package: Path) -> None:
    with modelrt.load(package) as model:
        assert model.predict(np.zeros((SIDE, SIDE, 3), np.uint8)).labels == tuple(LABELS)


# ------------------------------------------------------------------------------------ manifests


MALFORMED_TEXTS = {
    "not-json": (b"{format_version: 1}", "not valid JSON"),
    "not-utf8": (b'{"name": "\xff\xfe"}', "not UTF-8"),
    "nan": (b'{"format_version": 1, "scale": NaN}', "NaN is not a JSON number"),
    "repeated-key": (b'{"format_version": 1, "format_version": 2}', "appears more than once"),
    "nested-too-deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "empty": (b"", "not valid JSON"),
    "array": (b"[1, 2, 3]", "must be a JSON object"),
}


@pytest.mark.parametrize("text, says", list(MALFORMED_TEXTS.values()), ids=list(MALFORMED_TEXTS))
def test_a_malformed_manifest_text_is_a_package_error(package: Path, text: bytes, says: str) -> None:
    (package / MANIFEST_NAME).write_bytes(text)
    with pytest.raises(PackageError, match=says):
        modelrt.load(package)


WRONG_TYPES = [
    (("name",), 5, "expected a string, got the number 5 @ manifest.name"),
    (("labels",), "cat,dog", "expected an array, got the string 'cat,dog' @ manifest.labels"),
    (("labels",), {"0": "cat"}, "expected an array, got an object @ manifest.labels"),
    (("labels",), [0, 1], "expected a string, got the number 0 @ manifest.labels[0]"),
    (("input", "size"), "640", "expected an array, got the string '640' @ manifest.input.size"),
    (("input", "size"), [16.5, 16], "expected a whole number, got the number 16.5 @ manifest.input.size[0]"),
    (("input", "size"), [True, 16], "expected a whole number, got the boolean true @ manifest.input.size[0]"),
    (("input", "dynamic_size"), "yes", "expected true or false, got the string 'yes' @ manifest.input.dynamic_size"),
    (("input", "scale"), "0.5", "expected a number, got the string '0.5' @ manifest.input.scale"),
    (("input", "resize"), ["stretch"], "expected one of 'letterbox', 'stretch'"),
    (("input", "batch"), "4", "expected a positive integer or 'dynamic', got the string '4'"),
    (("postprocess",), [0.5], "expected an object, got an array @ manifest.postprocess"),
    (("artifacts",), {"role": "main"}, "expected an array, got an object @ manifest.artifacts"),
    (("artifacts", 0, "size"), "123", "expected a whole number, got the string '123' @ manifest.artifacts[0].size"),
    (("artifacts", 0, "path"), ["model.onnx"], "expected a string, got an array @ manifest.artifacts[0].path"),
]


@pytest.mark.parametrize("place, value, says", WRONG_TYPES, ids=[".".join(map(str, w[0])) for w in WRONG_TYPES])
def test_a_wrong_json_type_is_a_package_error_naming_the_key(
    package: Path, place: tuple[Any, ...], value: object, says: str
) -> None:
    data = _manifest(package)
    data.setdefault("postprocess", {})
    parent: Any = data
    for key in place[:-1]:
        parent = parent[key]
    parent[place[-1]] = value
    _write_manifest(package, data)
    with pytest.raises(PackageError, match=re.escape(says)):
        modelrt.load(package)


OUT_OF_RANGE = [
    ("input", "pad_value", 256, "pad_value=256 is outside [0, 255]"),
    ("input", "std", [1, 0, 1], "holds a 0"),
    ("input", "std", [1, 1e-320, 1], "smaller than 1e-06"),
    ("input", "size_multiple", 0, "size_multiple=0 must be a finite number >= 1"),
    ("input", "size", [100_000, 100_000], "over the limit of 100000000"),
    ("postprocess", "confidence", 1.5, "confidence=1.5 is outside [0, 1]"),
    ("postprocess", "max_detections", 0, "max_detections=0 must be a finite number >= 1"),
]


@pytest.mark.parametrize("section, key, value, says", OUT_OF_RANGE, ids=[f"{s}.{k}" for s, k, _, _ in OUT_OF_RANGE])
def test_a_value_out_of_range_is_a_package_error_at_load_not_a_crash_at_predict(
    package: Path, section: str, key: str, value: object, says: str
) -> None:
    data = _manifest(package)
    data.setdefault(section, {})[key] = value
    _write_manifest(package, data)
    with pytest.raises(PackageError, match=re.escape(says)):
        modelrt.load(package)


@pytest.mark.parametrize("version", [0, 2, "1", True, None, 1.5])
def test_an_unknown_format_version_is_a_package_error_naming_it(package: Path, version: object) -> None:
    data = _manifest(package)
    data["format_version"] = version
    _write_manifest(package, data)
    with pytest.raises(PackageError, match=f"unsupported format_version {version!r}"):
        modelrt.load(package)


def test_a_class_list_over_the_limit_is_a_package_error(package: Path) -> None:
    data = _manifest(package)
    data["labels"] = [f"c{index}" for index in range(MAX_LABELS + 1)]
    _write_manifest(package, data)
    with pytest.raises(PackageError, match=f"labels lists {MAX_LABELS + 1} classes, over the limit of {MAX_LABELS}"):
        read_manifest(package)


def test_a_class_list_at_the_limit_is_read(package: Path) -> None:
    data = _manifest(package)
    data["labels"] = [f"c{index}" for index in range(MAX_LABELS)]
    _write_manifest(package, data)
    assert len(read_manifest(package).labels) == MAX_LABELS


def test_a_huge_manifest_is_refused_without_being_read(package: Path) -> None:
    with (package / MANIFEST_NAME).open("r+b") as handle:
        handle.truncate(1 << 30)  # a sparse 1 GiB file: no disk behind it, and nothing must read it
    tracemalloc.start()
    try:
        with pytest.raises(PackageError, match=f"over the limit of {MAX_MANIFEST_BYTES}"):
            modelrt.load(package)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_MANIFEST_BYTES


@pytest.mark.timeout(60)  # a hang guard: nothing may open the FIFO
def test_a_manifest_that_is_a_fifo_is_a_package_error(package: Path) -> None:
    (package / MANIFEST_NAME).unlink()
    os.mkfifo(package / MANIFEST_NAME)
    with pytest.raises(PackageError, match=r"modelrt\.json"):
        modelrt.load(package)


# ------------------------------------------------------------------------------------ artifacts


def test_a_missing_artifact_is_a_package_error_naming_it(package: Path) -> None:
    (package / "model.onnx").unlink()
    with pytest.raises(PackageError, match=r"lists 'model.onnx'.*does not exist"):
        modelrt.load(package)


@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink-loop"])
@pytest.mark.timeout(60)  # a hang guard: nothing may open the FIFO
def test_an_artifact_that_is_no_regular_file_is_a_package_error(package: Path, kind: str) -> None:
    artifact = package / "model.onnx"
    artifact.unlink()
    if kind == "directory":
        artifact.mkdir()
    elif kind == "fifo":
        os.mkfifo(artifact)
    else:
        artifact.symlink_to(artifact)
    with pytest.raises(PackageError, match=r"model\.onnx") as raised:
        modelrt.load(package)
    assert not isinstance(raised.value, SecurityError)
    said = {"directory": "is a directory, not a regular file", "fifo": "is a FIFO, not a regular file"}
    if kind in said:
        assert said[kind] in str(raised.value)


def test_an_unreadable_artifact_is_a_package_error(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Permission bits do not stop root, which CI may be: the refusal the OS would give is injected instead.
    artifact = (package / "model.onnx").resolve()
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == artifact:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(PackageError, match=r"cannot read artifact .*Permission denied"):
        modelrt.load(package)


@pytest.mark.parametrize("change", ["truncated", "grown"])
def test_an_artifact_of_another_size_is_an_integrity_error(package: Path, change: str) -> None:
    artifact = package / "model.onnx"
    content = artifact.read_bytes()
    artifact.write_bytes(content[:-10] if change == "truncated" else content + b"\x00" * 10)
    with pytest.raises(IntegrityError, match="manifest says"):
        modelrt.load(package)


def _flip_one_byte_keeping_mtime(path: Path) -> None:
    before = path.stat()
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_an_artifact_tampered_at_the_same_size_is_an_integrity_error(package: Path) -> None:
    _flip_one_byte_keeping_mtime(package / "model.onnx")
    with pytest.raises(IntegrityError, match="sha256"):
        modelrt.load(package)


def test_tampering_after_a_successful_load_is_caught_even_with_the_mtime_put_back(package: Path) -> None:
    modelrt.load(package).close()  # verified, and remembered as verified
    _flip_one_byte_keeping_mtime(package / "model.onnx")
    with pytest.raises(IntegrityError, match="sha256"):
        modelrt.load(package)


def test_an_artifact_swapped_for_another_file_is_an_integrity_error(package: Path) -> None:
    modelrt.load(package).close()
    artifact = package / "model.onnx"
    replacement = package / "replacement.onnx"
    onnx.save(dense_classifier(seed=99), str(replacement))
    assert replacement.stat().st_size == artifact.stat().st_size
    os.utime(replacement, ns=(artifact.stat().st_atime_ns, artifact.stat().st_mtime_ns))
    replacement.replace(artifact)
    with pytest.raises(IntegrityError, match="sha256"):
        modelrt.load(package)


# ------------------------------------------------------------------------------------ paths


def _outside_copy(package: Path) -> Path:
    outside = package.parent / "elsewhere"
    outside.mkdir()
    (outside / "model.onnx").write_bytes((package / "model.onnx").read_bytes())
    return outside


ESCAPES: dict[str, Callable[[Path, Path], str]] = {
    "dot-dot": lambda package, outside: "../elsewhere/model.onnx",
    "dot-dot-inside-a-path": lambda package, outside: "sub/../../elsewhere/model.onnx",
    "absolute": lambda package, outside: str(outside / "model.onnx"),
}


@pytest.mark.parametrize("escape", list(ESCAPES.values()), ids=list(ESCAPES))
def test_an_artifact_path_leaving_the_package_is_a_security_error(
    package: Path, escape: Callable[[Path, Path], str]
) -> None:
    _point_artifact_at(package, escape(package, _outside_copy(package)))
    with pytest.raises(SecurityError, match="outside the package directory"):
        modelrt.load(package)


def test_an_artifact_symlinked_out_of_the_package_is_a_security_error(package: Path) -> None:
    outside = _outside_copy(package)
    (package / "model.onnx").unlink()
    (package / "model.onnx").symlink_to(outside / "model.onnx")
    with pytest.raises(SecurityError, match="outside the package directory"):
        modelrt.load(package)


def test_a_directory_symlinked_out_of_the_package_is_a_security_error(package: Path) -> None:
    outside = _outside_copy(package)
    (package / "weights").symlink_to(outside, target_is_directory=True)
    _point_artifact_at(package, "weights/model.onnx")
    with pytest.raises(SecurityError, match="outside the package directory"):
        modelrt.load(package)


def test_a_manifest_linked_from_outside_the_package_is_a_security_error(package: Path) -> None:
    outside = package.parent / "elsewhere.json"
    (package / MANIFEST_NAME).rename(outside)
    (package / MANIFEST_NAME).symlink_to(outside)
    with pytest.raises(SecurityError, match="outside the package directory"):
        modelrt.load(package)


def test_a_symlink_that_stays_inside_the_package_is_allowed(package: Path) -> None:
    (package / "models").mkdir()
    (package / "model.onnx").rename(package / "models" / "real.onnx")
    (package / "model.onnx").symlink_to(Path("models") / "real.onnx")
    modelrt.load(package).close()


def _reaching_outside(model: onnx.ModelProto) -> tuple[onnx.ModelProto, bytes]:
    """``model`` with its weights moved to ``../weights.bin``, outside the directory the model is in."""
    weights = next(tensor for tensor in model.graph.initializer if tensor.name == "weights")
    data = numpy_helper.to_array(weights).tobytes()
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../weights.bin"), ("offset", "0"), ("length", str(len(data)))):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    return model, data


def test_modelrt_package_refuses_external_data_outside_the_model_directory(tmp_path: Path) -> None:
    model, data = _reaching_outside(dense_classifier(seed=4))
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "weights.bin").write_bytes(data)
    with pytest.raises(SecurityError, match=r"\.\./weights\.bin"):
        package_model(model, tmp_path / "build")
    assert not (tmp_path / "build" / "package" / "modelrt.json").exists()


def test_onnx_external_data_outside_the_package_is_a_security_error(tmp_path: Path) -> None:
    package = package_model(dense_classifier(seed=4), tmp_path / "build")
    hostile, data = _reaching_outside(dense_classifier(seed=4))
    # What an attacker who can write the package does: swap the model and record its checksum.
    (package / "model.onnx").write_bytes(hostile.SerializeToString())
    manifest = json.loads((package / "modelrt.json").read_text())
    manifest["artifacts"][0].update(
        size=(package / "model.onnx").stat().st_size,
        sha256=hashlib.sha256((package / "model.onnx").read_bytes()).hexdigest(),
    )
    (package / "modelrt.json").write_text(json.dumps(manifest))
    (package.parent / "weights.bin").write_bytes(data)  # there, next to the package: readable, but not its own
    with pytest.raises(SecurityError, match=r"'../weights.bin'.*outside the package"):
        modelrt.load(package)


# ------------------------------------------------------------------------------------ pickles


class _RunsCodeWhenUnpickled:
    """What a hostile checkpoint holds: unpickling it creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def _pickle_package(root: Path, fmt: str = "torch-pickle") -> Path:
    root.mkdir()
    payload = pickle.dumps(_RunsCodeWhenUnpickled(root / "unpickled"))
    (root / "model.pt").write_bytes(payload)
    manifest = {
        "format_version": 1,
        "name": "checkpoint",
        "task": "classification",
        "architecture": "image-classifier",
        "labels": ["a", "b", "c"],
        "input": {"size": [8, 8], "resize": "stretch"},
        "artifacts": [
            {
                "role": "main",
                "format": fmt,
                "path": "model.pt",
                "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
        ],
    }
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))
    return root


@pytest.fixture
def pickle_runtime() -> tuple[Any, list[Any]]:
    """A manager whose only backend claims pickle checkpoints, and the list of what it loaded."""
    loaded: list[Any] = []
    plugin = fake_backend_plugin("pickle-runtime", formats=("torch-pickle",), loads=loaded)
    return manager_with(plugin), loaded


@pytest.mark.parametrize(
    "environment",
    [{}, {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}, {"MODELRT_ALLOW_PICKLE": "1"}, {"MODELRT_ALLOW_PICKLE": "true"}],
    ids=["plain", "torch-force-no-weights-only", "modelrt-allow-pickle-1", "modelrt-allow-pickle-true"],
)
def test_a_pickle_checkpoint_is_a_security_error_the_backend_never_sees(
    tmp_path: Path,
    pickle_runtime: tuple[Any, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
) -> None:
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    manager, loaded = pickle_runtime
    package = _pickle_package(tmp_path / "checkpoint")
    with pytest.raises(SecurityError, match="allow_pickle=True"):
        modelrt.load(package, manager=manager, warmup=0)
    assert loaded == []


def test_allow_pickle_is_consent_for_that_one_load(tmp_path: Path, pickle_runtime: tuple[Any, list[Any]]) -> None:
    manager, loaded = pickle_runtime
    package = _pickle_package(tmp_path / "checkpoint")
    modelrt.load(package, manager=manager, warmup=0, allow_pickle=True).close()
    assert len(loaded) == 1
    with pytest.raises(SecurityError):
        modelrt.load(package, manager=manager, warmup=0)
    assert len(loaded) == 1


def test_a_pickle_labelled_as_onnx_is_a_package_error_and_never_unpickled(tmp_path: Path) -> None:
    package = _pickle_package(tmp_path / "disguised", fmt="onnx")
    with pytest.raises(PackageError, match=r"model\.pt"):
        modelrt.load(package)
    assert not (package / "unpickled").exists()


def test_a_pickle_file_passed_directly_is_a_package_error(tmp_path: Path) -> None:
    package = _pickle_package(tmp_path / "checkpoint")
    with pytest.raises(PackageError):
        modelrt.load(package / "model.pt")
    assert not (package / "unpickled").exists()
