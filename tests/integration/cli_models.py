"""Tiny models, pictures and plugins for the `modelrt` command tests, all built here with known outputs.

- ``grid_detector``: an Ultralytics-style ``.onnx`` (metadata ``names``, ``imgsz``, ``task``) whose output
  is a constant YOLOv8 head: 64 small boxes on an 8x8 grid of a 64x64 input, none overlapping, the
  classes taking turns, all scored 0.9. A 64x64 picture therefore gets exactly 64 detections.
- ``classifier_package``: a packaged classifier whose answer depends on the mean colour.
- ``pictures``: distinct small PNG files.
- ``noisy_plugin``: a plugin, visible through a ``.dist-info`` on ``PYTHONPATH``, that writes to stdout
  when it is imported, both through Python and straight to file descriptor 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from modelrt.package_builder import build_package

SIDE = 64
GRID = 8
DETECTOR_LABELS = ("cat", "dog")
CLASSIFIER_LABELS = ("red", "green", "blue")


def _save(graph: onnx.GraphProto, path: Path, metadata: dict[str, str] | None = None) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def grid_head(labels: Sequence[str] = DETECTOR_LABELS) -> np.ndarray:
    """[1, 4 + classes, 64]: cx, cy, w, h of a 4x4 box in each 8x8 cell, then one-hot scores of 0.9."""
    cells = np.arange(GRID * GRID)
    centres_x = (cells % GRID) * (SIDE // GRID) + SIDE // (2 * GRID)
    centres_y = (cells // GRID) * (SIDE // GRID) + SIDE // (2 * GRID)
    head = np.zeros((4 + len(labels), cells.size), np.float32)
    head[0], head[1], head[2], head[3] = centres_x, centres_y, 4, 4
    head[4 + cells % len(labels), cells] = 0.9
    return head[None]


def ultralytics_metadata(labels: Sequence[str], task: str = "detect") -> dict[str, str]:
    """Metadata as Ultralytics' exporter writes it (``str()`` of Python values)."""
    return {
        "author": "Ultralytics",
        "task": task,
        "stride": "32",
        "imgsz": f"[{SIDE}, {SIDE}]",
        "names": str(dict(enumerate(labels))),
        "args": str({"batch": 1, "half": False, "int8": False, "nms": False}),
        "end2end": "False",
    }


def grid_detector(path: Path, labels: Sequence[str] = DETECTOR_LABELS, metadata: bool = True) -> Path:
    """``output0 = HEAD + 0 * sum(images)``: a real graph whose output does not depend on the pixels."""
    head = grid_head(labels)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["images"], ["total"], keepdims=0),
            helper.make_node("Mul", ["total", "zero"], ["nothing"]),
            helper.make_node("Add", ["head", "nothing"], ["output0"]),
        ],
        "grid_head",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(head.shape))],
        [numpy_helper.from_array(head, "head"), numpy_helper.from_array(np.float32(0), "zero")],
    )
    return _save(graph, path, ultralytics_metadata(labels) if metadata else None)


def classifier_package(directory: Path, sharpness: float = 10.0) -> Path:
    """Scores = the mean of each colour channel (softmax): a red picture is "red", and so on.

    ``sharpness=float("nan")`` makes a model whose every score is NaN.
    """
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["x"], ["means"], axes=[2, 3], keepdims=0),
            helper.make_node("Mul", ["means", "sharpness"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "colour",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(np.float32(sharpness), "sharpness")],
    )
    model_file = _save(graph, directory / "source" / "colour.onnx")
    spec = {"size": [8, 8], "resize": "stretch"}
    build_package(model_file, directory / "package", task="classification", labels=CLASSIFIER_LABELS, input_spec=spec)
    return directory / "package"


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (SIDE, SIDE)) -> np.ndarray:
    """An RGB picture of one colour, ``size`` = (height, width)."""
    return np.full((*size, 3), colour, np.uint8)


def write_picture(
    path: Path, colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (SIDE, SIDE)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), picture(colour, size)[:, :, ::-1])
    return path


def pictures(directory: Path, count: int, prefix: str = "img") -> list[Path]:
    """``count`` PNG files of distinct colours, named so that name order is creation order."""
    return [
        write_picture(directory / f"{prefix}{index:04d}.png", ((index * 37) % 256, (index * 91) % 256, 128))
        for index in range(count)
    ]


NOISY_PLUGIN = """
import os
import sys

print("noise from a plugin's print() at import")
sys.stdout.flush()
os.write(1, b"noise written to file descriptor 1 at import\\n")
"""


def noisy_plugin(directory: Path) -> Path:
    """A directory to put on ``PYTHONPATH``: the module ``noisy_plugin`` and its distribution's metadata."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "noisy_plugin.py").write_text(textwrap.dedent(NOISY_PLUGIN))
    info = directory / "noisy_plugin-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: noisy-plugin\nVersion: 0.1\nRequires-Dist: modelrt-core>=0.1\n"
    )
    (info / "entry_points.txt").write_text("[modelrt.plugins]\nnoisy = noisy_plugin\n")
    return directory


def run_modelrt(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m modelrt ARGS` with ``stdin`` as its standard input (none: an empty one)."""
    completed = subprocess.run(
        [sys.executable, "-m", "modelrt", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return subprocess.CompletedProcess(
        completed.args, completed.returncode, completed.stdout.decode(), completed.stderr.decode()
    )


def start_modelrt(*args: str, **popen_options: Any) -> subprocess.Popen[bytes]:
    """Start `python -m modelrt ARGS` with stdout (and stderr, unless given) piped."""
    popen_options.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-m", "modelrt", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, **popen_options
    )
