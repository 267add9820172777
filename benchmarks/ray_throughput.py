"""Ray throughput and latency for modelrt: 1 vs 2 Ray Data actors (1 intra-op thread each) on 64 images,
and Ray Serve latency at concurrency 1 and 8 (``python -m benchmarks.ray_throughput [--model M]``).

Without ``--model`` it uses the demo's document-orientation package (``make demo`` writes it; a 224x224
classifier) when present, else the tests' tiny classifier built with ``onnx.helper``. Prints one JSON
document.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
IMAGES = sorted((REPO / "demo" / "images").glob("*.png"))


def _default_model() -> Path:
    packaged = REPO / "demo" / "packages" / "orientation"  # written by `make demo`
    if (packaged / "modelrt.json").exists():
        return packaged
    sys.path.insert(0, str(REPO / "tests" / "ray"))
    from conftest import colour_classifier

    return colour_classifier(Path(tempfile.mkdtemp()) / "classifier.onnx")


def data_throughput(ray: Any, model: Path, actors: int, count: int) -> dict[str, float]:
    """Images per second through ``predict_dataset``, ``actors`` actors of half a CPU and one thread each
    (half, so Ray Data keeps a CPU for its own tasks on a 2-core machine): over the whole run, actor
    start-up included, and from the first batch out to the last."""
    from modelrt.ray import predict_dataset

    paths = [str(IMAGES[index % len(IMAGES)]) for index in range(count)]
    dataset = ray.data.from_items([{"image": path} for path in paths])
    predictions = predict_dataset(dataset, model, concurrency=actors, num_cpus=0.5, threads=1, batch_size=4)
    started = time.perf_counter()
    first_at, first_rows, rows = 0.0, 0, 0
    for batch in predictions.iter_batches(batch_size=None):
        size = len(next(iter(batch.values())))
        if not rows:
            first_at, first_rows = time.perf_counter(), size
        rows += size
    ended = time.perf_counter()
    return {
        "images_per_s": round(rows / (ended - started), 1),
        "after_first_batch_images_per_s": round((rows - first_rows) / (ended - first_at), 1),
    }


def serve_latency(url: str, concurrency: int, requests: int) -> dict[str, float]:
    body = IMAGES[1].read_bytes()

    def one(_: int) -> float:
        started = time.perf_counter()
        request = urllib.request.Request(url, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm-up
        times = sorted(pool.map(one, range(requests)))
    return {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model to run (default: see module docs)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--requests", type=int, default=48, help="Serve requests per concurrency level")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    from ray import serve

    from modelrt.ray.serve import start_server

    model = args.model or _default_model()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    data_throughput(ray, model, 1, 8)  # warm caches
    report: dict[str, object] = {"model": str(model), "images": args.images}
    for actors in (1, 2):
        report[f"data_{actors}_actors"] = data_throughput(ray, model, actors, args.images)
    url = start_server(model, port=8765, max_batch_size=8, batch_wait_timeout_s=0.01, num_cpus=1, threads=1)
    for concurrency in (1, 8):
        report[f"serve_concurrency_{concurrency}"] = serve_latency(url, concurrency, args.requests)
    serve.shutdown()
    ray.shutdown()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
