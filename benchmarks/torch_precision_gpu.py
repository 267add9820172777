"""fp32 against fp16 for the torch demo models on a CUDA GPU, and what ``precision="auto"`` chose.

    python -m benchmarks.torch_precision_gpu [--runs 50] [--json]

For MobileNetV2 (classifier, and the embedder's pooled features) the session's ``run`` is timed on a
random tensor at batch 1 and 8, the fp32 and fp16 loads interleaved round by round (``harness.interleave``),
then a third load with ``precision="auto"`` (its decision cached under a temporary ``MODELRT_CACHE``)
shows which precision the rule picked and the note it wrote. This is the evidence behind the rule in
``modelrt_torch/auto_precision.py``: run it on each GPU class and compare. Without a GPU that torch can
use it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from typing import Any

import numpy as np

from benchmarks import harness
from benchmarks.torch_e2e import packages

MODELS = ("mobilenet-v2-imagenet", "mobilenet-v2-embedder")
BATCHES = (1, 8)


def measure(model_name: str, runs: int) -> dict[str, Any]:
    import torch

    import modelrt

    package = packages() / model_name
    loaded = {
        precision: modelrt.load(package, backend="torch", device="cuda", precision=precision, warmup=0)
        for precision in ("fp32", "fp16")
    }
    result: dict[str, Any] = {"model": model_name, "batches": {}}
    try:
        name = loaded["fp32"].sessions["main"].inputs[0].name
        for batch in BATCHES:
            tensor = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)

            def variant(model: modelrt.Model, feed: np.ndarray = tensor) -> Any:
                def run() -> dict[str, float]:
                    model.sessions["main"].run({name: feed})
                    torch.cuda.synchronize()
                    return {}

                return run

            rows = harness.interleave({p: variant(m) for p, m in loaded.items()}, runs=runs, warmup=5)
            medians = {p: harness.summarise([row["total"] for row in rows[p]])["median_ms"] for p in loaded}
            ratio = harness.paired_ratio(rows["fp16"], rows["fp32"])
            result["batches"][batch] = {"fp32_ms": medians["fp32"], "fp16_ms": medians["fp16"], "fp16_over_fp32": ratio}
    finally:
        for model in loaded.values():
            model.close()
    with modelrt.load(package, backend="torch", device="cuda", warmup=0) as auto:
        result["auto"] = getattr(auto.sessions["main"], "precision", "?")
        result["auto_note"] = next((note for note in auto.plan.notes if "precision auto" in note), "")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("skipped: torch is not installed")
        return 0
    if not torch.cuda.is_available():
        print("skipped: no NVIDIA GPU that torch can use")
        return 0
    with tempfile.TemporaryDirectory() as cache:
        os.environ["MODELRT_CACHE"] = cache  # auto measures afresh, not from an earlier run's decision
        results = [measure(model, args.runs) for model in MODELS]
    if args.json:
        print(
            json.dumps({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "models": results}, indent=1)
        )
        return 0
    gpu = torch.cuda.get_device_name(0)
    print(f"{gpu}, torch {torch.__version__}: session.run median ms, {args.runs} interleaved runs")
    for result in results:
        for batch, row in result["batches"].items():
            print(
                f"  {result['model']:24} batch {batch}: fp32 {row['fp32_ms']:.2f}  fp16 {row['fp16_ms']:.2f}  "
                f"fp16/fp32 paired {row['fp16_over_fp32']:.3f}"
            )
        print(f"  {result['model']:24} auto -> {result['auto']}: {result['auto_note']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
