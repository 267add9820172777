"""The floor of each pre- and post-processing step, next to modelrt's own steps.

    python -m benchmarks.steps --model synthetic      # writes benchmarks/results/steps.json and steps.md

For the benchmark image and the model's real output, each step's best single OpenCV/numpy call (found
by trying the alternatives listed with it, into preallocated arrays where the call takes one) is timed
in the same interleaved rounds as modelrt's whole pre- and post-processing. The sum of the floor calls
is the least any runtime can spend on a step done this way; modelrt over that sum is its overhead.
The alternatives that lost are timed too, so the choice stays visible. NMS has no exact OpenCV
equivalent (``cv2.dnn.NMSBoxesBatched`` uses another IoU rounding and tie order); it is the speed floor,
not a reference for the result.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import envs, models

RESULTS = envs.REPO / "benchmarks" / "results"
Step = Callable[[], object]

# Which steps sum to the floor of a stage; the others are alternatives that lost.
PRE_FLOOR = ("resize (cv2.resize dst=)", "to planes (cv2.split mv=)", "normalise (3x cv2.LUT dst=)", "padding (fill)")
POST_FLOOR = (
    "best class score (max over rows, out=)",
    "threshold (flatnonzero)",
    "gather candidates (take columns)",
    "class ids (argmax of candidates)",
    "NMS (cv2.dnn.NMSBoxesBatched)",
)


def steps(model: Any, image: np.ndarray) -> dict[str, Step]:
    """Every timed step for one loaded modelrt ``model`` (a YOLOv8 detector) and one RGB ``image``."""
    import cv2

    architecture = model._architecture
    preprocessor = architecture.preprocessor
    tensor, transforms = preprocessor([image])
    outputs = architecture.run(tensor)
    settings = architecture.settings({})
    (transform,) = transforms
    (resized_h, resized_w), (left, top) = transform.resized_size, transform.offset
    input_h, input_w = transform.input_size
    content = np.empty((resized_h, resized_w, 3), np.uint8)
    planes = np.empty((3, resized_h, resized_w), np.uint8)
    out = np.empty((3, input_h, input_w), np.float32)
    region = out[:, top : top + resized_h, left : left + resized_w]
    lut = (np.arange(256, dtype=np.float64) * preprocessor.spec.scale).astype(np.float32)
    scale = np.float32(preprocessor.spec.scale)

    prediction = outputs[0][0]
    class_rows = prediction[4:]
    best = np.empty(prediction.shape[1], np.float32)
    anchors = np.flatnonzero(class_rows.max(axis=0) >= settings.confidence)
    candidates = prediction[:, anchors]
    boxes = np.ascontiguousarray(candidates[:4].T)
    boxes[:, :2] -= boxes[:, 2:] / 2  # x, y, w, h as OpenCV's NMS takes them
    scores, class_ids = candidates[4:].max(axis=0), candidates[4:].argmax(axis=0)

    def padding() -> None:
        for plane in out:
            plane[:top].fill(0.5)
            plane[top + resized_h :].fill(0.5)

    def modelrt_nms() -> object:
        from modelrt.nms import nms

        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        return nms(xyxy, scores, class_ids, settings.iou, settings.class_agnostic, settings.max_detections)

    return {
        "modelrt pre-processing": lambda: preprocessor([image]),
        "resize (cv2.resize dst=)": lambda: cv2.resize(image, (resized_w, resized_h), dst=content),
        "to planes (cv2.split mv=)": lambda: cv2.split(content, mv=list(planes)),
        "normalise (3x cv2.LUT dst=)": lambda: [cv2.LUT(planes[c], lut, dst=region[c]) for c in range(3)],
        "padding (fill)": padding,
        "alt: normalise and lay out (numpy multiply out=)": lambda: np.multiply(
            content.transpose(2, 0, 1), scale, out=region
        ),
        "alt: whole pre (cv2.dnn.blobFromImage)": lambda: cv2.dnn.blobFromImage(content, float(scale)),
        "modelrt post-processing": lambda: architecture.postprocess(outputs, transforms, settings),
        "best class score (max over rows, out=)": lambda: np.max(class_rows, axis=0, out=best),
        "threshold (flatnonzero)": lambda: np.flatnonzero(best >= settings.confidence),
        "gather candidates (take columns)": lambda: np.take(prediction, anchors, axis=1),
        "class ids (argmax of candidates)": lambda: candidates[4:].argmax(axis=0),
        "NMS (cv2.dnn.NMSBoxesBatched)": lambda: cv2.dnn.NMSBoxesBatched(
            boxes,  # type: ignore[arg-type]  # the stubs say sequences; arrays convert faster
            scores,
            class_ids,
            settings.confidence,
            settings.iou,
        ),
        "alt: best class score (cv2.reduce max)": lambda: cv2.reduce(class_rows, 0, cv2.REDUCE_MAX),
        "modelrt NMS alone": modelrt_nms,
    }


def time_steps(timed: dict[str, Step], rounds: int, seed: int = 0) -> dict[str, float]:
    """Median seconds of each step over ``rounds`` rounds, each round calling every step once in a
    shuffled order (so that load from elsewhere hits all steps alike)."""
    rng = random.Random(seed)
    names = list(timed)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm up: first calls allocate and fault pages in
        timed[name]()
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            start = time.perf_counter()
            timed[name]()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def report(medians: dict[str, float], command: str) -> dict[str, Any]:
    pre_floor = sum(medians[name] for name in PRE_FLOOR)
    post_floor = sum(medians[name] for name in POST_FLOOR)
    return {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "steps_ms": {name: 1000 * value for name, value in medians.items()},
        "pre": {"floor_ms": 1000 * pre_floor, "modelrt_ms": 1000 * medians["modelrt pre-processing"]},
        "post": {"floor_ms": 1000 * post_floor, "modelrt_ms": 1000 * medians["modelrt post-processing"]},
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Command: `{result['command']}` ({result['date']})", "", "| step | median ms |", "|---|---:|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in result["steps_ms"].items()]
    lines.append("")
    for stage in ("pre", "post"):
        floor, actual = result[stage]["floor_ms"], result[stage]["modelrt_ms"]
        lines.append(f"- {stage}: floor {floor:.3f} ms (sum of the floor calls), modelrt {actual:.3f} ms")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.steps", description=__doc__)
    parser.add_argument("--model", choices=["yolov8n", "synthetic"], default="synthetic")
    parser.add_argument("--image", help="benchmark image (default: the 1280x720 frame of python -m benchmarks)")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    parser.add_argument("--output", default=str(RESULTS), help="directory for steps.json and steps.md")
    args = parser.parse_args(argv)
    import modelrt

    image_path = Path(args.image) if args.image else models.hd_frame()
    bench_model = models.synthetic(image_path) if args.model == "synthetic" else models.yolov8n(image_path)
    with modelrt.load(bench_model.modelrt_package, threads=args.threads, warmup=0) as model:
        medians = time_steps(steps(model, models.read_rgb(image_path)), args.rounds)
    result = report(medians, " ".join(["python -m benchmarks.steps", *(argv if argv is not None else sys.argv[1:])]))
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "steps.json").write_text(json.dumps(result, indent=2) + "\n")
    (output / "steps.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
