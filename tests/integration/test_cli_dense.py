"""`modelrt package` and `modelrt predict` on an embedder and a semantic segmenter built here: JSON
results, text lines and saved pictures, through the command a user runs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper

from .conftest import run_cli

LABELS = ("red", "green", "background")


def _save_model(nodes: list[onnx.NodeProto], output: onnx.ValueInfoProto, path: Path) -> Path:
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    model = helper.make_model(
        helper.make_graph(nodes, "m", [image], [output]), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _package(tmp_path: Path, model: Path, *options: str) -> Path:
    package = tmp_path / "package"
    result = run_cli("package", str(model), "-o", str(package), *options)
    assert result.returncode == 0, result.stderr
    return package


def _picture(path: Path, left: tuple[int, int, int], right: tuple[int, int, int]) -> Path:
    """A 48x64 RGB picture, ``left`` colour on the left half and ``right`` on the other, written as PNG."""
    rgb = np.zeros((48, 64, 3), dtype=np.uint8)
    rgb[:, :32], rgb[:, 32:] = left, right
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    return path


def test_an_embedder_prints_its_vector_in_json_and_its_length_and_norm_in_text(tmp_path: Path) -> None:
    # Features are each image's mean colour: half (3, 4, 0) and half (3, 4, 0) is (3, 4, 0) -> (0.6, 0.8, 0).
    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3])
    reduce = helper.make_node("ReduceMean", ["images"], ["features"], axes=[2, 3], keepdims=0)
    model = _save_model([reduce], features, tmp_path / "embedder.onnx")
    package = _package(tmp_path, model, "--task", "embedding", "--size", "8", "--resize", "stretch", "--scale", "1")
    picture = _picture(tmp_path / "picture.png", (3, 4, 0), (3, 4, 0))

    result = run_cli("predict", str(package), str(picture), "--json")
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)["results"]
    assert (record["type"], record["dimensions"], record["norm"]) == ("embedding", 3, 1.0)
    np.testing.assert_allclose(record["vector"], [0.6, 0.8, 0.0], rtol=1e-6)

    text = run_cli("predict", str(package), str(picture))
    assert text.returncode == 0, text.stderr
    assert text.stdout.strip() == f"{picture}: embedding of 3 values, norm 1.000"


def test_a_segmenter_prints_each_class_and_tints_its_pixels_in_the_saved_picture(tmp_path: Path) -> None:
    # Scores are the pixel's own colour channels: red pixels are "red", blue ones "background".
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    model = _save_model([helper.make_node("Identity", ["images"], ["scores"])], scores, tmp_path / "segmenter.onnx")
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    package = _package(tmp_path, model, "--task", "semantic-segmentation", "--labels", str(labels), "--size", "32")
    picture = _picture(tmp_path / "picture.png", (200, 0, 0), (0, 0, 200))
    saved = tmp_path / "picture.annotated.png"

    result = run_cli("predict", str(package), str(picture), "--json", "--save", str(saved))
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)["results"]
    assert record["type"] == "semantic-segmentation" and record["size"] == [48, 64]
    assert [(item["class"], item["pixels"]) for item in record["classes"]] == [
        ("red", 48 * 32),
        ("background", 48 * 32),
    ]
    red = record["classes"][0]["mask"]  # COCO RLE, column by column: 48 * 32 set pixels first
    assert red == {"size": [48, 64], "counts": [0, 48 * 32, 48 * 32]}
    changed = (cv2.imread(str(saved)) != cv2.imread(str(picture))).any(axis=2)
    assert changed[20:, :32].all()  # "red" is tinted (the legend is at the top left)
    assert not changed[:, 32:].any()  # "background" is left as it was

    text = run_cli("predict", str(package), str(picture))
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"{picture}: 64x48 class map, 2 classes present"
