"""Steady-state speed, side by side: raw ``session.run``, the numpy floor, modelrt, inference-models.

Issue items 1-5 in one interleaved run: every round calls each variant once, in a shuffled order,
with a short idle pause after each call (so the thread pool that just ran has stopped spinning
before the next variant starts). Same model file, same image, same thresholds (confidence 0.25, IoU
0.7, at most 300, class-aware), same intra-op thread count, and the onnxruntime sessions in this
process get the same options. Before anything is timed, every variant's detections are checked equal
to the numpy floor's (batch 8: each image's), so nobody wins by doing less work.

Image decoding is excluded: every variant starts from the same decoded array (inference-models gets
it in BGR order, its default for numpy input).

With ``profile_dir``, modelrt's stages are profiled after the timing (``benchmarks/profiles.py``).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import floor, harness, profiles
from benchmarks.models import CONFIDENCE, IOU, MAX_DETECTIONS, BenchModel, read_rgb
from benchmarks.reference import ReferenceWorker
from modelrt.results import Detections

RAW, FLOOR, MODELRT, REFERENCE = "raw session.run", "numpy floor", "modelrt", "inference-models"
# The reference's onnxruntime session alone (its own, older onnxruntime), to tell its runtime from its code.
REFERENCE_RAW = "inference-models session.run"
# Boxes from inference-models are rounded to whole pixels.
REFERENCE_BOX_ATOL = 0.51

Triple = tuple[np.ndarray, np.ndarray, np.ndarray]


def raw_session(model_file: Path, threads: int, spinning: bool) -> Any:
    """The floor's session, configured as modelrt configures its own."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def batched(name: str, batch: int) -> str:
    return name if batch == 1 else f"{name} x{batch}"


class _Variants:
    """The in-process variants around one model, and the checks that they agree."""

    def __init__(self, model: BenchModel, image: np.ndarray, threads: int, spinning: bool) -> None:
        import modelrt

        self.image = image
        self.size = model.input_size
        self.model = modelrt.load(
            model.modelrt_package, threads=threads, warmup=0, extras={"onnxruntime": {"allow_spinning": spinning}}
        )
        self.session = raw_session(model.onnx, threads, spinning)
        self.input_name = self.session.get_inputs()[0].name
        self.tensor, *_ = floor.letterbox(image, self.size)

    def floor_predict(self) -> tuple[Triple, dict[str, float]]:
        t0 = time.perf_counter()
        x, scale, left, top = floor.letterbox(self.image, self.size)
        t1 = time.perf_counter()
        out = self.session.run(None, {self.input_name: x})[0]
        t2 = time.perf_counter()
        result = floor.decode(out, scale, left, top, self.image.shape[:2], CONFIDENCE, IOU, MAX_DETECTIONS)
        t3 = time.perf_counter()
        return result, {"pre": t1 - t0, "run": t2 - t1, "post": t3 - t2}

    def modelrt_predict(self, batch: int) -> tuple[list[Triple], dict[str, float]]:
        from modelrt.timing import StageTimer

        timer = StageTimer()
        results = self.model.predict([self.image] * batch, color="rgb", timer=timer)
        assert isinstance(results, list)  # a list in, a list out
        triples = [(r.xyxy, r.confidence, r.class_id) for r in results if isinstance(r, Detections)]
        return triples, {stage: timer.seconds[stage] for stage in ("pre", "run", "post")}

    def raw_run(self, batch: int) -> Callable[[], dict[str, float]]:
        tensor = np.ascontiguousarray(np.repeat(self.tensor, batch, axis=0))

        def run() -> dict[str, float]:
            start = time.perf_counter()
            self.session.run(None, {self.input_name: tensor})
            return {"run": time.perf_counter() - start}

        return run

    def close(self) -> None:
        self.model.close()


def check_agreement(variants: _Variants, batches: tuple[int, ...], reference: ReferenceWorker | None) -> int:
    """Detections of every variant equal the floor's; returns how many there are."""
    expected, _ = variants.floor_predict()
    for batch in batches:
        for index, found in enumerate(variants.modelrt_predict(batch)[0]):
            harness.assert_same_detections(expected, found, f"modelrt (batch {batch}, image {index}) vs numpy floor")
        if reference is not None:
            harness.assert_same_detections(
                expected,
                reference.detections(batch),
                f"inference-models (batch {batch}) vs numpy floor",
                box_atol=REFERENCE_BOX_ATOL,
            )
    return len(expected[0])


def _outside_run(rows: list[dict[str, float]], per: int) -> dict[str, float]:
    return harness.summarise([(row["total"] - row["run"]) / per for row in rows])


def run(
    model: BenchModel,
    image_path: Path,
    *,
    runs: int,
    warmup: int,
    threads: int,
    spinning: bool = False,
    batch: int = 8,
    reference: bool = True,
    pause_s: float = 0.05,
    profile_dir: Path | None = None,
    profile_rounds: int = profiles.ROUNDS,
) -> dict[str, Any]:
    """Time every variant (item 4 only with ``reference``); returns the ``e2e`` part of the report.

    With ``profile_dir``, modelrt's predict then runs ``profile_rounds`` more times at each batch size with
    each stage profiled, and the dumps go to that directory (never during the timing: profiling slows it).
    """
    image = read_rgb(image_path)
    variants = _Variants(model, image, threads, spinning)
    batches = (1, batch) if batch > 1 else (1,)
    worker = (
        ReferenceWorker(model.inference_models_package, image_path, threads, CONFIDENCE, IOU, MAX_DETECTIONS)
        if reference
        else None
    )
    try:
        detections = check_agreement(variants, batches, worker)
        timed: dict[str, Callable[[], Mapping[str, float]]] = {FLOOR: lambda: variants.floor_predict()[1]}
        for size in batches:
            timed[batched(RAW, size)] = variants.raw_run(size)
            timed[batched(MODELRT, size)] = lambda size=size: variants.modelrt_predict(size)[1]  # type: ignore[misc]
            if worker is not None:
                timed[batched(REFERENCE, size)] = lambda size=size: worker.time_once(size)  # type: ignore[misc]
        if worker is not None:
            timed[REFERENCE_RAW] = worker.time_session_run
        samples = harness.interleave(timed, runs=runs, warmup=warmup, pause_s=pause_s)
        if profile_dir is not None:
            profiles.predictions(variants.model, image, batches, profile_dir, profile_rounds)
        provider = variants.model.sessions["main"].provider
        reference_info = worker.info if worker is not None else None
    finally:
        variants.close()
        if worker is not None:
            worker.close()
    return _report(model, image_path, image, detections, samples, batches, threads, spinning, runs, warmup, pause_s) | {
        "provider": provider,
        "reference": reference_info,
    }


def _report(
    model: BenchModel,
    image_path: Path,
    image: np.ndarray,
    detections: int,
    samples: dict[str, list[dict[str, float]]],
    batches: tuple[int, ...],
    threads: int,
    spinning: bool,
    runs: int,
    warmup: int,
    pause_s: float,
) -> dict[str, Any]:
    variants: dict[str, Any] = {}
    pairs = [(MODELRT, RAW), (MODELRT, FLOOR), (MODELRT, REFERENCE), (REFERENCE_RAW, RAW)]
    pairs += [(batched(name, size), name) for name in (RAW, MODELRT, REFERENCE) for size in batches if size > 1]
    paired = {
        f"{a} / {b}": harness.paired_ratio(samples[a], samples[b]) / _images(a, batches) * _images(b, batches)
        for a, b in pairs
        if a in samples and b in samples
    }
    for name, rows in samples.items():
        per = _images(name, batches)
        entry: dict[str, Any] = {
            "batch": per,
            "per_image": harness.summarise_rows(rows, per),
            "per_image_vs_raw_paired": harness.paired_ratio(rows, samples[RAW]) / per,
        }
        if "pre" in rows[0]:
            entry["outside_model_run_per_image"] = _outside_run(rows, per)
        variants[name] = entry
    return {
        "model": model.description,
        "model_kind": model.kind,
        "image": image_path.name,
        "image_shape": list(image.shape),
        "detections": detections,
        "threads": threads,
        "spinning": spinning,
        "runs": runs,
        "warmup": warmup,
        "pause_ms": 1000 * pause_s,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "variants": variants,
        "paired_ratios": paired,
    }


def _images(name: str, batches: tuple[int, ...]) -> int:
    """Images per call of a variant, from its name."""
    return next((size for size in batches if size > 1 and name.endswith(f" x{size}")), 1)
