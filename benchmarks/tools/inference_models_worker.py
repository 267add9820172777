"""The reference runtime, inference-models, answering timing requests over stdin/stdout (JSON lines).

Run with the ``inference-models`` environment's Python. It loads a local package as its users do
(``AutoModel.from_pretrained(directory)``), reads the image with OpenCV and passes it as the BGR array
inference-models expects by default, then answers one request per line:

- ``{"op": "detect", "batch": B}`` -> the detections of the first image (xyxy, confidence, class_id);
- ``{"op": "time", "batch": B}`` -> seconds of one call: ``pre``, ``run``, ``post`` and ``total``;
- ``{"op": "time-session"}`` -> seconds of its onnxruntime session's ``run`` alone, on its own
  pre-processed tensor of the image (what its onnxruntime, capped below 1.23, costs by itself);
- ``{"op": "quit"}``.

The stages are its own ``pre_process``, ``forward`` and ``post_process``, called in sequence exactly
as its ``infer`` does. The thread count is made equal to the other variants': ``torch.set_num_threads``
and the onnxruntime session's ``intra_op_num_threads`` (inference-models creates its session without
options, which leaves onnxruntime's default of one thread per physical core). Nothing else is changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def _threaded_sessions(onnxruntime: Any, threads: int) -> None:
    """Make ``onnxruntime.InferenceSession`` use ``threads`` intra-op threads, all else left default."""
    original = onnxruntime.InferenceSession

    class InferenceSession(original):  # type: ignore[misc, valid-type]
        def __init__(self, path_or_bytes: Any, sess_options: Any = None, *args: Any, **kwargs: Any) -> None:
            options = sess_options or onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            super().__init__(path_or_bytes, options, *args, **kwargs)

    onnxruntime.InferenceSession = InferenceSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--confidence", type=float, required=True)
    parser.add_argument("--iou", type=float, required=True)
    parser.add_argument("--max-detections", type=int, required=True)
    args = parser.parse_args()

    start = time.perf_counter()
    import cv2
    import onnxruntime
    import torch

    torch.set_num_threads(args.threads)
    _threaded_sessions(onnxruntime, args.threads)
    import inference_models
    from inference_models import AutoModel

    model = AutoModel.from_pretrained(args.package)
    load_seconds = time.perf_counter() - start
    image = cv2.imread(args.image, cv2.IMREAD_COLOR)  # BGR, inference-models' default for numpy input
    thresholds = {"confidence": args.confidence, "iou_threshold": args.iou, "max_detections": args.max_detections}
    session: Any = model._session  # its onnxruntime session (YOLOv8ForObjectDetectionOnnx keeps it there)
    ready = {
        "ready": True,
        "load_seconds": load_seconds,
        "inference_models": inference_models.__version__ if hasattr(inference_models, "__version__") else None,
        "onnxruntime": onnxruntime.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "providers": session.get_providers(),
        "model_class": type(model).__name__,
    }
    print(json.dumps(ready), flush=True)

    def run(batch: int) -> tuple[Any, dict[str, float]]:
        images = image if batch == 1 else [image] * batch
        t0 = time.perf_counter()
        tensor, metadata = model.pre_process(images)
        t1 = time.perf_counter()
        raw = model.forward(tensor)
        t2 = time.perf_counter()
        detections = model.post_process(raw, metadata, **thresholds)
        t3 = time.perf_counter()
        return detections, {"pre": t1 - t0, "run": t2 - t1, "post": t3 - t2, "total": t3 - t0}

    tensor = model.pre_process(image)[0].numpy()

    def session_run() -> dict[str, float]:
        start = time.perf_counter()
        session.run(None, {session.get_inputs()[0].name: tensor})
        seconds = time.perf_counter() - start
        return {"run": seconds, "total": seconds}

    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            break
        if request["op"] == "time-session":
            print(json.dumps(session_run()), flush=True)
            continue
        detections, seconds = run(int(request.get("batch", 1)))
        if request["op"] == "detect":
            first = detections[0]
            reply = {
                "count": len(detections),
                "xyxy": first.xyxy.cpu().numpy().tolist(),
                "confidence": first.confidence.cpu().numpy().tolist(),
                "class_id": first.class_id.cpu().numpy().tolist(),
            }
        else:
            reply = seconds
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
