"""Warm ``load("hf://...")`` against ``load(local_dir)`` of the same package, and the bytes a load fetches.

    python -m benchmarks.hub_warm_load [--runs 15]

The Hub is the test suite's emulator on 127.0.0.1 (``tests/hub/emulator.py``), so nothing leaves the
machine; caches live in a temporary directory. The model is the synthetic YOLOv8-shaped detector
(about 6 MB). After one cold load of each, rounds load and close each variant in a shuffled order:
the local directory, the Hub model online (the branch is asked for its commit: one HEAD request) and
offline. The medians and their ratios are printed. A second repository holds the network in three formats; the
bytes a load downloads from it are counted at the emulator.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import synthetic_yolo

LABELS = [f"class-{index}" for index in range(synthetic_yolo.NUM_CLASSES)]


def _package(directory: Path) -> dict[str, bytes]:
    from modelrt.package_builder import build_package

    calibration = np.random.default_rng(0).random((1, 3, 640, 640), dtype=np.float32)
    model = synthetic_yolo.build(directory / "source" / "model.onnx", calibration)
    build_package(model, directory / "package", task="object-detection", labels=LABELS)
    return {path.name: path.read_bytes() for path in (directory / "package").iterdir()}


def _timed_load(reference: str | Path, offline: bool = False) -> float:
    import modelrt

    start = time.perf_counter()
    model = modelrt.load(reference, device="cpu", offline=offline)
    elapsed = time.perf_counter() - start
    model.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (default 15)")
    args = parser.parse_args()

    from tests.hub.conftest import manifest_for
    from tests.hub.emulator import HubEmulator

    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        hub = HubEmulator()
        os.environ.update(HF_ENDPOINT=hub.endpoint, HF_HUB_CACHE=str(root / "hf"), MODELRT_CACHE=str(root / "modelrt"))
        files = _package(root / "build")
        hub.publish("bench/yolo", files)
        local = root / "build" / "package"
        _timed_load(local), _timed_load("hf://bench/yolo")  # cold: download, first hashes
        variants: dict[str, tuple[str | Path, bool]] = {
            "local directory": (local, False),
            "hf:// online": ("hf://bench/yolo", False),
            "hf:// offline": ("hf://bench/yolo", True),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        order = list(variants)
        for _ in range(args.runs):
            random.shuffle(order)  # no variant always runs right after another
            for name in order:
                reference, offline = variants[name]
                times[name].append(_timed_load(reference, offline=offline))
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name, median in medians.items():
            ratio = median / medians["local directory"]
            print(f"{name:>16}: median {median * 1000:7.1f} ms over {args.runs} loads ({ratio:.3f}x local)")

        onnx_bytes = files["model.onnx"]
        size = len(onnx_bytes)
        artifacts = {
            "model.onnx": ("onnx", onnx_bytes),
            "model.torchscript": ("torchscript", os.urandom(size)),
            "model.pt2": ("exported-program", os.urandom(size)),
        }
        repo = {"modelrt.json": manifest_for(artifacts), **{path: data for path, (_, data) in artifacts.items()}}
        hub.publish("bench/three", repo)
        _timed_load("hf://bench/three")
        fetched = sum(entry.bytes_sent for entry in hub.downloads(repo_id="bench/three"))
        total = sum(len(data) for data in repo.values())
        print(f"three-format repository: {fetched:,} of {total:,} bytes fetched ({fetched / total:.1%})")
        hub.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
