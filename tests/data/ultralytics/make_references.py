"""Recreate the Ultralytics exports in this folder and Ultralytics' own predictions for them.

Ultralytics is the reference for how its exports must be run, so the parity tests compare modelrt with
what Ultralytics' predictor returns for the same ONNX files and images. The networks are tiny (random
weights, 8-16 channels, a 4-bin DFL head), built from Ultralytics' model YAMLs (detect, segment, pose,
obb and classify), so each file holds a few hundred KB. Their layers are rescaled so that boxes and scores
depend on the image, and the class biases set so that about 0.5% of the anchors pass the default
confidence of 0.25.

Random weights score some images far lower than others, so each detector reference records the
confidence threshold it was made with (the tests pass the same one): 0.25 where it keeps 10-60
anchors, else a threshold in the widest gap between anchor scores that keeps 10-60.

Run it in a throwaway environment, never the project's (it needs Ultralytics and torch):

    python3 -m venv /tmp/ul && /tmp/ul/bin/pip install ultralytics==8.4.190 onnx onnxslim onnxruntime
    /tmp/ul/bin/python tests/data/ultralytics/make_references.py [NAME ...]   # all, or only these exports

It writes ``images/*.png`` (square, wide, tall and grey scenes drawn from a fixed seed), one
``<model>.onnx`` per export and ``<model>.json`` with, per image, the input shape Ultralytics fed the
network, the SHA-256 of that input tensor, and its results: boxes (xyxy, original pixels),
confidences and classes, or a classifier's probabilities. Segmentation references add each mask as
COCO RLE (counts space-separated): the predictor's default masks (``retina_masks=False``, network-input
size) scaled to the original image by ``ops.scale_masks`` and kept where > 0.5; pose references add
the keypoints (x, y in original pixels, visibility); OBB references add each rotated box as ``xywhr``
(original pixels, radians) and record its axis-aligned bounds as ``xyxy``. It refuses to write references that sit on
a knife edge (a score within 0.1% of the confidence threshold, an overlap within 1e-4 of the NMS
IoU, classifier probabilities within 1e-4 of each other), so that the tests check behaviour, not
rounding.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime
import torch
import ultralytics
import yaml
from ultralytics import YOLO
from ultralytics.data.augment import LetterBox
from ultralytics.utils import YAML

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
MODEL_YAMLS = Path(ultralytics.__file__).parent / "cfg" / "models"
CONFIDENCE, IOU = 0.25, 0.7
# Knife-edge margins: a reference this close to a threshold (or to a tie) is not stable to test against.
# Scores are compared relatively (random weights score some images around 1e-3), the rest absolutely.
SCORE_MARGIN = 1e-3
MARGIN = 1e-4
DETECTOR_CLASSES = ("person", "car", "dog")
CLASSIFIER_CLASSES = tuple(f"class{index}" for index in range(10))


def draw_scene(height: int, width: int, seed: int) -> np.ndarray:
    """A BGR picture: a smooth gradient with filled rectangles and ellipses (it compresses well as PNG)."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, height)[:, None, None]
    cols = np.linspace(0, 1, width)[None, :, None]
    corners = rng.uniform(40, 215, (4, 3))
    image = (
        corners[0] * (1 - rows) * (1 - cols)
        + corners[1] * (1 - rows) * cols
        + corners[2] * rows * (1 - cols)
        + corners[3] * rows * cols
    ).astype(np.uint8)
    for _ in range(24):
        color = tuple(int(value) for value in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = (int(value) for value in rng.integers(4, max(8, min(height, width) // 2), 2))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x - w // 2, y - h // 2), (x + w // 2, y + h // 2), color, thickness=-1)
        else:
            cv2.ellipse(image, (x, y), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, color, thickness=-1)
    return image


def write_images() -> list[Path]:
    """Square, wide (1920x200), tall and grey scenes; the grey one is a single-channel PNG."""
    IMAGES.mkdir(exist_ok=True)
    scenes = {"square": (512, 512, 1), "wide": (200, 1920, 2), "tall": (1000, 360, 3), "grey": (375, 500, 4)}
    paths = []
    for name, (height, width, seed) in scenes.items():
        image = draw_scene(height, width, seed)
        if name == "grey":
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        path = IMAGES / f"{name}.png"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        paths.append(path)
    return paths


def tiny_model(family: str, task: str, classes: tuple[str, ...], seed: int, workdir: Path) -> YOLO:
    """Ultralytics' own model YAML at scale n, its layers capped at 8 channels (the box branch keeps 16)."""
    folder = "11" if family.startswith("yolo11") else "v8"
    config = YAML.load(MODEL_YAMLS / folder / f"{family}.yaml")
    config.update(scales={"n": [0.33, 0.25, 32]}, scale="n", nc=len(classes))
    if task in ("detect", "segment", "pose", "obb"):
        config["reg_max"] = 4  # a 4-bin DFL keeps the box branch at 16 channels instead of 64
    path = workdir / f"tiny-{family}.yaml"
    path.write_text(yaml.safe_dump(config))
    torch.manual_seed(seed)
    model = YOLO(str(path), task=task)
    model.model.names = dict(enumerate(classes))
    return model


def letterboxed(images: list[Path], imgsz: int | tuple[int, int]) -> list[torch.Tensor]:
    """Network inputs to calibrate the random weights on (any reasonable preprocessing will do)."""
    tensors = []
    for path in images:
        image = LetterBox(imgsz, auto=False)(image=cv2.imread(str(path), cv2.IMREAD_COLOR))
        tensors.append(torch.from_numpy(image[..., ::-1].transpose(2, 0, 1).copy())[None].float() / 255)
    return tensors


def layer_outputs(network: torch.nn.Module, layer: torch.nn.Module, tensors: list[torch.Tensor]) -> torch.Tensor:
    """What ``layer`` outputs without its bias, one row per position, over all ``tensors``."""
    outputs: list[torch.Tensor] = []

    def record(module: torch.nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        if module.bias is not None:
            output = output - (module.bias[:, None, None] if output.ndim == 4 else module.bias)
        outputs.append(output.flatten(2).transpose(1, 2).reshape(-1, output.shape[1]) if output.ndim == 4 else output)

    hook = layer.register_forward_hook(record)
    with torch.no_grad():
        for tensor in tensors:
            network(tensor)
    hook.remove()
    return torch.cat(outputs)


def unit_activations(model: YOLO, tensors: list[torch.Tensor]) -> None:
    """Rescale each trainable layer, in order, so its output has unit spread on ``tensors``.

    Random initialisation shrinks activations layer after layer, until every anchor gets the same box
    and score and every image the same class probabilities; rescaled, the network responds to its input.
    """
    network = model.model.eval()
    layers = [
        module
        for module in network.modules()
        if isinstance(module, torch.nn.Conv2d | torch.nn.Linear) and module.weight.requires_grad
    ]
    for layer in layers:
        spread = float(layer_outputs(network, layer, tensors).std())
        with torch.no_grad():
            layer.weight.mul_(1.0 / spread)


def calibrate_detector(model: YOLO, images: list[Path], imgsz: int | tuple[int, int]) -> None:
    """Varied boxes, and class biases set so that about 0.5% of all anchors score at least ``CONFIDENCE``."""
    tensors = letterboxed(images, imgsz)
    unit_activations(model, tensors)
    head = model.model.model[-1]
    logits = torch.cat([layer_outputs(model.model, branch[-1], tensors).max(1).values for branch in head.cv3])
    bias = math.log(CONFIDENCE / (1 - CONFIDENCE)) - float(torch.quantile(logits, 0.995))
    with torch.no_grad():
        for branch in head.cv3:
            branch[-1].bias.fill_(bias)


def export(model: YOLO, name: str, workdir: Path, **options: Any) -> Path:
    exported = Path(model.export(format="onnx", **options))
    target = HERE / f"{name}.onnx"
    shutil.move(exported, target)
    for leftover in workdir.glob("*.onnx"):
        leftover.unlink()
    return target


def input_tensor(predictor: Any, path: Path) -> torch.Tensor:
    """The tensor Ultralytics' predictor fed the network for ``path``."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return predictor.preprocess([image])


def tensor_record(predictor: Any, path: Path) -> dict[str, Any]:
    tensor = input_tensor(predictor, path).numpy().astype(np.float32)
    return {"input_shape": list(tensor.shape), "input_sha256": hashlib.sha256(tensor.tobytes()).hexdigest()}


def stable_threshold(session: onnxruntime.InferenceSession, tensor: np.ndarray, classes: int) -> float:
    """``CONFIDENCE`` where it keeps 10-60 anchors with no score near it, else the middle of the widest
    gap between two anchor scores that keeps 10-60 (random weights score some images far lower)."""
    output = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    scores = np.sort(output[0, 4 : 4 + classes].max(axis=0))[::-1].astype(np.float64)
    kept = int((scores > CONFIDENCE).sum())
    if 10 <= kept <= 60 and (np.abs(scores / CONFIDENCE - 1) > SCORE_MARGIN).all():
        return CONFIDENCE
    ratios = scores[9:60] / scores[10:61]
    widest = int(np.argmax(ratios)) + 9
    if ratios.max() <= 1 + 2 * SCORE_MARGIN:
        raise SystemExit(f"no stable confidence threshold: scores {scores[:61]}")
    return float(np.sqrt(scores[widest] * scores[widest + 1]))


def mask_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE: run lengths over the column-major pixels, starting with a run of zeros."""
    pixels = np.concatenate([[0], mask.astype(np.uint8).ravel(order="F"), [0]])
    changes = np.flatnonzero(pixels[1:] != pixels[:-1])
    counts = np.diff(np.concatenate([[0], changes, [mask.size]])).tolist()
    return {"size": list(mask.shape), "counts": " ".join(str(count) for count in counts)}


def instance_details(result: Any, task: str) -> dict[str, Any]:
    """Masks in original-image pixels (``scale_masks`` of the predictor's masks, kept where > 0.5) or keypoints."""
    if task == "segment":
        if result.masks is None:
            return {"masks": []}
        scaled = ultralytics.utils.ops.scale_masks(result.masks.data[None].float(), result.orig_shape)[0] > 0.5
        return {"masks": [mask_rle(mask) for mask in scaled.numpy()]}
    if task == "pose":
        return {"keypoints": result.keypoints.data.numpy().astype(float).tolist()}
    if task == "obb":
        return {"xywhr": result.obb.xywhr.numpy().astype(float).tolist()}
    return {}


def detections(
    onnx_path: Path, images: list[Path], task: str = "detect", classes: int = len(DETECTOR_CLASSES)
) -> dict[str, Any]:
    model = YOLO(str(onnx_path), task=task)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    records: dict[str, Any] = {}
    for path in images:
        model.predict(str(path), verbose=False)  # sets up the predictor that preprocesses
        threshold = stable_threshold(session, input_tensor(model.predictor, path).numpy(), classes)
        (result,) = model.predict(str(path), conf=threshold, iou=IOU, verbose=False)
        boxes = result.obb if task == "obb" else result.boxes
        nearby_settings = (
            (threshold * (1 - SCORE_MARGIN), IOU),
            (threshold * (1 + SCORE_MARGIN), IOU),
            (threshold, IOU - MARGIN),
        )
        for conf, iou in nearby_settings:
            (nearby,) = model.predict(str(path), conf=conf, iou=iou, verbose=False)
            if len(nearby.obb if task == "obb" else nearby.boxes) != len(boxes):
                raise SystemExit(f"{onnx_path.name} on {path.name}: conf={conf} iou={iou} changes the count")
        records[path.name] = {
            **tensor_record(model.predictor, path),
            "confidence_threshold": threshold,
            "xyxy": boxes.xyxy.numpy().astype(float).tolist(),
            "confidence": boxes.conf.numpy().astype(float).tolist(),
            "class_id": boxes.cls.numpy().astype(int).tolist(),
            **instance_details(result, task),
        }
    return records


def classifications(onnx_path: Path, images: list[Path]) -> dict[str, Any]:
    model = YOLO(str(onnx_path), task="classify")
    records: dict[str, Any] = {}
    for path in images:
        (result,) = model.predict(str(path), verbose=False)
        probabilities = result.probs.data.numpy().astype(float)
        top = np.sort(probabilities)[::-1][:6]
        if np.min(-np.diff(top)) < MARGIN:
            raise SystemExit(f"{onnx_path.name} on {path.name}: top-5 probabilities too close to order: {top}")
        records[path.name] = {**tensor_record(model.predictor, path), "probabilities": probabilities.tolist()}
    return records


def write_reference(onnx_path: Path, export_options: dict[str, Any], predictions: dict[str, Any]) -> None:
    reference = {
        "model": onnx_path.name,
        "ultralytics": ultralytics.__version__,
        "export": export_options,
        "predictions": predictions,
    }
    onnx_path.with_suffix(".json").write_text(json.dumps(reference, indent=1) + "\n")


def main(only: set[str]) -> None:
    """Write every export and reference, or only those named in ``only`` when it is not empty."""
    images = write_images()
    detectors = [
        # name, model family, seed, export options
        ("yolov8-320", "yolov8", 1, {"imgsz": 320}),
        ("yolo11-384x640", "yolo11", 2, {"imgsz": [384, 640]}),
        ("yolov8-dynamic", "yolov8", 3, {"imgsz": 640, "dynamic": True}),
        ("yolov8-dynamic-unsimplified", "yolov8", 3, {"imgsz": 640, "dynamic": True, "simplify": False}),
    ]
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        for name, family, seed, options in detectors:
            if only and name not in only:
                continue
            model = tiny_model(family, "detect", DETECTOR_CLASSES, seed, workdir)
            calibrate_detector(model, images, options["imgsz"])
            onnx_path = export(model, name, workdir, **options)
            write_reference(onnx_path, options, detections(onnx_path, images))
        instance_models = [
            # name, model family, task, seed, export options
            ("yolov8-seg-320", "yolov8-seg", "segment", 5, {"imgsz": 320}),
            ("yolo11-seg-384x640", "yolo11-seg", "segment", 6, {"imgsz": [384, 640]}),
            ("yolov8-pose-320", "yolov8-pose", "pose", 7, {"imgsz": 320}),
            ("yolov8-obb-320", "yolov8-obb", "obb", 8, {"imgsz": 320}),
            ("yolo11-obb-384x640", "yolo11-obb", "obb", 9, {"imgsz": [384, 640]}),
        ]
        for name, family, task, seed, options in instance_models:
            if only and name not in only:
                continue
            classes = ("person",) if task == "pose" else DETECTOR_CLASSES
            model = tiny_model(family, task, classes, seed, workdir)
            calibrate_detector(model, images, options["imgsz"])
            onnx_path = export(model, name, workdir, **options)
            write_reference(onnx_path, options, detections(onnx_path, images, task, len(classes)))
        if only and "yolov8-cls-224" not in only:
            return
        classifier_options = {"imgsz": 224}
        model = tiny_model("yolov8-cls", "classify", CLASSIFIER_CLASSES, 4, workdir)
        unit_activations(model, letterboxed(images, 224))
        onnx_path = export(model, "yolov8-cls-224", workdir, **classifier_options)
        write_reference(onnx_path, classifier_options, classifications(onnx_path, images))


if __name__ == "__main__":
    main(set(sys.argv[1:]))
