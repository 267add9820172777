"""The model every variant runs, the image they run it on, and the packages each runtime loads.

``yolov8n``: the real YOLOv8n network, built by Ultralytics from its yaml with random weights in the
``ultralytics`` environment (``tools/export_yolov8n.py``), calibrated so that a fixed number of
anchors (300 by default) pass 0.25 on the benchmark image, and exported to ONNX with a dynamic batch
and a fixed 640x640 input. ``synthetic``: a YOLOv8-shaped network written with ``onnx.helper``
(``synthetic_yolo.py``), for a run without the 6 GB environment and for the harness's own tests.

Both come as one ONNX file in three forms: the file, a modelrt package and an inference-models local
package (``model_config.json``, ``inference_config.json``, ``class_names.txt``, ``weights.onnx``, as
PEER.md describes), so every runtime loads the same bytes. Everything is cached per image and load
under ``benchmarks/.cache/models``; a model counts as built once its ``bench-model.json`` exists.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import attrs
import cattrs
import numpy as np

from benchmarks import envs, floor, synthetic_yolo

CONFIDENCE, IOU, MAX_DETECTIONS = 0.25, 0.7, 300
NUM_CLASSES = 80
MODELS = envs.CACHE / "models"
DEMO_IMAGE = envs.REPO / "demo" / "images" / "coffee.png"
_SUMMARY = "bench-model.json"


@attrs.frozen
class BenchModel:
    """One network in the forms each runtime loads, and how it was made."""

    kind: str
    description: str
    onnx: Path
    modelrt_package: Path
    inference_models_package: Path
    input_size: int
    passing: int
    details: dict[str, Any] = attrs.field(factory=dict)


_CONVERTER = cattrs.Converter()
_CONVERTER.register_unstructure_hook(Path, str)
_CONVERTER.register_structure_hook(Path, lambda value, _: Path(value))


def read_rgb(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read an image from {path}")
    return np.ascontiguousarray(image[:, :, ::-1])


def hd_frame(cache: Path = envs.CACHE) -> Path:
    """The default benchmark image: ``coffee.png`` scaled and centre-cropped to a 1280x720 HD frame.

    A camera frame is what a detector usually gets, and its size sets the cost of resizing. 1280x720
    also letterboxes to exactly 640x360 with 140 rows of padding above and below, so Ultralytics'
    rounding (which modelrt follows) and inference-models' flooring of the resized size agree, and
    every runtime feeds the network the same tensor (with ``coffee.png`` itself they differ by a row).
    """
    import cv2

    path = cache / "images" / "coffee-1280x720.png"
    if not path.exists():
        source = np.ascontiguousarray(read_rgb(DEMO_IMAGE)[:, :, ::-1])  # BGR, as imwrite expects
        height = round(source.shape[0] * 1280 / source.shape[1])
        scaled = cv2.resize(source, (1280, height), interpolation=cv2.INTER_LINEAR)
        top = (height - 720) // 2
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), scaled[top : top + 720])
    return path


def _key(image: Path, *parts: object) -> str:
    digest = hashlib.sha256(image.read_bytes()).hexdigest()[:12]
    return "-".join([*(str(part) for part in parts), digest])


def _load_cached(directory: Path) -> BenchModel | None:
    summary = directory / _SUMMARY
    if not summary.is_file():
        return None
    return _CONVERTER.structure(json.loads(summary.read_text()), BenchModel)


def _finish(model: BenchModel, directory: Path) -> BenchModel:
    (directory / _SUMMARY).write_text(json.dumps(_CONVERTER.unstructure(model), indent=2))
    return model


def _count_passing(onnx_file: Path, tensor: np.ndarray) -> int:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    output = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    return int((output[0, 4:].max(axis=0) >= CONFIDENCE).sum())


def _write_packages(onnx_file: Path, directory: Path, input_size: int, name: str) -> tuple[Path, Path]:
    from modelrt.package_builder import build_package

    labels = [f"class{index}" for index in range(NUM_CLASSES)]
    modelrt_package = directory / "modelrt-package"
    build_package(
        onnx_file,
        modelrt_package,
        task="object-detection",
        labels=labels,
        name=name,
        input_spec={"size": [input_size, input_size], "resize": "letterbox", "pad_value": 114, "batch": "dynamic"},
        postprocess={"confidence": CONFIDENCE, "iou": IOU, "max_detections": MAX_DETECTIONS},
    )
    reference_package = directory / "inference-models-package"
    reference_package.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_file, reference_package / "weights.onnx")
    (reference_package / "class_names.txt").write_text("\n".join(labels) + "\n")
    config = {"model_architecture": "yolov8", "task_type": "object-detection", "backend_type": "onnx"}
    (reference_package / "model_config.json").write_text(json.dumps(config))
    inference_config = {
        "image_pre_processing": {},
        "network_input": {
            "training_input_size": {"height": input_size, "width": input_size},
            "dynamic_spatial_size_supported": False,
            "color_mode": "rgb",
            "resize_mode": "letterbox",
            "padding_value": 114,
            "input_channels": 3,
            "scaling_factor": 255,
        },
        "forward_pass": {"max_dynamic_batch_size": 16},
        "post_processing": {"type": "nms", "fused": False},
    }
    (reference_package / "inference_config.json").write_text(json.dumps(inference_config, indent=2))
    return modelrt_package, reference_package


def _fix_spatial_size(onnx_file: Path, input_size: int, anchors: int) -> None:
    """Keep the batch dynamic but fix 640x640 and the anchor count, as a fixed-size export has them.

    Ultralytics' ``dynamic=True`` makes height and width dynamic too; onnxruntime plans better for
    known sizes, and every runtime here feeds 640x640 anyway.
    """
    import onnx

    model = onnx.load(str(onnx_file))
    input_dims = model.graph.input[0].type.tensor_type.shape.dim
    for axis in (2, 3):
        input_dims[axis].Clear()
        input_dims[axis].dim_value = input_size
    output_dims = model.graph.output[0].type.tensor_type.shape.dim
    for axis, value in ((1, 4 + NUM_CLASSES), (2, anchors)):
        output_dims[axis].Clear()
        output_dims[axis].dim_value = value
    del model.graph.value_info[:]  # stale symbolic shapes; onnxruntime infers them again
    onnx.save(model, str(onnx_file))


def yolov8n(image_path: Path, passing: int = 300, models: Path = MODELS) -> BenchModel:
    """The calibrated YOLOv8n for ``image_path``, built once with the ``ultralytics`` environment."""
    directory = models / _key(image_path, "yolov8n", passing)
    cached = _load_cached(directory)
    if cached is not None:
        return cached
    python = envs.require(envs.ULTRALYTICS)
    tensor, *_ = floor.letterbox(read_rgb(image_path))
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "calibration.npy", tensor)
    completed = subprocess.run(
        [
            str(python),
            str(Path(__file__).with_name("tools") / "export_yolov8n.py"),
            "--calibration",
            str(directory / "calibration.npy"),
            "--passing",
            str(passing),
            "--out",
            str(directory / "export"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"building YOLOv8n with ultralytics failed:\n{completed.stderr[-4000:]}")
    details = json.loads(completed.stdout.strip().splitlines()[-1])
    onnx_file = directory / "yolov8n.onnx"
    shutil.copyfile(details["onnx"], onnx_file)
    _fix_spatial_size(onnx_file, 640, synthetic_yolo.anchors(640))
    in_onnxruntime = _count_passing(onnx_file, tensor)
    if in_onnxruntime != details["passing"]:
        raise RuntimeError(
            f"calibration did not carry over to ONNX: {in_onnxruntime} anchors pass in onnxruntime, "
            f"{details['passing']} in torch"
        )
    modelrt_package, reference_package = _write_packages(onnx_file, directory, 640, "yolov8n-random-calibrated")
    description = (
        f"YOLOv8n (Ultralytics {details['ultralytics_version']} yaml, random weights, {details['passing']} "
        f"anchors ≥ {CONFIDENCE} on the image), 640x640, output [B, 84, 8400]"
    )
    model = BenchModel(
        "yolov8n",
        description,
        onnx_file,
        modelrt_package,
        reference_package,
        640,
        details["passing"],
        details,
    )
    return _finish(model, directory)


def synthetic(
    image_path: Path, passing: int = 300, input_size: int = 640, trunk_depth: int = 20, models: Path = MODELS
) -> BenchModel:
    """The ``onnx.helper`` YOLOv8-shaped network (no heavy environment needed)."""
    directory = models / _key(image_path, "synthetic", input_size, trunk_depth, passing)
    cached = _load_cached(directory)
    if cached is not None:
        return cached
    tensor, *_ = floor.letterbox(read_rgb(image_path), size=input_size)
    onnx_file = synthetic_yolo.build(directory / "yolo_like.onnx", tensor, passing, trunk_depth=trunk_depth)
    modelrt_package, reference_package = _write_packages(onnx_file, directory, input_size, "yolo-like")
    anchors = synthetic_yolo.anchors(input_size)
    description = (
        f"YOLOv8-shaped onnx.helper network ({trunk_depth}-conv trunk, {passing} anchors ≥ {CONFIDENCE} on the "
        f"image), {input_size}x{input_size}, output [B, 84, {anchors}]"
    )
    model = BenchModel("synthetic", description, onnx_file, modelrt_package, reference_package, input_size, passing)
    return _finish(model, directory)
