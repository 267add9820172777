"""modelrt end to end vs raw ``session.run`` vs the numpy floor, interleaved in one process.

Same model (YOLOv8-shaped, 640x640, ~300 anchors over 0.25), same image, same thresholds (confidence
0.25, IoU 0.7, max 300, class-aware), same intra-op thread count and session options. Image decoding is
excluded: every variant starts from the same decoded RGB array.

modelrt and the floor hold two onnxruntime sessions in one process. With thread spinning on (onnxruntime's
default), the pool that ran last keeps spinning and slows whichever session runs next on a small machine,
so by default both sessions run with spinning off: the comparison then measures the code, not the
order of the calls. ``--spinning on`` shows the other case.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import floor, harness, synthetic_yolo

CONFIDENCE, IOU, MAX_DETECTIONS = 0.25, 0.7, 300
REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / ".cache"


def prepare(image_path: Path, cache: Path = CACHE, passing: int = 300) -> tuple[Path, np.ndarray]:
    """Build (once per image) the calibrated model and its modelrt package; return (package, image)."""
    import cv2

    from modelrt.package_builder import build_package

    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[:, :, ::-1].copy()
    package = cache / f"yolo-like-{image_path.stem}-{passing}"
    if not (package / "modelrt.json").exists():
        tensor, *_ = floor.letterbox(image)
        model_file = synthetic_yolo.build(cache / f"build-{image_path.stem}" / "yolo_like.onnx", tensor, passing)
        build_package(
            model_file,
            package,
            task="object-detection",
            labels=[f"class{i}" for i in range(synthetic_yolo.NUM_CLASSES)],
            name="yolo-like",
            input_spec={"size": [640, 640], "resize": "letterbox", "pad_value": 114},
            postprocess={"confidence": CONFIDENCE, "iou": IOU, "max_detections": MAX_DETECTIONS},
        )
    return package, image


def raw_session(model_file: Path, threads: int, spinning: bool) -> Any:
    """The floor's session, configured as modelrt configures its own."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def run(image_path: Path, runs: int, warmup: int, threads: int, spinning: bool) -> dict[str, Any]:
    import time

    import modelrt
    from modelrt.timing import StageTimer

    package, image = prepare(image_path)
    model = modelrt.load(package, threads=threads, warmup=0, extras={"onnxruntime": {"allow_spinning": spinning}})
    session = raw_session(package / "yolo_like.onnx", threads, spinning)
    input_name = session.get_inputs()[0].name
    tensor, *_ = floor.letterbox(image)

    def floor_predict() -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], dict[str, float]]:
        t0 = time.perf_counter()
        x, s, dx, dy = floor.letterbox(image)
        t1 = time.perf_counter()
        out = session.run(None, {input_name: x})[0]
        t2 = time.perf_counter()
        result = floor.decode(out, s, dx, dy, image.shape[:2], CONFIDENCE, IOU, MAX_DETECTIONS)
        t3 = time.perf_counter()
        return result, {"pre": t1 - t0, "run": t2 - t1, "post": t3 - t2}

    def modelrt_predict() -> tuple[Any, dict[str, float]]:
        timer = StageTimer()
        detections = model.predict(image, timer=timer)
        return detections, timer.seconds

    expected, _ = floor_predict()
    detections, _ = modelrt_predict()
    harness.assert_same_detections(
        expected, (detections.xyxy, detections.confidence, detections.class_id), "modelrt vs numpy floor"
    )

    def raw() -> dict[str, float]:
        session.run(None, {input_name: tensor})
        return {}

    samples = harness.interleave(
        {"raw session.run": raw, "numpy floor": lambda: floor_predict()[1], "modelrt": lambda: modelrt_predict()[1]},
        runs=runs,
        warmup=warmup,
    )
    report: dict[str, Any] = {
        "model": "yolo-like 640x640 [1,84,8400]",
        "image": image_path.name,
        "image_shape": list(image.shape),
        "detections": len(detections),
        "threads": threads,
        "spinning": spinning,
        "runs": runs,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "provider": model.sessions["main"].provider,
        "variants": {},
    }
    for name, rows in samples.items():
        entry = {"total": harness.summarise([r["total"] for r in rows])}
        for stage in ("pre", "run", "post"):
            if stage in rows[0]:
                entry[stage] = harness.summarise([r[stage] for r in rows])
        report["variants"][name] = entry
    raw_ms = report["variants"]["raw session.run"]["total"]["median_ms"]
    floor_ms = report["variants"]["numpy floor"]["total"]["median_ms"]
    ours = samples["modelrt"]
    ours_ms = report["variants"]["modelrt"]["total"]["median_ms"]
    outside = [r["total"] - r["run"] for r in ours]
    report["ratios"] = {
        "modelrt / raw session.run": ours_ms / raw_ms,
        "modelrt / numpy floor": ours_ms / floor_ms,
    }
    report["modelrt_outside_model_run_ms"] = harness.summarise(outside)
    model.close()
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['model']} on {report['image']} {tuple(report['image_shape'])}, {report['detections']} detections, "
        f"{report['threads']} threads (spinning {'on' if report['spinning'] else 'off'}), {report['runs']} interleaved "
        f"runs, {report['provider']}",
        f"{'variant':<18}{'median ms':>11}{'p90 ms':>9}   stages (median ms)",
    ]
    for name, entry in report["variants"].items():
        stages = "  ".join(f"{s} {entry[s]['median_ms']:.2f}" for s in ("pre", "run", "post") if s in entry)
        lines.append(f"{name:<18}{entry['total']['median_ms']:>11.2f}{entry['total']['p90_ms']:>9.2f}   {stages}")
    for name, value in report["ratios"].items():
        lines.append(f"{name}: {value:.3f}x")
    outside = report["modelrt_outside_model_run_ms"]
    lines.append(
        f"modelrt time outside the model run: median {outside['median_ms']:.2f} ms, p90 {outside['p90_ms']:.2f} ms"
    )
    return "\n".join(lines)


def main(args: Any) -> int:
    report = run(Path(args.image), args.runs, args.warmup, args.threads, args.spinning == "on")
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0
