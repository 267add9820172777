"""One fresh process measuring one start-up path; prints a JSON line. Run by ``benchmarks/startup.py``.

``import-modelrt`` and ``import-inference-models`` time the import (and, for modelrt, plugin
discovery) and count the modules loaded; the ``first-*`` modes go from a cold process to the first
prediction on an image file and print ``CLOCK_MONOTONIC`` at that moment, which the parent compares
with the moment it started the process (the clock is shared by all processes on Linux).
Only the standard library is imported before the path being measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

HEAVY = ("numpy", "cv2", "onnxruntime", "torch", "torchvision", "PIL", "huggingface_hub", "onnx")


def _heavy_loaded() -> list[str]:
    return [name for name in HEAVY if name in sys.modules]


def import_modelrt() -> dict[str, object]:
    before = len(sys.modules)
    start = time.perf_counter()
    import modelrt

    imported = time.perf_counter()
    after_import, heavy_after_import = len(sys.modules), _heavy_loaded()
    infos = modelrt.plugins()
    discovered = time.perf_counter()
    return {
        "import_s": imported - start,
        "import_modules": after_import - before,
        "import_heavy": heavy_after_import,
        "discovery_s": discovered - imported,
        "discovery_modules": len(sys.modules) - after_import,
        "discovery_heavy": _heavy_loaded(),
        "plugins": [f"{info.name}: {info.status}" for info in infos],
    }


def import_inference_models() -> dict[str, object]:
    before = len(sys.modules)
    start = time.perf_counter()
    import inference_models  # noqa: F401

    return {
        "import_s": time.perf_counter() - start,
        "import_modules": len(sys.modules) - before,
        "import_heavy": _heavy_loaded(),
    }


def first_raw(args: argparse.Namespace) -> int:
    """The least a program does: OpenCV, numpy letterbox and NMS around one onnxruntime session."""
    sys.path.insert(0, args.repo)
    import cv2
    import onnxruntime as ort

    from benchmarks import floor

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    image = cv2.imread(args.image, cv2.IMREAD_COLOR)[:, :, ::-1]  # type: ignore[index]  # a readable image
    tensor, scale, left, top = floor.letterbox(image, args.size)
    output = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    boxes, _, _ = floor.decode(output, scale, left, top, image.shape[:2], 0.25, 0.7, 300)
    return len(boxes)


def first_modelrt(args: argparse.Namespace) -> int:
    import modelrt

    options = {} if args.warmup is None else {"warmup": args.warmup}
    model = modelrt.load(args.model, threads=args.threads, **options)
    detections = model.predict(args.image)
    assert isinstance(detections, modelrt.Detections)  # one image in, one result out
    return len(detections)


def first_inference_models(args: argparse.Namespace) -> int:
    import cv2
    from inference_models import AutoModel

    model = AutoModel.from_pretrained(args.model)
    detections = model(cv2.imread(args.image, cv2.IMREAD_COLOR), confidence=0.25, iou_threshold=0.7)
    return len(detections[0].confidence)


FIRST = {"first-raw": first_raw, "first-modelrt": first_modelrt, "first-inference-models": first_inference_models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["import-modelrt", "import-inference-models", *FIRST])
    parser.add_argument("--model")
    parser.add_argument("--image")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--repo")
    parser.add_argument("--size", type=int, default=640, help="the network's input size (raw onnxruntime)")
    args = parser.parse_args()
    if args.mode == "import-modelrt":
        result = import_modelrt()
    elif args.mode == "import-inference-models":
        result = import_inference_models()
    else:
        detections = FIRST[args.mode](args)
        result = {"first_prediction_monotonic": time.monotonic(), "detections": detections}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
