"""Build YOLOv8n from Ultralytics' yaml with random weights, calibrate its class head, export to ONNX.

Run with the ``ultralytics`` environment's Python (``benchmarks/envs.py``); prints a JSON summary.

With plain random weights no anchor reaches a 0.25 score, so post-processing would cost nothing and
a benchmark would flatter every runtime. BatchNorm statistics are first set from the calibration image
(see ``recalibrate_batchnorm``). Then the last class convolution of each level is rescaled so the
class logits on the calibration image have mean 0 and standard deviation 1, then shifted by one bias
so that exactly ``--passing`` anchors score at least 0.25 there: a realistic NMS load. The threshold
sits halfway between the ``passing``-th and the next anchor's best logit, so rounding differences
between runtimes cannot move an anchor across it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("YOLO_OFFLINE", "1")  # no update checks, no settings sync: it runs offline

import numpy as np
import torch
import ultralytics
from ultralytics import YOLO

MIN_GAP = 0.02  # logits, once scaled to std 1


def recalibrate_batchnorm(detection_model: torch.nn.Module, image: torch.Tensor) -> None:
    """Set every BatchNorm's statistics from the calibration image, so activations keep unit scale.

    With PyTorch's default initialisation and identity BatchNorm statistics, YOLOv8n's activations
    shrink layer after layer to about 1e-7 at the head: every anchor then predicts nearly the same
    box and score, whatever the image. Real trained networks normalise their activations, and so does
    one training-mode pass with momentum 1.
    """
    for module in detection_model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = 1.0
    detection_model.train()
    with torch.no_grad():
        detection_model(image)
    detection_model.eval()


def class_convs(detection_model: Any) -> list[torch.nn.Conv2d]:
    """The last convolution of the class branch of each level (``Detect.cv3``)."""
    head = detection_model.model[-1]
    return [branch[-1] for branch in head.cv3]


def class_logits(detection_model: torch.nn.Module, image: torch.Tensor) -> torch.Tensor:
    """The raw class logits ``[classes, anchors]`` of every level, in the head's anchor order."""
    captured: list[torch.Tensor] = []
    hooks = [
        conv.register_forward_hook(lambda _m, _i, out: captured.append(out)) for conv in class_convs(detection_model)
    ]
    try:
        with torch.no_grad():
            detection_model(image)
    finally:
        for hook in hooks:
            hook.remove()
    return torch.cat([level[0].flatten(1) for level in captured], dim=1)


def calibrate(detection_model: torch.nn.Module, image: torch.Tensor, passing: int) -> dict[str, float]:
    """Rescale and shift the class convolutions; returns what was done and how many anchors pass."""
    convs = class_convs(detection_model)
    with torch.no_grad():
        for conv in convs:  # drop the per-level prior (-8 to -11), which would dominate the spread
            conv.bias.zero_()  # type: ignore[union-attr]  # the head's convolutions have a bias
    logits = class_logits(detection_model, image)
    mean, std = float(logits.mean()), float(logits.std())
    best = ((logits - mean) / std).max(dim=0).values.sort(descending=True).values
    # Anchors in the uniform letterbox padding have identical logits: put the threshold in the gap
    # nearest to ``passing`` that is wide enough, never inside a group of equal anchors.
    gaps = best[:-1] - best[1:]
    wide = torch.nonzero(gaps >= MIN_GAP).flatten() + 1  # counts that leave a gap after them
    count = int(wide[torch.argmin((wide - passing).abs())])
    threshold = math.log(0.25 / 0.75)
    shift = threshold - float(best[count - 1] + best[count]) / 2
    with torch.no_grad():
        for conv in convs:
            conv.weight /= std
            conv.bias.fill_(shift - mean / std)  # type: ignore[union-attr]
    scores = torch.sigmoid(class_logits(detection_model, image)).max(dim=0).values
    return {
        "requested_passing": passing,
        "passing": count,
        "passing_in_torch": int((scores >= 0.25).sum()),
        "logit_mean": mean,
        "logit_std": std,
        "class_bias": shift - mean / std,
        "margin": float(best[count - 1] - best[count]) / 2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calibration", required=True, help=".npy float32 [1, 3, 640, 640] letterboxed RGB / 255")
    parser.add_argument("--passing", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="directory for yolov8n.onnx")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    yolo = YOLO("yolov8n.yaml")
    detection_model = yolo.model.eval()
    image = torch.from_numpy(np.load(args.calibration))
    recalibrate_batchnorm(detection_model, image)
    summary = calibrate(detection_model, image, args.passing)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)  # the exporter writes next to the model's name, yolov8n.onnx
    exported = yolo.export(format="onnx", imgsz=640, dynamic=True, simplify=False, device="cpu")
    print(
        json.dumps(
            {
                **summary,
                "onnx": str(Path(exported).resolve()),
                "ultralytics_version": ultralytics.__version__,
                "torch_version": str(torch.__version__),
            }
        )
    )


if __name__ == "__main__":
    main()
