"""A repository holding an ONNX file with Ultralytics metadata loads as the same file would from disk:
named in the reference, or found as the only ``.onnx`` of the folder, and checked against the Hub's sha256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import modelrt
from modelrt.errors import IntegrityError, PackageError

from .conftest import LABELS, SIDE, linear_classifier
from .emulator import HubEmulator

WEIGHTS = np.array([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0], [-2.0, 1.0, 1.0]])
BIAS = np.zeros(3, np.float32)


def ultralytics_classifier() -> bytes:
    model = onnx.load_from_string(linear_classifier(WEIGHTS, BIAS))
    metadata = {"names": str(dict(enumerate(LABELS))), "task": "classify", "imgsz": f"[{SIDE}, {SIDE}]"}
    onnx.helper.set_model_props(model, metadata)
    return model.SerializeToString()


def expected(rgb: tuple[int, int, int]) -> np.ndarray:
    logits = np.array(rgb, np.float64) / 255 @ WEIGHTS
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def predict(reference: str, rgb: tuple[int, int, int], **options: object) -> np.ndarray:
    picture = np.broadcast_to(np.array(rgb, np.uint8), (SIDE * 2, SIDE * 2, 3)).copy()
    with modelrt.load(reference, device="cpu", **options) as model:
        return model.predict(picture, color="rgb").probabilities


def test_the_only_onnx_file_of_a_repository_is_found_and_loaded_from_its_metadata(hub: HubEmulator) -> None:
    hub.publish("org/yolo-cls", {"yolo-cls.onnx": ultralytics_classifier(), "yolo-cls.pt": b"pickle, never fetched"})
    np.testing.assert_allclose(predict("hf://org/yolo-cls", (10, 200, 60)), expected((10, 200, 60)), rtol=1e-5)
    assert [entry.path for entry in hub.downloads()] == ["yolo-cls.onnx"]


def test_an_onnx_file_named_in_the_reference_loads_and_then_loads_offline(
    hub: HubEmulator, request: pytest.FixtureRequest
) -> None:
    hub.publish("org/yolo", {"weights/a.onnx": ultralytics_classifier(), "weights/b.onnx": b"other"})
    online = predict("hf://org/yolo/weights/a.onnx", (1, 2, 3))
    request.getfixturevalue("no_sockets")
    np.testing.assert_array_equal(predict("hf://org/yolo/weights/a.onnx", (1, 2, 3), offline=True), online)


def test_several_onnx_files_in_a_folder_are_listed_to_choose_from(hub: HubEmulator) -> None:
    hub.publish("org/yolo", {"a.onnx": ultralytics_classifier(), "b.onnx": ultralytics_classifier()})
    with pytest.raises(
        PackageError, match=r"several ONNX files .* name one: hf://org/yolo/a.onnx, hf://org/yolo/b.onnx"
    ):
        modelrt.load("hf://org/yolo")


def test_an_onnx_file_changed_in_the_cache_is_refused_offline(hub: HubEmulator, tmp_path: Path) -> None:
    hub.publish("org/yolo-cls", {"yolo-cls.onnx": ultralytics_classifier()})
    predict("hf://org/yolo-cls", (5, 5, 5))
    (link,) = (tmp_path / "hf-cache").rglob("snapshots/*/yolo-cls.onnx")
    blob = link.resolve()
    blob.write_bytes(blob.read_bytes().replace(b"'cat'", b"'cow'"))
    with pytest.raises(IntegrityError, match=r"'yolo-cls.onnx' .* is not the file the Hub served"):
        modelrt.load("hf://org/yolo-cls", offline=True)
